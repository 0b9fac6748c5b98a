"""Patrol planning end to end on the demo: the CLI, the stored layers and their cross-checks, GPX in
GDAL, the what-if of a camera, a fully watched town, and who may read the plan."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from typer.testing import CliRunner

from api.cli import app
from api.workflows.patrol import plan_patrols
from api.workflows.patrol_routes import check_routes
from layers import store
from tests.conftest import BACKENDS, copied_workspace

runner = CliRunner()


@pytest.fixture(scope="module")
def planned(analysed_path, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("patrol") / "demo.gpkg"
    shutil.copyfile(analysed_path, path)
    result = runner.invoke(app, ["--json", "patrol", "plan", str(path), "--slot", "18-24", "--units", "foot:2,car:1",
                                 "--shift", "2h", "--seconds", "1"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["stamp"]["slot"] == "18-24" and data["stamp"]["units"] == {"foot": 2, "car": 1}
    assert len(data["solves"]) == 3 and all(s["bound"] >= s["objective"] - 1e-9 for s in data["solves"])
    return path


def _metric(ws: store.Store, layer: str):
    return ws.features(layer).to_crs(ws.metric_crs())


def test_the_stored_routes_are_on_the_streets_fit_their_shifts_and_claim_what_the_streets_give(planned):
    ws = store.open_workspace(planned)
    streets, routes, stops = (_metric(ws, n) for n in ("patrol_streets", "patrol_routes", "patrol_stops"))
    assert len(routes) >= 3 and len(stops) == routes["stops"].sum()
    assert check_routes(streets, routes, stops) == []
    assert (routes["minutes"] <= 120.0).all() and set(routes["kind"]) == {"foot", "car"}
    # the uncovered risk of a stretch is its grid's slot risk times the share no camera watches; from dusk
    # (19:00, the night setting) the night views watch: five of the slot's six hours
    s = streets
    assert np.allclose(s["watched_18_24"], s["watched"] / 6 + s["watched_night"] * 5 / 6)
    assert (s["watched_night"] <= s["watched"] + 1e-9).all() and (s["watched_night"] < s["watched"] - 1e-6).any()
    assert np.allclose(s["uncovered_18_24"], s["risk_18_24"] * (1 - s["watched_18_24"]))
    assert np.allclose(s["weight_18_24"], s["uncovered_18_24"] * s["length_m"] / 1000)
    assert (s["watched"].between(0, 1)).all() and (s["watched"] > 0).any() and (s["watched"] < 1).any()
    hot = s.sort_values("weight_18_24").iloc[-1]  # every figure explained, with the numbers it is made of
    assert hot["grid_code"] in hot["why_18_24"] and f"{hot['weight_18_24']:.4f}" in hot["why_18_24"]
    assert stops["why"].str.contains("时段强度").all()


def test_zones_tile_each_station_area_and_duty_levels_follow_uncovered_risk(planned):
    ws = store.open_workspace(planned)
    zones, streets = _metric(ws, "patrol_zones"), ws.read("patrol_streets")
    assert len(zones) == 9 and zones["code"].str.fullmatch(r"370285001P0\d\d\d").all()
    assert zones.geometry.is_valid.all()
    for sid, group in zones.groupby("station_id"):
        union = shapely.union_all(group.geometry.to_numpy())
        assert sum(g.area for g in group.geometry) == pytest.approx(union.area, rel=1e-6)  # no overlaps
        mine = streets[streets["station_id"] == sid]
        assert group["uncovered_18_24"].sum() == pytest.approx(mine["weight_18_24"].sum())
        hot = group.sort_values("uncovered_18_24")
        assert hot["level_18_24"].iloc[-1] <= hot["level_18_24"].iloc[0]  # 1 = the highest duty
        assert hot["officers_18_24"].iloc[-1] >= hot["officers_18_24"].iloc[0]
        assert group["officers_18_24"].sum() == 2 * 2 + 2 * 1  # the station's crews: two on foot, one car


def test_checkpoints_are_on_main_roads(planned):
    ws = store.open_workspace(planned)
    cps, roads = _metric(ws, "checkpoints"), _metric(ws, "roads")
    assert len(cps) == 4 and list(cps["rank"]) == [1, 2, 3, 4]
    main = shapely.union_all(roads[roads["class"].isin(["primary", "secondary"])].geometry.to_numpy())
    assert all(shapely.distance(p, main) < 0.01 for p in cps.geometry)
    assert 0 < cps["share_captured"].iloc[0] <= 1


def test_routes_export_as_gpx_that_gdal_reads(planned, tmp_path):
    target = tmp_path / "routes.gpx"
    result = runner.invoke(app, ["export", "layer", str(planned), "patrol_routes", str(target)])
    assert result.exit_code == 0, result.output
    ws = store.open_workspace(planned)
    tracks = pyogrio.read_dataframe(target, layer="tracks")
    points = pyogrio.read_dataframe(target, layer="waypoints")
    assert len(tracks) == len(ws.read("patrol_routes")) and len(points) == len(ws.read("patrol_stops"))
    assert tracks.crs.to_epsg() == 4326 and "到达" in points["desc"].iloc[0]
    ogrinfo = shutil.which("ogrinfo")
    if ogrinfo:
        out = subprocess.run([ogrinfo, "-so", str(target), "tracks"], capture_output=True, text=True, check=True)
        assert f"Feature Count: {len(tracks)}" in out.stdout
    bad = runner.invoke(app, ["export", "layer", str(planned), "checkpoints", str(tmp_path / "c.gpx")])
    assert bad.exit_code != 0 and "GPX holds patrol routes" in bad.output


def test_route_cards_print_one_page_per_unit_in_chinese(planned, tmp_path):
    import pypdf

    target = tmp_path / "cards.pdf"
    result = runner.invoke(app, ["export", "layer", str(planned), "patrol_routes", str(target)])
    assert result.exit_code == 0, result.output
    routes = store.open_workspace(planned).read("patrol_routes")
    pages = pypdf.PdfReader(target).pages
    assert len(pages) == len(routes)
    first = pages[0].extract_text()
    assert "巡逻任务卡" in first and "到达" in first and sorted(routes["unit"])[0] in first


def test_the_schedule_table_has_chinese_headers(planned, tmp_path):
    import openpyxl

    target = tmp_path / "schedule.xlsx"
    assert runner.invoke(app, ["export", "layer", str(planned), "patrol_stops", str(target)]).exit_code == 0
    header = next(openpyxl.load_workbook(target).active.iter_rows(max_row=1, values_only=True))
    assert {"巡逻单元", "顺序", "到达", "停留(分钟)", "街道"} <= set(header)


def test_a_new_camera_lowers_the_uncovered_risk_and_the_routes_follow(planned, tmp_path):
    path = tmp_path / "w.gpkg"
    shutil.copyfile(planned, path)
    ws = store.open_workspace(path)
    before = plan_patrols(ws, slot="18-24", units={"foot": 1}, shift_h=1.0, seconds=0.5, write=False)
    hot = before.streets.sort_values("weight_18_24").iloc[-1]
    view = shapely.buffer(hot.geometry, 30.0)  # a camera that watches the hottest stretch
    after = plan_patrols(ws, slot="18-24", units={"foot": 1}, shift_h=1.0, seconds=0.5, extra_views=[view],
                         write=False)
    row = after.streets.set_index("id").loc[hot["id"]]
    assert row["watched"] == pytest.approx(1.0) and row["weight_18_24"] == 0
    assert after.streets["weight_18_24"].sum() < before.streets["weight_18_24"].sum()
    assert hot["id"] not in ",".join(after.routes["stretch_ids"])


def test_planned_cameras_watch_in_the_plans_what_if(planned):
    ws = store.open_workspace(planned)
    assert (ws.read("cameras")["status"] == "planned").any()
    now = plan_patrols(ws, slot="18-24", units={"foot": 1}, shift_h=1.0, seconds=0.3, write=False)
    later = plan_patrols(ws, slot="18-24", units={"foot": 1}, shift_h=1.0, seconds=0.3, include_planned=True,
                         write=False)
    assert (later.streets["watched"] >= now.streets["watched"] - 1e-12).all()
    assert later.streets["weight_18_24"].sum() < now.streets["weight_18_24"].sum()
    assert later.stamp["include_planned"] is True
    with pytest.raises(ValueError, match="what-if plan"):
        plan_patrols(ws, slot="18-24", extra_views=[shapely.Point(0, 0).buffer(1)])


def test_a_town_every_camera_watches_has_nothing_to_patrol(planned, tmp_path):
    ws = store.open_workspace(planned)
    everything = shapely.box(*ws.features("roads").to_crs(ws.metric_crs()).total_bounds).buffer(100)
    plan = plan_patrols(ws, slot="00-06", units={"foot": 1}, shift_h=1.0, seconds=0.5, extra_views=[everything],
                        write=False)
    assert plan.streets["weight_00_06"].sum() == 0 and len(plan.routes) == 0
    assert all(s["reason_codes"] == ["no_prize"] and "没有未覆盖风险" in s["reasons"][0] for s in plan.solves)


def test_planning_without_stations_says_what_to_import(tiny_path):
    result = runner.invoke(app, ["patrol", "plan", str(tiny_path)])
    assert result.exit_code == 4 and "stations" in result.output


def test_a_bad_units_option_names_the_fix(planned):
    result = runner.invoke(app, ["patrol", "plan", str(planned), "--units", "horse:2"])
    assert result.exit_code == 2 and "use foot, bike, car" in result.output


@pytest.fixture(scope="module", params=BACKENDS)
def either_store(request, analysed_path, tmp_path_factory):
    return copied_workspace(request, analysed_path, "patrol_store", tmp_path_factory)[1]


def test_a_plan_is_stored_and_read_back_the_same_on_geopackage_and_postgis(either_store):
    ws = either_store
    plan = plan_patrols(ws, slot="weekday:18-24", units={"foot": 1, "car": 1}, shift_h=1.0, seconds=0.3)
    plan_patrols(ws, slot="00-06", units={"foot": 1}, shift_h=1.0, seconds=0.3)
    routes = _metric(ws, "patrol_routes")
    assert set(routes["slot"]) == {"weekday:18-24", "00-06"}  # another slot's plan keeps the first
    mine = routes[routes["slot"] == "weekday:18-24"].sort_values("unit")
    assert list(mine["unit"]) == sorted(plan.routes["unit"])
    assert np.allclose(mine["prize"], plan.routes.sort_values("unit")["prize"])
    streets, stops = _metric(ws, "patrol_streets"), _metric(ws, "patrol_stops")
    assert check_routes(streets, routes, stops) == []
    assert len(ws.read("patrol_zones")) == len(plan.zones) and len(ws.read("checkpoints")) == len(plan.checkpoints)
    assert set(ws.get_meta("patrol") or {}) == {"weekday:18-24", "00-06"}
    # a camera changes the inputs: a new plan drops the other slot's plan, whose figures no longer hold
    cams = ws.read("cameras")
    ws.write("cameras", cams[cams["id"] != cams["id"].iloc[0]])
    plan_patrols(ws, slot="00-06", units={"foot": 1}, shift_h=1.0, seconds=0.3)
    assert set(ws.read("patrol_routes")["slot"]) == {"00-06"} and set(ws.get_meta("patrol")) == {"00-06"}
