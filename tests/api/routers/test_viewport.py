"""Large layers loaded by viewport, basemaps and the GCJ-02 shift, moving existing cameras."""

import json

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient

from api.app import create_app
from api.maps.base import Basemap, BasemapError
from api.settings import Settings
from gis.coords import wgs84_to_gcj02
from layers import store


def _features(http, key, bbox, zoom=17):
    r = http.get(f"/api/features/{key}", params={"bbox": ",".join(f"{v:.6f}" for v in bbox), "zoom": zoom})
    assert r.status_code == 200, r.text
    return r.json()


def test_large_layers_are_not_inlined(small_limit):
    http, ws = small_limit
    page = http.get("/coverage").text
    # 3,860 buildings, 125 cameras and most view levels are above the limit of 100: the buildings and
    # views drawn from vector tiles, the cameras by viewport
    levels = ws.read("views")["level"].value_counts()
    ranked = int(ws.read("blind_spots")["ranked"].astype(bool).sum())
    assert page.count("pinganTiles(") == 1 + int((levels > 100).sum()) + (ranked > 100)
    assert page.count("pinganViewport(") == 1
    assert '"/api/tiles/buildings"' in page and "/api/features/cameras?lang=zh" in page
    first = ws.read("buildings")["name"].dropna().iloc[0]
    assert json.dumps(first)[1:-1] not in page
    full = TestClient(create_app(Settings(auth=False, workspace=ws.uri))).get("/coverage").text
    assert len(page) < len(full) / 2  # ranked blind spots, targets and grids stay inline


def test_features_by_viewport_are_those_in_the_box(small_limit):
    http, ws = small_limit
    buildings = ws.read("buildings")
    w, s, e, n = buildings.total_bounds
    box = (w, s, (w + e) / 2, (s + n) / 2)  # the south-west quarter
    got = _features(http, "buildings", box)
    expected = buildings.intersects(shapely.box(*box)).sum()
    assert len(got["features"]) == expected and got["truncated"] is False
    assert {"name", "floors", "use", "_fill"} - set(got["features"][0]["properties"]) == {"_fill"}
    cams = _features(http, "cameras", ws.read("cameras").total_bounds + np.array([-1e-5, -1e-5, 1e-5, 1e-5]))
    assert len(cams["features"]) == len(ws.read("cameras"))
    assert {f["properties"]["_id"] for f in cams["features"]} == set(ws.read("cameras")["id"])


def test_geometry_is_simplified_to_the_zoom(small_limit):
    http, ws = small_limit
    box = ws.read("views").total_bounds

    def vertices(zoom):
        fc = _features(http, "views:detect", box, zoom)
        return sum(len(shapely.get_coordinates(shapely.from_geojson(json.dumps(f["geometry"]))))
                   for f in fc["features"])

    near, far = vertices(19), vertices(14)
    assert far < near / 3  # a 360-gon of a far edge at zoom 14 is a handful of pixels


@pytest.mark.parametrize(("key", "params", "status"), [
    ("nosuchlayer", {"bbox": "120,36,121,37"}, 404),
    ("views:blurry", {"bbox": "120,36,121,37"}, 404),
    ("buildings", {"bbox": "121,36,120,37"}, 422),
    ("buildings", {"bbox": "120,36,121"}, 422),
    ("buildings", {"bbox": "120,36,121,37", "zoom": 40}, 422),
    ("households", {"bbox": "120,36,121,37"}, 404),  # personal detail is never a display layer
])
def test_bad_feature_requests(small_limit, key, params, status):
    http, _ = small_limit
    r = http.get(f"/api/features/{key}", params=params)
    assert r.status_code == status and "Traceback" not in r.text


def test_user_text_is_escaped_in_viewport_data(tmp_path, demo_path):
    import shutil

    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_path, path)
    ws = store.open_workspace(path)
    b = ws.read("buildings")
    b.loc[b.index[0], "name"] = "<script>alert(1)</script>"
    ws.write("buildings", b, message="test")
    http = TestClient(create_app(Settings(auth=False, workspace=path, inline_limit=10)))
    got = _features(http, "buildings", b.geometry.iloc[0].bounds)
    names = [f["properties"]["name"] for f in got["features"]]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in names and "<script>alert(1)</script>" not in names


def test_basemap_settings():
    assert Basemap.from_settings(Settings()).tile_layers() == []
    osm = Basemap.from_settings(Settings(basemap="osm"))
    assert "tile.openstreetmap.org" in osm.tile_layers()[0].tiles and not osm.shifted
    xyz = Basemap.from_settings(Settings(tiles_url="http://10.1.1.1/tiles/{z}/{x}/{y}.png"))
    assert xyz.kind == "xyz" and not xyz.shifted
    assert Basemap.from_settings(Settings(tiles_url="http://10.1.1.1/{z}/{x}/{y}.png", tiles_crs="gcj02")).shifted
    tdt = Basemap.from_settings(Settings(basemap="tianditu", tianditu_tk="abc123"))
    assert [layer.tiles.count("tk=abc123") for layer in tdt.tile_layers()] == [1, 1]  # roads and labels
    with pytest.raises(BasemapError, match="PINGAN_TIANDITU_TK"):
        create_app(Settings(basemap="tianditu"))
    with pytest.raises(BasemapError, match="choose one of"):
        create_app(Settings(basemap="google"))
    with pytest.raises(BasemapError, match="PINGAN_TILES_URL"):
        Basemap(kind="xyz")


def test_gaode_basemap_shifts_every_overlay(analysed_path, tmp_path):
    import shutil

    path = tmp_path / "demo.gpkg"
    shutil.copyfile(analysed_path, path)
    ws = store.open_workspace(path)
    plain = TestClient(create_app(Settings(auth=False, workspace=path, inline_limit=10)))
    gaode = TestClient(create_app(Settings(auth=False, workspace=path, inline_limit=10, basemap="gaode")))
    assert "webrd0{s}.is.autonavi.com" in gaode.get("/").text and "autonavi" not in plain.get("/").text
    cams = ws.read("cameras").set_index("id")
    bbox = "{},{},{},{}".format(*(np.array(ws.read("buildings").total_bounds) + [-0.01, -0.01, 0.01, 0.01]))
    shifted = {f["properties"]["_id"]: f["geometry"]["coordinates"]
               for f in gaode.get("/api/features/cameras", params={"bbox": bbox}).json()["features"]}
    some = cams.index[0]
    gx, gy = wgs84_to_gcj02(cams.geometry[some].x, cams.geometry[some].y)
    assert shifted[some] == pytest.approx([float(gx), float(gy)], abs=2e-6)
    # a drop where the page shows a place lands on the real place: the same answer as without a basemap
    grid = ws.read("grids").set_index("code").geometry.loc["370285001201001"].representative_point()
    body = {"model": "bullet-12mm", "heading_deg": 90, "height_m": 6}
    real = plain.post("/api/whatif/cameras", json={"lon": grid.x, "lat": grid.y, **body}).json()
    # both apps serve one workspace and one user ("local"), so one what-if session: take the camera away
    assert plain.delete(f"/api/whatif/cameras/{real['camera']}").status_code == 200
    x, y = wgs84_to_gcj02(grid.x, grid.y)
    drawn = gaode.post("/api/whatif/cameras", json={"lon": float(x), "lat": float(y), "coords": "gcj02",
                                                     **body}).json()
    assert drawn["gain_m2"] == pytest.approx(real["gain_m2"], rel=1e-6)
    rx, ry = shapely.from_geojson(json.dumps(real["view"]["features"][0]["geometry"])).centroid.coords[0]
    dx, dy = shapely.from_geojson(json.dumps(drawn["view"]["features"][0]["geometry"])).centroid.coords[0]
    ex, ey = wgs84_to_gcj02(rx, ry)
    assert (dx, dy) == pytest.approx((float(ex), float(ey)), abs=1e-6)  # the view comes back drawn in GCJ-02


def test_moving_an_existing_camera(small_limit):
    http, ws = small_limit
    cams = ws.read("cameras").set_index("id")
    stored = len(cams)
    cam = cams.index[5]
    p = cams.geometry[cam]
    moved = http.post("/api/whatif/cameras", json={"move": cam, "lon": p.x + 0.0004, "lat": p.y + 0.0002})
    assert moved.status_code == 200, moved.text
    ans = moved.json()
    assert ans["camera"] == cam and ans["view"] is not None
    back = http.post("/api/whatif/cameras", json={"move": cam, "lon": p.x, "lat": p.y}).json()
    assert back["gain_m2"] == pytest.approx(-ans["gain_m2"], abs=1e-6)  # moved back: the same coverage
    turned = http.post("/api/whatif/cameras", json={"move": cam, "lon": p.x, "lat": p.y,
                                                     "heading_deg": (cams.at[cam, "heading_deg"] + 180) % 360})
    assert turned.status_code == 200
    missing = http.post("/api/whatif/cameras", json={"move": "NO-SUCH-CAMERA", "lon": p.x, "lat": p.y})
    assert missing.status_code == 404 and "NO-SUCH-CAMERA" in missing.json()["detail"]  # none in your area
    assert len(ws.read("cameras")) == stored  # nothing stored


def test_search_finds_codes_and_names(small_limit):
    http, ws = small_limit
    hits = http.get("/api/search", params={"q": "水集派出所"}).json()
    assert hits[0]["layer"] == "targets" and hits[0]["name"] == "水集派出所"
    grid = http.get("/api/search", params={"q": "370285001201001"}).json()[0]
    assert grid["layer"] == "grids" and grid["id"] == "370285001201001"
    w, s, e, n = grid["bbox"]
    assert w <= grid["lon"] <= e and s <= grid["lat"] <= n
    cam = ws.read("cameras")["id"].iloc[7]
    assert http.get("/api/search", params={"q": cam}).json()[0]["id"] == cam
    assert http.get("/api/search", params={"q": "<script>'; DROP TABLE grids;--"}).json() == []
    assert http.get("/api/search", params={"q": ""}).status_code == 422
    assert len(http.get("/api/search", params={"q": "网格", "limit": 5}).json()) == 5
