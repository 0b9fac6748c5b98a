"""The patrol page in Chromium and the patrol API under the area policy."""

from __future__ import annotations

import shutil
import time

import geopandas as gpd
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from pandas.testing import assert_frame_equal

from api import access
from api.app import create_app
from api.settings import Settings
from api.workflows.patrol import plan_patrols
from layers import store
from tests.api.test_browser import browser, open_page, serving, wait_for  # noqa: F401 (the browser fixture)

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def patrolled(analysed_path, tmp_path_factory):
    path = tmp_path_factory.mktemp("patrol-page") / "demo.gpkg"
    shutil.copyfile(analysed_path, path)
    ws = store.open_workspace(path)
    plan_patrols(ws, slot="18-24", units={"foot": 2, "car": 1}, shift_h=2.0, seconds=0.5)
    return path


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_patrol_page_draws_zones_routes_and_stops_and_switches_slot(patrolled, browser, lang):  # noqa: F811
    ws = store.open_workspace(patrolled)
    routes, zones, stops = (ws.read(n) for n in ("patrol_routes", "patrol_zones", "patrol_stops"))
    with serving(str(patrolled)) as url:
        page = open_page(browser, f"{url}/patrol?slot=18-24&lang={lang}")
        assert page.errors == [] and page.outside == []
        counts = page.evaluate("""() => {
            const map = Object.values(window).find(v => v && v._container && v.eachLayer);
            const n = {route: 0, zone: 0, stop: 0};
            map.eachLayer(l => { const p = l.feature && l.feature.properties; if (!p) return;
                if (p.unit && p.km !== undefined) n.route++;
                else if (p.duty) n.zone++;
                else if (p.order !== undefined) n.stop++; });
            return n; }""")
        assert counts == {"route": len(routes), "zone": len(zones), "stop": len(stops)}
        panel = page.inner_text("#pingan-patrol")
        assert ("巡逻前未覆盖风险" in panel) if lang == "zh" else ("Uncovered risk before patrols" in panel)
        assert page.eval_on_selector("#pp-slot", "s => s.value") == "18-24"
        page.select_option("#pp-slot", "00-06")
        page.wait_for_url("**slot=00-06**")
        page.wait_for_selector("#pingan-patrol")
        data = page.evaluate("JSON.parse(document.getElementById('pingan-patrol-data').textContent)")
        assert data["routes"] == 0 and data["after"] == pytest.approx(data["before"])  # no plan for that slot
        page.close()


def test_the_patrol_api_answers_for_ones_area_only(patrolled, tmp_path):
    path = tmp_path / "demo.gpkg"
    shutil.copyfile(patrolled, path)
    ws = store.open_workspace(path)
    grids = ws.read("grids").sort_values("code")
    community = grids["community_code"].iloc[0]
    for name, role, area in [("police", "police", "all"), ("local", "police", f"community:{community}"),
                             ("worker", "grid_worker", f"grid:{grids['code'].iloc[0]}")]:
        access.add_user(ws, name, role, access.Area.parse(area), PASSWORD)
    app = create_app(Settings(workspace=str(path)))

    def client(name):
        token = TestClient(app).post("/api/auth/login", json={"username": name, "password": PASSWORD}).json()["token"]
        return TestClient(app, headers={"Authorization": f"Bearer {token}"})

    everything = client("police").get("/api/patrol", params={"slot": "18-24"}).json()["slots"][0]
    local = client("local").get("/api/patrol", params={"slot": "18-24"}).json()["slots"][0]
    streets = ws.read("patrol_streets")
    scope = access.Scope.of(ws, access.User("local", access.ROLES["police"], access.Area.parse(
        f"community:{community}")))
    expected = float(streets[scope.mask(ws, "patrol_streets", streets)]["weight_18_24"].sum())
    assert local["before"] == pytest.approx(expected) and local["before"] < everything["before"]
    assert "solves" in everything and "solves" not in local  # station reports span the whole workspace
    assert everything["routes"] == len(ws.read("patrol_routes"))
    worker = client("worker")
    assert worker.get("/api/patrol").status_code == 403
    assert worker.get("/patrol").status_code == 403
    assert client("police").get("/api/patrol", params={"slot": "25-99"}).status_code == 422
    assert client("police").get("/api/patrol/model").text.startswith("# Pingan Planner patrol model")


def _finished(c: TestClient, job: dict) -> dict:
    deadline = time.time() + 180
    while job["status"] in ("queued", "running"):
        assert time.time() < deadline, job
        time.sleep(0.2)
        job = c.get(f"/api/patrol/jobs/{job['id']}").json()
    assert job["status"] == "done", job
    return job["result"]


def test_a_camera_dropped_in_ones_whatif_session_lowers_the_patrol_plans_uncovered_risk(patrolled, tmp_path):
    path = tmp_path / "demo.gpkg"
    shutil.copyfile(patrolled, path)
    ws = store.open_workspace(path)
    grids = ws.read("grids").sort_values("code")
    access.add_user(ws, "police", "police", access.Area(), PASSWORD)
    access.add_user(ws, "local", "police", access.Area.parse(f"community:{grids['community_code'].iloc[0]}"), PASSWORD)
    access.add_user(ws, "planner", "planner", access.Area(), PASSWORD)
    app = create_app(Settings(workspace=str(path)))

    def client(name):
        token = TestClient(app).post("/api/auth/login", json={"username": name, "password": PASSWORD}).json()["token"]
        return TestClient(app, headers={"Authorization": f"Bearer {token}"})

    police = client("police")
    run = {"slot": "18-24", "units": {"foot": 1}, "shift_h": 1.0, "zones": 1, "seconds": 0.3, "whatif": True}
    stored_routes = ws.read("patrol_routes")
    streets = ws.read("patrol_streets")
    r = police.post("/api/patrol/jobs", json=run)
    assert r.status_code == 202, r.text
    base = _finished(police, r.json())
    # an empty session watches with the stored cameras: the same uncovered risk as the stored plan
    assert base["before"] == pytest.approx(float(streets["weight_18_24"].sum()), rel=1e-9)
    # a camera on the hottest stretch, looking along it
    metric = ws.metric_crs()
    hot = streets.to_crs(metric).sort_values("weight_18_24").iloc[-1].geometry
    a, b = shapely.line_interpolate_point(hot, [0.1, 0.9], normalized=True)
    heading = float(np.degrees(np.arctan2(b.x - a.x, b.y - a.y)) % 360)
    lon, lat = gpd.GeoSeries([a], crs=metric).to_crs(4326).iat[0].coords[0]
    r = police.post("/api/whatif/cameras", json={"lon": lon, "lat": lat, "heading_deg": heading, "height_m": 6})
    assert r.status_code == 200, r.text
    r = police.post("/api/patrol/jobs", json=run)
    after = _finished(police, r.json())
    assert after["before"] < base["before"] - 1e-9 and after["whatif"] and not after["stored"]
    assert_frame_equal(ws.read("patrol_routes"), stored_routes)  # a what-if plan stores nothing
    # the stored plan: a whole-workspace planner of patrols only
    stored = run | {"whatif": False, "slot": "00-06"}
    assert client("local").post("/api/patrol/jobs", json=stored).status_code == 403
    assert client("planner").post("/api/patrol/jobs", json=stored).status_code == 403
    assert police.post("/api/patrol/jobs", json=stored | {"slot": "7-99"}).status_code == 422
    r = police.post("/api/patrol/jobs", json=stored)
    done = _finished(police, r.json())
    assert done["stored"] and set(ws.read("patrol_routes")["slot"]) == {"18-24", "00-06"}
    assert done["routes"]["features"] and len(done["solves"]) == 3


@pytest.mark.browser
def test_the_patrol_page_replans_with_the_whatif_cameras(patrolled, browser, tmp_path):  # noqa: F811
    path = tmp_path / "demo.gpkg"
    shutil.copyfile(patrolled, path)
    before = float(store.open_workspace(path).read("patrol_streets")["weight_18_24"].sum())
    with serving(str(path)) as url:
        page = open_page(browser, f"{url}/patrol?slot=18-24")
        assert "按我的假设摄像机重算巡逻" in page.inner_text("#pingan-patrol")
        page.click("#pp-whatif")
        wait_for(page, "document.getElementById('pp-whatif-status').dataset.routes !== undefined", 180)
        status = page.eval_on_selector("#pp-whatif-status", "s => ({...s.dataset, text: s.textContent})")
        assert float(status["before"]) == pytest.approx(before, rel=1e-6) and "假设后" in status["text"]
        dashed = page.evaluate("""() => { let n = 0; const map = Object.values(window).find(v => v && v._container
            && v.eachLayer); map.eachLayer(l => { if (l.options && l.options.dashArray === '6 6' && l.feature) n++; });
            return n; }""")
        assert dashed == int(status["routes"]) > 0
        assert page.errors == [] and page.outside == []
        page.close()
