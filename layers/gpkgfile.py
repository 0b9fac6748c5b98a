"""The GeoPackage workspace file itself: creating it, checking it, the writers' lock, and the
scratch files GDAL writes whole layers into (:mod:`layers.geopackage` copies them in).

A new file is written beside its final name and moved into place after ``fsync``, so a crash
leaves either no file or the whole new one.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from layers import accounts, gpkgsql, schemas
from layers.errors import WorkspaceError, WorkspaceExistsError
from layers.gpkgsql import q
from layers.store import SCHEMA_VERSION, declared_geometry, now_iso, storable

#: GeoPackage 1.2 files (GDAL writes 1.4 by default, whose R-tree triggers GDAL 3.6 and the QGIS
#: of Debian 12 do not know: their validator fails them on Req 75)
GPKG_VERSION = {"VERSION": "1.2"}
AUDIT_COLUMNS = ("at", "user", "action", "object", "detail")
STAMP = "strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')"

#: one lock per workspace file for this process's writers: threads queue here in turn, instead of in
#: SQLite's busy handler, which sleeps in steps of up to 100 ms (other processes still meet that one)
_WRITERS: dict[str, threading.RLock] = {}
_WRITERS_LOCK = threading.Lock()


def writer_lock(path: Path) -> threading.RLock:
    """The one in-process lock of the workspace file at ``path``."""
    key = os.path.realpath(path)
    with _WRITERS_LOCK:
        return _WRITERS.setdefault(key, threading.RLock())


def tracking(name: str) -> list[str]:
    """Triggers that bump the layer's version on any change, by any SQLite client."""
    lit = name.replace("'", "''")
    out = []
    for op, rows in (("insert", "rows + 1"), ("update", "rows"), ("delete", "rows - 1")):
        out.append(f"CREATE TRIGGER IF NOT EXISTS {q(f'pingan_changed_{name}_{op}')} AFTER {op.upper()} ON {q(name)} "
                   f"BEGIN UPDATE pingan_layers SET version = version + 1, rows = {rows}, updated_at = {STAMP} "
                   f"WHERE name = '{lit}'; END")
    return out


def create_file(path: Path, *, name: str, overwrite: bool, settings: Mapping[str, Any]) -> None:
    """A new, empty workspace file at ``path``: metadata tables registered in ``gpkg_contents``, WAL mode,
    written beside and moved into place, so a crash leaves either no file or a whole one."""
    if path.exists() and not overwrite:
        raise WorkspaceExistsError(f"{path} already exists: choose another name, or replace it "
                                   "(pingan init --force; overwrite=True from Python)")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.new-{os.getpid()}.gpkg")
    try:
        # GDAL creates the metadata tables so that they (and every later attribute
        # table) are registered in gpkg_contents like any GeoPackage table.
        pyogrio.write_dataframe(pd.DataFrame({"key": pd.Series([], dtype=str),
                                              "value": pd.Series([], dtype=str)}),
                                tmp, layer="pingan_meta", driver="GPKG", dataset_options=GPKG_VERSION)
        pyogrio.write_dataframe(pd.DataFrame({
            "name": pd.Series([], dtype=str), "version": pd.Series([], dtype="int64"),
            "updated_at": pd.Series([], dtype=str), "rows": pd.Series([], dtype="int64"),
            "message": pd.Series([], dtype=str)}), tmp, layer="pingan_layers", driver="GPKG")
        pyogrio.write_dataframe(pd.DataFrame({c: pd.Series([], dtype=str) for c in AUDIT_COLUMNS}),
                                tmp, layer="pingan_audit", driver="GPKG")
        with contextlib.closing(sqlite3.connect(tmp)) as con, con:
            con.execute("CREATE UNIQUE INDEX IF NOT EXISTS pingan_meta_key ON pingan_meta (key)")
            con.execute("CREATE UNIQUE INDEX IF NOT EXISTS pingan_layers_name ON pingan_layers (name)")
            meta = {"schema_version": SCHEMA_VERSION, "name": name or path.stem, "created_at": now_iso(),
                    "settings": dict(settings)}
            con.executemany("INSERT OR REPLACE INTO pingan_meta (key, value) VALUES (?, ?)",
                            [(k, json.dumps(v, ensure_ascii=False)) for k, v in meta.items()])
        with contextlib.closing(sqlite3.connect(tmp)) as con:
            con.execute("PRAGMA journal_mode = WAL")
        fsync(tmp)
        for stale in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"),
                      accounts.sibling(path)):
            stale.unlink(missing_ok=True)  # an overwritten workspace takes neither its log nor its users
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)



def _key_field(name: str) -> str | None:
    schema = schemas.SCHEMAS.get(name)
    return schema.id_field if schema is not None else None


def upgrade(con: sqlite3.Connection, write: Callable[[], AbstractContextManager[sqlite3.Connection]],
            users: accounts.Accounts) -> None:
    """Bring an older workspace file up to date: WAL mode, an audit table, and accounts moved out
    of the file into ``users`` (copied first, then dropped: a crash between the two loses nothing)."""
    if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        with contextlib.suppress(sqlite3.OperationalError):  # busy: the next opener switches it
            con.execute("PRAGMA journal_mode = WAL")
    present = gpkgsql.tables(con)
    if "pingan_audit" not in present:  # a shared copy (no audit log) opened as a workspace
        with write() as tx:
            tx.execute('CREATE TABLE IF NOT EXISTS pingan_audit (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, '
                        '"at" TEXT, "user" TEXT, "action" TEXT, "object" TEXT, "detail" TEXT)')
            tx.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, last_change) "
                        "VALUES ('pingan_audit', 'attributes', 'pingan_audit', "
                        "strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))")
    inside = [t for t in accounts.TABLES if f"pingan_{t}" in present]
    if not inside:
        return
    for name in inside:
        _, fields = accounts.table(name)
        have = gpkgsql.columns(con, f"pingan_{name}")
        rows = con.execute(f"SELECT {', '.join(q(f) if f in have else 'NULL' for f in fields)} "
                           f"FROM {q('pingan_' + name)}").fetchall()
        users.put_many(name, [dict(zip(fields, r, strict=True)) for r in rows])
    with write() as tx:
        for name in inside:
            tx.execute(f"DROP TABLE IF EXISTS {q('pingan_' + name)}")


def track(con: sqlite3.Connection, name: str, message: str, *, before: int | None = None) -> int:
    """After a whole-layer write: the layer's next version, its row count, triggers and key index."""
    if before is None:
        row = con.execute("SELECT version FROM pingan_layers WHERE name = ?", (name,)).fetchone()
        before = row[0] if row else 0
    version = int(before) + 1
    rows = con.execute(f"SELECT COUNT(*) FROM {q(name)}").fetchone()[0]
    con.execute("INSERT OR REPLACE INTO pingan_layers (name, version, updated_at, rows, message) "
                "VALUES (?, ?, ?, ?, ?)", (name, version, now_iso(), rows, message))
    for sql in tracking(name):
        con.execute(sql)
    key = _key_field(name)
    if key and key in gpkgsql.columns(con, name):
        index = q(f"pingan_key_{name}")
        try:  # ids are unique by validation; the index keeps them so against every writer
            con.execute("SAVEPOINT pingan_key")
            con.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {index} ON {q(name)} ({q(key)})")
            con.execute("RELEASE pingan_key")
        except sqlite3.IntegrityError:
            con.execute("ROLLBACK TO pingan_key")
            con.execute("RELEASE pingan_key")
            con.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {q(name)} ({q(key)})")
    return version


def check_file(path: Path) -> None:
    """Refuse a file that is not a GeoPackage, or is damaged, with what to do about it."""
    # only through SQLite, never open() and close(): closing any other descriptor of the file would
    # drop the POSIX locks this process's SQLite connections hold on it (fcntl locks are per process)
    try:
        con = sqlite3.connect(path, timeout=30)
        try:
            try:
                con.execute("PRAGMA schema_version").fetchone()
            except sqlite3.DatabaseError as exc:
                if "not a database" in str(exc):
                    raise WorkspaceError(f"{path} is not a GeoPackage (no SQLite header): is it the right "
                                         "file?") from None
                raise
            ok = con.execute("PRAGMA quick_check").fetchone()
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise WorkspaceError(f"{path} is damaged ({exc}); it may be truncated — restore it from a copy") from exc
    if not ok or ok[0] != "ok":
        raise WorkspaceError(f"{path} is damaged (integrity check: {ok[0] if ok else '?'}); restore it from a copy")
    if "gpkg_contents" not in tables:
        raise WorkspaceError(f"{path} is an SQLite file but not a GeoPackage")



def scratch_path(path: Path) -> Path:
    """A private scratch file beside the workspace for GDAL to write into (stale ones of dead writers go)."""
    prefix = f".{path.stem}.scratch-"
    for stale in path.parent.glob(prefix + "*"):  # the file and GDAL's journal and temporary R-tree
        pid = stale.name[len(prefix):].split("-")[0]
        if pid.isdigit() and not alive(int(pid)):
            stale.unlink(missing_ok=True)  # left by a writer that died
    return path.with_name(f".{path.stem}.scratch-{os.getpid()}-{secrets.token_hex(4)}.gpkg")



def to_scratch(scratch: Path, frames: Mapping[str, pd.DataFrame]) -> None:
    """Write each frame as a layer of the scratch file (in EPSG:4326, as every workspace layer)."""
    for name, frame in frames.items():
        is_geo = isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame
        out = gpkgsql.utc_times(prepare(storable(frame, name)))
        kwargs: dict[str, Any] = {"layer": name, "driver": "GPKG"}
        if is_geo:
            crs = getattr(out, "crs", None)
            if crs is not None and crs.to_epsg() != 4326:
                out = gpd.GeoDataFrame(out).to_crs(4326)
            kwargs["promote_to_multi"] = False  # storable() made every row the layer's one type
            declared = declared_geometry(name, out)
            kwargs["geometry_type"] = "Unknown" if declared == "GEOMETRY" else declared
        if not scratch.exists():
            kwargs["dataset_options"] = GPKG_VERSION  # the same R-tree triggers as the workspace's
        pyogrio.write_dataframe(out, scratch, **kwargs)



def alive(pid: int) -> bool:
    """Whether process ``pid`` is still running (a scratch file of a dead one can go)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """Make a frame writable: nullable ints and object columns GDAL understands."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if isinstance(out, gpd.GeoDataFrame) and col == out.geometry.name:
            continue
        if isinstance(s.dtype, pd.Int64Dtype) and s.isna().any():
            out[col] = s.astype("float64")  # GDAL has no nullable int from pandas NA
        elif s.dtype == object:
            out[col] = s.map(lambda v: None if pd.isna(v) else v)
    return out


def fsync(path: Path) -> None:
    """Flush the file at ``path`` to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Flush the directory entry of ``path`` to disk, where the platform allows it."""
    with contextlib.suppress(OSError):
        fsync(path)
