"""The app itself: what /api/health shows."""

from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings


def test_health_never_shows_a_database_password():
    app = create_app(Settings(workspace="postgresql://pingan:s3cret@10.0.0.7/city?workspace=laixi"))
    body = TestClient(app).get("/api/health").json()
    assert "s3cret" not in body["workspace"] and body["workspace"].startswith("postgresql://pingan:***@")



def test_health_shows_a_file_workspace_by_its_name_only(tmp_path):
    from layers import store

    path = tmp_path / "secret-dir" / "laixi.gpkg"
    store.open_workspace(path, create=True)
    body = TestClient(create_app(Settings(auth=False, workspace=path))).get("/api/health").json()
    assert body == {"status": "ok", "workspace": "laixi.gpkg"}
