"""Face and plate capture on the demo: the school gate's faces and the compound gate's plates are
captured by the cameras put there for them (and by no other), by day and by night; the coverage page
draws the capture zones and says so in the targets' cards (real Chromium); placement honours them."""

from __future__ import annotations

import pandas as pd
import pytest

from api.workflows.coverage import compute_coverage
from layers import store


def test_the_demo_gates_are_captured_by_their_own_cameras_day_and_night(ws_path):
    ws = store.open_workspace(ws_path)
    compute_coverage(ws, light="night")
    cams = ws.read("cameras").set_index("id")
    for light in ("day", "night"):
        suffix = "" if light == "day" else "_night"
        targets = ws.read(f"coverage_targets{suffix}")
        asked = targets[targets["capture"].notna()].set_index("name")
        assert set(asked["capture"]) == {"face", "plate"}, light
        assert asked["captured"].astype(bool).all() and (asked["capture_share"] == 1.0).all(), light
        assert (asked["capture_cameras"] == 1).all(), light
        zones = ws.read(f"capture_views{suffix}")
        assert len(zones) == 2 and zones.geometry.is_valid.all(), light
        names = {row.target_name: cams.loc[row.camera, "name"] for row in zones.itertuples()}
        assert names == {"水集中学南门": "水集中学南门人脸抓拍", "月湖花园南门": "月湖花园南门车牌识别"}, light


def test_without_its_camera_the_gate_is_not_captured(ws_path):
    from api.workflows.whatif import WhatIf

    ws = store.open_workspace(ws_path)
    cams = ws.read("cameras")
    face = str(cams.loc[cams["name"] == "水集中学南门人脸抓拍", "id"].iat[0])
    session = WhatIf(ws, include_planned=False)
    _, targets = session.set_camera(face, None)
    row = targets.set_index("name").loc["水集中学南门"]
    assert row["capture"] == "face" and not row["captured"] and not row["covered"]
    # put back where it was, through the what-if (its optics computed as for any new camera)
    metric = ws.metric_crs()
    point = cams[cams["id"] == face].to_crs(metric).geometry.iat[0]
    fields = {k: cams.loc[cams["id"] == face, k].iat[0] for k in ("kind", "heading_deg", "focal_mm", "sensor",
                                                                  "resolution_px", "height_m", "tilt_deg")}
    _, targets = session.set_camera(face, {"x": point.x, "y": point.y, **fields})
    assert targets.set_index("name").loc["水集中学南门", "captured"]


def test_placement_captures_the_faces_only_from_a_site_low_and_ahead_enough(ws_path):
    import geopandas as gpd
    from shapely.geometry import Point

    from api.workflows.placement import place

    ws = store.open_workspace(ws_path)
    cams = ws.read("cameras")
    ws.write("cameras", cams[cams["name"] != "水集中学南门人脸抓拍"], message="without the face camera")
    gate = ws.read("targets").set_index("name").loc["水集中学南门"]
    # the demo's sites are poles (6 m) and walls (4 m): too high to see faces at most 15° down that close
    result = place(ws, cover_classes=["1"], models=["bullet-12mm"], seconds=20,
                   heading_step_deg=90.0, write=False)
    assert "水集中学南门" in result.uncoverable
    # a 3 m pole 8 m south of the gate: a 12 mm camera there looking north captures the pupils' faces
    metric = ws.metric_crs()
    spot = gpd.GeoSeries([gate.geometry], crs=4326).to_crs(metric).iat[0]
    sites = ws.read("sites")
    extra = gpd.GeoDataFrame({"id": ["S-FACE"], "kind": ["pole"], "height_m": [3.0], "cost": [5000.0],
                              "name": ["校门人脸立杆"]}, geometry=[Point(spot.x, spot.y - 8.0)], crs=metric)
    extra = extra.to_crs(4326)
    ws.write("sites", gpd.GeoDataFrame(pd.concat([sites, extra], ignore_index=True), crs=4326), message="a low pole")
    result = place(ws, cover_classes=["1"], models=["bullet-12mm"], seconds=20,
                   heading_step_deg=90.0, write=False)
    assert "水集中学南门" not in result.uncoverable
    there = result.proposals[result.proposals["site_id"] == "S-FACE"]
    assert len(there) == 1 and "水集中学南门" in there["targets"].iat[0]
    assert abs((float(there["heading_deg"].iat[0]) + 180.0) % 360.0 - 180.0) <= 30.0  # it looks north at the gate


@pytest.mark.browser
def test_the_coverage_page_draws_the_capture_zones_and_says_so_in_the_cards(ws_path):
    from tests.api.test_browser import CHROMIUM, FLAGS, serving, wait_for
    from tests.conftest import require

    require(CHROMIUM is not None, "Debian's chromium is not installed (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    zones = store.open_workspace(ws_path).read("capture_views")
    with serving(str(ws_path)) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/coverage", wait_until="load")
        wait_for(page, "document.querySelectorAll('.leaflet-control-layers-selector').length > 0")
        assert "抓拍区域 · 人脸" in page.inner_text("#pingan-legend")
        assert "抓拍区域 · 车牌" in page.inner_text("#pingan-legend")
        drawn = page.evaluate("""() => { const out = []; const m = Object.values(window).find(v => v && v._container
            && v.eachLayer); m.eachLayer(l => { const p = l.feature && l.feature.properties;
            if (p && p.kind_text !== undefined && p.camera !== undefined) out.push([p.target_name, p.kind_text]); });
            return out; }""")
        assert sorted(drawn) == sorted([[n, {"face": "人脸", "plate": "车牌"}[k]]
                                        for n, k in zip(zones["target_name"], zones["capture"], strict=True)])
        page.fill("#pingan-search", "水集中学南门")
        page.press("#pingan-search", "Enter")
        page.wait_for_selector(".leaflet-popup-content")
        assert "人脸 · 可抓拍 (100%)" in page.inner_text(".leaflet-popup-content")
        english = browser.new_page(viewport={"width": 1200, "height": 800})
        english.goto(f"{url}/coverage?lang=en", wait_until="load")
        assert "Capture zones · Plate" in english.inner_text("#pingan-legend")
        assert errors == []
        browser.close()
