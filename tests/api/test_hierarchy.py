"""The grid hierarchy: 组格 and 片格 planned inside every grid, households with floors and rooms,
and every figure rolled up 片格 → 组格 → 网格 → 社区 → 街镇 with the same totals at every level."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from api.cli import app
from api.workflows import hierarchy
from api.workflows.risk import building_grids
from gis import partition
from layers import store
from layers.errors import LayerValidationError
from layers.exchange import import_layer

runner = CliRunner()


@pytest.fixture(scope="module")
def planned(analysed_path, tmp_path_factory):
    path = tmp_path_factory.mktemp("hierarchy") / "demo.gpkg"
    shutil.copyfile(analysed_path, path)
    result = runner.invoke(app, ["--json", "grids", "plan", str(path), "--subgrids", "--group", "50-120"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["subgrids"] and data["grid_totals"]
    return path


def test_subgrids_tile_their_grid_and_codes_extend_their_parents(planned):
    ws = store.open_workspace(planned)
    metric = ws.metric_crs()
    subs = ws.features("subgrids").to_crs(metric)
    grids = ws.features("grids").to_crs(metric).set_index("code")
    assert set(subs["level"]) == {"group", "patch"} and subs.geometry.is_valid.all()
    for code, mine in subs.groupby("grid_code"):
        grid = grids.geometry[code]
        for level in ("group", "patch"):
            part = mine[mine["level"] == level]
            union = shapely.union_all(part.geometry.to_numpy())
            assert abs(part.area.sum() - grid.area) < 1e-6 * grid.area  # no overlap
            assert shapely.area(shapely.symmetric_difference(union, grid)) < 1e-6 * grid.area  # no gap
    groups = subs[subs["level"] == "group"]
    patches = subs[subs["level"] == "patch"]
    assert (groups["code"].str.len() == 17).all() and (patches["code"].str.len() == 19).all()
    assert all(c.startswith(p) for c, p in zip(subs["code"], subs["parent_code"], strict=True))
    assert set(patches["parent_code"]) == set(groups["code"]) and set(groups["parent_code"]) <= set(grids.index)


def test_every_figure_sums_to_the_level_above_and_matches_the_grid_figures(planned):
    ws = store.open_workspace(planned)
    levels = hierarchy.rollup(ws)
    subs = ws.read("subgrids").set_index("code")
    grids = ws.read("grids").set_index("code")
    comms = ws.read("communities").set_index("code")
    ups = [("patch", "group", lambda c: subs.at[c, "parent_code"]),
           ("group", "grid", lambda c: subs.at[c, "grid_code"]),
           ("grid", "community", lambda c: grids.at[c, "community_code"]),
           ("community", "township", lambda c: comms.at[c, "township"])]
    for low, high, parent in ups:
        summed = levels[low].groupby(levels[low].index.map(parent)).sum()
        pd.testing.assert_frame_equal(summed.sort_index(), levels[high].sort_index(), check_names=False)
    grid = levels["grid"]
    # the grid level equals what is counted at the grid directly: households by their building's grid
    # (the rule risk and the exports use), incidents by the grid they fall in, coverage as stored
    metric = ws.metric_crs()
    g = ws.features("grids").to_crs(metric).reset_index(drop=True)
    home = building_grids(ws, g)
    hh = ws.read("households")
    per_grid = hh["building_id"].map(home).map(dict(enumerate(g["code"]))).value_counts()
    assert np.array_equal(grid["households"].to_numpy(), per_grid.reindex(grid.index).fillna(0).to_numpy())
    inc = ws.features("incidents").to_crs(metric)
    at = pd.Series(partition.grid_index(g, inc.geometry.to_numpy())).map(dict(enumerate(g["code"]))).value_counts()
    assert np.allclose(grid["incidents"], at.reindex(grid.index).fillna(0))
    cov = ws.read("coverage_grids").set_index("code").reindex(grid.index)
    for col in ("public_m2", "seen_detect_m2", "seen_identify_m2"):
        assert np.allclose(grid[col], cov[col], rtol=1e-7, atol=1e-3), col
    assert levels["township"]["households"].sum() == len(hh)


def test_households_carry_unit_floor_and_room_and_a_floor_above_the_building_is_refused(planned, tmp_path):
    ws = store.open_workspace(planned)
    hh = ws.read("households")
    assert {"unit", "floor", "room"} <= set(hh.columns) and hh["floor"].notna().all()
    floors = ws.read("buildings").set_index("id")["floors"]
    assert (hh["floor"] <= hh["building_id"].map(floors)).all()
    bid = str(hh["building_id"].iloc[0])
    csv = tmp_path / "hh.csv"
    csv.write_text(f"户编号,楼栋编号,单元,楼层,房号,人数\nX-1,{bid},1单元,2,201,3\n"
                   f"X-2,{bid},1单元,{int(floors[bid]) + 3},9901,2\n", encoding="utf-8")
    with pytest.raises(LayerValidationError) as err:
        import_layer(ws, csv, "households", mode="append")
    text = str(err.value)
    assert "row 3" in text and "楼层" in text and f"floors of building {bid}" in text and "nothing was stored" in text
    assert len(ws.read("households")) == len(hh)


def test_the_tables_per_zu_ge_and_pian_ge_hold_ones_area_with_small_counts_suppressed(planned, tmp_path):
    import csv
    import io

    from fastapi.testclient import TestClient

    from api import access
    from api.app import create_app
    from api.settings import Settings

    path = tmp_path / "demo.gpkg"
    shutil.copyfile(planned, path)
    ws = store.open_workspace(path)
    community = ws.read("grids").sort_values("code")["community_code"].iloc[0]
    access.add_user(ws, "local", "grid_worker", access.Area.parse(f"community:{community}"), "correct horse battery")
    app = create_app(Settings(workspace=str(path)))
    token = TestClient(app).post("/api/auth/login", json={"username": "local", "password": "correct horse battery"}
                                 ).json()["token"]
    client = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    mine = set(ws.read("grids").query("community_code == @community")["code"])
    levels = hierarchy.rollup(ws)
    for table, level in (("groups", "group"), ("patches", "patch")):
        r = client.get("/api/reports/tables", params={"format": "csv", "table": table})
        assert r.status_code == 200, r.text
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows and {"组格/片格编码", "网格编码"} <= set(rows[0])
        assert {row["网格编码"] for row in rows} <= mine
        codes = {row["组格/片格编码"] for row in rows}
        subs = ws.read("subgrids")
        assert codes == set(subs[(subs["level"] == level) & subs["grid_code"].isin(mine)]["code"])
        households = next(k for k in rows[0] if "户数" in k)
        for row in rows:
            value = row[households]
            assert value in {"<5", "0"} or int(value) >= 5
            if value != "<5":
                assert int(value) == int(levels[level].loc[row["组格/片格编码"], "households"])
            assert not any(str(v).startswith(("=", "+", "@")) for v in row.values())
    import openpyxl

    r = client.get("/api/reports/tables", params={"format": "xlsx"})
    assert r.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    assert {"网格", "社区", "组格", "片格"} <= set(book.sheetnames)
    patches = book["片格"]
    head = [c.value for c in patches[1]]
    assert "组格/片格编码" in head
    codes = {row[head.index("组格/片格编码")] for row in patches.iter_rows(min_row=2, values_only=True)}
    subs = ws.read("subgrids")
    assert codes == set(subs[(subs["level"] == "patch") & subs["grid_code"].isin(mine)]["code"])


def test_the_printed_map_of_one_grid_lists_its_zu_ge_with_households_and_who_answers(planned, tmp_path):
    from fastapi.testclient import TestClient
    from pypdf import PdfReader

    from api import access
    from api.app import create_app
    from api.settings import Settings
    from api.workflows.responsibility import assign

    path = tmp_path / "demo.gpkg"
    shutil.copyfile(planned, path)
    ws = store.open_workspace(path)
    grids = ws.read("grids").sort_values("code")
    grid = str(grids["code"].iloc[0])
    community = str(grids["community_code"].iloc[0])
    other = str(grids[grids["community_code"] != community]["code"].iloc[0])
    subs = ws.read("subgrids")
    groups = subs[(subs["level"] == "group") & (subs["grid_code"] == grid)].sort_values("code")
    admin = access.User("admin", access.ROLES["admin"], access.Area(), "管理员")
    assign(ws, access.Scope.of(ws, admin), pd.DataFrame({"code": [groups["code"].iloc[0]], "worker_id": ["LZZ-01"]}))
    access.add_user(ws, "local", "planner", access.Area.parse(f"community:{community}"), "correct horse battery")
    app = create_app(Settings(workspace=str(path)))
    token = TestClient(app).post("/api/auth/login", json={"username": "local", "password": "correct horse battery"}
                                 ).json()["token"]
    client = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    r = client.get("/api/reports/map", params={"kind": "subgrids", "format": "pdf", "area": f"grid:{grid}"})
    assert r.status_code == 200, r.text
    out = tmp_path / "grid.pdf"
    out.write_bytes(r.content)
    text = "\n".join(p.extract_text() for p in PdfReader(out).pages)
    figures = hierarchy.rollup(ws)["group"]
    assert "组格" in text and "片格界" in text and "1 个网格" in text
    for i, code in enumerate(groups["code"]):
        n = round(float(figures.loc[code, "households"]))
        shown = "<5" if 0 < n < 5 else str(n)
        assert f"{code[-2:]} {groups['name'].iloc[i]} · {shown}户" in text, (code, text[:400])
    assert "LZZ-01" in text  # who answers for the first 组格
    # a grid outside the user's area is not printed
    assert client.get("/api/reports/map", params={"kind": "subgrids", "format": "pdf",
                                                  "area": f"grid:{other}"}).status_code in (403, 404, 422)
