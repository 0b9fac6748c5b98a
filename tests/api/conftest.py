"""Fixtures of the API tests: the analysed demo with one user per role and area, logged in."""

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api import access
from api.app import create_app
from api.settings import Settings
from layers import store
from layers.workspace import copy_workspace

PASSWORD = "correct horse battery"


@pytest.fixture
def ws_path(analysed_path, tmp_path):
    """A copy of the analysed demo of the test's own, to change freely."""
    path = tmp_path / "demo.gpkg"
    shutil.copyfile(analysed_path, path)
    return path


@pytest.fixture(scope="module", params=["gpkg", "postgis"])
def secured(request, analysed_path, tmp_path_factory):
    """Users admin, planner, police (area all), worker/worker2 (one grid each), viewer (a community);
    the analysed demo served from a GeoPackage and from PostGIS (every test runs on both)."""
    if request.param == "gpkg":
        path: str | Path = tmp_path_factory.mktemp("secured") / "demo.gpkg"
        shutil.copyfile(analysed_path, path)
        ws = store.open_workspace(path)
    else:
        module = request.module.__name__.rsplit(".", 1)[-1]
        path = f"{request.getfixturevalue('postgis_uri')}?workspace=secured_{module}"
        ws = store.open_workspace(path, create=True, overwrite=True)
        copy_workspace(store.open_workspace(analysed_path), ws)
    grids = ws.read("grids").sort_values("code")
    mine, other = grids.iloc[0], grids[grids["community_code"] != grids.iloc[0]["community_code"]].iloc[0]
    for name, role, area in [("admin", "admin", "all"), ("planner", "planner", "all"), ("police", "police", "all"),
                             ("worker", "grid_worker", f"grid:{mine['code']}"),
                             ("worker2", "grid_worker", f"grid:{other['code']}"),
                             ("viewer", "viewer", f"community:{mine['community_code']}")]:
        access.add_user(ws, name, role, access.Area.parse(area), PASSWORD)
    app = create_app(Settings(workspace=path))
    tokens = {}

    def as_(name):
        if name not in tokens:
            r = TestClient(app).post("/api/auth/login", json={"username": name, "password": PASSWORD})
            assert r.status_code == 200, r.text
            tokens[name] = r.json()["token"]
        return TestClient(app, headers={"Authorization": f"Bearer {tokens[name]}"})

    return {"app": app, "ws": ws, "as": as_, "mine": mine, "other": other, "path": path}
