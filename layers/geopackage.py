"""The GeoPackage workspace: one ``.gpkg`` file that opens in QGIS as it is, edited in place.

The file is in SQLite's WAL mode: readers never block the writer and never see half a write,
and a write is one SQLite transaction, so a crash or a SIGKILL at any moment leaves the last
committed state. Nothing copies the file:

- a feature edit, insert or delete changes its one row (:meth:`GeoPackageStore.edit`); GDAL's
  R-tree triggers keep the spatial index right through the ``ST_`` functions
  :mod:`layers.gpkgsql` registers;
- a whole layer (an import, an analysis result) is written by GDAL into a private scratch file
  and copied in, replacing the old table, in one transaction.

Only Python's SQLite opens the workspace in this process (see :mod:`layers.gpkgsql` for why).

Versions see every writer: triggers on each layer bump ``pingan_layers.version`` on any
insert, update or delete, whoever makes it (this program, QGIS, GDAL, plain SQL); a layer a
tool dropped and rebuilt without them is noticed and adopted with a new version.

Metadata lives in plain tables inside the file: ``pingan_meta`` (key → JSON), ``pingan_layers``
(layer → version, update time, row count) and ``pingan_audit``. Users, sessions and keys live
beside it in ``<name>.users.sqlite`` (:mod:`layers.accounts`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from layers import accounts, gpkgfile, gpkgsql, qgisstyles
from layers.errors import UnknownLayerError, WorkspaceError
from layers.gpkgsql import q
from layers.store import RESERVED_NAMES, LayerInfo, Store, audit_row, check_write, conform, conform_record, storable

log = logging.getLogger(__name__)

#: how many times a read-modify-write of a whole layer is tried when other writers keep changing it
_RETRIES = 5

class GeoPackageStore(Store):
    """A workspace stored in one GeoPackage file."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.uri = str(self.path)
        if not self.path.exists():
            raise WorkspaceError(f"workspace {self.path} does not exist: create it with `pingan init {self.path}`")
        gpkgfile.check_file(self.path)
        self._local = threading.local()
        self._writer = gpkgfile.writer_lock(self.path)
        self.accounts = accounts.Accounts(accounts.sibling(self.path))
        gpkgfile.upgrade(self._con, self._write, self.accounts)

    # ---- creation and integrity ----------------------------------------------------
    @classmethod
    def create(cls, path: Path, *, name: str = "", expect_china: bool = True,
               overwrite: bool = False, **settings: Any) -> GeoPackageStore:
        gpkgfile.create_file(Path(path), name=name, overwrite=overwrite,
                             settings={"expect_china": expect_china, **settings})
        return cls(path)

    # ---- connections and transactions -------------------------------------------------------
    @property
    def _con(self) -> sqlite3.Connection:
        """This thread's connection (reopened if the file was replaced, e.g. by ``init --force``)."""
        try:
            ino = os.stat(self.path).st_ino
        except FileNotFoundError as exc:
            raise WorkspaceError(f"workspace {self.path} is gone (moved or deleted)") from exc
        con = getattr(self._local, "con", None)
        if con is None or self._local.ino != ino:
            if con is not None:
                con.close()
            con = gpkgsql.connect(self.path)
            self._local.con, self._local.ino = con, ino
        return con

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One consistent snapshot (inside a write, the write's own view)."""
        con = self._con
        if con.in_transaction:
            yield con
            return
        con.execute("BEGIN")
        try:
            yield con
        finally:
            if con.in_transaction:
                con.execute("COMMIT")

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, all or nothing (SQLite's lock serialises writers across processes)."""
        con = self._con
        if con.in_transaction:
            raise RuntimeError("a workspace write cannot start inside another read or write of this thread")
        with self._writer:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise
        # fold the write into the file at once (without waiting for readers), so that the .gpkg alone
        # is the workspace once writes settle: a plain file copy, or QGIS on a read-only share, sees it
        with contextlib.suppress(sqlite3.OperationalError):
            con.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None
        self.accounts.close()

    # ---- reading ----------------------------------------------------------------------
    def layers(self) -> list[LayerInfo]:
        with self._read() as con:
            out, untracked = self._listing(con)
        if untracked:
            self._adopt(untracked)
            with self._read() as con:
                out, _ = self._listing(con)
        return out

    @staticmethod
    def _listing(con: sqlite3.Connection) -> tuple[list[LayerInfo], list[str]]:
        kinds = dict(con.execute(
            "SELECT c.table_name, g.geometry_type_name FROM gpkg_contents c "
            "LEFT JOIN gpkg_geometry_columns g ON g.table_name = c.table_name"))
        meta = {r[0]: r[1:] for r in con.execute("SELECT name, version, updated_at, rows FROM pingan_layers")}
        tracked = {r[0] for r in con.execute("SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' "
                                             "AND name LIKE 'pingan_changed_%_update'")}
        out, untracked = [], []
        for name, gtype in sorted(kinds.items()):
            if name.startswith("pingan_") or name in RESERVED_NAMES:
                continue
            if name not in meta or name not in tracked:
                untracked.append(name)  # made or rebuilt by another tool
            version, updated, rows = meta.get(name, (0, "", -1))
            out.append(LayerInfo(name, rows, version, updated, gtype))
        return out, untracked

    def _adopt(self, names: Sequence[str]) -> None:
        """Track layers another tool made or rebuilt: a new version, counted rows, the triggers."""
        with self._write() as con:
            present = gpkgsql.tables(con)
            for name in names:
                if name in present:
                    version = gpkgfile.track(con, name, "changed outside pingan")
                    log.info("%s: layer %s was made or changed outside pingan: now version %d", self.path.name,
                             name, version)

    def _missing(self, con: sqlite3.Connection, layer: str) -> UnknownLayerError:
        have = ", ".join(i.name for i in self._listing(con)[0]) or "no layers yet"
        return UnknownLayerError(f"workspace {self.path.name} has no layer '{layer}' (it has {have})")

    def read(self, layer: str, *, bbox: Sequence[float] | None = None,
             where: str | None = None) -> pd.DataFrame:
        with self._read() as con:
            if layer.startswith("pingan_") or layer in RESERVED_NAMES or con.execute(
                    "SELECT 1 FROM gpkg_contents WHERE table_name = ?", (layer,)).fetchone() is None:
                raise self._missing(con, layer)
            frame = gpkgsql.read_table(con, layer, bbox=bbox, where=where)
        return conform(layer, frame)

    def row(self, layer: str, key: str, value: str) -> pd.Series | None:
        with self._read() as con:
            if layer.startswith("pingan_") or layer in RESERVED_NAMES or con.execute(
                    "SELECT 1 FROM gpkg_contents WHERE table_name = ?", (layer,)).fetchone() is None:
                raise self._missing(con, layer)
            found = gpkgsql.read_records(con, layer, f"{q(key)} = ?", (str(value),))
        if len(found) > 1:
            raise WorkspaceError(f"{layer} holds '{value}' {len(found)} times: fix the duplicates in the file")
        return conform_record(layer, found[0][1]) if found else None

    def rows(self, layer: str, key: str, value: str) -> pd.DataFrame:
        with self._read() as con:
            if layer.startswith("pingan_") or layer in RESERVED_NAMES or con.execute(
                    "SELECT 1 FROM gpkg_contents WHERE table_name = ?", (layer,)).fetchone() is None:
                raise self._missing(con, layer)
            frame = gpkgsql.read_table(con, layer, where=f"{q(key)} = ?", params=(str(value),))
        return conform(layer, frame)

    def layer_bounds(self, layer: str) -> tuple[float, float, float, float] | None:
        with self._read() as con:
            gcol = gpkgsql.geometry_column(con, layer)
            if gcol is None:
                return None
            row = con.execute(f"SELECT min(minx), min(miny), max(maxx), max(maxy) FROM "
                              f"{q(f'rtree_{layer}_{gcol[0]}')}").fetchone()
        if row is None or row[0] is None:
            return None
        return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))

    def get_meta(self, key: str, default: Any = None) -> Any:
        with self._read() as con:
            row = con.execute("SELECT value FROM pingan_meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    # ---- writing whole layers (GDAL into a scratch file, copied in one transaction) ---------
    @contextlib.contextmanager
    def _attached(self, scratch: Path) -> Iterator[sqlite3.Connection]:
        con = self._con
        con.execute("ATTACH DATABASE ? AS s", (str(scratch),))
        try:
            yield con
        finally:
            con.execute("DETACH DATABASE s")

    def write_many(self, frames: Mapping[str, pd.DataFrame], *, mode: str = "replace",
                   message: str = "") -> dict[str, int]:
        check_write(frames, mode)
        return self._replace(frames, mode, message)

    def _replace(self, frames: Mapping[str, pd.DataFrame], mode: str, message: str,
                 expect: Mapping[str, int] | None = None) -> dict[str, int]:
        """Write ``frames`` in one transaction; with ``expect``, only if those layers still have those
        versions (else None is returned for a retry)."""
        scratch = gpkgfile.scratch_path(self.path)
        try:
            gpkgfile.to_scratch(scratch, frames)
            with self._attached(scratch) as con, self._write():
                listed = {r[0]: r[1] for r in con.execute("SELECT name, version FROM pingan_layers")}
                if expect is not None and any(listed.get(k, 0) != v for k, v in expect.items()):
                    raise _MovedError
                present = gpkgsql.tables(con)
                versions = {}
                for name in frames:
                    before = listed.get(name, 0)
                    if mode == "append" and name in present:
                        gpkgsql.append_rows(con, name)
                    else:
                        gpkgsql.drop_layer(con, name)
                        gpkgsql.copy_layer(con, name)
                    versions[name] = gpkgfile.track(con, name, message, before=before)
            self._checkpoint()
            return versions
        finally:
            scratch.unlink(missing_ok=True)
            for extra in ("-journal", "-wal", "-shm"):
                scratch.with_name(scratch.name + extra).unlink(missing_ok=True)

    def _checkpoint(self) -> None:
        """Fold a large write's log back into the file, so the -wal file does not keep its size."""
        with contextlib.suppress(sqlite3.OperationalError):
            self._con.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def update(self, layer: str, change: Callable[[pd.DataFrame], pd.DataFrame], *, message: str = "") -> int:
        for _ in range(_RETRIES):
            version = self.version(layer)
            if not self.has(layer):
                raise UnknownLayerError(f"workspace {self.path.name} has no layer '{layer}'")
            try:
                return self._replace({layer: change(self.read(layer))}, "replace", message,
                                     expect={layer: version})[layer]
            except _MovedError:
                continue
        raise WorkspaceError(f"layer '{layer}' kept changing under this update: try again")

    # ---- writing one feature in place ---------------------------------------------------------
    def edit(self, layer: str, key: str, value: str,
             decide: Callable[[pd.Series | None], pd.DataFrame | None], *,
             message: str = "", audit: tuple[str, str, str] | None = None) -> tuple[int, pd.Series | None]:
        with self._write() as con:
            if con.execute("SELECT 1 FROM gpkg_contents WHERE table_name = ?", (layer,)).fetchone() is None:
                raise self._missing(con, layer)
            found = gpkgsql.read_records(con, layer, f"{q(key)} = ?", (str(value),))
            if len(found) > 1:
                raise WorkspaceError(f"{layer} holds '{value}' {len(found)} times: fix the duplicates in the file")
            fid = found[0][0] if found else None
            current = conform_record(layer, found[0][1]) if found else None
            new = decide(current)
            new = None if new is None else storable(new, layer)  # the layer's one geometry type
            if new is None:
                if fid is not None:
                    con.execute(f"DELETE FROM {q(layer)} WHERE fid = ?", (fid,))
            else:
                row = {str(k): v for k, v in new.iloc[0].to_dict().items()}
                values = gpkgsql.row_values(con, layer, row)
                if fid is None:
                    con.execute(f"INSERT INTO {q(layer)} ({', '.join(q(c) for c in values)}) "
                                f"VALUES ({', '.join('?' for _ in values)})", list(values.values()))
                    fid = con.execute("SELECT last_insert_rowid()").fetchone()[0]
                else:
                    con.execute(f"UPDATE {q(layer)} SET {', '.join(q(c) + ' = ?' for c in values)} WHERE fid = ?",
                                [*values.values(), fid])
                gpkgsql.grow_extent(con, layer, [row.get("geometry")] if "geometry" in row else [])
            if new is None:
                gpkgsql.grow_extent(con, layer, [])
            con.execute("UPDATE pingan_layers SET message = ? WHERE name = ?", (message, layer))
            version = con.execute("SELECT version FROM pingan_layers WHERE name = ?", (layer,)).fetchone()[0]
            stored = None
            if new is not None:
                stored = conform_record(layer, gpkgsql.read_records(con, layer, "fid = ?", (fid,))[0][1])
            if audit is not None:
                self._append_audit(con, [audit_row(audit[0], audit[1], {"version": int(version)}, audit[2])])
        return int(version), stored

    def delete(self, layer: str) -> None:
        with self._write() as con:
            if con.execute("SELECT 1 FROM gpkg_contents WHERE table_name = ?", (layer,)).fetchone() is None \
                    or layer.startswith("pingan_") or layer in RESERVED_NAMES:
                raise UnknownLayerError(f"workspace {self.path.name} has no layer '{layer}'")
            gpkgsql.drop_layer(con, layer)
            con.execute("DELETE FROM pingan_layers WHERE name = ?", (layer,))

    def put_style(self, layer: str, qml: str, sld: str, aliases: Mapping[str, str]) -> None:
        with self._write() as con:
            gcol = gpkgsql.geometry_column(con, layer)
            qgisstyles.put_gpkg(con, layer, gcol[0] if gcol else "geom", qml, sld, aliases)

    # ---- metadata and the audit log ---------------------------------------------------------------
    def set_meta(self, values: Mapping[str, Any]) -> None:
        with self._write() as con:
            con.executemany("INSERT OR REPLACE INTO pingan_meta (key, value) VALUES (?, ?)",
                            [(k, json.dumps(v, ensure_ascii=False, default=str)) for k, v in values.items()])

    def meta(self) -> dict[str, Any]:
        with self._read() as con:
            return {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM pingan_meta")}

    def restore_layer_info(self, layer: str, version: int, updated_at: str) -> None:
        with self._write() as con:
            con.execute("UPDATE pingan_layers SET version = ?, updated_at = ? WHERE name = ?",
                        (int(version), updated_at, layer))

    def append_audit(self, rows: Sequence[tuple[str, str, str, str, str]]) -> None:
        with self._write() as con:
            self._append_audit(con, rows)

    @staticmethod
    def _append_audit(con: sqlite3.Connection, rows: Sequence[tuple[str, str, str, str, str]]) -> None:
        con.executemany('INSERT INTO pingan_audit ("at", "user", "action", "object", "detail") '
                        "VALUES (?, ?, ?, ?, ?)", [tuple(r) for r in rows])

    def audit_log(self) -> pd.DataFrame:
        with self._read() as con:
            return pd.read_sql_query('SELECT "at", "user", "action", "object", "detail" FROM pingan_audit '
                                     "ORDER BY fid", con)

    # ---- accounts (in the sibling file) ------------------------------------------------------------
    def records(self, table: str) -> list[dict[str, Any]]:
        return self.accounts.records(table)

    def record(self, table: str, value: Any) -> dict[str, Any] | None:
        return self.accounts.record(table, value)

    def put_record(self, table: str, key: str, record: Mapping[str, Any], *,
                   expect: Mapping[str, Any] | None = None, absent: bool = False) -> bool:
        return self.accounts.put(table, key, record, expect=expect, absent=absent)

    def delete_records(self, table: str, key: str, values: Sequence[Any]) -> int:
        return self.accounts.delete(table, key, values)

    # ---- a copy for people outside -------------------------------------------------------------------
    def snapshot(self, out: Path) -> None:
        """A consistent copy of the file as it is now (one file, rollback journal), by SQLite's backup."""
        out = Path(out)
        tmp = out.with_name(f".{out.name}.part")
        tmp.unlink(missing_ok=True)
        with contextlib.closing(sqlite3.connect(tmp)) as dst:
            self._con.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")
        os.replace(tmp, out)


class _MovedError(Exception):
    """The layer changed between reading it and writing its replacement."""
