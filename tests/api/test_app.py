import re

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box

from api.app import create_app
from api.settings import Settings
from layers import store


@pytest.fixture(scope="module")
def client(module_demo):
    return TestClient(create_app(Settings(auth=False, workspace=module_demo.uri)))


def test_pages_are_offline_and_chinese(client):
    home = client.get("/")
    assert home.status_code == 200 and "户况网格图" in home.text
    page = client.get("/overview")
    assert page.status_code == 200
    assert "平安规划" in page.text and 'lang="zh-CN"' in page.text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)""", page.text)
    assert urls and all(u.startswith("/static/") for u in urls), urls
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    assert client.get("/static/leaflet/leaflet.js").status_code == 200
    english = client.get("/overview?lang=en")
    assert "workspace overview" in english.text and 'lang="en"' in english.text
    assert client.get("/?lang=fr").status_code == 422


def test_layer_endpoints(client):
    layers = {row["name"]: row for row in client.get("/api/layers").json()}
    assert layers["grids"]["rows"] == len(client.get("/api/layers/grids").json()["features"])
    some = client.get("/api/layers/cameras", params={"bbox": "120.505,36.878,120.515,36.885"}).json()
    assert 0 < len(some["features"]) < layers["cameras"]["rows"]
    missing = client.get("/api/layers/nothing")
    assert missing.status_code == 404 and "has no layer 'nothing'" in missing.json()["detail"]
    # household detail: only with a stated reason (the local administrator of an --no-auth server may read it)
    assert client.get("/api/layers/households").status_code == 422
    assert len(client.get("/api/layers/households", params={"reason": "年度核查"}).json()) == 27_524
    assert client.get("/api/layers/cameras", params={"bbox": "1,2,3"}).status_code == 422


def test_names_are_escaped(tmp_path):
    path = tmp_path / "x.gpkg"
    ws = store.open_workspace(path, create=True)
    ws.write("buildings", gpd.GeoDataFrame({"id": ["B1"], "name": ["<script>alert(1)</script>"], "floors": [3]},
                                           geometry=[box(120.51, 36.88, 120.511, 36.881)], crs=4326))
    page = TestClient(create_app(Settings(auth=False, workspace=path))).get("/overview").text
    assert "<script>alert(1)</script>" not in page
    # escaped for HTML, then serialised as JSON by folium (& becomes \u0026)
    assert "\\u0026lt;script\\u0026gt;alert(1)\\u0026lt;/script\\u0026gt;" in page


def test_risk_model_through_the_api(demo_copy):
    client = TestClient(create_app(Settings(auth=False, workspace=demo_copy)))
    got = client.get("/api/risk/model")
    assert got.status_code == 200 and 'method = "quantile"' in got.text and got.headers["etag"] == 'W/"risk-model-0"'
    toml = {"content-type": "application/toml"}
    bad = client.put("/api/risk/model", content="[indicators]\nwealth = 1", headers=toml)
    assert bad.status_code == 422 and "unknown indicator" in bad.json()["detail"]
    text = got.text.replace("incident_rate = 0.30", "incident_rate = 0.20\nrate_theft = 0.10")
    ok = client.put("/api/risk/model", content=text, headers=toml)
    assert ok.status_code == 200 and ok.json() == {"version": 1}
    assert "rate_theft = 0.10" in client.get("/api/risk/model").text


def test_viewing_the_household_map_is_audited(demo_copy):
    client = TestClient(create_app(Settings(auth=False, workspace=demo_copy)))
    before = len(store.open_workspace(demo_copy).audit_log())
    assert client.get("/").status_code == 200
    log = store.open_workspace(demo_copy).audit_log()
    assert len(log) == before + 1
    assert log[["user", "action", "object"]].values.tolist()[-1] == ["local", "view", "households"]


@pytest.mark.parametrize("path", ["/", "/coverage", "/coverage?k=2", "/placement", "/overview", "/?lang=en"])
def test_every_page_renders_offline(client, path):
    page = client.get(path)
    assert page.status_code == 200, page.text[:500]
    urls = re.findall(r"""(?:src|href)=["']([^"']+)""", page.text)
    assert all(u.startswith("/static/") for u in urls), urls


def test_health_never_shows_a_database_password():
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings

    app = create_app(Settings(workspace="postgresql://pingan:s3cret@10.0.0.7/city?workspace=laixi"))
    body = TestClient(app).get("/api/health").json()
    assert "s3cret" not in body["workspace"] and body["workspace"].startswith("postgresql://pingan:***@")
