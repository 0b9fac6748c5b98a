"""The GeoPackage workspace: one ``.gpkg`` file that opens in QGIS as it is.

Atomicity: a write never touches the live file. Under an exclusive lock it copies the
file beside itself, writes the new layers and metadata into the copy, flushes it to
disk and swaps it in with ``os.replace`` (atomic on POSIX). A write that fails or is
killed midway leaves the live file as it was; the abandoned copy is removed by the
next writer. Readers never see a half-written layer.

Metadata lives in two plain tables inside the file: ``pingan_meta`` (key → JSON) and
``pingan_layers`` (layer → version, update time, row count).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import geopandas as gpd
import pandas as pd
import pyogrio

from layers import schemas
from layers.errors import UnknownLayerError, WorkspaceError, WorkspaceExistsError
from layers.store import SCHEMA_VERSION, LayerInfo, Store, conform, now_iso, storable

_META_DDL = (
    "CREATE UNIQUE INDEX IF NOT EXISTS pingan_meta_key ON pingan_meta (key)",
    "CREATE UNIQUE INDEX IF NOT EXISTS pingan_layers_name ON pingan_layers (name)",
)
_AUDIT_COLUMNS = ("at", "user", "action", "object", "detail")
_SQLITE_MAGIC = b"SQLite format 3\x00"


class GeoPackageStore(Store):
    """A workspace stored in one GeoPackage file."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.uri = str(self.path)
        if not self.path.exists():
            raise WorkspaceError(f"workspace {self.path} does not exist: create it with `pingan init {self.path}`")
        self._check_file(self.path)

    # ---- creation and integrity ----------------------------------------------------
    @classmethod
    def create(cls, path: Path, *, name: str = "", expect_china: bool = True,
               overwrite: bool = False, **settings: Any) -> GeoPackageStore:
        path = Path(path)
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
                                    tmp, layer="pingan_meta", driver="GPKG")
            pyogrio.write_dataframe(pd.DataFrame({
                "name": pd.Series([], dtype=str), "version": pd.Series([], dtype="int64"),
                "updated_at": pd.Series([], dtype=str), "rows": pd.Series([], dtype="int64"),
                "message": pd.Series([], dtype=str)}), tmp, layer="pingan_layers", driver="GPKG")
            pyogrio.write_dataframe(pd.DataFrame({c: pd.Series([], dtype=str) for c in _AUDIT_COLUMNS}),
                                    tmp, layer="pingan_audit", driver="GPKG")
            with contextlib.closing(sqlite3.connect(tmp)) as con, con:
                for ddl in _META_DDL:
                    con.execute(ddl)
                meta = {"schema_version": SCHEMA_VERSION, "name": name or path.stem, "created_at": now_iso(),
                        "settings": {"expect_china": expect_china, **settings}}
                con.executemany("INSERT OR REPLACE INTO pingan_meta (key, value) VALUES (?, ?)",
                                [(k, json.dumps(v, ensure_ascii=False)) for k, v in meta.items()])
            _fsync(tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return cls(path)

    @staticmethod
    def _check_file(path: Path) -> None:
        with open(path, "rb") as fh:
            head = fh.read(16)
        if head != _SQLITE_MAGIC:
            raise WorkspaceError(f"{path} is not a GeoPackage (no SQLite header): is it the right file?")
        try:
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
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

    # ---- reading ----------------------------------------------------------------------
    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection, held apart from in-place appends by the append lock.

        SQLite names its rollback journal after the path: a reader still on the file a writer
        has just swapped out would take a live append's journal for a crashed one and fail
        ("attempt to write a readonly database"). Readers and appends never overlap, so it
        cannot happen.
        """
        with self._append_lock(fcntl.LOCK_SH), contextlib.closing(
                sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)) as con:
            yield con

    def layers(self) -> list[LayerInfo]:
        with self._reading() as con:
            kinds = dict(con.execute(
                "SELECT c.table_name, g.geometry_type_name FROM gpkg_contents c "
                "LEFT JOIN gpkg_geometry_columns g ON g.table_name = c.table_name"))
            meta = {r[0]: r[1:] for r in con.execute("SELECT name, version, updated_at, rows FROM pingan_layers")}
        out = []
        for name, gtype in sorted(kinds.items()):
            version, updated, rows = meta.get(name, (0, "", -1))
            if not name.startswith("pingan_"):
                out.append(LayerInfo(name, rows, version, updated, gtype))
        return out

    def read(self, layer: str, *, bbox: Sequence[float] | None = None,
             where: str | None = None) -> pd.DataFrame:
        infos = {i.name: i for i in self.layers()}
        if layer not in infos:
            have = ", ".join(infos) or "no layers yet"
            raise UnknownLayerError(f"workspace {self.path.name} has no layer '{layer}' (it has {have})")
        is_table = infos[layer].geometry_type is None
        kwargs: dict[str, Any] = {"layer": layer, "where": where}
        if bbox is not None and not is_table:
            kwargs["bbox"] = tuple(float(v) for v in bbox)
        with self._append_lock(fcntl.LOCK_SH):
            frame = pyogrio.read_dataframe(self.path, read_geometry=not is_table, **kwargs)
        if "fid" in frame.columns and layer != "fid":
            frame = frame.drop(columns="fid")
        return conform(layer, frame)

    def layer_bounds(self, layer: str) -> tuple[float, float, float, float] | None:
        with self._append_lock(fcntl.LOCK_SH):
            info = pyogrio.read_info(self.path, layer=layer)
        if info.get("geometry_type") is None or not info.get("features"):
            return None
        w, s, e, n = info["total_bounds"]
        return (float(w), float(s), float(e), float(n))

    def get_meta(self, key: str, default: Any = None) -> Any:
        with self._reading() as con:
            row = con.execute("SELECT value FROM pingan_meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    # ---- writing (copy, write, swap) -----------------------------------------------------
    @contextlib.contextmanager
    def _append_lock(self, mode: int) -> Iterator[None]:
        """Readers through GDAL (shared) against in-place appends (exclusive).

        GDAL links its own SQLite, and POSIX record locks do not tell two SQLite copies in
        one process apart; so a GDAL reader could see an append half-way. This lock keeps
        them apart; appends take milliseconds.
        """
        if self.path.name.startswith("."):
            yield  # a writer's private copy: nobody else opens it
            return
        with open(self.path.with_name(f".{self.path.name}.append.lock"), "a+") as lock:
            fcntl.flock(lock, mode)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """The writers' lock and the append lock: for appends SQLite makes atomic by itself."""
        with open(self.path.with_name(f".{self.path.name}.lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                with self._append_lock(fcntl.LOCK_EX):
                    yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Path]:
        lock_path = self.path.with_name(f".{self.path.name}.lock")
        with open(lock_path, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                for stale in self.path.parent.glob(f".{self.path.stem}.tmp-*.gpkg"):
                    stale.unlink(missing_ok=True)  # left by a writer that died; we hold the lock
                tmp = self.path.with_name(f".{self.path.stem}.tmp-{os.getpid()}.gpkg")
                shutil.copyfile(self.path, tmp)
                try:
                    yield tmp
                    _fsync(tmp)
                    self._check_file(tmp)
                    os.replace(tmp, self.path)
                    _fsync_dir(self.path.parent)
                finally:
                    tmp.unlink(missing_ok=True)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def write_many(self, frames: Mapping[str, pd.DataFrame], *, mode: str = "replace",
                   message: str = "") -> dict[str, int]:
        if mode not in {"replace", "append"}:
            raise ValueError(f"mode must be 'replace' or 'append', not {mode!r}")
        for name in frames:
            if not name.isidentifier() or name.startswith(("gpkg_", "rtree_", "pingan_", "sqlite_")):
                raise ValueError(f"'{name}' cannot be a layer name: use letters, digits and _")
        with self._transaction() as tmp:
            return self._write_into(tmp, frames, mode, message)

    def update(self, layer: str, change: Callable[[pd.DataFrame], pd.DataFrame], *, message: str = "") -> int:
        with self._transaction() as tmp:
            current = GeoPackageStore(tmp).read(layer)
            return self._write_into(tmp, {layer: change(current)}, "replace", message)[layer]

    @staticmethod
    def _write_into(tmp: Path, frames: Mapping[str, pd.DataFrame], mode: str, message: str) -> dict[str, int]:
        versions: dict[str, int] = {}
        existing = {i.name for i in GeoPackageStore(tmp).layers()} if mode == "append" else set()
        for name, frame in frames.items():
            is_geo = isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame
            out = _prepare(storable(frame))
            append = mode == "append" and name in existing
            kwargs: dict[str, Any] = {"layer": name, "driver": "GPKG", "append": append}
            if is_geo:
                kwargs["promote_to_multi"] = False
                allowed = schemas.SCHEMAS[name].geometry if name in schemas.SCHEMAS else None
                if not append and allowed and len(allowed) > 1:
                    kwargs["geometry_type"] = "Unknown"  # Polygon and MultiPolygon may mix
            pyogrio.write_dataframe(out, tmp, **kwargs)
        with contextlib.closing(sqlite3.connect(tmp)) as con, con:
            for name in frames:
                rows = con.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]
                row = con.execute("SELECT version FROM pingan_layers WHERE name = ?", (name,)).fetchone()
                versions[name] = (row[0] if row else 0) + 1
                con.execute("INSERT OR REPLACE INTO pingan_layers (name, version, updated_at, rows, message) "
                            "VALUES (?, ?, ?, ?, ?)",
                            (name, versions[name], now_iso(), rows, message))
        return versions

    def delete(self, layer: str) -> None:
        if not self.has(layer):
            raise UnknownLayerError(f"workspace {self.path.name} has no layer '{layer}'")
        with self._transaction() as tmp, contextlib.closing(sqlite3.connect(tmp)) as con, con:
            gcol = con.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?",
                               (layer,)).fetchone()
            con.execute(f'DROP TABLE "{layer}"')
            if gcol:
                con.execute(f'DROP TABLE IF EXISTS "rtree_{layer}_{gcol[0]}"')
            present = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            for table in ("gpkg_contents", "gpkg_geometry_columns", "gpkg_extensions", "gpkg_ogr_contents"):
                if table in present:
                    con.execute(f"DELETE FROM {table} WHERE table_name = ?", (layer,))
            con.execute("DELETE FROM pingan_layers WHERE name = ?", (layer,))

    def audit(self, action: str, obj: str, detail: Mapping[str, Any] | None = None, *,
              user: str = "system") -> None:
        record = (now_iso(), user, action, obj, json.dumps(dict(detail or {}), ensure_ascii=False, default=str))
        # an audit record is one row appended in one SQLite transaction (atomic and durable through
        # SQLite's journal), in place: copying a city's workspace for every page view would cost
        # seconds. Writers that copy and replace the file hold the same lock, so none is lost.
        with self._locked(), contextlib.closing(sqlite3.connect(self.path, timeout=30)) as con, con:
            con.execute("PRAGMA synchronous = FULL")
            con.execute('INSERT INTO pingan_audit ("at", "user", "action", "object", "detail") '
                        "VALUES (?, ?, ?, ?, ?)", record)

    # ---- internal tables -------------------------------------------------------------------
    _TABLES: ClassVar[dict[str, tuple[str, tuple[str, ...]]]] = {
        "users": ("username", ("username", "role", "area", "password_hash", "disabled", "created_at",
                               "failed_logins", "locked_until", "display_name")),
        "sessions": ("token_hash", ("token_hash", "username", "created_at", "expires_at")),
        "throttle": ("key", ("key", "failures", "locked_until", "updated_at")),
        "secrets": ("name", ("name", "value", "created_at"))}

    def _table(self, table: str) -> tuple[str, tuple[str, ...]]:
        if table not in self._TABLES:
            raise ValueError(f"no internal table '{table}': there are {', '.join(self._TABLES)}")
        return self._TABLES[table]

    @staticmethod
    def _create(con: sqlite3.Connection, table: str, key: str, fields: tuple[str, ...]) -> None:
        cols = ", ".join(f'"{f}" TEXT' + (" PRIMARY KEY" if f == key else "") for f in fields)
        con.execute(f'CREATE TABLE IF NOT EXISTS "pingan_{table}" ({cols})')

    def records(self, table: str) -> list[dict[str, Any]]:
        _, fields = self._table(table)
        with self._reading() as con:
            exists = con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                 (f"pingan_{table}",)).fetchone()
            if not exists:
                return []
            cur = con.execute(f'SELECT {", ".join(chr(34) + f + chr(34) for f in fields)} FROM "pingan_{table}"')
            return [dict(zip(fields, row, strict=True)) for row in cur.fetchall()]

    def put_record(self, table: str, key: str, record: Mapping[str, Any], *,
                   expect: Mapping[str, Any] | None = None) -> bool:
        tkey, fields = self._table(table)
        if key != tkey:
            raise ValueError(f"table '{table}' is keyed by '{tkey}', not '{key}'")
        values = {f: (None if record.get(f) is None else str(record[f])) for f in fields}
        with self._locked(), contextlib.closing(sqlite3.connect(self.path, timeout=30)) as con, con:
            con.execute("PRAGMA synchronous = FULL")
            self._create(con, table, tkey, fields)
            if expect is not None:
                row = con.execute(f'SELECT * FROM "pingan_{table}" WHERE "{tkey}" = ?',
                                  (values[tkey],)).fetchone()
                current = dict(zip(fields, row, strict=True)) if row else None
                if current is None or any(current.get(k) != (None if v is None else str(v))
                                          for k, v in expect.items()):
                    return False
            con.execute(f'INSERT OR REPLACE INTO "pingan_{table}" ({", ".join(chr(34) + f + chr(34) for f in fields)}) '
                        f'VALUES ({", ".join("?" for _ in fields)})', [values[f] for f in fields])
        return True

    def delete_records(self, table: str, key: str, values: Sequence[Any]) -> int:
        tkey, fields = self._table(table)
        if key not in fields:
            raise ValueError(f"table '{table}' has no field '{key}'")
        with self._locked(), contextlib.closing(sqlite3.connect(self.path, timeout=30)) as con, con:
            self._create(con, table, tkey, fields)
            n = 0
            for v in values:
                n += con.execute(f'DELETE FROM "pingan_{table}" WHERE "{key}" = ?', (str(v),)).rowcount
        return n

    def audit_log(self) -> pd.DataFrame:
        with self._reading() as con:
            return pd.read_sql_query('SELECT "at", "user", "action", "object", "detail" FROM pingan_audit '
                                     "ORDER BY fid", con)

    def meta(self) -> dict[str, Any]:
        with self._reading() as con:
            return {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM pingan_meta")}

    def restore_layer_info(self, layer: str, version: int, updated_at: str) -> None:
        with self._transaction() as tmp, contextlib.closing(sqlite3.connect(tmp)) as con, con:
            con.execute("UPDATE pingan_layers SET version = ?, updated_at = ? WHERE name = ?",
                        (int(version), updated_at, layer))

    def append_audit(self, rows: Sequence[tuple[str, str, str, str, str]]) -> None:
        with self._locked(), contextlib.closing(sqlite3.connect(self.path, timeout=30)) as con, con:
            con.execute("PRAGMA synchronous = FULL")
            con.executemany('INSERT INTO pingan_audit ("at", "user", "action", "object", "detail") '
                            "VALUES (?, ?, ?, ?, ?)", [tuple(r) for r in rows])

    def set_meta(self, values: Mapping[str, Any]) -> None:
        with self._transaction() as tmp, contextlib.closing(sqlite3.connect(tmp)) as con, con:
            con.executemany("INSERT OR REPLACE INTO pingan_meta (key, value) VALUES (?, ?)",
                            [(k, json.dumps(v, ensure_ascii=False, default=str)) for k, v in values.items()])


def _prepare(frame: pd.DataFrame) -> pd.DataFrame:
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


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        _fsync(path)
