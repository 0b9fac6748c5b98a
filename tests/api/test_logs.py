"""The server's log: a line per request with its id (the id the answer carries), never its query."""

import logging
import shutil

from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings


def test_each_request_is_logged_with_its_id_and_without_its_query(analysed_path, tmp_path, caplog):
    path = tmp_path / "demo.gpkg"
    shutil.copyfile(analysed_path, path)
    http = TestClient(create_app(Settings(auth=False, workspace=path)))
    with caplog.at_level(logging.INFO, logger="api.requests"):
        ok = http.get("/api/layers/grids", params={"reason": "a stated reason"})
        missing = http.get("/api/layers/no_such_layer")
    lines = [r.getMessage() for r in caplog.records if r.name == "api.requests"]
    assert ok.status_code == 200 and missing.status_code == 404
    assert any(line.startswith("GET /api/layers/grids 200 ") and line.endswith(ok.headers["x-request-id"])
               for line in lines), lines
    assert any(line.startswith("GET /api/layers/no_such_layer 404 ") for line in lines), lines
    assert not any("reason" in line for line in lines)  # a query can carry personal words: it is not logged
