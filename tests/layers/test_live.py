"""The live GeoPackage workspace: edits in place, crash safety, changes made by other tools.

Every workspace these tests leave behind passes GDAL's own GeoPackage validator
(``osgeo_utils.samples.validate_gpkg`` from ``gdal-utils``, pure Python; installed by
``scripts/test.sh``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from layers import accounts, gpkgsql, store, validate
from layers.geopackage import GeoPackageStore
from tests.conftest import file_digest

ROOT = Path(__file__).parents[2]


def gdal_validates(path: Path) -> None:
    """GDAL's validator passes on ``path`` (skips, or fails under CI, without gdal-utils)."""
    try:
        import osgeo_utils.samples.validate_gpkg  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("gdal-utils is not installed (scripts/test.sh installs it)")
    done = subprocess.run([sys.executable, "-m", "osgeo_utils.samples.validate_gpkg", str(path)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def sql_client(path: Path) -> sqlite3.Connection:
    """An SQL client as a DB browser with the GeoPackage functions would be (autocommit; GDAL's R-tree
    triggers call ST_IsEmpty and friends on every update, so a client without them cannot write)."""
    return gpkgsql.connect(path)


def run_py(script: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout, check=False)


def _camera(ws: GeoPackageStore, cid: str) -> pd.Series:
    return ws.rows("cameras", "id", cid).iloc[0]


def _turn(ws: GeoPackageStore, cid: str, heading: float, where: shapely.Point | None = None) -> int:
    def decide(current: pd.Series | None) -> pd.DataFrame:
        assert current is not None
        row = current.to_dict() | {"heading_deg": heading}
        if where is not None:
            row["geometry"] = where
        return validate.validate(gpd.GeoDataFrame([row], geometry="geometry", crs=4326), "cameras")
    version, stored = ws.edit("cameras", "id", cid, decide, message="test")
    assert stored is not None and stored["heading_deg"] == heading
    return version


def test_an_edit_changes_its_row_in_place_and_keeps_the_index(tiny_path):
    ws = store.open_workspace(tiny_path)
    before = ws.read("cameras")
    v0 = ws.version("cameras")
    size = tiny_path.stat().st_size
    moved = shapely.Point(120.4, 36.1)
    assert _turn(ws, before["id"].iat[0], 123.0, moved) == v0 + 1
    after = ws.read("cameras")
    assert after["heading_deg"].iat[0] == 123.0 and after.geometry.iat[0].equals(moved)
    pd.testing.assert_frame_equal(after.iloc[1:].reset_index(drop=True), before.iloc[1:].reset_index(drop=True))
    # the R-tree followed the move: found at the new place, not at the old one
    assert list(ws.read("cameras", bbox=(120.39, 36.09, 120.41, 36.11))["id"]) == [before["id"].iat[0]]
    old = before.geometry.iat[0]
    assert before["id"].iat[0] not in set(ws.read("cameras", bbox=(old.x - 1e-4, old.y - 1e-4,
                                                                   old.x + 1e-4, old.y + 1e-4))["id"])
    assert tiny_path.stat().st_size <= size + 64 * 1024  # no copy of the file beside itself
    assert not list(tiny_path.parent.glob(".*scratch*"))
    gdal_validates(tiny_path)


def test_insert_and_delete_in_place_keep_counts_and_the_validator_happy(tiny_path):
    ws = store.open_workspace(tiny_path)
    n = ws.layers()
    rows = {i.name: i.rows for i in n}["cameras"]
    template = ws.read("cameras").iloc[0].to_dict()

    def add(current):
        assert current is None
        row = template | {"id": "CAM-NEW", "geometry": shapely.Point(120.5, 36.9)}
        return validate.validate(gpd.GeoDataFrame([row], geometry="geometry", crs=4326), "cameras")
    ws.edit("cameras", "id", "CAM-NEW", add)
    assert {i.name: i.rows for i in ws.layers()}["cameras"] == rows + 1
    with sqlite3.connect(tiny_path) as con:
        assert con.execute("SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = 'cameras'"
                           ).fetchone()[0] == rows + 1
    ws.edit("cameras", "id", "CAM-NEW", lambda current: None)
    assert {i.name: i.rows for i in ws.layers()}["cameras"] == rows
    assert "CAM-NEW" not in set(ws.read("cameras")["id"])
    gdal_validates(tiny_path)


def test_a_duplicate_id_is_refused_by_the_index_whoever_writes(tiny_path):
    ws = store.open_workspace(tiny_path)
    first = ws.read("cameras")["id"].iat[0]
    with contextlib.closing(gpkgsql.connect(tiny_path)) as con, pytest.raises(sqlite3.IntegrityError):
        con.execute("INSERT INTO cameras (id) VALUES (?)", (first,))


def test_whole_layer_replace_append_and_delete_pass_the_validator(tiny_path):
    ws = store.open_workspace(tiny_path)
    cams = ws.read("cameras")
    ws.write("cameras", cams.iloc[:1])
    more = cams.iloc[:1].assign(id="CAM-MORE")
    ws.write("cameras", validate.validate(more, "cameras"), mode="append")
    assert list(ws.read("cameras")["id"]) == [cams["id"].iat[0], "CAM-MORE"]
    ws.write("scratchpad", gpd.GeoDataFrame({"n": [1, 2]}, geometry=[shapely.Point(120.5, 36.9)] * 2, crs=4326))
    ws.delete("scratchpad")
    assert not ws.has("scratchpad")
    gdal_validates(tiny_path)


def test_an_edit_costs_the_same_on_a_small_and_a_large_layer(tmp_path):
    """Size independence, shown by what is written, not by time: an edit adds the same few WAL pages."""
    def wal_bytes_of_one_edit(n: int) -> int:
        path = tmp_path / f"w{n}.gpkg"
        ws = GeoPackageStore.create(path)
        pts = shapely.points(120.5 + np.random.default_rng(1).random(n) * 0.01, 36.88 + np.zeros(n))
        frame = gpd.GeoDataFrame({"id": [f"C{i}" for i in range(n)], "heading_deg": np.zeros(n)},
                                 geometry=pts, crs=4326)
        ws.write("cameras", validate.validate(frame, "cameras"))
        ws._checkpoint()
        wal = path.with_name(path.name + "-wal")
        start = wal.stat().st_size if wal.exists() else 0
        _turn(ws, f"C{n // 2}", 90.0)
        return wal.stat().st_size - start
    small, large = wal_bytes_of_one_edit(50), wal_bytes_of_one_edit(50_000)
    assert large <= 2 * small + 8 * 4096, (small, large)


# ---- crashes ---------------------------------------------------------------------------------------------
_EDITOR = """
import sys, geopandas as gpd
from layers import store, validate
ws = store.open_workspace(sys.argv[1])
cid = ws.read("cameras")["id"].iat[0]
def turn(h):
    def decide(current):
        row = current.to_dict() | {"heading_deg": float(h)}
        return validate.validate(gpd.GeoDataFrame([row], geometry="geometry", crs=4326), "cameras")
    return decide
print("editing", flush=True)
for h in range(1, 100000):
    ws.edit("cameras", "id", cid, turn(h % 360))
"""


def test_sigkill_during_edits_leaves_a_committed_state_and_a_valid_file(tiny_path):
    others = store.open_workspace(tiny_path).read("buildings")
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(_EDITOR), str(tiny_path)],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "editing"
    time.sleep(1.5)  # dozens of edits have committed, one is under way
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    ws = store.open_workspace(tiny_path)
    heading = ws.read("cameras")["heading_deg"].iat[0]
    assert float(heading).is_integer() and 0 <= heading < 360
    pd.testing.assert_frame_equal(ws.read("buildings"), others)
    with sqlite3.connect(tiny_path) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    gdal_validates(tiny_path)


_REPLACER = """
import sys, geopandas as gpd, numpy as np, shapely
from layers import store
n = int(sys.argv[2])
pts = shapely.points(120.5 + np.random.rand(n) * 0.01, 36.88 + np.random.rand(n) * 0.01)
frame = gpd.GeoDataFrame({"id": np.arange(n).astype(str), "category": ["theft"] * n}, geometry=pts, crs=4326)
ws = store.open_workspace(sys.argv[1])
print("writing", flush=True)
ws.write("incidents", frame)
print("finished", flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("after", [0.2, 1.2, 2.5])
def test_sigkill_during_a_layer_replace_leaves_the_old_layer(tiny_path, after):
    before = file_digest(tiny_path)
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(_REPLACER), str(tiny_path), "300000"],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
    time.sleep(after)  # in GDAL's scratch write, or in the copy into the workspace
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if proc.returncode != -signal.SIGKILL:
        pytest.fail("the write finished before the kill: give it more rows")
    assert file_digest(tiny_path) == before
    ws = store.open_workspace(tiny_path)
    assert len(ws.read("incidents")) == 1
    gdal_validates(tiny_path)
    ws.write("incidents", ws.read("incidents"))  # the next writer clears the dead one's scratch file
    assert not list(tiny_path.parent.glob(".*scratch*"))


@pytest.mark.slow
def test_sigkill_during_an_import_leaves_the_previous_state(tiny_path, tmp_path):
    n = 200_000
    src = tmp_path / "many.csv"
    rng = np.random.default_rng(3)
    pd.DataFrame({"编号": [f"JQ{i}" for i in range(n)], "经度": 120.5 + rng.random(n) * 0.01,
                  "纬度": 36.88 + rng.random(n) * 0.01, "类别": "theft", "时间": "2026-03-01 21:30"}
                 ).to_csv(src, index=False)
    before = file_digest(tiny_path)
    script = """
        import sys
        from layers import exchange, store
        ws = store.open_workspace(sys.argv[1])
        print("importing", flush=True)
        exchange.import_layer(ws, sys.argv[2], "incidents")
        print("finished", flush=True)
    """
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), str(tiny_path), str(src)],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "importing"
    time.sleep(2.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if proc.returncode != -signal.SIGKILL:
        pytest.fail("the import finished before the kill: give it more rows")
    assert file_digest(tiny_path) == before
    gdal_validates(tiny_path)


@pytest.mark.slow
def test_a_reader_during_a_large_replace_sees_the_old_layer_or_the_new(tiny_path):
    reader = """
        import sys, time, sqlite3
        con = sqlite3.connect(sys.argv[1], timeout=30)
        seen = set()
        end = time.time() + float(sys.argv[2])
        while time.time() < end:
            con.execute("BEGIN")
            n = con.execute("SELECT count(*) FROM incidents").fetchone()[0]
            listed = con.execute("SELECT rows FROM pingan_layers WHERE name = 'incidents'").fetchone()[0]
            con.execute("COMMIT")
            assert n == listed, (n, listed)
            seen.add(n)
        print(sorted(seen))
    """
    watcher = subprocess.Popen([sys.executable, "-c", textwrap.dedent(reader), str(tiny_path), "25"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    done = run_py(_REPLACER, str(tiny_path), "200000")
    assert "finished" in done.stdout, done.stderr
    out, err = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, err
    seen = set(eval(out.strip()))  # a printed list of ints
    assert seen <= {1, 200_000} and 1 in seen, seen


# ---- other tools writing the file -------------------------------------------------------------------------
def test_gdal_and_sql_edits_are_seen(tiny_path):
    from api.access import ROLES, Area, Scope, User

    ws = store.open_workspace(tiny_path)
    admin = User("a", ROLES["admin"], Area())
    scope = Scope.of(ws, admin)
    cam = ws.read("cameras").iloc[0]
    etag = scope.etag(ws, "cameras", cam)
    v0 = ws.version("cameras")
    added = run_py("""
        import sys, geopandas as gpd, pyogrio, shapely
        frame = gpd.GeoDataFrame({"id": ["QGIS-1"], "heading_deg": [10.0]}, geometry=[shapely.Point(120.51, 36.89)],
                                 crs=4326)
        pyogrio.write_dataframe(frame, sys.argv[1], layer="cameras", driver="GPKG", append=True)
    """, str(tiny_path))
    assert added.returncode == 0, added.stderr
    v1 = ws.version("cameras")
    assert v1 > v0 and "QGIS-1" in set(ws.read("cameras")["id"])
    with contextlib.closing(sql_client(tiny_path)) as con:  # plain SQL, no GDAL
        con.execute("UPDATE cameras SET status = 'inactive' WHERE id = ?", (cam["id"],))
    assert ws.version("cameras") > v1
    assert scope.etag(ws, "cameras", ws.rows("cameras", "id", cam["id"]).iloc[0]) != etag
    gdal_validates(tiny_path)


def test_a_layer_rebuilt_by_another_tool_is_adopted_with_a_new_version(tiny_path):
    ws = store.open_workspace(tiny_path)
    v0 = ws.version("targets")
    done = run_py("""
        import sys, pyogrio
        frame = pyogrio.read_dataframe(sys.argv[1], layer="targets")
        pyogrio.write_dataframe(frame.iloc[:1], sys.argv[1], layer="targets", driver="GPKG")  # overwrite
    """, str(tiny_path))
    assert done.returncode == 0, done.stderr
    info = {i.name: i for i in ws.layers()}["targets"]
    assert info.version > v0 and info.rows == 1
    with contextlib.closing(sql_client(tiny_path)) as con:  # tracked again: the next change by anyone bumps it
        con.execute("DELETE FROM targets")
    assert ws.version("targets") > info.version and {i.name: i for i in ws.layers()}["targets"].rows == 0


def test_coverage_goes_stale_when_cameras_change_outside(analysed_path, tmp_path):
    from api.workflows.coverage import coverage_is_current

    demo_copy = tmp_path / "demo.gpkg"
    shutil.copyfile(analysed_path, demo_copy)
    ws = store.open_workspace(demo_copy)
    assert coverage_is_current(ws)
    with contextlib.closing(sql_client(demo_copy)) as con:
        n = con.execute("UPDATE cameras SET status = 'inactive' WHERE status = 'active'").rowcount
    assert n > 0
    assert not coverage_is_current(ws)


# ---- accounts apart from the data ---------------------------------------------------------------------------
def test_accounts_live_beside_the_file_not_in_it(tiny_path):
    from api.access import Area, add_user

    ws = store.open_workspace(tiny_path)
    add_user(ws, "zhang", "planner", Area(), "a long enough password")
    with sqlite3.connect(tiny_path) as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not tables & {"pingan_users", "pingan_sessions", "pingan_throttle", "pingan_secrets"}
    side = accounts.sibling(tiny_path)
    assert side.exists() and (side.stat().st_mode & 0o077) == 0
    assert [r["username"] for r in store.open_workspace(tiny_path).records("users")] == ["zhang"]


def test_an_older_workspace_has_its_accounts_moved_out(tiny_path):
    with sqlite3.connect(tiny_path) as con:
        con.execute('CREATE TABLE "pingan_users" ("username" TEXT PRIMARY KEY, "role" TEXT, "area" TEXT, '
                    '"password_hash" TEXT, "disabled" TEXT, "created_at" TEXT, "failed_logins" TEXT, '
                    '"locked_until" TEXT, "display_name" TEXT)')
        con.execute("INSERT INTO pingan_users (username, role, area, password_hash) VALUES ('li', 'viewer', '{}', 'h')")
    ws = store.open_workspace(tiny_path)
    assert [r["username"] for r in ws.records("users")] == ["li"]
    with sqlite3.connect(tiny_path) as con:
        assert con.execute("SELECT 1 FROM sqlite_master WHERE name = 'pingan_users'").fetchone() is None
