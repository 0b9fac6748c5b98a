"""Bandwidth and storage of the demo's cameras: the sums per grid, community and 街镇 agree, a
camera's own fields win over the settings, class-1 points keep longer, the area policy holds."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api import access
from api.app import create_app
from api.cli import app as cli
from api.exports import Source
from api.settings import Settings
from api.workflows.settings import change_settings
from api.workflows.storage import storage_plan
from gis import storage
from layers import store

PASSWORD = "correct horse battery"


def test_every_camera_is_sized_by_the_formula_and_the_levels_sum_to_the_total(ws_path):
    ws = store.open_workspace(ws_path)
    plan = storage_plan(ws, Source.local(ws).scope)
    cams = ws.read("cameras")
    recording = cams[cams["status"].fillna("active") != "removed"]
    assert len(plan.cameras) == len(recording)
    c = plan.cameras
    assert (c["tb"] - c["record_mbps"] * 3600 * 24 * c["days"] / 8 / 1e6).abs().max() < 1e-9
    klass = recording.set_index("id")["point_class"].astype(str).reindex(c["id"])
    assert (c["days"].to_numpy()[(klass == "1").to_numpy()] == 90).all()
    assert (c["days"].to_numpy()[(klass != "1").to_numpy()] == 30).all()
    for level in ("grid", "community", "township"):
        sums = plan.levels[level]
        assert sums["tb"].sum() == pytest.approx(c[c[level].notna()]["tb"].sum())
    assert plan.levels["township"]["cameras"].sum() == plan.levels["community"]["cameras"].sum()
    assert plan.total["tb"] == pytest.approx(c["tb"].sum())
    unit = plan.unit
    for code, row in plan.levels["community"].iterrows():
        assert row["units"] == unit.needed(row["tb"], row["record_mbps"], int(row["cameras"])), code


def test_a_cameras_own_bitrate_and_retention_win_and_event_recording_takes_its_share(ws_path):
    ws = store.open_workspace(ws_path)
    cams = ws.features("cameras")
    first = cams["id"].iloc[0]
    cams.loc[cams.index[0], ["bitrate_mbps", "retention_days", "recording"]] = [4.0, 60, "event"]
    ws.write("cameras", cams)
    change_settings(ws, {"recording": {"event_share": 0.25}}, user="test")
    row = storage_plan(ws, Source.local(ws).scope).cameras.set_index("id").loc[first]
    assert row["main_mbps"] == 4.0 and not row["estimated"] and row["days"] == 60
    assert row["tb"] == pytest.approx(storage.storage_tb(4.0, 60, 0.25))
    with pytest.raises(ValueError, match="event_share"):
        change_settings(ws, {"recording": {"event_share": 2}}, user="test")
    with pytest.raises(ValueError, match="unknown recording"):
        change_settings(ws, {"recording": {"colour": "red"}}, user="test")


def test_the_cli_and_the_api_answer_for_the_users_area_only(ws_path):
    result = CliRunner().invoke(cli, ["--json", "storage", str(ws_path), "--level", "grid"])
    assert result.exit_code == 0, result.output
    whole = json.loads(result.stdout)
    assert whole["site_level"] == "grid" and whole["total"]["units"] >= 1
    ws = store.open_workspace(ws_path)
    community = ws.read("grids").sort_values("code")["community_code"].iloc[0]
    access.add_user(ws, "local", "police", access.Area.parse(f"community:{community}"), PASSWORD)
    access.add_user(ws, "looker", "viewer", access.Area.parse("all"), PASSWORD)
    app = create_app(Settings(workspace=str(ws_path)))

    def client(name):
        token = TestClient(app).post("/api/auth/login", json={"username": name, "password": PASSWORD}).json()["token"]
        return TestClient(app, headers={"Authorization": f"Bearer {token}"})

    r = client("local").get("/api/design/storage", params={"level": "community"})
    assert r.status_code == 200, r.text
    mine = r.json()
    assert {row["community"] for row in mine["levels"]["community"]} == {community}
    expected = pd.DataFrame(whole["levels"]["community"]).set_index("community").loc[community]
    assert mine["total"]["tb"] == pytest.approx(expected["tb"])
    assert client("looker").get("/api/design/storage").status_code == 403  # viewers do not read cameras


def test_a_phased_plan_keeps_each_budget_and_reports_the_gain_per_yuan(ws_path):
    result = CliRunner().invoke(cli, ["--json", "place", str(ws_path), "--phases", "2027:60000,2028:40000",
                                      "--heading-step", "90", "--model", "bullet-4mm", "--seconds", "10"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    phases = answer["phases"]
    assert [p["phase"] for p in phases] == ["2027", "2028"]
    props = pd.DataFrame(answer["proposals"])
    for p in phases:
        mine = props[props["phase"] == p["phase"]]
        assert len(mine) == p["cameras"] > 0
        assert mine["cost"].sum() == pytest.approx(p["cost"]) and p["cost"] <= p["budget"]
        assert p["gain"] == pytest.approx(mine["gain"].sum())
        assert p["gain_per_yuan"] == pytest.approx(p["gain"] / p["cost"])
    assert not props.duplicated(["site_id", "heading_deg"]).any()  # a later phase never re-buys a camera
    assert props.groupby("site_id").size().max() <= 2
    assert phases[0]["gain_per_yuan"] >= phases[1]["gain_per_yuan"]
    stored = store.open_workspace(ws_path).get_meta("placement")
    assert [p["phase"] for p in stored["phases"]] == ["2027", "2028"]
    bad = CliRunner().invoke(cli, ["place", str(ws_path), "--phases", "2027:60000", "--k", "3"])
    assert bad.exit_code != 0 and "phases carry their own budgets" in " ".join(bad.output.split())


def test_night_views_are_stored_apart_never_beyond_the_day_ones_and_read_by_the_area_policy(ws_path):
    from api.workflows.views import compute_views, views_are_current

    ws = store.open_workspace(ws_path)
    cams = ws.features("cameras")
    cams["ir_range_m"] = 20.0
    cams["min_lux"] = 50.0  # too dark under the 10 lx street lights: only the lamps see (a model's lux is not used)
    ws.write("cameras", cams)
    day = compute_views(ws)
    result = CliRunner().invoke(cli, ["--json", "views", str(ws_path), "--light", "night"])
    assert result.exit_code == 0, result.output
    ws = store.open_workspace(ws_path)
    dark = ws.features("views_night")
    assert views_are_current(ws, "night") and views_are_current(ws)
    d = day.set_index(["camera", "level"])["range_m"]
    n = dark.set_index(["camera", "level"])["range_m"]
    assert (n <= d.reindex(n.index) + 1e-9).all() and n.max() <= 20.0
    assert dark.geometry.is_valid.all()
    community = ws.read("grids").sort_values("code")["community_code"].iloc[0]
    access.add_user(ws, "local", "police", access.Area.parse(f"community:{community}"), PASSWORD)
    app = create_app(Settings(workspace=str(ws_path)))
    token = TestClient(app).post("/api/auth/login", json={"username": "local", "password": PASSWORD}).json()["token"]
    local = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    r = local.get("/api/layers/views_night", params={"limit": 5000})
    assert r.status_code == 200, r.text
    mine = {f["properties"]["camera"] for f in r.json()["features"]}
    scope = access.Scope.of(ws, access.named_user(ws, "local"))
    allowed = set(scope.filter(ws, "cameras", ws.read("cameras"))["id"].astype(str))
    assert mine and mine <= allowed and len(mine) < dark["camera"].nunique()


def test_night_coverage_is_a_twin_of_the_day_one_never_above_it(ws_path):
    from api.workflows.coverage import compute_coverage, coverage_is_current

    ws = store.open_workspace(ws_path)
    result = CliRunner().invoke(cli, ["--json", "coverage", str(ws_path), "--light", "night"])
    assert result.exit_code == 0, result.output
    ws = store.open_workspace(ws_path)
    for name in ("views_night", "coverage_grids_night", "coverage_communities_night", "coverage_targets_night",
                 "blind_spots_night"):
        assert ws.has(name), name
    assert coverage_is_current(ws, "night")
    if not coverage_is_current(ws):
        compute_coverage(ws)
    day = ws.read("coverage_grids").set_index("code")
    dark = ws.read("coverage_grids_night").set_index("code")
    for level in ("detect", "observe", "recognise", "identify"):
        assert (dark[f"share_{level}"] <= day[f"share_{level}"].reindex(dark.index) + 1e-9).all(), level
    assert dark["share_detect"].sum() < day["share_detect"].sum()  # the demo's cameras see less at night
    assert ws.read("blind_spots_night")["area_m2"].sum() >= ws.read("blind_spots")["area_m2"].sum() - 1e-6
    assert ws.read("blind_spots_night").geometry.is_valid.all()
    with pytest.raises(ValueError, match="unknown light"):
        compute_coverage(ws, light="dusk")


@pytest.mark.browser
def test_the_coverage_page_switches_between_day_and_night(ws_path):
    from api.workflows.coverage import compute_coverage
    from tests.api.test_browser import CHROMIUM, FLAGS, serving
    from tests.conftest import require

    require(CHROMIUM is not None, "Debian's chromium is not installed (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    compute_coverage(store.open_workspace(ws_path), light="night")
    with serving(str(ws_path)) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/coverage", wait_until="load")
        assert "视频覆盖图" in page.inner_text("#pingan-title") and "夜间" not in page.inner_text("#pingan-title")
        page.click("#pingan-light-night")
        page.wait_for_url("**/coverage?light=night")
        page.wait_for_load_state("load")
        assert "夜间视频覆盖图" in page.inner_text("#pingan-title")
        drawn = page.evaluate("""() => { let n = 0; const m = Object.values(window).find(v => v && v._container
            && v.eachLayer); m.eachLayer(l => { if (l.feature && l.feature.properties.rank !== undefined) n++; });
            return n; }""")
        spots = store.open_workspace(ws_path).read("blind_spots_night")
        assert drawn == int(spots["ranked"].astype(bool).sum())  # the night's ranked blind spots
        page.click("#pingan-light-day")
        page.wait_for_url("**/coverage?light=day")
        assert errors == []
        browser.close()
