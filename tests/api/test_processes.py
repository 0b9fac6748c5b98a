"""Several server processes on one workspace (real `pingan serve`s): what-if sessions and logins are
shared, so a proxy may send each request to any of them."""

from __future__ import annotations

import httpx
import pytest
import shapely

from api import access
from benchmarks import pages
from layers import store
from tests.conftest import BACKENDS, copied_workspace

PASSWORD = "correct horse battery"
GRID = "370285001201001"


@pytest.fixture(params=BACKENDS)
def workspace(request, analysed_path, tmp_path_factory) -> str:
    return copied_workspace(request, analysed_path, "processes", tmp_path_factory)[0]


def _open_spot(ws: store.Store) -> tuple[float, float]:
    """A point in the grid's largest blind spot (public space no camera sees: a camera there adds)."""
    spots = ws.read("blind_spots")
    spots = spots[spots["grid_code"] == GRID]
    point = shapely.point_on_surface(spots.geometry.loc[spots["area_m2"].idxmax()])
    return point.x, point.y


def test_two_servers_continue_one_whatif_session(workspace):
    ws = store.open_workspace(workspace)
    stored = len(ws.read("cameras"))
    lon, lat = _open_spot(ws)
    (a, one), (b, two) = pages.serve(workspace, "--no-auth"), pages.serve(workspace, "--no-auth")
    try:
        with httpx.Client(base_url=a, timeout=120) as on_a, httpx.Client(base_url=b, timeout=120) as on_b:
            first = on_a.post("/api/whatif/cameras", json={"lon": lon, "lat": lat, "model": "bullet-12mm",
                                                           "heading_deg": 90}).json()
            assert first["camera"] == "WHATIF-1" and first["gain_m2"] > 0
            # the other process continues the same session: it counts on from it and knows its camera
            second = on_b.post("/api/whatif/cameras", json={"lon": lon, "lat": lat, "model": "bullet-12mm",
                                                            "heading_deg": 270}).json()
            assert second["camera"] == "WHATIF-2"
            moved = on_b.post("/api/whatif/cameras", json={"lon": lon, "lat": lat, "model": "bullet-12mm",
                                                           "heading_deg": 90, "id": "WHATIF-1"})
            assert moved.status_code == 200 and moved.json()["gain_m2"] == pytest.approx(0, abs=1e-6)
            gone = on_b.delete("/api/whatif/cameras/WHATIF-2")
            assert gone.status_code == 200 and gone.json()["gain_m2"] == pytest.approx(-second["gain_m2"])
            # back on the first: it replays what the other did, and removing its camera undoes it all
            last = on_a.delete("/api/whatif/cameras/WHATIF-1")
            assert last.status_code == 200, last.text
            assert last.json()["gain_m2"] == pytest.approx(-first["gain_m2"])
            assert on_a.delete("/api/whatif/cameras/WHATIF-9").status_code == 404
        assert len(ws.read("cameras")) == stored  # nothing is stored by a what-if
    finally:
        for proc in (one, two):
            proc.terminate()
            proc.wait(timeout=30)


def test_serve_with_two_processes_shares_logins_and_edits(workspace):
    ws = store.open_workspace(workspace)
    access.add_user(ws, "police", "police", access.Area(), PASSWORD)
    url, proc = pages.serve(workspace, "--workers", "2")
    try:
        with httpx.Client(base_url=url, timeout=60) as http:
            token = http.post("/api/auth/login", json={"username": "police", "password": PASSWORD}).json()["token"]
            http.headers["Authorization"] = f"Bearer {token}"
            cam = str(ws.read("cameras")["id"].iloc[0])
            for turn in range(12):  # fresh connections: the kernel spreads them over both processes
                http.headers["Connection"] = "close"
                got = http.get(f"/api/layers/cameras/{cam}")
                assert got.status_code == 200, got.text
                feature = got.json()
                feature["properties"]["heading_deg"] = turn * 10.0
                put = http.put(f"/api/layers/cameras/{cam}", json=feature, headers={"If-Match": got.headers["etag"]})
                assert put.status_code == 200, put.text
        assert float(ws.row("cameras", "id", cam)["heading_deg"]) == 110.0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
