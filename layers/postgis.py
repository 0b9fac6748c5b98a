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
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers import accounts, schemas
from layers.errors import UnknownLayerError, WorkspaceError, WorkspaceExistsError
from layers.store import SCHEMA_VERSION, LayerInfo, Store, audit_row, conform, conform_record, now_iso, storable

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_RECORD_KEYS = {name: key for name, (key, _) in accounts.TABLES.items()}
_GEOM = "geom"


def redact(uri: str) -> str:
    """A database URI without its password."""
    return re.sub(r"(postgres(?:ql)?://[^:/@]+):[^@]*@", r"\1:***@", uri)


def _ident(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"'{name}' cannot be a PostGIS name: use lower-case letters, digits and _")
    return f'"{name}"'


def _pg_type(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "bigint"
    if pd.api.types.is_float_dtype(dtype):
        return "double precision"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "timestamptz" if getattr(dtype, "tz", None) is not None else "timestamp"
    return "text"


def _cell(value: Any, kind: str) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if kind == "text":
        return value if isinstance(value, str) else str(value)
    if kind == "bigint":
        return int(value)
    if kind == "double precision":
        return float(value)
    if kind == "boolean":
        return bool(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


class PostGISStore(Store):
    """A workspace kept in one schema of a PostgreSQL database with PostGIS."""

    def __init__(self, uri: str, *, _creating: bool = False):

        parts = urlsplit(uri)
        query = parse_qs(parts.query)
        self.schema = (query.pop("workspace", ["pingan"])[0] or "pingan").lower()
        _ident(self.schema)
        rest = "&".join(f"{k}={v}" for k, vals in query.items() for v in vals)
        self.dsn = urlunsplit((parts.scheme, parts.netloc, parts.path, rest, ""))
        self.uri = redact(uri)  # shown in messages and layer histories: never the password
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
        return f"{_ident(self.schema)}.{_ident(table)}"

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
                con.execute(f"DROP SCHEMA IF EXISTS {_ident(store.schema)} CASCADE")
                con.execute(f"DROP SCHEMA IF EXISTS {_ident(store.schema + '__access')} CASCADE")
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(store.schema)}")
            con.execute(f"CREATE TABLE {store._t('pingan_meta')} (key text PRIMARY KEY, value jsonb NOT NULL)")
            con.execute(f"CREATE TABLE {store._t('pingan_layers')} (name text PRIMARY KEY, version integer NOT NULL, "
                        "updated_at text NOT NULL, rows bigint NOT NULL, message text, geometry_type text, "
                        "columns json NOT NULL)")  # json keeps the column order (jsonb would sort it)
            con.execute(f"CREATE TABLE {store._t('pingan_audit')} (id bigserial PRIMARY KEY, at text NOT NULL, "
                        '"user" text NOT NULL, action text NOT NULL, object text NOT NULL, detail text)')
            meta = {"schema_version": SCHEMA_VERSION, "name": name or store.schema, "created_at": now_iso(),
                    "settings": {"expect_china": expect_china, **settings}}
            for k, v in meta.items():
                con.execute(f"INSERT INTO {store._t('pingan_meta')} (key, value) VALUES (%s, %s)",
                            (k, json.dumps(v, ensure_ascii=False)))
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
        cols = [c for c in columns if c != _GEOM]
        select = ", ".join(["fid"] + [f'"{c}"' for c in cols] + ([f"ST_AsBinary({_GEOM})"] if gtype else []))
        sql = f"SELECT {select} FROM {self._t('t_' + layer)}"
        clauses: list[str] = []
        args: list[Any] = []
        if bbox is not None and gtype:
            clauses.append(f"{_GEOM} && ST_MakeEnvelope(%s, %s, %s, %s, 4326)")
            args += [float(v) for v in bbox]
        if where:
            clauses.append(f"({where})")
            args += list(params)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        rows = con.execute(sql + " ORDER BY fid" + (" FOR UPDATE" if lock else ""), args).fetchall()
        data = {c: [r[k + 1] for r in rows] for k, c in enumerate(cols)}
        frame = pd.DataFrame({c: _series(data[c], columns[c]) for c in cols}, index=pd.RangeIndex(len(rows)))
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
                                f"(SELECT ST_Extent({_GEOM}) AS e FROM {self._t('t_' + layer)}) s").fetchone()
        if row is None or row[0] is None:
            return None
        return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self._con.execute(f"SELECT value FROM {self._t('pingan_meta')} WHERE key = %s", (key,)).fetchone()
        return row[0] if row else default

    # ---- writing ----------------------------------------------------------------------
    def write_many(self, frames: Mapping[str, pd.DataFrame], *, mode: str = "replace",
                   message: str = "") -> dict[str, int]:
        if mode not in {"replace", "append"}:
            raise ValueError(f"mode must be 'replace' or 'append', not {mode!r}")
        for name in frames:
            if not _NAME.match(name) or name.startswith("pingan_"):
                raise ValueError(f"'{name}' cannot be a layer name: use lower-case letters, digits and _")
        with self._writing() as con:
            return {name: self._write(con, name, frame, mode, message) for name, frame in frames.items()}

    def update(self, layer: str, change: Callable[[pd.DataFrame], pd.DataFrame], *, message: str = "") -> int:
        with self._writing() as con:
            return self._write(con, layer, change(self._read(con, layer)), "replace", message)

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
            table = self._t("t_" + layer)
            if new is None:
                if fid is not None:
                    con.execute(f"DELETE FROM {table} WHERE fid = %s", (fid,))
            else:
                row = {k: v for k, v in new.iloc[0].to_dict().items() if k != "fid"}
                names, marks, args = [], [], []
                for c, v in row.items():
                    if c == "geometry" and gtype:
                        names.append(_GEOM)
                        marks.append("ST_GeomFromWKB(%s, 4326)")
                        args.append(None if v is None else shapely.to_wkb(v))
                    elif c not in columns:
                        have = ", ".join(k for k in columns if k != _GEOM)
                        raise ValueError(f"layer '{layer}' has no field '{c}' (it has {have})")
                    else:
                        names.append(f'"{c}"')
                        marks.append("%s")
                        args.append(_cell(v, columns[c]))
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
        cols = [c for c in columns if c != _GEOM]
        select = ", ".join(["fid"] + [f'"{c}"' for c in cols] + ([f"ST_AsBinary({_GEOM})"] if gtype else []))
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

    def _install_tracking(self, con: Any, name: str) -> None:
        """Statement triggers that bump the layer's version on any change, by any client."""
        table = self._t("t_" + name)
        fn = self._t("pingan_changed")
        con.execute(f"""CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $f$
            DECLARE n bigint := 0;
            BEGIN
              IF TG_OP = 'INSERT' THEN SELECT count(*) INTO n FROM new_rows;
              ELSIF TG_OP = 'DELETE' THEN SELECT -count(*) INTO n FROM old_rows;
              END IF;
              EXECUTE format('UPDATE %I.pingan_layers SET version = version + 1, '
                             'rows = CASE WHEN $4 THEN 0 ELSE rows + $1 END, updated_at = $2 WHERE name = $3',
                             TG_TABLE_SCHEMA)
                USING n, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') || '+00:00', TG_ARGV[0],
                      TG_OP = 'TRUNCATE';
              RETURN NULL;
            END $f$""")
        lit = "'" + name + "'"
        for op, ref in (("insert", "REFERENCING NEW TABLE AS new_rows "), ("update", ""),
                        ("delete", "REFERENCING OLD TABLE AS old_rows "), ("truncate", "")):
            con.execute(f"CREATE TRIGGER {_ident('pingan_changed_' + op)} AFTER {op.upper()} ON {table} {ref}"
                        f"FOR EACH STATEMENT EXECUTE FUNCTION {fn}({lit})")

    def _write(self, con: Any, name: str, frame: pd.DataFrame, mode: str, message: str) -> int:
        is_geo = isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame
        if isinstance(frame, gpd.GeoDataFrame) and is_geo and frame.crs is not None and frame.crs.to_epsg() != 4326:
            frame = frame.to_crs(4326)
        frame = storable(frame)
        attrs = frame.drop(columns=[frame.geometry.name]) if is_geo else frame
        columns = {str(c): _pg_type(attrs[c]) for c in attrs.columns}
        for c in columns:
            if c in ("fid", _GEOM) or '"' in c or not c:
                raise ValueError(f"layer '{name}': column name '{c}' is reserved or not allowed")
        old = con.execute(f"SELECT version, columns, geometry_type FROM {self._t('pingan_layers')} WHERE name = %s",
                          (name,)).fetchone()
        table = self._t("t_" + name)
        if mode == "append" and old is not None:
            have = dict(old[1])
            for c, kind in columns.items():
                if c not in have:
                    con.execute(f'ALTER TABLE {table} ADD COLUMN "{c}" {kind}')
                    have[c] = kind
            columns = {c: have[c] for c in columns} | {c: k for c, k in have.items() if c not in columns}
            gtype = old[2]
            target = table
        else:
            gtype = _geometry_type(name, frame) if is_geo else None
            fields = ", ".join([f'"{c}" {k}' for c, k in columns.items()]
                               + ([f"{_GEOM} geometry(Geometry, 4326)"] if gtype else []))
            target = self._t("n_" + name)
            con.execute(f"DROP TABLE IF EXISTS {target}")
            con.execute(f"CREATE TABLE {target} (fid bigserial PRIMARY KEY{', ' if fields else ''}{fields})")
        names = list(attrs.columns)
        copy_cols = ", ".join([f'"{c}"' for c in names] + ([_GEOM] if gtype and is_geo else []))
        if len(frame):
            kinds = [columns[str(c)] for c in names]
            values = [attrs[c].tolist() for c in names]
            wkb = shapely.to_wkb(frame.geometry.to_numpy(), hex=True) if gtype and is_geo else None
            with con.cursor().copy(f"COPY {target} ({copy_cols}) FROM STDIN") as copy:
                for i in range(len(frame)):
                    row = [_cell(values[k][i], kinds[k]) for k in range(len(names))]
                    if wkb is not None:
                        row.append(None if wkb[i] is None else f"SRID=4326;{wkb[i]}")
                    copy.write_row(row)
        if target != table:
            if gtype:
                con.execute(f"CREATE INDEX ON {target} USING gist ({_GEOM})")
            key = schemas.SCHEMAS[name].id_field if name in schemas.SCHEMAS else None
            if key and key in columns:
                # ids are unique by validation; the index keeps them so against every writer
                unique = "UNIQUE " if con.execute(f'SELECT count(*) = count(DISTINCT "{key}") FROM {target}'
                                                  ).fetchone()[0] else ""
                con.execute(f'CREATE {unique}INDEX ON {target} ("{key}")')
            con.execute(f"DROP TABLE IF EXISTS {table}")
            con.execute(f"ALTER TABLE {target} RENAME TO {_ident('t_' + name)}")
            self._install_tracking(con, name)
        rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        version = (old[0] if old else 0) + 1
        con.execute(f"INSERT INTO {self._t('pingan_layers')} (name, version, updated_at, rows, message, "
                    "geometry_type, columns) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (name) DO UPDATE SET "
                    "version = EXCLUDED.version, updated_at = EXCLUDED.updated_at, rows = EXCLUDED.rows, "
                    "message = EXCLUDED.message, geometry_type = EXCLUDED.geometry_type, columns = EXCLUDED.columns",
                    (name, version, now_iso(), rows, message, gtype, json.dumps(columns)))
        return version

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
        schema = _ident(self.schema + "__access")
        if not getattr(self, "_access_ready", False):
            con = self._con
            with con.transaction():
                con.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"pingan-access:{self.schema}",))
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                con.execute(f"CREATE TABLE IF NOT EXISTS {schema}.pingan_records (tbl text NOT NULL, "
                            "key text NOT NULL, record jsonb NOT NULL, PRIMARY KEY (tbl, key))")
                old = con.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND "
                                  "table_name = 'pingan_records'", (self.schema,)).fetchone()
                if old is not None:  # a workspace from before: its accounts move out of the data schema
                    con.execute(f"INSERT INTO {schema}.pingan_records SELECT * FROM {self._t('pingan_records')} "
                                "ON CONFLICT DO NOTHING")
                    con.execute(f"DROP TABLE {self._t('pingan_records')}")
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


def _geometry_type(name: str, frame: gpd.GeoDataFrame) -> str:
    allowed = schemas.SCHEMAS[name].geometry if name in schemas.SCHEMAS else None
    kinds = sorted({str(t).upper() for t in frame.geom_type.dropna().unique()})
    if allowed and len(allowed) == 1:
        return allowed[0].upper()
    return kinds[0] if len(kinds) == 1 and not allowed else "GEOMETRY"


def _series(values: list[Any], kind: str) -> pd.Series:
    if kind == "bigint":
        s = pd.Series(values, dtype="Int64")
        return s.astype("int64") if not s.isna().any() else s.astype("float64")
    if kind == "double precision":
        return pd.Series(values, dtype="float64")
    if kind == "boolean":
        s = pd.Series(values, dtype="boolean")
        return s.astype(bool) if not s.isna().any() else s.astype(object)
    if kind.startswith("timestamp"):
        return pd.to_datetime(pd.Series(values, dtype=object))
    return pd.Series(values, dtype=object)
