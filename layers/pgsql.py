"""The SQL of the PostGIS store (:mod:`layers.postgis`): names, column types, values both ways, the
tables of a new workspace and the triggers that version every layer, whoever writes to it."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers import schemas, values
from layers.store import declared_geometry, now_iso, storable

NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
#: the geometry column of every layer table (EPSG:4326)
GEOM = "geom"


def ident(name: str) -> str:
    """A quoted PostgreSQL name, refused unless it is a plain lower-case identifier."""
    if not NAME.match(name):
        raise ValueError(f"'{name}' cannot be a PostGIS name: use lower-case letters, digits and _")
    return f'"{name}"'




def qualified(schema: str, table: str) -> str:
    """``"schema"."table"``, both names checked."""
    return f"{ident(schema)}.{ident(table)}"


def column_type(series: pd.Series) -> str:
    """The PostgreSQL type a column is stored as."""
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


def cell(value: Any, kind: str) -> Any:
    """A value as the driver writes it into a column of type ``kind`` (missing values as NULL)."""
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


def series(values: list[Any], kind: str) -> pd.Series:
    """A column read back from PostgreSQL as the pandas type it was written from."""
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


def create_tables(con: Any, schema: str, meta: Mapping[str, Any]) -> None:
    """The schema of a new workspace and its tables: metadata (``meta`` written in), versions, audit."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(schema)}")
    con.execute(f"CREATE TABLE {qualified(schema, 'pingan_meta')} (key text PRIMARY KEY, "
                "value jsonb NOT NULL)")
    con.execute(f"CREATE TABLE {qualified(schema, 'pingan_layers')} (name text PRIMARY KEY, "
                "version integer NOT NULL, updated_at text NOT NULL, rows bigint NOT NULL, message text, "
                "geometry_type text, "
                "columns json NOT NULL)")  # json keeps the column order (jsonb would sort it)
    con.execute(f"CREATE TABLE {qualified(schema, 'pingan_audit')} (id bigserial PRIMARY KEY, "
                'at text NOT NULL, "user" text NOT NULL, action text NOT NULL, object text NOT NULL, detail text)')
    for k, v in meta.items():
        con.execute(f"INSERT INTO {qualified(schema, 'pingan_meta')} (key, value) VALUES (%s, %s)",
                    (k, json.dumps(v, ensure_ascii=False)))


def create_access(con: Any, schema: str) -> None:
    """The accounts table of workspace ``schema``, in a schema apart from the data (``<schema>__access``);
    a workspace from before keeps its accounts in the data schema, and they move out."""
    access = ident(schema + "__access")
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {access}")
    con.execute(f"CREATE TABLE IF NOT EXISTS {access}.pingan_records (tbl text NOT NULL, "
                "key text NOT NULL, record jsonb NOT NULL, PRIMARY KEY (tbl, key))")
    old = con.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND "
                      "table_name = 'pingan_records'", (schema,)).fetchone()
    if old is not None:  # a workspace from before: its accounts move out of the data schema
        con.execute(f"INSERT INTO {access}.pingan_records SELECT * FROM {qualified(schema, 'pingan_records')} "
                    "ON CONFLICT DO NOTHING")
        con.execute(f"DROP TABLE {qualified(schema, 'pingan_records')}")


def install_tracking(con: Any, schema: str, name: str) -> None:
    """Statement triggers that bump the layer's version on any change, by any client."""
    table = qualified(schema, "t_" + name)
    fn = qualified(schema, "pingan_changed")
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
        con.execute(f"CREATE TRIGGER {ident('pingan_changed_' + op)} AFTER {op.upper()} ON {table} {ref}"
                    f"FOR EACH STATEMENT EXECUTE FUNCTION {fn}({lit})")


def write_layer(con: Any, schema: str, name: str, frame: pd.DataFrame, mode: str, message: str) -> int:
    """Write a whole layer in the caller's transaction and return its new version.

    ``replace`` builds the new table beside the old one (``n_<name>``, by ``COPY``) and renames it
    into place, so readers see the old layer or the new one; ``append`` adds rows and any new columns.
    """
    is_geo = isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame
    if isinstance(frame, gpd.GeoDataFrame) and is_geo and frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    frame = storable(frame, name)
    attrs = frame.drop(columns=[frame.geometry.name]) if is_geo else frame
    columns = {str(c): column_type(attrs[c]) for c in attrs.columns}
    for c in columns:
        if c in ("fid", GEOM) or '"' in c or not c:
            raise ValueError(f"layer '{name}': column name '{c}' is reserved or not allowed")
    old = con.execute(f"SELECT version, columns, geometry_type FROM {qualified(schema, 'pingan_layers')} "
                      "WHERE name = %s",
                      (name,)).fetchone()
    table = qualified(schema, "t_" + name)
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
        gtype = declared_geometry(name, frame).upper() if is_geo else None
        column = "Geometry" if gtype == "GEOMETRY" else gtype
        fields = ", ".join([f'"{c}" {k}' for c, k in columns.items()]
                           + ([f"{GEOM} geometry({column}, 4326)"] if gtype else []))
        target = qualified(schema, "n_" + name)
        con.execute(f"DROP TABLE IF EXISTS {target}")
        con.execute(f"CREATE TABLE {target} (fid bigserial PRIMARY KEY{', ' if fields else ''}{fields})")
    names = list(attrs.columns)
    copy_cols = ", ".join([f'"{c}"' for c in names] + ([GEOM] if gtype and is_geo else []))
    if len(frame):
        kinds = [columns[str(c)] for c in names]
        values = [attrs[c].tolist() for c in names]
        wkb = shapely.to_wkb(frame.geometry.to_numpy(), hex=True) if gtype and is_geo else None
        with con.cursor().copy(f"COPY {target} ({copy_cols}) FROM STDIN") as copy:
            for i in range(len(frame)):
                row = [cell(values[k][i], kinds[k]) for k in range(len(names))]
                if wkb is not None:
                    row.append(None if wkb[i] is None else f"SRID=4326;{wkb[i]}")
                copy.write_row(row)
    if target != table:
        if gtype:
            con.execute(f"CREATE INDEX ON {target} USING gist ({GEOM})")
        key = schemas.SCHEMAS[name].id_field if name in schemas.SCHEMAS else None
        if key and key in columns:
            # ids are unique by validation; the index keeps them so against every writer
            unique = "UNIQUE " if con.execute(f'SELECT count(*) = count(DISTINCT "{key}") FROM {target}'
                                              ).fetchone()[0] else ""
            con.execute(f'CREATE {unique}INDEX ON {target} ("{key}")')
        con.execute(f"DROP TABLE IF EXISTS {table}")
        con.execute(f"ALTER TABLE {target} RENAME TO {ident('t_' + name)}")
        install_tracking(con, schema, name)
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    version = (old[0] if old else 0) + 1
    con.execute(f"INSERT INTO {qualified(schema, 'pingan_layers')} (name, version, updated_at, rows, message, "
                "geometry_type, columns) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (name) DO UPDATE SET "
                "version = EXCLUDED.version, updated_at = EXCLUDED.updated_at, rows = EXCLUDED.rows, "
                "message = EXCLUDED.message, geometry_type = EXCLUDED.geometry_type, columns = EXCLUDED.columns",
                (name, version, now_iso(), rows, message, gtype, json.dumps(columns)))
    return version


def redact(uri: str) -> str:
    """A database URI without its password."""
    return re.sub(r"(postgres(?:ql)?://[^:/@]+):[^@]*@", r"\1:***@", uri)


def grow_column(con: Any, table: str, layers_table: str, layer: str, columns: dict[str, str], name: str,
                value: Any) -> bool:
    """Add schema field ``name`` to ``layer``'s stored table (made before the schema had it) when an edit
    gives it a value: True when added (``columns`` then has it); False for an empty value (nothing to
    keep, the table stays); an error for a name the schema does not have."""
    grown = schemas.grown_field(layer, name)
    if grown is None:
        have = ", ".join(k for k in columns if k != GEOM)
        raise ValueError(f"layer '{layer}' has no field '{name}' (it has {have})")
    if values.is_missing(value):
        return False
    columns[name] = schemas.sql_type(grown, "postgis")
    con.execute(f'ALTER TABLE {table} ADD COLUMN "{name}" {columns[name]}')
    con.execute(f"UPDATE {layers_table} SET columns = %s WHERE name = %s", (json.dumps(columns), layer))
    return True
