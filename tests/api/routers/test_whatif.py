import pytest
import shapely
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from tests.conftest import BACKENDS, copied_workspace


@pytest.fixture(scope="module", params=BACKENDS)
def client(request, analysed_path, tmp_path_factory):
    uri, ws = copied_workspace(request, analysed_path, "whatif", tmp_path_factory)
    return TestClient(create_app(Settings(auth=False, workspace=uri))), ws


def test_dropping_and_removing_a_camera(client):
    http, ws = client
    stored = len(ws.read("cameras"))
    grid = ws.read("grids").set_index("code").geometry.loc["370285001201001"]
    blds = ws.read("buildings")
    big = blds[blds.geometry.within(grid)].to_crs(ws.metric_crs()).area.idxmax()
    inside = blds.geometry.loc[big].centroid  # the middle of the grid's largest building: indoors
    refused = http.post("/api/whatif/cameras", json={"lon": inside.x, "lat": inside.y, "model": "bullet-12mm"})
    assert refused.status_code == 422 and "inside a building" in refused.json()["detail"]
    spots = ws.read("blind_spots")
    spots = spots[spots["grid_code"] == "370285001201001"]
    spot = spots.geometry.loc[spots["area_m2"].idxmax()]  # public space no camera sees: a drop there adds
    lon, lat = shapely.point_on_surface(spot).x, shapely.point_on_surface(spot).y
    dropped = http.post("/api/whatif/cameras", json={"lon": lon, "lat": lat, "model": "bullet-12mm",
                                                      "heading_deg": 90, "height_m": 6})
    assert dropped.status_code == 200, dropped.text
    ans = dropped.json()
    assert ans["camera"].startswith("WHATIF-") and ans["gain_m2"] > 0
    assert ans["view"]["type"] == "FeatureCollection"
    assert {f["properties"]["level"] for f in ans["view"]["features"]} <= {"detect", "observe", "recognise",
                                                                          "identify"}
    by_grid = {g["code"]: g for g in ans["grids"]}
    assert by_grid["370285001201001"]["share_after"] > by_grid["370285001201001"]["share_before"]
    assert sum(g["gain_m2"] for g in ans["grids"]) == pytest.approx(ans["gain_m2"])
    removed = http.delete(f"/api/whatif/cameras/{ans['camera']}").json()
    assert removed["gain_m2"] == pytest.approx(-ans["gain_m2"])
    assert len(ws.read("cameras")) == stored  # nothing is stored by a what-if


def test_the_baseline_is_the_users_choice_and_said_in_the_answer(client):
    """'active' (在用) starts from the stored coverage map's figures; 'planned' (在用+规划) adds planned cameras."""
    http, ws = client
    stored = ws.read("coverage_grids").set_index("code")["share_detect"]
    planned = ws.read("cameras")
    planned = planned[planned["status"] == "planned"]
    grids = ws.read("grids")
    holder = grids[grids.geometry.covers(planned.geometry.iloc[0])]["code"].iat[0]  # a grid with a planned camera
    lon, lat = grids.set_index("code").geometry.loc[holder].representative_point().coords[0]
    answers = {}
    for baseline in ("active", "planned"):
        r = http.post("/api/whatif/cameras", json={"lon": lon, "lat": lat, "heading_deg": 45, "baseline": baseline})
        assert r.status_code == 200, r.text
        ans = answers[baseline] = r.json()
        assert ans["baseline"] == baseline and ans["baseline_label"] == {"active": "在用", "planned": "在用+规划"}[
            baseline]
        http.delete(f"/api/whatif/cameras/{ans['camera']}", params={"baseline": baseline})
    before = {b: {g["code"]: g["share_before"] for g in a["grids"]} for b, a in answers.items()}
    for code, share in before["active"].items():
        assert share == pytest.approx(stored[code], abs=1e-9)  # the same figures as the coverage map
    assert before["planned"][holder] >= before["active"][holder]


@pytest.mark.parametrize(("body", "status"), [
    ({"lon": 120.51, "lat": 36.88, "model": "bullet-99mm"}, 422),
    ({"lon": 999, "lat": 36.88}, 422),
    ({"lon": 120.51, "lat": 36.88, "id": "<script>"}, 422),
])
def test_bad_drops_are_refused(client, body, status):
    http, _ = client
    r = http.post("/api/whatif/cameras", json=body)
    assert r.status_code == status and "Traceback" not in r.text


def test_placement_run_and_accept_through_the_api(client):
    http, ws = client
    before = len(ws.read("cameras"))
    run = http.post("/api/placement/run", json={"k": 2, "greedy": True, "heading_step_deg": 90,
                                                 "models": ["bullet-12mm"]})
    assert run.status_code == 200, run.text
    ans = run.json()
    assert ans["problem"] == "MCLP" and 1 <= len(ans["proposals"]) <= 2
    first = ans["proposals"][0]
    assert first["rank"] == 1 and first["gain"] > 0 and 120 < first["lon"] < 121
    accepted = http.post("/api/placement/accept", json={"ranks": [1]}).json()
    assert len(accepted["cameras"]) == 1 and len(ws.read("cameras")) == before + 1
    assert http.post("/api/placement/accept", json={"ranks": [99]}).status_code == 422
    assert http.post("/api/placement/run", json={}).status_code == 422  # neither k, budget nor classes
