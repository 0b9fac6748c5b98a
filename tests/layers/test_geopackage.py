import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point

from layers import store, validate
from layers.errors import UnknownLayerError, WorkspaceError
from tests.conftest import file_digest, tiny_layers


def test_round_trip_of_every_layer_keeps_types_and_text(tiny_path):
    ws = store.open_workspace(tiny_path)
    assert [i.name for i in ws.layers()] == sorted(tiny_layers())
    for name, frame in tiny_layers().items():
        expected = validate.validate(frame, name)
        back = ws.read(name)
        if "geometry" in expected:
            want = store.storable(expected, name).geometry  # each of the layer's one type
            assert back.geometry.geom_equals_exact(want, tolerance=1e-9).all()
            back, expected = pd.DataFrame(back.drop(columns="geometry")), pd.DataFrame(
                expected.drop(columns="geometry"))
        pd.testing.assert_frame_equal(back, expected, check_dtype=False)
    assert ws.read("households")["tags"].tolist() == ["常住;独居老人", "空置"]
    assert ws.read("cameras")["sensor"].tolist() == ['1/2.8"']


def test_bbox_where_versions_and_settings(tiny_path):
    ws = store.open_workspace(tiny_path)
    assert ws.read("grids", bbox=(120.5095, 36.8795, 120.5115, 36.8835))["code"].tolist() == ["370285001001001"]
    assert ws.read("targets", where="category = 'entrance'")["name"].tolist() == ["月湖小学南门"]
    assert ws.version("cameras") == 1
    assert ws.write("cameras", tiny_layers()["cameras"]) == 2
    assert ws.settings()["storey_height_m"] == 3.0
    ws.update_settings(storey_height_m=2.8, basemap={"kind": "xyz", "url": "http://10.0.0.1/{z}/{x}/{y}.png"})
    again = store.open_workspace(tiny_path)
    assert again.settings()["storey_height_m"] == 2.8
    assert again.metric_crs().to_epsg() == 4549


def test_append_and_delete(tiny_path):
    ws = store.open_workspace(tiny_path)
    more = tiny_layers()["sites"].assign(id=["S2"])
    ws.write("sites", more, mode="append")
    assert ws.read("sites")["id"].tolist() == ["S1", "S2"]
    ws.delete("sites")
    assert not ws.has("sites")
    assert "sites" not in {row[0] for row in pyogrio.list_layers(tiny_path)}
    with sqlite3.connect(tiny_path) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with pytest.raises(UnknownLayerError, match="has no layer 'sites'"):
        ws.read("sites")


def test_audit_log_is_appended(tiny_path):
    ws = store.open_workspace(tiny_path)
    ws.audit("export", "households", {"reason": "年度统计"}, user="张三")
    ws.audit("view", "households", user="李四")
    log = ws.audit_log()
    assert log[["user", "action", "object"]].values.tolist() == [["张三", "export", "households"],
                                                                  ["李四", "view", "households"]]


def test_audit_records_are_appended_in_place_and_none_is_lost(tiny_path):
    """A page view's audit record must not copy a city's workspace; concurrent writers lose nothing."""
    import threading

    ws = store.open_workspace(tiny_path)
    before = len(ws.audit_log())
    inode = os.stat(tiny_path).st_ino
    ws.audit("view", "households", {"page": "test"}, user="u0")
    assert os.stat(tiny_path).st_ino == inode  # appended in place, not copied and swapped

    def viewer(k: int) -> None:
        for i in range(10):
            ws.audit("view", "households", {"n": i}, user=f"viewer{k}")

    def writer() -> None:
        for _ in range(3):
            ws.write("targets", ws.read("targets"), message="rewrite")

    threads = [threading.Thread(target=viewer, args=(k,)) for k in range(3)] + [threading.Thread(target=writer)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    log = ws.audit_log()
    assert (log["user"] == "u0").sum() == 1 and len(log) >= before + 31
    assert sorted(log["user"].value_counts().reindex([f"viewer{k}" for k in range(3)]).tolist()) == [10, 10, 10]
    assert ws.version("targets") >= 4


def test_injected_failure_leaves_the_workspace_unchanged(tiny_path, monkeypatch):
    ws = store.open_workspace(tiny_path)
    before = file_digest(tiny_path)
    real = pyogrio.write_dataframe
    calls = []

    def failing(df, path, **kw):
        calls.append(kw["layer"])
        if len(calls) == 2:
            raise OSError("disk full (injected)")
        return real(df, path, **kw)

    monkeypatch.setattr(pyogrio, "write_dataframe", failing)
    with pytest.raises(OSError, match="injected"):
        ws.write_many({"cameras": tiny_layers()["cameras"], "sites": tiny_layers()["sites"]})
    assert calls == ["cameras", "sites"]  # the first layer was written, into the copy only
    assert file_digest(tiny_path) == before
    assert not list(tiny_path.parent.glob(".*.tmp-*.gpkg"))


def test_concurrent_writers_both_land(tiny_path):
    script = textwrap.dedent(f"""
        import sys, geopandas as gpd
        from shapely.geometry import Point
        from layers import store, validate
        tag = sys.argv[1]
        ws = store.open_workspace({str(tiny_path)!r})
        for k in range(5):
            ws.write(f"sites", gpd.GeoDataFrame({{"id": [f"{{tag}}{{k}}"]}}, geometry=[Point(120.51, 36.88)],
                     crs=4326), mode="append")
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, tag], cwd=Path(__file__).parents[2])
             for tag in ("a", "b")]
    assert [p.wait() for p in procs] == [0, 0]
    ids = set(store.open_workspace(tiny_path).read("sites")["id"])
    assert ids == {"S1"} | {f"{t}{k}" for t in "ab" for k in range(5)}


def test_damaged_files_give_clear_errors(tiny_path, tmp_path):
    truncated = tmp_path / "truncated.gpkg"
    truncated.write_bytes(tiny_path.read_bytes()[: os.path.getsize(tiny_path) // 3])
    with pytest.raises(WorkspaceError, match=r"damaged|truncated"):
        store.open_workspace(truncated).layers()
    text = tmp_path / "notes.gpkg"
    text.write_text("not a database")
    with pytest.raises(WorkspaceError, match="not a GeoPackage"):
        store.open_workspace(text)
    with pytest.raises(WorkspaceError, match="does not exist"):
        store.open_workspace(tmp_path / "missing.gpkg")
    with pytest.raises(WorkspaceError, match="already exists"):
        store.open_workspace(tiny_path, create=True)


def test_bad_layer_names_are_refused(tiny_path):
    ws = store.open_workspace(tiny_path)
    frame = gpd.GeoDataFrame({"id": ["x"]}, geometry=[Point(120.5, 36.88)], crs=4326)
    for name in ("gpkg_contents", "pingan_meta", "a b", "x;drop"):
        with pytest.raises(ValueError, match="cannot be a layer name"):
            ws.write(name, frame)
    assert np.isclose(ws.extent()[0], 120.51)
