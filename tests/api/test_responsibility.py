"""Who answers for each 网格, 组格 and 片格 (责任人): assigned from a spreadsheet or the API, every row
checked first (known code in the user's area, once; a staff id, never a phone or 身份证 number)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api import access
from api.app import create_app
from api.cli import app as cli
from api.settings import Settings
from layers import store
from layers.errors import LayerValidationError
from layers.exchange import import_layer

runner = CliRunner()
PASSWORD = "correct horse battery"


def _codes(ws):
    subs = ws.read("subgrids").sort_values("code")
    grids = ws.read("grids").sort_values("code")
    return str(grids["code"].iloc[0]), subs[subs["level"] == "group"]["code"].iloc[:2].tolist(), \
        subs[subs["level"] == "patch"]["code"].iloc[0]


def test_a_spreadsheet_sets_the_responsibility_of_each_level(ws_path, tmp_path):
    ws = store.open_workspace(ws_path)
    grid, (g1, g2), patch = _codes(ws)
    table = tmp_path / "责任.csv"
    pd.DataFrame({"编码": [grid, g1, g2, patch], "责任人编号": ["WGY9001", "LZZ-01", "LZZ-02", "单元长A"]}).to_csv(
        table, index=False, encoding="utf-8-sig")
    result = runner.invoke(cli, ["--json", "grids", "assign", str(ws_path), str(table)])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["changed"] == {"grids": 1, "subgrids": 3}
    ws = store.open_workspace(ws_path)
    subs = ws.read("subgrids").set_index("code")["worker_id"]
    assert (subs[g1], subs[g2], subs[patch]) == ("LZZ-01", "LZZ-02", "单元长A")
    assert ws.read("grids").set_index("code")["worker_id"][grid] == "WGY9001"
    assert subs.drop([g1, g2, patch]).isna().all()  # no other area changed
    log = ws.audit_log()
    assert (log["action"] == "responsibility").sum() == 1
    again = runner.invoke(cli, ["--json", "grids", "assign", str(ws_path), str(table)])
    assert json.loads(again.stdout) == {"changed": {"grids": 0, "subgrids": 0}, "unchanged": 4}


def test_every_bad_row_is_named_and_nothing_is_stored(ws_path, tmp_path):
    ws = store.open_workspace(ws_path)
    _, (g1, g2), patch = _codes(ws)
    before = ws.read("subgrids")
    table = tmp_path / "bad.csv"
    pd.DataFrame({"组格编码": [g1, "370285999999999", g1, g2, patch],
                  "责任人": ["OK-1", "OK-2", "OK-3", "13812345678", "37028519800101123X"]}).to_csv(
        table, index=False, encoding="utf-8-sig")
    result = runner.invoke(cli, ["grids", "assign", str(ws_path), str(table)])
    assert result.exit_code != 0
    text = " ".join(result.output.split())
    assert "row 3" in text and "370285999999999" in text  # unknown code, by spreadsheet row
    assert "row 4" in text and "given twice" in text
    assert "row 5" in text and "row 6" in text and "phone or ID-card" in text
    assert "nothing was stored" in text
    pd.testing.assert_frame_equal(store.open_workspace(ws_path).read("subgrids"), before)


def test_an_import_refuses_a_phone_number_as_the_grid_worker(ws_path, tmp_path):
    ws = store.open_workspace(ws_path)
    grids = ws.features("grids").copy()
    grids.loc[grids.index[0], "worker_id"] = "+86 138-1234-5678"
    src = tmp_path / "grids.geojson"
    grids.to_file(src, driver="GeoJSON")
    with pytest.raises(LayerValidationError, match="phone or ID-card"):
        import_layer(ws, src, "grids")


def test_the_api_assigns_only_inside_the_users_area_and_only_for_roles_that_change_grids(ws_path):
    ws = store.open_workspace(ws_path)
    grids = ws.read("grids").sort_values("code")
    mine, other = grids.iloc[0], grids[grids["community_code"] != grids.iloc[0]["community_code"]].iloc[0]
    access.add_user(ws, "local", "planner", access.Area.parse(f"community:{mine['community_code']}"), PASSWORD)
    access.add_user(ws, "cop", "police", access.Area.parse("all"), PASSWORD)
    app = create_app(Settings(workspace=str(ws_path)))

    def client(name):
        token = TestClient(app).post("/api/auth/login", json={"username": name, "password": PASSWORD}).json()["token"]
        return TestClient(app, headers={"Authorization": f"Bearer {token}"})

    local = client("local")
    ok = local.put("/api/responsibility", json={"rows": [{"code": str(mine["code"]), "worker_id": "WGY7"}]})
    assert ok.status_code == 200, ok.text
    assert ok.json()["changed"]["grids"] == 1
    outside = local.put("/api/responsibility", json={"rows": [{"code": str(other["code"]), "worker_id": "WGY8"}]})
    assert outside.status_code == 422 and "in your area" in outside.text
    assert client("cop").put("/api/responsibility", json={"rows": [{"code": str(mine["code"]),
                                                                     "worker_id": "X"}]}).status_code == 403
    stored = store.open_workspace(ws_path).read("grids").set_index("code")["worker_id"]
    assert stored[str(mine["code"])] == "WGY7" and stored[str(other["code"])] != "WGY8"
