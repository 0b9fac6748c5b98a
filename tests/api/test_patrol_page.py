"""The patrol page in Chromium and the patrol API under the area policy."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from api import access
from api.app import create_app
from api.settings import Settings
from api.workflows.patrol import plan_patrols
from layers import store
from tests.api.test_browser import browser, open_page, serving  # noqa: F401 (the browser fixture)

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
