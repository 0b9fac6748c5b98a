"""PTZ tours on the demo: the two junction PTZ cameras look at their junction on one preset of three
(20 s of 100 s), so the junction is covered a fifth of the time; their presets' views are stored per
preset, the camera's view is their union, what-if moves keep the tour, an import checks the field, and
the coverage page says "covered 20% of the time" (real Chromium)."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from layers import store
from layers.demo_places import TOURED_JUNCTIONS
from layers.errors import LayerValidationError
from layers.validate import validate


def _toured(ws):
    cams = ws.read("cameras")
    return cams[cams["presets"].notna()].set_index("id")


def test_the_junctions_are_covered_a_fifth_of_the_time(ws_path):
    ws = store.open_workspace(ws_path)
    toured = _toured(ws)
    assert sorted(toured["address"]) == sorted(TOURED_JUNCTIONS) and (toured["kind"] == "ptz").all()
    targets = ws.read("coverage_targets").set_index("name")
    for name in TOURED_JUNCTIONS:
        row = targets.loc[name]
        assert row["covered"] and row["time_share"] == pytest.approx(20 / 100), name
    fixed = targets.drop(index=list(TOURED_JUNCTIONS))
    assert (fixed.loc[fixed["covered"].astype(bool), "time_share"] == 1.0).all()  # fixed cameras: all the time
    # per preset (3 presets × the levels each reaches) and per camera (their union, stored as the view)
    presets = ws.read("preset_views")
    assert set(presets["camera"]) == set(toured.index)
    assert presets.groupby("camera")["preset"].nunique().eq(3).all()
    shares = presets.drop_duplicates(["camera", "preset"]).set_index(["camera", "preset"])["share"]
    assert shares.groupby(level=0).sum().tolist() == pytest.approx([1.0, 1.0])
    metric = ws.metric_crs()
    views = ws.read("views").to_crs(metric)
    per = presets.to_crs(metric)
    for cam in toured.index:
        union = shapely.union_all(per[(per["camera"] == cam) & (per["level"] == "detect")].geometry.to_numpy())
        view = views[(views["camera"] == cam) & (views["level"] == "detect")].geometry.iat[0]
        assert shapely.symmetric_difference(union, view).area < 1e-3 * view.area
    # the grids they stand in: seen at some time > time-averaged
    grids = ws.read("coverage_grids")
    part = grids[grids["seen_time_m2"] < grids["seen_detect_m2"] - 1e-6]
    assert len(part) >= 1 and (grids["seen_time_m2"] <= grids["seen_detect_m2"] + 1e-6).all()
    assert (grids["share_time"] <= grids["share_detect"] + 1e-9).all()


def test_moving_a_ptz_in_a_whatif_keeps_its_tour(ws_path):
    from api.workflows.whatif import WhatIf

    ws = store.open_workspace(ws_path)
    cam = _toured(ws).index[0]
    row = ws.read("cameras").set_index("id").loc[cam]
    junction = row["address"]
    session = WhatIf(ws, include_planned=False)
    _, targets = session.set_camera(cam, None)
    assert not targets.set_index("name").loc[junction, "covered"]  # only the tour saw it
    point = ws.read("cameras").set_index("id").to_crs(ws.metric_crs()).geometry.loc[cam]
    fields = {k: row[k] for k in ("kind", "resolution_px", "resolution_v_px", "height_m", "presets")}
    _, targets = session.set_camera(cam, {"x": point.x, "y": point.y, **fields})
    back = targets.set_index("name").loc[junction]
    assert back["covered"] and back["time_share"] == pytest.approx(0.2)


def test_an_import_names_the_row_whose_presets_cannot_be_read():
    raw = gpd.GeoDataFrame({"设备编码": ["37028500001320000001", "37028500001320000002"],
                            "摄像机类型": ["球机", "球机"], "预置位": ["0/15/58/30；120/10/20/60", "0/15/58"]},
                           geometry=[shapely.Point(120.5, 36.88), shapely.Point(120.51, 36.88)], crs=4326)
    with pytest.raises(LayerValidationError) as err:
        validate(raw, "cameras")
    text = str(err.value)
    assert "row 2: 预置位" in text and "预置位" in text and "preset 1 '0/15/58' is not pan/tilt/hfov/dwell" in text
    ok = validate(raw.iloc[:1], "cameras")
    assert ok["presets"].iat[0] == "0/15/58/30; 120/10/20/60"  # stored as it is read back


@pytest.mark.browser
def test_the_coverage_page_says_for_how_much_of_the_time(ws_path):
    from tests.api.test_browser import CHROMIUM, FLAGS, serving, wait_for
    from tests.conftest import require

    require(CHROMIUM is not None, "Debian's chromium is not installed (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    with serving(str(ws_path)) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for lang, expected in (("zh", "是（20% 的时间：球机巡航）"), ("en", "yes, 20% of the time (PTZ tour)")):
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            errors: list[str] = []
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            page.goto(f"{url}/coverage?lang={lang}", wait_until="load")
            wait_for(page, "document.querySelectorAll('.leaflet-control-layers-selector').length > 0")
            page.fill("#pingan-search", TOURED_JUNCTIONS[0])
            page.press("#pingan-search", "Enter")
            page.wait_for_selector(".leaflet-popup-content")
            assert expected in page.inner_text(".leaflet-popup-content"), lang
            assert errors == []
            page.close()
        browser.close()
