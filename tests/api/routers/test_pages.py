"""The pages router: every page renders offline, in Chinese by default, names escaped, views audited."""

import re

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box

from api.app import create_app
from api.settings import Settings
from layers import store


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



@pytest.mark.parametrize("path", ["/", "/coverage", "/coverage?k=2", "/placement", "/overview", "/?lang=en", "/3d",
                                  "/3d?lang=en"])
def test_every_page_renders_offline(client, path):
    page = client.get(path)
    assert page.status_code == 200, page.text[:500]
    urls = re.findall(r"""(?:src|href)=["']([^"']+)""", page.text)
    # assets from this server's /static, links to this server's own pages (the 2D map's 三维视图: /3d,
    # the coverage page's day/night switch)
    assets = [u for u in urls if u not in ("/", "/3d") and not u.startswith("/coverage?light=")]
    assert all(u.startswith("/static/") for u in assets), urls
    assert "https://" not in page.text and "http://" not in page.text



def test_names_are_escaped(tmp_path):
    path = tmp_path / "x.gpkg"
    ws = store.open_workspace(path, create=True)
    ws.write("buildings", gpd.GeoDataFrame({"id": ["B1"], "name": ["<script>alert(1)</script>"], "floors": [3]},
                                           geometry=[box(120.51, 36.88, 120.511, 36.881)], crs=4326))
    page = TestClient(create_app(Settings(auth=False, workspace=path))).get("/overview").text
    assert "<script>alert(1)</script>" not in page
    # escaped for HTML, then serialised as JSON by folium (& becomes \u0026)
    assert "\\u0026lt;script\\u0026gt;alert(1)\\u0026lt;/script\\u0026gt;" in page



def test_viewing_the_household_map_is_audited(demo_copy):
    client = TestClient(create_app(Settings(auth=False, workspace=demo_copy)))
    before = len(store.open_workspace(demo_copy).audit_log())
    assert client.get("/").status_code == 200
    log = store.open_workspace(demo_copy).audit_log()
    assert len(log) == before + 1
    assert log[["user", "action", "object"]].values.tolist()[-1] == ["local", "view", "households"]

