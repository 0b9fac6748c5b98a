"""The store contract on both backends (GeoPackage and PostGIS), copying between them, and
several processes editing one PostGIS workspace at once.

PostGIS runs as a private cluster started by the ``postgis_server`` fixture (tests/conftest.py).
"""

from __future__ import annotations

import multiprocessing as mp
import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point

from layers import store, validate
from layers.errors import UnknownLayerError, WorkspaceError
from layers.workspace import copy_workspace
from tests.conftest import tiny_layers


@pytest.fixture(params=["gpkg", "postgis"])
def backend(request, tmp_path):
    """An empty workspace on each backend (a fresh PostGIS schema per test)."""
    if request.param == "gpkg":
        ws = store.open_workspace(tmp_path / "ws.gpkg", create=True, name="小工作区")
    else:
        uri = request.getfixturevalue("postgis_uri")
        ws = store.open_workspace(f"{uri}?workspace=t_{tmp_path.name[-20:].lower().replace('-', '_')}",
                                  create=True, name="小工作区", overwrite=True)
    return ws


def tiny() -> dict[str, pd.DataFrame]:
    return {name: validate.validate(frame, name) for name, frame in tiny_layers().items()}


def test_layers_round_trip_with_their_types_text_and_geometry(backend):
    layers = tiny()
    versions = backend.write_many(layers, message="init")
    assert set(versions.values()) == {1}
    assert [i.name for i in backend.layers()] == sorted(layers)
    for name, frame in layers.items():
        got = backend.read(name)
        assert list(got.columns) == list(frame.columns), name
        if isinstance(frame, gpd.GeoDataFrame):
            assert got.crs.to_epsg() == 4326
            # the same shapes, each of the layer's one type (a Polygon is stored as a one-part MultiPolygon)
            want = store.storable(frame, name).geometry.to_numpy()
            assert shapely.equals_exact(got.geometry.to_numpy(), want, tolerance=1e-9).all()
        pd.testing.assert_frame_equal(pd.DataFrame(got.drop(columns="geometry", errors="ignore")),
                                      pd.DataFrame(frame.drop(columns="geometry", errors="ignore")),
                                      check_dtype=False, check_like=False)
    cams = backend.read("cameras")
    assert cams["name"].iloc[0] == "烟台路与文化路路口" and cams["resolution_px"].dtype == "Int64"
    assert backend.read("incidents")["time"].iloc[0] == pd.Timestamp("2026-03-01 21:30")


def test_bbox_versions_append_delete_and_bounds(backend):
    backend.write_many(tiny())
    inside = backend.read("buildings", bbox=(120.5105, 36.8805, 120.5116, 36.8813))
    assert list(inside["id"]) == ["B1"]
    extra = tiny()["cameras"].assign(id="37028500001320000002", geometry=[Point(120.512, 36.881)])
    assert backend.write("cameras", extra, mode="append") == 2
    assert len(backend.read("cameras")) == 2 and backend.version("cameras") == 2
    w, _, e, _ = backend.layer_bounds("cameras")
    assert w == pytest.approx(120.5105) and e == pytest.approx(120.512)
    assert backend.extent()[0] == pytest.approx(120.51)
    assert backend.metric_crs().to_epsg() == 4549
    backend.delete("sites")
    assert not backend.has("sites")
    with pytest.raises(UnknownLayerError, match="no layer 'sites'"):
        backend.read("sites")
    with pytest.raises(ValueError, match="cannot be a layer name"):
        backend.write("pingan_x", extra)


def test_a_failed_update_leaves_the_layer_as_it_was(backend):
    backend.write_many(tiny())
    before = backend.read("cameras")

    def broken(frame):
        frame.loc[0, "name"] = "改了一半"
        raise RuntimeError("the edit fails half way")

    with pytest.raises(RuntimeError):
        backend.update("cameras", broken)
    pd.testing.assert_frame_equal(pd.DataFrame(backend.read("cameras")), pd.DataFrame(before))
    assert backend.version("cameras") == 1
    assert backend.update("cameras", lambda f: f.assign(name="北门")) == 2
    assert backend.read("cameras")["name"].tolist() == ["北门"]


def test_meta_audit_and_records(backend):
    assert backend.settings()["storey_height_m"] == 3.0
    backend.update_settings(storey_height_m=3.2)
    assert backend.settings()["storey_height_m"] == 3.2 and backend.get_meta("name") == "小工作区"
    backend.audit("export", "households", {"reason": "走访"}, user="张三")
    log = backend.audit_log()
    assert log[["user", "action", "object"]].values.tolist() == [["张三", "export", "households"]]
    assert backend.records("users") == []
    backend.put_record("users", "username", {"username": "a", "role": "viewer", "failed_logins": 0})
    assert not backend.put_record("users", "username", {"username": "a", "failed_logins": 2},
                                  expect={"failed_logins": 1})  # stale: refused
    assert backend.put_record("users", "username", {"username": "a", "role": "viewer", "failed_logins": 1},
                              expect={"failed_logins": 0})
    assert backend.records("users")[0]["failed_logins"] == "1"
    assert backend.record("users", "a")["failed_logins"] == "1" and backend.record("users", "zz") is None
    # only if absent: the first of two writers wins, the second is told so and changes nothing
    assert not backend.put_record("users", "username", {"username": "a", "role": "admin"}, absent=True)
    assert backend.put_record("users", "username", {"username": "b", "role": "viewer"}, absent=True)
    assert backend.record("users", "a")["role"] == "viewer"
    assert backend.delete_records("users", "username", ["a", "b"]) == 2 and backend.records("users") == []


def test_copy_gpkg_to_postgis_and_back_keeps_everything(analysed_path, postgis_uri, tmp_path):
    from api import access

    src_path = tmp_path / "src.gpkg"
    shutil.copyfile(analysed_path, src_path)
    src = store.open_workspace(src_path)
    access.add_user(src, "planner", "planner", access.Area(), "correct horse battery")
    pg = store.open_workspace(f"{postgis_uri}?workspace=copied", create=True, overwrite=True)
    copied = copy_workspace(src, pg, users=True)
    assert copied == {i.name: i.rows for i in src.layers()}
    assert pg.versions() == src.versions() and pg.meta() == src.meta()
    assert [r["username"] for r in pg.records("users")] == ["planner"]
    assert len(pg.audit_log()) == len(src.audit_log())
    back = store.open_workspace(tmp_path / "back.gpkg", create=True)
    copy_workspace(pg, back)
    for info in src.layers():
        a, b = src.read(info.name), back.read(info.name)
        assert len(a) == len(b) and list(a.columns) == list(b.columns), info.name
    from api.workflows.coverage import coverage_is_current

    assert coverage_is_current(pg)  # versions kept: computed results stay current
    with pytest.raises(WorkspaceError, match="already has layers"):
        copy_workspace(src, pg)


def _heading(value: float):
    def decide(current):
        assert current is not None
        row = current.to_dict() | {"heading_deg": value}
        return validate.validate(gpd.GeoDataFrame([row], geometry="geometry", crs=4326), "cameras")
    return decide


def test_row_edits_change_one_row_on_both_backends(backend):
    backend.write_many(tiny())
    cams = backend.read("cameras")
    cid = cams["id"].iat[0]
    v0 = backend.version("cameras")
    version, stored = backend.edit("cameras", "id", cid, _heading(77.0), message="turn")
    assert version == v0 + 1 and stored["heading_deg"] == 77.0 and stored["id"] == cid
    assert backend.read("cameras")["heading_deg"].iat[0] == 77.0
    template = cams.iloc[0].to_dict()

    def add(current):
        assert current is None
        return validate.validate(gpd.GeoDataFrame([template | {"id": "CAM-9"}], geometry="geometry", crs=4326),
                                 "cameras")
    backend.edit("cameras", "id", "CAM-9", add)
    assert {i.name: i.rows for i in backend.layers()}["cameras"] == len(cams) + 1
    assert len(backend.read("cameras", bbox=(template["geometry"].x - 1e-5, template["geometry"].y - 1e-5,
                                             template["geometry"].x + 1e-5, template["geometry"].y + 1e-5))) == 2

    def refuse(current):
        raise ValueError("no")
    before = backend.read("cameras")
    with pytest.raises(ValueError, match="no"):
        backend.edit("cameras", "id", cid, refuse)
    pd.testing.assert_frame_equal(backend.read("cameras"), before)
    backend.edit("cameras", "id", "CAM-9", lambda current: None)
    assert "CAM-9" not in set(backend.read("cameras")["id"])
    assert {i.name: i.rows for i in backend.layers()}["cameras"] == len(cams)
    with pytest.raises(ValueError, match="has no field 'colour'"):
        backend.edit("cameras", "id", cid, lambda current: gpd.GeoDataFrame(
            [current.to_dict() | {"colour": "red"}], geometry="geometry", crs=4326))


def test_postgis_sees_changes_made_by_other_clients(postgis_uri):
    import psycopg

    uri = f"{postgis_uri}?workspace=outside"
    ws = store.open_workspace(uri, create=True, overwrite=True)
    ws.write_many(tiny())
    v0, rows = ws.version("cameras"), {i.name: i.rows for i in ws.layers()}["cameras"]
    with psycopg.connect(postgis_uri, autocommit=True) as con:  # as QGIS or psql would
        con.execute("UPDATE outside.t_cameras SET status = 'inactive'")
        con.execute("INSERT INTO outside.t_cameras (id, geom) "
                    "VALUES ('PSQL-1', ST_SetSRID(ST_MakePoint(120.5, 36.9), 4326))")
    assert ws.version("cameras") == v0 + 2
    assert {i.name: i.rows for i in ws.layers()}["cameras"] == rows + 1
    with psycopg.connect(postgis_uri, autocommit=True) as con:
        con.execute("DELETE FROM outside.t_cameras WHERE id = 'PSQL-1'")
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                            "WHERE table_schema = 'outside'")}
    assert {i.name: i.rows for i in ws.layers()}["cameras"] == rows
    ws.put_record("users", "username", {"username": "a", "role": "viewer"})
    assert "pingan_records" not in tables  # accounts live in outside__access, not with the data


def _in_four_processes(target, uri: str, n: int) -> None:
    """``target(uri, n)`` in four fresh processes at once; each must exit cleanly."""
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=target, args=(uri, n)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0


def _edit_many(uri: str, n: int) -> None:
    ws = store.open_workspace(uri)
    cid = ws.read("cameras")["id"].iat[0]

    def more(current):
        row = current.to_dict()
        row["height_m"] = row["height_m"] + 1.0
        return validate.validate(gpd.GeoDataFrame([row], geometry="geometry", crs=4326), "cameras")
    for _ in range(n):
        ws.edit("cameras", "id", cid, more)


@pytest.mark.parametrize("kind", ["gpkg", "postgis"])
def test_several_processes_editing_one_row_lose_nothing(kind, request, tmp_path):
    uri = (str(tmp_path / "ws.gpkg") if kind == "gpkg"
           else f"{request.getfixturevalue('postgis_uri')}?workspace=rowlocks")
    ws = store.open_workspace(uri, create=True, overwrite=True)
    ws.write_many(tiny())
    start = float(ws.read("cameras")["height_m"].iloc[0])
    _in_four_processes(_edit_many, uri, 25)
    assert float(ws.read("cameras")["height_m"].iloc[0]) == start + 100


def _bump(uri: str, n: int) -> None:
    ws = store.open_workspace(uri)
    for _ in range(n):
        ws.update("cameras", lambda f: f.assign(height_m=f["height_m"] + 1.0))


def test_several_processes_editing_postgis_lose_nothing(postgis_uri):
    uri = f"{postgis_uri}?workspace=concurrent"
    ws = store.open_workspace(uri, create=True, overwrite=True)
    ws.write_many(tiny())
    start = float(ws.read("cameras")["height_m"].iloc[0])
    _in_four_processes(_bump, uri, 10)
    assert float(ws.read("cameras")["height_m"].iloc[0]) == start + 40  # every edit landed
    assert ws.version("cameras") == 41


def test_bad_uris_say_what_is_wrong(postgis_uri):
    with pytest.raises(WorkspaceError, match="no workspace 'nothere'"):
        store.open_workspace(f"{postgis_uri}?workspace=nothere")
    port = int(postgis_uri.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(WorkspaceError, match="cannot reach"):
        store.open_workspace(postgis_uri.replace(f":{port}/", f":{port + 1}/"))
    assert np.isfinite(port)


def test_an_edit_upgrades_a_table_stored_before_the_schema_grew(backend):
    layers = tiny()
    older = layers["cameras"].drop(columns=["ir_range_m", "min_lux"])  # as a version before night views stored it
    backend.write_many({"cameras": older})
    cid = older["id"].iat[0]
    backend.edit("cameras", "id", cid, _heading(33.0))  # the new fields empty: the table stays as it is
    assert backend.read("cameras")["ir_range_m"].isna().all()  # read as the schema has it: empty
    assert backend.read("cameras")["heading_deg"].iat[0] == 33.0

    def lamp(current):
        row = current.to_dict() | {"ir_range_m": 25.0}
        return validate.validate(gpd.GeoDataFrame([row], geometry="geometry", crs=4326), "cameras")
    _, stored = backend.edit("cameras", "id", cid, lamp)
    assert stored["ir_range_m"] == 25.0
    cams = backend.read("cameras").set_index("id")
    assert cams.loc[cid, "ir_range_m"] == 25.0 and cams.drop(index=cid)["ir_range_m"].isna().all()
    assert len(cams) == len(older)
