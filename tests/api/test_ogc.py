"""OGC API – Features at /ogc: GDAL's OAPIF driver (what QGIS uses) reads the live service, in the
user's area, a page at a time; CRS per Part 2; on both stores."""

import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import CRS, Transformer

from api.access import ROLES
from api.app import serve_in_background
from tests.conftest import require

OGRINFO, OGR2OGR = Path("/usr/bin/ogrinfo"), Path("/usr/bin/ogr2ogr")


@pytest.fixture(scope="module")
def served(secured):
    url, server, thread = serve_in_background(secured["app"])
    yield url
    server.should_exit = True
    thread.join(10)


def _token(secured, name):
    client = secured["as"](name)
    return client.headers["Authorization"].removeprefix("Bearer ")


def _gdal(tool, *args, token=None):
    require(tool.exists() and shutil.which(str(tool)), "Debian's gdal-bin is not installed (apt-get install gdal-bin)")
    config = ["--config", "GDAL_HTTP_HEADERS", f"Authorization: Bearer {token}"] if token else []
    return subprocess.run([str(tool), *config, *args], capture_output=True, text=True, check=False, timeout=120)


def test_gdal_lists_the_collections_the_user_may_read(secured, served):
    done = _gdal(OGRINFO, "-ro", "-so", f"OAPIF:{served}/ogc", token=_token(secured, "worker"))
    assert done.returncode == 0, done.stderr
    listed = {line.split(":", 1)[1].split("(")[0].strip() for line in done.stdout.splitlines()
              if line[:1].isdigit() and ":" in line}
    may_read = {i.name for i in secured["ws"].layers() if i.geometry_type} & set(ROLES["grid_worker"].reads)
    assert "grids" in listed and "buildings" in listed
    assert listed == may_read - {"households"}  # personal detail is never a collection


def test_gdal_copies_a_grid_workers_collection_with_paging_and_only_their_area(secured, served, tmp_path):
    token = _token(secured, "worker")
    out = tmp_path / "copy.gpkg"
    done = _gdal(OGR2OGR, "-f", "GPKG", str(out), f"OAPIF:{served}/ogc", "buildings", "grids",
                 "-oo", "PAGE_SIZE=7", token=token)
    assert done.returncode == 0, done.stderr
    read = _gdal(OGRINFO, "-ro", "-al", "-q", str(out))
    grids = [line.split("=", 1)[1].strip() for line in read.stdout.splitlines() if line.strip().startswith("code (")]
    assert grids == [secured["mine"]["code"]]  # the worker's one grid, nobody else's
    ws = secured["ws"]
    mine = secured["mine"].geometry
    stored = ws.read("buildings")
    inside = stored[shapely.intersects(stored.geometry.to_numpy(), mine)]
    copied = _gdal(OGRINFO, "-ro", "-so", str(out), "buildings").stdout
    count = int(next(line for line in copied.splitlines() if "Feature Count" in line).split(":")[1])
    assert 7 < count <= len(inside) < len(stored)  # several pages, and the area's rows only


def test_unauthenticated_gdal_gets_nothing(served):
    done = _gdal(OGRINFO, "-ro", "-so", f"OAPIF:{served}/ogc/collections/grids")
    assert done.returncode != 0


def test_landing_conformance_and_definition(secured):
    client = secured["as"]("planner")
    landing = client.get("/ogc").json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    conf = client.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
    api = client.get("/ogc/api")
    assert api.json()["openapi"].startswith("3.0")
    assert "bearer" in api.json()["components"]["securitySchemes"]


def test_items_page_with_links_and_counts(secured):
    client = secured["as"]("planner")
    first = client.get("/ogc/collections/buildings/items", params={"limit": 10})
    assert first.status_code == 200 and first.headers["content-type"].startswith("application/geo+json")
    doc = first.json()
    assert doc["numberReturned"] == 10 and doc["numberMatched"] == len(secured["ws"].read("buildings"))
    links = {link["rel"]: link["href"] for link in doc["links"]}
    assert "prev" not in links and "offset=10" in links["next"]
    nxt = urlsplit(links["next"])
    second = client.get(f"{nxt.path}?{nxt.query}").json()
    assert {f["id"] for f in second["features"]}.isdisjoint({f["id"] for f in doc["features"]})
    assert "prev" in {link["rel"] for link in second["links"]}
    one = doc["features"][0]["id"]
    item = client.get(f"/ogc/collections/buildings/items/{one}")
    assert item.status_code == 200 and item.json()["id"] == one


def test_a_worker_sees_no_feature_outside_their_grid(secured):
    client = secured["as"]("worker")
    grids = client.get("/ogc/collections/grids/items", params={"limit": 1000}).json()
    assert [f["id"] for f in grids["features"]] == [secured["mine"]["code"]]
    other = client.get(f"/ogc/collections/grids/items/{secured['other']['code']}")
    assert other.status_code == 404  # the same answer as for a feature that does not exist
    assert client.get("/ogc/collections/households/items").status_code == 404
    collection = client.get("/ogc/collections/grids").json()
    w, s, e, n = collection["extent"]["spatial"]["bbox"][0]
    gw, gs, ge, gn = secured["mine"].geometry.bounds
    assert (w, s, e, n) == pytest.approx((gw, gs, ge, gn))  # the extent tells nothing beyond the area


def test_items_in_the_workspace_crs_and_a_bbox_in_another(secured):
    client = secured["as"]("planner")
    metric = secured["ws"].metric_crs()
    uri = f"http://www.opengis.net/def/crs/EPSG/0/{metric.to_epsg()}"
    offered = client.get("/ogc/collections/grids").json()["crs"]
    assert uri in offered
    plain = client.get("/ogc/collections/grids/items", params={"limit": 1}).json()["features"][0]
    moved = client.get("/ogc/collections/grids/items", params={"limit": 1, "crs": uri})
    assert moved.headers["Content-Crs"] == f"<{uri}>"
    feature = moved.json()["features"][0]
    assert feature["id"] == plain["id"]
    lon, lat = plain["geometry"]["coordinates"][0][0][0]  # grids are MultiPolygons
    a, b = feature["geometry"]["coordinates"][0][0][0]
    expected = Transformer.from_crs("OGC:CRS84", metric).transform(lon, lat)  # the CRS's own axis order
    assert (a, b) == pytest.approx(expected, abs=1e-3)
    # lat/lon (EPSG:4326's axis order) in, the same features out as with lon/lat
    w, s, e, n = secured["mine"].geometry.bounds
    by_crs84 = client.get("/ogc/collections/grids/items", params={"bbox": f"{w},{s},{e},{n}"}).json()
    by_4326 = client.get("/ogc/collections/grids/items",
                         params={"bbox": f"{s},{w},{n},{e}",
                                 "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/4326"}).json()
    assert secured["mine"]["code"] in {f["id"] for f in by_crs84["features"]}
    assert {f["id"] for f in by_4326["features"]} == {f["id"] for f in by_crs84["features"]}
    assert CRS.from_epsg(4326).axis_info[0].abbrev.lower() == "lat"


@pytest.mark.parametrize("params", [{"crs": "EPSG:3857"}, {"crs": "nonsense"}, {"bbox": "1,2,3"},
                                    {"bbox": "3,4,1,2"}, {"limit": 0}, {"limit": 10**6}, {"offset": -1}])
def test_bad_parameters_get_a_clear_error(secured, params):
    r = secured["as"]("planner").get("/ogc/collections/grids/items", params=params)
    assert r.status_code in (400, 422) and json.loads(r.text)["detail"]


def test_login_needed(secured):
    r = TestClient(secured["app"]).get("/ogc/collections", follow_redirects=False)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"  # not sent to the login page
