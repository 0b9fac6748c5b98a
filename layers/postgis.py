"""The PostGIS workspace store: the same interface as the GeoPackage, for a server and many users.

``postgresql://user:password@host:port/database?workspace=name`` keeps one workspace in the
schema ``name`` (default ``pingan``) of that database: one table per layer (geometry in
EPSG:4326 with a GiST index, rows in their written order), and the tables
``pingan_layers`` (versions), ``pingan_meta`` (settings, metadata) and ``pingan_audit``.
Users, sessions and keys live apart from the data, in the schema ``<name>__access``
(``pingan_records``): a dump of the workspace schema holds no password hash.

A feature edit changes its one row in one transaction, the row locked (``SELECT … FOR
UPDATE``) while its ETag is compared (:meth:`PostGISStore.edit`). Statement triggers on every
layer table bump the layer's version on any insert, update, delete or truncate, whoever makes
it (QGIS and psql included).

Every write is one transaction: a replaced layer is built beside the old one and swapped in
by rename before the commit, so readers see the old layer or the new one, never part of
either. Writers of one workspace are serialised by a transaction-scoped advisory lock, so
:meth:`update` is a true read-modify-write; readers are never blocked by it (MVCC).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import geopandas as gpd
import pandas as pd
import shapely

from layers import accounts, pgsql, qgisstyles
from layers.errors import UnknownLayerError, WorkspaceError, WorkspaceExistsError
from layers.store import (
    SCHEMA_VERSION,
    LayerInfo,
    Store,
    audit_row,
    check_write,
    conform,
    conform_record,
    now_iso,
    storable,
)

_RECORD_KEYS = {name: key for name, (key, _) in accounts.TABLES.items()}

log = logging.getLogger(__name__)


class PostGISStore(Store):
    """A workspace kept in one schema of a PostgreSQL database with PostGIS."""

    def __init__(self, uri: str, *, _creating: bool = False):

        parts = urlsplit(uri)
        query = parse_qs(parts.query)
        self.schema = (query.pop("workspace", ["pingan"])[0] or "pingan").lower()
        pgsql.ident(self.schema)
        rest = "&".join(f"{k}={v}" for k, vals in query.items() for v in vals)
        self.dsn = urlunsplit((parts.scheme, parts.netloc, parts.path, rest, ""))
        self.uri = pgsql.redact(uri)  # shown in messages and layer histories: never the password
        self.name = self.schema
        self._where = f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"
        self._local = threading.local()  # one connection per thread: a transaction is a connection's
        self._con  # noqa: B018 (connect now: an unreachable server is reported at once)
        if not _creating and not self._exists():
            raise WorkspaceError(f"database {parts.path.lstrip('/')} has no workspace '{self.schema}': create it "
                                 f"with `pingan init '{uri}'` or copy one in with `pingan workspace copy`")

    # ---- connection helpers --------------------------------------------------------
    @property
    def _con(self) -> Any:
        con = getattr(self._local, "con", None)
        if con is None or con.closed:
            import psycopg

            try:
                con = psycopg.connect(self.dsn, autocommit=True)
            except psycopg.OperationalError as exc:
                raise WorkspaceError(f"cannot reach the PostGIS workspace at {self._where}: "
                                     f"{str(exc).strip()}") from exc
            self._local.con = con
        return con

    def _exists(self) -> bool:
        row = self._con.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
                                "AND table_name = 'pingan_layers'", (self.schema,)).fetchone()
        return row is not None

    @contextlib.contextmanager
    def _writing(self) -> Iterator[Any]:
        """One transaction holding the workspace's writer lock."""
        with self._con.transaction():
            self._con.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"pingan:{self.schema}",))
            yield self._con

    def _t(self, table: str) -> str:
        return pgsql.qualified(self.schema, table)

    # ---- creation ---------------------------------------------------------------------
    @classmethod
    def create(cls, uri: str, *, name: str = "", expect_china: bool = True, overwrite: bool = False,
               **settings: Any) -> PostGISStore:
        store = cls(uri, _creating=True)
        if store._exists() and not overwrite:
            raise WorkspaceExistsError(f"workspace '{store.schema}' already exists in that database: choose another "
                                       "?workspace= name, or replace it (--force; overwrite=True from Python)")
        import psycopg

        if store._con.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone() is None:
            try:
                store._con.execute("CREATE EXTENSION postgis")
            except psycopg.Error as exc:
                raise WorkspaceError(f"PostGIS is not enabled in {store._where} and this user cannot enable it "
                                     f"({str(exc).strip()}): ask the database administrator to run "
                                     "CREATE EXTENSION postgis") from exc
        with store._writing() as con:
            if overwrite:  # a replaced workspace takes neither its layers nor its accounts
                con.execute(f"DROP SCHEMA IF EXISTS {pgsql.ident(store.schema)} CASCADE")
                con.execute(f"DROP SCHEMA IF EXISTS {pgsql.ident(store.schema + '__access')} CASCADE")
            pgsql.create_tables(con, store.schema, {"schema_version": SCHEMA_VERSION, "name": name or store.schema,
                                                 "created_at": now_iso(),
                                                 "settings": {"expect_china": expect_china, **settings}})
        return store

    # ---- reading ---------------------------------------------------------------------
    def layers(self) -> list[LayerInfo]:
        rows = self._con.execute(f"SELECT name, rows, version, updated_at, geometry_type "
                                 f"FROM {self._t('pingan_layers')} ORDER BY name").fetchall()
        return [LayerInfo(r[0], int(r[1]), int(r[2]), r[3], r[4]) for r in rows]

    def _info(self, layer: str, con: Any = None) -> tuple[str | None, dict[str, str]]:
        row = (con or self._con).execute(f"SELECT geometry_type, columns FROM {self._t('pingan_layers')} "
                                         "WHERE name = %s", (layer,)).fetchone()
        if row is None:
            have = ", ".join(i.name for i in self.layers()) or "no layers yet"
            raise UnknownLayerError(f"workspace {self.schema} has no layer '{layer}' (it has {have})")
        return row[0], dict(row[1])

    def read(self, layer: str, *, bbox: Sequence[float] | None = None,
             where: str | None = None) -> pd.DataFrame:
        return self._read(self._con, layer, bbox=bbox, where=where)

    def _read(self, con: Any, layer: str, *, bbox: Sequence[float] | None = None,
              where: str | None = None, params: Sequence[Any] = (), with_fid: bool = False,
              lock: bool = False) -> pd.DataFrame:
        gtype, columns = self._info(layer, con)
        cols = [c for c in columns if c != pgsql.GEOM]
        select = ", ".join(["fid"] + [f'"{c}"' for c in cols] + ([f"ST_AsBinary({pgsql.GEOM})"] if gtype else []))
        sql = f"SELECT {select} FROM {self._t('t_' + layer)}"
        clauses: list[str] = []
        args: list[Any] = []
        if bbox is not None and gtype:
            clauses.append(f"{pgsql.GEOM} && ST_MakeEnvelope(%s, %s, %s, %s, 4326)")
            args += [float(v) for v in bbox]
        if where:
            clauses.append(f"({where})")
            args += list(params)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        rows = con.execute(sql + " ORDER BY fid" + (" FOR UPDATE" if lock else ""), args).fetchall()
        data = {c: [r[k + 1] for r in rows] for k, c in enumerate(cols)}
        frame = pd.DataFrame({c: pgsql.series(data[c], columns[c]) for c in cols}, index=pd.RangeIndex(len(rows)))
        if with_fid:
            frame.insert(0, "fid", pd.Series([r[0] for r in rows], dtype="int64"))
        if gtype:
            geoms = shapely.from_wkb([None if r[-1] is None else bytes(r[-1]) for r in rows])
            frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, index=frame.index, crs=4326))
        return conform(layer, frame)

    def row(self, layer: str, key: str, value: str) -> pd.Series | None:
        _, columns = self._info(layer)
        if key not in columns:
            raise WorkspaceError(f"layer '{layer}' has no field '{key}'")
        found = self._records(self._con, layer, f'"{key}" = %s', (str(value),))
        if len(found) > 1:
            raise WorkspaceError(f"{layer} holds '{value}' {len(found)} times: fix the duplicates in the table")
        return conform_record(layer, found[0][1]) if found else None

    def rows(self, layer: str, key: str, value: str) -> pd.DataFrame:
        _, columns = self._info(layer)
        if key not in columns:
            raise WorkspaceError(f"layer '{layer}' has no field '{key}'")
        return self._read(self._con, layer, where=f'"{key}" = %s', params=(str(value),))

    def layer_bounds(self, layer: str) -> tuple[float, float, float, float] | None:
        gtype, _ = self._info(layer)
        if not gtype:
            return None
        row = self._con.execute(f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                f"(SELECT ST_Extent({pgsql.GEOM}) AS e FROM {self._t('t_' + layer)}) s").fetchone()
        if row is None or row[0] is None:
            return None
        return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self._con.execute(f"SELECT value FROM {self._t('pingan_meta')} WHERE key = %s", (key,)).fetchone()
        return row[0] if row else default

    # ---- writing ----------------------------------------------------------------------
    def write_many(self, frames: Mapping[str, pd.DataFrame], *, mode: str = "replace",
                   message: str = "") -> dict[str, int]:
        check_write(frames, mode)
        with self._writing() as con:
            return {name: pgsql.write_layer(con, self.schema, name, frame, mode, message)
                    for name, frame in frames.items()}

    def update(self, layer: str, change: Callable[[pd.DataFrame], pd.DataFrame], *, message: str = "") -> int:
        with self._writing() as con:
            return pgsql.write_layer(con, self.schema, layer, change(self._read(con, layer)), "replace", message)

    def edit(self, layer: str, key: str, value: str,
             decide: Callable[[pd.Series | None], pd.DataFrame | None], *,
             message: str = "", audit: tuple[str, str, str] | None = None) -> tuple[int, pd.Series | None]:
        con = self._con
        with con.transaction():
            gtype, columns = self._info(layer, con)
            if key not in columns:
                raise WorkspaceError(f"layer '{layer}' has no field '{key}'")
            found = self._records(con, layer, f'"{key}" = %s', (str(value),), lock=True)
            if len(found) > 1:
                raise WorkspaceError(f"{layer} holds '{value}' {len(found)} times: fix the duplicates in the table")
            fid = found[0][0] if found else None
            current = conform_record(layer, found[0][1]) if found else None
            new = decide(current)
            new = None if new is None else storable(new, layer)  # the layer's one geometry type
            table = self._t("t_" + layer)
            if new is None:
                if fid is not None:
                    con.execute(f"DELETE FROM {table} WHERE fid = %s", (fid,))
            else:
                row = {k: v for k, v in new.iloc[0].to_dict().items() if k != "fid"}
                names, marks, args = [], [], []
                for c, v in row.items():
                    if c == "geometry" and gtype:
                        names.append(pgsql.GEOM)
                        marks.append("ST_GeomFromWKB(%s, 4326)")
                        args.append(None if v is None else shapely.to_wkb(v))
                    elif c not in columns:  # a field added to the schema since the table was made
                        if pgsql.grow_column(con, table, self._t("pingan_layers"), layer, columns, str(c), v):
                            names.append(f'"{c}"')
                            marks.append("%s")
                            args.append(pgsql.cell(v, columns[str(c)]))
                    else:
                        names.append(f'"{c}"')
                        marks.append("%s")
                        args.append(pgsql.cell(v, columns[c]))
                if fid is None:
                    fid = con.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(marks)}) "
                                      "RETURNING fid", args).fetchone()[0]
                else:
                    sets = ", ".join(f"{n} = {m}" for n, m in zip(names, marks, strict=True))
                    con.execute(f"UPDATE {table} SET {sets} WHERE fid = %s", [*args, fid])
            version = con.execute(f"UPDATE {self._t('pingan_layers')} SET message = %s WHERE name = %s "
                                  "RETURNING version", (message, layer)).fetchone()[0]
            stored = None
            if new is not None:
                stored = conform_record(layer, self._records(con, layer, "fid = %s", (fid,))[0][1])
            if audit is not None:
                self._append_audit(con, [audit_row(audit[0], audit[1], {"version": int(version)}, audit[2])])
        return int(version), stored

    def _records(self, con: Any, layer: str, where: str, params: Sequence[Any], *, lock: bool = False
                 ) -> list[tuple[int, dict[str, Any]]]:
        """A few rows as (fid, {column: value}) without building a frame: an edit's one-row reads."""
        gtype, columns = self._info(layer, con)
        cols = [c for c in columns if c != pgsql.GEOM]
        select = ", ".join(["fid"] + [f'"{c}"' for c in cols] + ([f"ST_AsBinary({pgsql.GEOM})"] if gtype else []))
        rows = con.execute(f"SELECT {select} FROM {self._t('t_' + layer)} WHERE {where} ORDER BY fid"
                           + (" FOR UPDATE" if lock else ""), list(params)).fetchall()
        out = []
        for row in rows:
            record = {c: (pd.Timestamp(v) if isinstance(v, dt.datetime) else v)
                      for c, v in zip(cols, row[1:len(cols) + 1], strict=True)}
            if gtype:
                record["geometry"] = None if row[-1] is None else shapely.from_wkb(bytes(row[-1]))
            out.append((int(row[0]), record))
        return out

    def delete(self, layer: str) -> None:
        with self._writing() as con:
            self._info(layer, con)
            con.execute(f"DROP TABLE IF EXISTS {self._t('t_' + layer)}")
            con.execute(f"DELETE FROM {self._t('pingan_layers')} WHERE name = %s", (layer,))

    def set_meta(self, values: Mapping[str, Any]) -> None:
        with self._writing() as con:
            for k, v in values.items():
                con.execute(f"INSERT INTO {self._t('pingan_meta')} (key, value) VALUES (%s, %s) "
                            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                            (k, json.dumps(v, ensure_ascii=False, default=str)))

    def meta(self) -> dict[str, Any]:
        return dict(self._con.execute(f"SELECT key, value FROM {self._t('pingan_meta')}").fetchall())

    def restore_layer_info(self, layer: str, version: int, updated_at: str) -> None:
        with self._writing() as con:
            con.execute(f"UPDATE {self._t('pingan_layers')} SET version = %s, updated_at = %s WHERE name = %s",
                        (int(version), updated_at, layer))

    def put_style(self, layer: str, qml: str, sld: str, aliases: Mapping[str, str]) -> None:
        import psycopg

        try:
            with self._con.transaction():
                qgisstyles.put_postgres(self._con, self.schema, "t_" + layer, pgsql.GEOM, qml, sld)
        except psycopg.errors.InsufficientPrivilege as exc:  # styles are a convenience: the data is written
            log.warning("no QGIS style for %s: this user may not write public.layer_styles (%s)", layer,
                        str(exc).strip())

    # ---- audit ---------------------------------------------------------------------------
    def append_audit(self, rows: Sequence[tuple[str, str, str, str, str]]) -> None:
        with self._con.transaction():
            self._append_audit(self._con, rows)

    def _append_audit(self, con: Any, rows: Sequence[tuple[str, str, str, str, str]]) -> None:
        con.cursor().executemany(f'INSERT INTO {self._t("pingan_audit")} (at, "user", action, object, detail) '
                                 "VALUES (%s, %s, %s, %s, %s)", list(rows))

    def audit_log(self) -> pd.DataFrame:
        rows = self._con.execute(f'SELECT at, "user", action, object, detail FROM {self._t("pingan_audit")} '
                                 "ORDER BY id").fetchall()
        return pd.DataFrame(rows, columns=["at", "user", "action", "object", "detail"])

    # ---- internal tables -------------------------------------------------------------------
    def _key(self, table: str) -> str:
        if table not in _RECORD_KEYS:
            raise ValueError(f"no internal table '{table}': there are {', '.join(_RECORD_KEYS)}")
        return _RECORD_KEYS[table]

    @property
    def _access(self) -> str:
        """The accounts table, in a schema apart from the data (made on first use)."""
        schema = pgsql.ident(self.schema + "__access")
        if not getattr(self, "_access_ready", False):
            con = self._con
            with con.transaction():
                con.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"pingan-access:{self.schema}",))
                pgsql.create_access(con, self.schema)
            self._access_ready = True
        return f"{schema}.pingan_records"

    def records(self, table: str) -> list[dict[str, Any]]:
        self._key(table)
        rows = self._con.execute(f"SELECT record FROM {self._access} WHERE tbl = %s ORDER BY key",
                                 (table,)).fetchall()
        return [dict(r[0]) for r in rows]

    def record(self, table: str, value: Any) -> dict[str, Any] | None:
        self._key(table)
        row = self._con.execute(f"SELECT record FROM {self._access} WHERE tbl = %s AND key = %s",
                                (table, str(value))).fetchone()
        return None if row is None else dict(row[0])

    def put_record(self, table: str, key: str, record: Mapping[str, Any], *,
                   expect: Mapping[str, Any] | None = None, absent: bool = False) -> bool:
        tkey = self._key(table)
        if key != tkey:
            raise ValueError(f"table '{table}' is keyed by '{tkey}', not '{key}'")
        values = {k: (None if v is None else str(v)) for k, v in record.items()}
        with self._writing() as con:
            if absent:
                cur = con.execute(f"INSERT INTO {self._access} (tbl, key, record) VALUES (%s, %s, %s) "
                                  "ON CONFLICT (tbl, key) DO NOTHING",
                                  (table, values[tkey], json.dumps(values, ensure_ascii=False)))
                return bool(cur.rowcount)
            if expect is not None:
                row = con.execute(f"SELECT record FROM {self._access} WHERE tbl = %s AND key = %s FOR UPDATE",
                                  (table, values[tkey])).fetchone()
                current = dict(row[0]) if row else None
                if current is None or any(current.get(k) != (None if v is None else str(v))
                                          for k, v in expect.items()):
                    return False
            con.execute(f"INSERT INTO {self._access} (tbl, key, record) VALUES (%s, %s, %s) "
                        "ON CONFLICT (tbl, key) DO UPDATE SET record = EXCLUDED.record",
                        (table, values[tkey], json.dumps(values, ensure_ascii=False)))
        return True

    def delete_records(self, table: str, key: str, values: Sequence[Any]) -> int:
        tkey = self._key(table)
        with self._writing() as con:
            if key == tkey:
                cur = con.execute(f"DELETE FROM {self._access} WHERE tbl = %s AND key = ANY(%s)",
                                  (table, [str(v) for v in values]))
            else:
                cur = con.execute(f"DELETE FROM {self._access} WHERE tbl = %s AND record->>%s = ANY(%s)",
                                  (table, key, [str(v) for v in values]))
            return int(cur.rowcount)

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()


