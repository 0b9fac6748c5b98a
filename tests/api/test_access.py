"""Users, roles and areas: every role × resource × in-area / out-of-area combination, login and audit."""

import json

import geopandas as gpd
import pytest
import shapely
from fastapi.testclient import TestClient

from api import access
from tests.api.conftest import PASSWORD

LAYERS = ["communities", "grids", "buildings", "households", "roads", "targets", "incidents", "cameras", "sites",
          "views", "risk", "coverage_grids", "coverage_communities", "coverage_targets", "blind_spots"]


def test_nothing_without_logging_in(secured):
    anon = TestClient(secured["app"])
    for path in ["/api/layers", "/api/layers/grids", "/api/features/cameras?bbox=120,36,121,37",
                 "/api/search?q=1", "/api/risk/model", "/api/auth/me"]:
        r = anon.get(path)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", path
    assert anon.post("/api/whatif/cameras", json={"lon": 120.51, "lat": 36.88}).status_code == 401
    page = anon.get("/coverage", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/coverage"
    assert "登录" in anon.get("/login").text
    bad = TestClient(secured["app"], headers={"Authorization": "Bearer not-a-token"}).get("/api/layers")
    assert bad.status_code == 401


@pytest.mark.parametrize("role", list(access.ROLES))
def test_every_role_reads_exactly_its_layers(secured, role):
    name = {"grid_worker": "worker"}.get(role, role)
    http = secured["as"](name)
    listed = {row["name"] for row in http.get("/api/layers").json()}
    allowed = access.ROLES[role].reads
    assert listed == allowed & set(secured["ws"].versions())
    for layer in LAYERS:
        r = http.get(f"/api/layers/{layer}", params={"reason": "核查"} if layer == "households" else None)
        may = layer in allowed and (layer != "households" or access.ROLES[role].household_detail)
        assert r.status_code == (200 if may else 403), (role, layer, r.text[:200])


def test_a_grid_worker_sees_only_their_grid(secured):
    ws, mine, other = secured["ws"], secured["mine"], secured["other"]
    http = secured["as"]("worker")
    grids = http.get("/api/layers/grids").json()["features"]
    assert [g["properties"]["code"] for g in grids] == [mine["code"]]
    shape = mine.geometry
    buildings = gpd.GeoDataFrame.from_features(http.get("/api/layers/buildings").json()["features"], crs=4326)
    assert len(buildings) > 0 and shapely.covers(shape, shapely.point_on_surface(buildings.geometry.to_numpy())).all()
    everything = ws.read("buildings")
    inside = everything[shapely.covers(shape, shapely.point_on_surface(everything.geometry.to_numpy()))]
    assert set(buildings["id"]) == set(inside["id"])  # all of them, and a straddling building on one side only
    households = http.get("/api/layers/households", params={"reason": "入户走访"}).json()
    assert households and {h["building_id"] for h in households} <= set(inside["id"])
    # another grid: through a filter, a bbox, the viewport data, search, the pages — nothing
    assert http.get("/api/layers/buildings", params={"grid": other["code"]}).json()["features"] == []
    w, s, e, n = other.geometry.bounds
    straddling = http.get("/api/layers/targets", params={"bbox": f"{w},{s},{e},{n}"}).json()["features"]
    assert all(shapely.covers(shape, shapely.from_geojson(json.dumps(f["geometry"]))) for f in straddling)
    feats = http.get("/api/features/buildings", params={"bbox": f"{w},{s},{e},{n}", "zoom": 17}).json()["features"]
    assert all(shapely.covers(shape, shapely.from_geojson(json.dumps(f["geometry"])).point_on_surface())
               for f in feats)
    assert http.get("/api/search", params={"q": other["code"]}).json() == []
    page = http.get("/").text
    assert mine["code"] in page and other["code"] not in page


def test_household_detail_by_role_with_a_reason_and_audited(secured):
    ws = secured["ws"]
    assert secured["as"]("police").get("/api/layers/households", params={"reason": "x"}).status_code == 403
    assert secured["as"]("viewer").get("/api/layers/households", params={"reason": "x"}).status_code == 403
    http = secured["as"]("planner")
    assert http.get("/api/layers/households").status_code == 422  # no reason given
    before = len(ws.audit_log())
    assert http.get("/api/layers/households", params={"reason": "综治季度核查"}).status_code == 200
    last = ws.audit_log().iloc[len(ws.audit_log()) - 1]
    assert len(ws.audit_log()) == before + 1 and last["user"] == "planner" and last["action"] == "view"
    assert "综治季度核查" in last["detail"]


def test_viewers_see_aggregates_of_their_community_only(secured):
    http = secured["as"]("viewer")
    mine = secured["mine"]
    grids = http.get("/api/layers/risk").json()["features"]
    assert grids and {g["properties"]["community_code"] for g in grids} == {mine["community_code"]}
    assert http.get("/api/features/cameras", params={"bbox": "120,36,121,37"}).status_code == 403
    assert http.get("/api/features/buildings", params={"bbox": "120,36,121,37"}).status_code == 403
    assert {h["layer"] for h in http.get("/api/search", params={"q": "3702"}).json()} <= {"grids", "communities"}
    page = http.get("/coverage")
    assert page.status_code == 200 and "/api/features/cameras" not in page.text


def test_placing_cameras_by_role_and_area(secured):
    mine, other = secured["mine"], secured["other"]
    inside = mine.geometry.representative_point()
    outside = other.geometry.representative_point()
    body = {"model": "bullet-4mm", "heading_deg": 90}
    police = secured["as"]("police")
    assert police.post("/api/whatif/cameras", json={"lon": inside.x, "lat": inside.y, **body}).status_code == 200
    worker = secured["as"]("worker")
    assert worker.post("/api/whatif/cameras", json={"lon": inside.x, "lat": inside.y, **body}).status_code == 403
    assert worker.get("/placement").status_code == 403
    assert secured["as"]("viewer").put("/api/risk/model", content="x").status_code == 403
    # a police officer limited to one grid cannot drop a camera outside it
    ws = secured["ws"]
    access.add_user(ws, "police2", "police", access.Area.parse(f"grid:{mine['code']}"), PASSWORD)
    local = secured["as"]("police2")
    assert local.post("/api/whatif/cameras", json={"lon": outside.x, "lat": outside.y, **body}).status_code == 403
    assert local.post("/api/placement/run", json={"k": 1, "greedy": True}).status_code == 403


def test_login_throttling_disabling_and_logout(secured):
    ws, app = secured["ws"], secured["app"]
    access.add_user(ws, "target", "viewer", access.Area(), PASSWORD)
    anon = TestClient(app)
    for _ in range(access.LOCK_AFTER):
        assert anon.post("/api/auth/login", json={"username": "target", "password": "wrong guess!"}).status_code == 401
    locked = anon.post("/api/auth/login", json={"username": "target", "password": PASSWORD})
    assert locked.status_code == 401 and "too many failed logins" in locked.json()["detail"]
    assert anon.post("/api/auth/login", json={"username": "nobody", "password": PASSWORD}).status_code == 401
    log = ws.audit_log()
    assert (log[log["object"] == "user:target"]["action"] == "login_failed").sum() == access.LOCK_AFTER
    # a session ends with logout, and at once when the account is disabled
    access.add_user(ws, "temp", "viewer", access.Area(), PASSWORD)
    token = anon.post("/api/auth/login", json={"username": "temp", "password": PASSWORD}).json()["token"]
    http = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert http.get("/api/auth/me").json()["role"] == "viewer"
    access.set_disabled(ws, "temp")
    assert http.get("/api/auth/me").status_code == 401
    access.set_disabled(ws, "temp", False)
    token = anon.post("/api/auth/login", json={"username": "temp", "password": PASSWORD}).json()["token"]
    http = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert http.post("/api/auth/logout").status_code == 200
    assert http.get("/api/auth/me").status_code == 401


def test_passwords_are_stored_as_argon2_hashes_only(secured):
    rows = access.users(secured["ws"])
    assert rows and all(r["password_hash"].startswith("$argon2id$") for r in rows)
    assert not any(PASSWORD in json.dumps(r) for r in rows)
    assert all(len(s["token_hash"]) == 64 for s in secured["ws"].records("sessions"))


@pytest.mark.parametrize(("name", "role", "area", "password", "message"), [
    ("a", "viewer", "all", PASSWORD, "not allowed"),
    ("bob", "chief", "all", PASSWORD, "unknown"),
    ("bob", "viewer", "grid:999999999999999", PASSWORD, "selects no grid"),
    ("bob", "viewer", "all", "short", "too short"),
    ("admin", "viewer", "all", PASSWORD, "exists"),
])
def test_bad_users_are_refused(secured, name, role, area, password, message):
    with pytest.raises(access.UserError, match=message):
        access.add_user(secured["ws"], name, role, access.Area.parse(area), password)


def _camera(http, cam_id):
    r = http.get(f"/api/layers/cameras/{cam_id}")
    assert r.status_code == 200, r.text
    return r.json(), r.headers["etag"]


def test_concurrent_edits_of_one_camera_one_wins_none_is_lost(secured):
    import threading

    ws = secured["ws"]
    cam_id = str(ws.read("cameras")["id"].iloc[3])
    a, b = secured["as"]("police"), secured["as"]("admin")
    feature, etag = _camera(a, cam_id)
    results = {}

    def edit(client, who, heading):
        body = {**feature, "properties": {**feature["properties"], "heading_deg": heading, "name": f"改于{who}"}}
        results[who] = client.put(f"/api/layers/cameras/{cam_id}", json=body, headers={"If-Match": etag})

    threads = [threading.Thread(target=edit, args=(a, "police", 45.0)),
               threading.Thread(target=edit, args=(b, "admin", 135.0))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    codes = sorted(r.status_code for r in results.values())
    assert codes == [200, 412], {k: r.text for k, r in results.items()}
    winner = next(k for k, r in results.items() if r.status_code == 200)
    loser = next(k for k, r in results.items() if r.status_code == 412)
    final = ws.read("cameras").set_index("id").loc[cam_id]
    assert final["name"] == f"改于{winner}" and final["heading_deg"] == (45.0 if winner == "police" else 135.0)
    assert results[loser].json()["current_etag"] == results[winner].headers["etag"]
    log = ws.audit_log()
    mine = log[log["object"] == f"cameras:{cam_id}"]
    assert set(zip(mine["user"], mine["action"], strict=True)) >= {(winner, "update"), (loser, "update_conflict")}
    # the loser reads again and repeats: now it lands
    feature2, etag2 = _camera(a, cam_id)
    again = a.put(f"/api/layers/cameras/{cam_id}", json=feature2, headers={"If-Match": etag2})
    assert again.status_code == 200


def test_edits_need_if_match_the_right_role_and_valid_data(secured):
    ws = secured["ws"]
    police = secured["as"]("police")
    cam_id = str(ws.read("cameras")["id"].iloc[4])
    feature, etag = _camera(police, cam_id)
    assert police.put(f"/api/layers/cameras/{cam_id}", json=feature).status_code == 428
    bad = {**feature, "properties": {**feature["properties"], "heading_deg": 999}}
    r = police.put(f"/api/layers/cameras/{cam_id}", json=bad, headers={"If-Match": etag})
    assert r.status_code == 422 and any(p["field"] == "heading_deg" for p in r.json()["problems"])
    assert ws.read("cameras").set_index("id").loc[cam_id, "heading_deg"] == feature["properties"]["heading_deg"]
    dup = police.post("/api/layers/cameras", json=feature)
    assert dup.status_code == 409
    new = {**feature, "properties": {**feature["properties"], "id": "CAM-NEW-0001", "name": "新增"}}
    made = police.post("/api/layers/cameras", json=new)
    assert made.status_code == 201 and made.headers["etag"]
    gone = police.delete("/api/layers/cameras/CAM-NEW-0001", headers={"If-Match": made.headers["etag"]})
    assert gone.status_code == 200 and "CAM-NEW-0001" not in set(ws.read("cameras")["id"])
    # roles: a viewer cannot edit; a police officer cannot edit grids; computed layers are not edited
    assert secured["as"]("viewer").put(f"/api/layers/cameras/{cam_id}", json=feature,
                                       headers={"If-Match": etag}).status_code == 403
    assert police.delete("/api/layers/grids/x", headers={"If-Match": '"x"'}).status_code == 403
    assert secured["as"]("admin").delete("/api/layers/risk/x", headers={"If-Match": '"x"'}).status_code == 403


def test_a_grid_worker_edits_only_inside_their_grid(secured):
    ws, mine, other = secured["ws"], secured["mine"], secured["other"]
    worker = secured["as"]("worker")
    assert worker.get(f"/api/layers/grids/{other['code']}").status_code == 404  # not in their area
    inside = ws.read("buildings")
    inside = inside[shapely.covers(mine.geometry, shapely.point_on_surface(inside.geometry.to_numpy()))]
    building = worker.get(f"/api/layers/buildings/{inside['id'].iloc[0]}")
    assert building.status_code == 200
    # buildings are the planners' to change, not the worker's
    r = worker.put(f"/api/layers/buildings/{inside['id'].iloc[0]}", json=building.json(),
                   headers={"If-Match": building.headers["etag"]})
    assert r.status_code == 403


def test_placement_runs_as_a_job_with_progress(secured):
    import time

    police = secured["as"]("police")
    started = police.post("/api/placement/jobs", json={"k": 2, "greedy": True, "heading_step_deg": 90})
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["status"] in ("queued", "running") and job["user"] == "police"
    deadline = time.time() + 120
    while job["status"] in ("queued", "running") and time.time() < deadline:
        time.sleep(0.2)
        job = police.get(f"/api/placement/jobs/{job['id']}").json()
    assert job["status"] == "done", job
    assert job["progress"] and len(job["result"]["proposals"]) == 2
    # a job is its starter's alone: nobody else, an administrator included, is told it exists
    assert secured["as"]("planner").get(f"/api/placement/jobs/{job['id']}").status_code == 404
    assert secured["as"]("admin").get(f"/api/placement/jobs/{job['id']}").status_code == 404
    assert police.get("/api/placement/jobs/0123456789abcdef").status_code == 404


def test_the_audit_log_is_for_administrators(secured):
    assert secured["as"]("planner").get("/api/audit").status_code == 403
    rows = secured["as"]("admin").get("/api/audit", params={"action": "login", "limit": 5}).json()
    assert 0 < len(rows) <= 5 and all(r["action"] == "login" for r in rows)
    assert rows == sorted(rows, key=lambda r: r["at"], reverse=True)


def test_exports_are_filtered_by_area_named_safely_and_audited(secured, tmp_path):
    import pyogrio

    ws, mine = secured["ws"], secured["mine"]
    worker = secured["as"]("worker")
    r = worker.get("/api/export/buildings", params={"format": "geojson", "name": "../../etc/passwd"})
    assert r.status_code == 200, r.text
    disposition = r.headers["content-disposition"]
    assert "passwd.geojson" in disposition and ".." not in disposition and "/" not in disposition.split(";")[1]
    out = tmp_path / "b.geojson"
    out.write_bytes(r.content)
    got = pyogrio.read_dataframe(out)
    inside = ws.read("buildings")
    inside = inside[shapely.covers(mine.geometry, shapely.point_on_surface(inside.geometry.to_numpy()))]
    assert set(got["id"]) == set(inside["id"])  # their grid's buildings, no others
    assert worker.get("/api/export/cameras").status_code == 403  # not a layer their role reads
    assert secured["as"]("viewer").get("/api/export/risk").status_code == 403  # viewers do not export
    assert worker.get("/api/export/households", params={"format": "gpkg", "detail": True}).status_code == 422  # why?
    police = secured["as"]("police")
    assert police.get("/api/export/households", params={"detail": True, "reason": "x"}).status_code == 403
    log = ws.audit_log()
    last = log[(log["action"] == "export") & (log["user"] == "worker")].iloc[-1]
    assert "passwd.geojson" in last["detail"] and str(len(inside)) in last["detail"]
    named = worker.get("/api/export/buildings", params={"format": "kml", "name": "网格<script>.kml"})
    assert named.status_code == 200 and "<" not in named.headers["content-disposition"]


def test_settings_by_role(secured):
    assert secured["as"]("viewer").get("/api/settings").json()["storey_height_m"] > 0
    assert secured["as"]("police").put("/api/settings", json={"storey_height_m": 3.2}).status_code == 403
    planner = secured["as"]("planner")
    assert planner.put("/api/settings", json={"storey_height_m": 99}).status_code == 422
    assert planner.put("/api/settings", json={"password": "x"}).status_code == 422  # unknown keys are refused
    assert planner.put("/api/settings", json={"dori_profile": "made-up"}).status_code == 422
    ok = planner.put("/api/settings", json={"storey_height_m": 3.2})
    assert ok.status_code == 200 and ok.json()["storey_height_m"] == 3.2
    planner.put("/api/settings", json={"storey_height_m": 3.0})


def test_reads_by_grid_and_community_and_odd_filters(secured):
    mine = secured["mine"]
    admin = secured["as"]("admin")
    in_grid = admin.get("/api/layers/buildings", params={"grid": mine["code"]}).json()["features"]
    in_community = admin.get("/api/layers/buildings", params={"community": mine["community_code"]}).json()["features"]
    assert 0 < len(in_grid) < len(in_community)
    # a worker asking for their community still gets their grid only
    worker = secured["as"]("worker")
    theirs = worker.get("/api/layers/buildings", params={"community": mine["community_code"]}).json()["features"]
    assert {f["properties"]["id"] for f in theirs} == {f["properties"]["id"] for f in in_grid}
    for odd in ("' OR 1=1 --", "../../etc", "<script>"):
        r = admin.get("/api/layers/buildings", params={"grid": odd})
        assert r.status_code == 404 and "Traceback" not in r.text
    assert admin.get("/api/layers/grids", params={"bbox": "1;DROP TABLE grids"}).status_code == 422
