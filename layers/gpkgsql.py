"""GeoPackage tables through Python's own SQLite: geometry blobs, the R-tree triggers' functions, rows.

The workspace file is read and written by one SQLite library only (Python's ``sqlite3``): GDAL
links a second copy, and two SQLite copies in one process do not see each other's POSIX locks,
so a GDAL connection closing the file would silently drop this one's locks. GDAL still writes
whole layers (imports, analysis results), but into a private scratch file that this module
copies into the workspace in one transaction (:func:`copy_layer`).

GDAL's R-tree triggers call ``ST_IsEmpty`` and ``ST_MinX``…``ST_MaxY``: :func:`connect`
registers them, so a row inserted, updated or deleted here keeps the spatial index right,
exactly as GDAL or QGIS would (GeoPackage 1.4, clause 2.1.3 for the blob, F.3 for the index).
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from layers import schemas, values

#: the time zone of the naive times layers hold (China Standard Time): GeoPackage DATETIMEs are UTC
#: with "Z" (ISO 8601), converted on the way in and out
LOCAL_TZ = "Asia/Shanghai"
#: envelope indicator (flags bits 1-3) → envelope bytes
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
#: GDAL's metadata tables that hold one row (or a few) per layer
LAYER_META_TABLES = ("gpkg_contents", "gpkg_geometry_columns", "gpkg_extensions", "gpkg_ogr_contents",
                     "gpkg_data_columns", "gpkg_metadata_reference")
_GDAL_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


# ---- geometry blobs ---------------------------------------------------------------------------------
def _wkb_offset(blob: bytes) -> int:
    if len(blob) < 8 or blob[:2] != b"GP":
        raise ValueError("not a GeoPackage geometry blob (no 'GP' magic)")
    return 8 + _ENVELOPE_BYTES.get((blob[3] >> 1) & 7, 0)


def decode(blobs: Sequence[bytes | None]) -> np.ndarray:
    """GeoPackage geometry blobs → shapely geometries (None stays None)."""
    wkb = [None if b is None else bytes(b)[_wkb_offset(b):] for b in blobs]
    return shapely.from_wkb(wkb)


def encode(geoms: Sequence[Any], srs_id: int = 4326) -> list[bytes | None]:
    """Shapely geometries → GeoPackage blobs (little-endian, with an XY envelope except for points)."""
    arr = np.asarray(geoms, dtype=object)
    out: list[bytes | None] = []
    if not len(arr):
        return out
    wkb = shapely.to_wkb(arr, byte_order=1, flavor="iso", output_dimension=2)
    bounds = shapely.bounds(arr)
    empty = shapely.is_empty(arr)
    kinds = shapely.get_type_id(arr)
    for w, b, e, k in zip(wkb, bounds, empty, kinds, strict=True):
        if w is None:
            out.append(None)
        elif e:
            out.append(struct.pack("<2sBBi", b"GP", 0, 0x01 | 0x10, srs_id) + w)
        elif k == 0:  # a point's envelope is the point: GDAL writes none
            out.append(struct.pack("<2sBBi", b"GP", 0, 0x01, srs_id) + w)
        else:
            out.append(struct.pack("<2sBBi4d", b"GP", 0, 0x01 | 0x02, srs_id, b[0], b[2], b[1], b[3]) + w)
    return out


def _envelope(blob: bytes | None) -> tuple[float, float, float, float] | None:
    """(minx, maxx, miny, maxy) of a blob, from its header when it has one."""
    if blob is None:
        return None
    blob = bytes(blob)
    flags = blob[3]
    if flags & 0x10:
        return None
    order = "<" if flags & 1 else ">"
    if (flags >> 1) & 7:
        return struct.unpack_from(f"{order}4d", blob, 8)
    geom = shapely.from_wkb(blob[_wkb_offset(blob):])
    if geom is None or geom.is_empty:
        return None
    x0, y0, x1, y1 = geom.bounds
    return (x0, x1, y0, y1)


def _is_empty(blob: bytes | None) -> int | None:
    if blob is None:
        return None
    env = _envelope(blob)
    return 1 if env is None else 0


def _bound(i: int) -> Callable[[bytes | None], float | None]:
    def f(blob: bytes | None) -> float | None:
        env = _envelope(blob)
        return None if env is None else float(env[i])
    return f


def connect(path: Path | str, *, timeout: float = 30.0) -> sqlite3.Connection:
    """A connection to a GeoPackage with the R-tree triggers' ST_ functions, autocommit (explicit BEGINs)."""
    con = sqlite3.connect(str(path), timeout=timeout, isolation_level=None, check_same_thread=False)
    con.create_function("ST_IsEmpty", 1, _is_empty, deterministic=True)
    for i, name in enumerate(("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY")):
        con.create_function(name, 1, _bound(i), deterministic=True)
    con.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    return con


# ---- reading -----------------------------------------------------------------------------------------
def q(name: str) -> str:
    """An SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def geometry_column(con: sqlite3.Connection, table: str, schema: str = "main") -> tuple[str, int] | None:
    """The geometry column and srs_id of ``table``, or None for an attribute table."""
    row = con.execute(f"SELECT column_name, srs_id FROM {schema}.gpkg_geometry_columns WHERE table_name = ?",
                      (table,)).fetchone()
    return None if row is None else (str(row[0]), int(row[1]))


def columns(con: sqlite3.Connection, table: str, schema: str = "main") -> dict[str, str]:
    """Column → declared type, in table order."""
    return {r[1]: str(r[2] or "").upper() for r in con.execute(f"PRAGMA {schema}.table_info({q(table)})")}


def srs(con: sqlite3.Connection, srs_id: int) -> CRS | None:
    """The CRS of GeoPackage srs_id ``srs_id`` (EPSG when registered so, else its WKT), or None."""
    row = con.execute("SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys "
                      "WHERE srs_id = ?", (srs_id,)).fetchone()
    if row is None or srs_id <= 0:
        return None
    org, code, definition = row
    if str(org).upper() == "EPSG" and code:
        return CRS.from_epsg(int(code))
    return CRS.from_wkt(definition)


def _column(values: list[Any], kind: str) -> pd.Series:
    """One column as pyogrio would give it (ints with nulls become floats, booleans with nulls objects)."""
    base = kind.split("(", maxsplit=1)[0]
    if base in ("INTEGER", "INT", "MEDIUMINT", "SMALLINT", "TINYINT", "BIGINT"):
        return pd.Series(values, dtype="float64" if any(v is None for v in values) else "int64")
    if base in ("REAL", "FLOAT", "DOUBLE"):
        return pd.Series([np.nan if v is None else v for v in values], dtype="float64")
    if base == "BOOLEAN":
        if any(v is None for v in values):
            return pd.Series([None if v is None else bool(v) for v in values], dtype=object)
        return pd.Series(values, dtype=bool)
    if base in ("DATETIME", "DATE"):
        return local_times(values)
    return pd.Series(values, dtype=object)


def read_table(con: sqlite3.Connection, table: str, *, bbox: Sequence[float] | None = None,
               where: str | None = None, params: Sequence[Any] = (), with_fid: bool = False) -> pd.DataFrame:
    """A table as a (Geo)DataFrame; ``bbox`` (west, south, east, north) goes through the R-tree."""
    cols = columns(con, table)
    gcol = geometry_column(con, table)
    names = [c for c in cols if c != "fid" and (gcol is None or c != gcol[0])]
    select = ["fid"] + names + ([gcol[0]] if gcol else [])
    sql = f"SELECT {', '.join(q(c) for c in select)} FROM {q(table)}"
    clauses, args = [], list(params)
    if bbox is not None and gcol is not None:
        rtree = f"rtree_{table}_{gcol[0]}"
        clauses.append(f"fid IN (SELECT id FROM {q(rtree)} WHERE minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?)")
        args = [float(bbox[2]), float(bbox[0]), float(bbox[3]), float(bbox[1])] + args
    if where:
        clauses.append(f"({where})")
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    rows = con.execute(sql + " ORDER BY fid", args).fetchall()
    data = list(zip(*rows, strict=True)) if rows else [() for _ in select]
    frame = pd.DataFrame({c: _column(list(data[k + 1]), cols[c]) for k, c in enumerate(names)},
                         index=pd.RangeIndex(len(rows)))
    if with_fid:
        frame.insert(0, "fid", pd.Series(list(data[0]), dtype="int64"))
    if gcol is None:
        return frame
    geoms = decode(list(data[-1]))
    out = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, index=frame.index, crs=srs(con, gcol[1])))
    if bbox is not None and len(out):  # the index is by envelope; keep what touches the box, as GDAL does
        box = shapely.box(float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3]))
        out = out[out.geometry.isna() | out.geometry.intersects(box)].reset_index(drop=True)
    return out.rename_geometry("geometry") if out.geometry.name != "geometry" else out


def read_records(con: sqlite3.Connection, table: str, where: str, params: Sequence[Any] = ()
                 ) -> list[tuple[int, dict[str, Any]]]:
    """A few rows as (fid, {column: value}), values as their declared types give them (no frame built):
    the one-row reads of an edit."""
    cols = columns(con, table)
    gcol = geometry_column(con, table)
    names = [c for c in cols if c != "fid" and (gcol is None or c != gcol[0])]
    select = ["fid"] + names + ([gcol[0]] if gcol else [])
    rows = con.execute(f"SELECT {', '.join(q(c) for c in select)} FROM {q(table)} WHERE {where} ORDER BY fid",
                       list(params)).fetchall()
    out = []
    for row in rows:
        record = {c: _value(row[k + 1], cols[c]) for k, c in enumerate(names)}
        if gcol is not None:
            record["geometry"] = decode([row[-1]])[0]
        out.append((int(row[0]), record))
    return out


def _value(v: Any, kind: str) -> Any:
    base = kind.split("(", maxsplit=1)[0]
    if v is None:
        return None
    if base == "BOOLEAN":
        return bool(v)
    if base in ("DATETIME", "DATE"):
        return local_times([v]).iloc[0]
    if base in ("REAL", "FLOAT", "DOUBLE"):
        return float(v)
    return v


# ---- writing rows --------------------------------------------------------------------------------------
def local_times(values: Sequence[Any]) -> pd.Series:
    """Stored DATETIMEs as the naive local times layers hold: UTC ("Z") or offset ones converted to
    :data:`LOCAL_TZ`; ones without a zone (files written before times were UTC) taken as local."""
    text = pd.Series(values, dtype=object)
    zoned = text.map(lambda v: isinstance(v, str) and (v.endswith(("Z", "z")) or v[-6:-5] in ("+", "-")))
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ms]")
    if zoned.any():
        utc = pd.to_datetime(text[zoned], format="ISO8601", utc=True)
        out[zoned] = utc.dt.tz_convert(LOCAL_TZ).dt.tz_localize(None).dt.as_unit("ms")
    if (~zoned).any():
        out[~zoned] = pd.to_datetime(text[~zoned], format="ISO8601").dt.as_unit("ms")
    return out


def utc_times(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its naive local datetime columns as UTC, so GDAL writes GeoPackage DATETIMEs with Z."""
    cols = [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c].dtype)
            and getattr(frame[c].dtype, "tz", None) is None]
    if not cols:
        return frame
    out = frame.copy()
    for c in cols:
        out[c] = out[c].dt.tz_localize(LOCAL_TZ, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    return out


def sql_value(v: Any) -> Any:
    """A Python/pandas value as SQLite stores it (GDAL's text forms for dates)."""
    if v is None or v is pd.NaT:
        return None
    if isinstance(v, float | np.floating) and np.isnan(v):
        return None
    if v is pd.NA:
        return None
    if isinstance(v, bool | np.bool_):
        return int(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, pd.Timestamp):
        t = (v if v.tzinfo else v.tz_localize(LOCAL_TZ)).tz_convert("UTC")
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
    return v


def row_values(con: sqlite3.Connection, table: str, row: dict[str, Any]) -> dict[str, Any]:
    """A row's values for ``table``'s columns, geometry as a blob; an unknown field is refused."""
    cols = columns(con, table)
    gcol = geometry_column(con, table)
    out: dict[str, Any] = {}
    for name, value in row.items():
        if name == "fid":
            continue
        if name == "geometry" and gcol is not None:
            out[gcol[0]] = encode([value], gcol[1])[0]
        elif name not in cols:
            grown = schemas.grown_field(table, name)  # a field added to the schema since the table was made
            if grown is None:
                have = ", ".join(c for c in cols if c != "fid")
                raise ValueError(f"layer '{table}' has no field '{name}' (it has {have})")
            if values.is_missing(value):
                continue  # nothing to keep: the table stays as it is
            con.execute(f"ALTER TABLE {q(table)} ADD COLUMN {q(name)} {schemas.sql_type(grown, 'gpkg')}")
            cols = columns(con, table)
            out[name] = sql_value(value)
        else:
            out[name] = sql_value(value)
    return out


def grow_extent(con: sqlite3.Connection, table: str, geoms: Iterable[Any]) -> None:
    """Widen gpkg_contents' extent to take new geometries, and mark the change time, as GDAL does."""
    bounds = [g.bounds for g in geoms if g is not None and not g.is_empty]
    stamp = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H:%M:%S.") + "000Z"
    con.execute("UPDATE gpkg_contents SET last_change = ? WHERE table_name = ?", (stamp, table))
    if bounds:
        b = np.array(bounds)
        con.execute("UPDATE gpkg_contents SET min_x = min(coalesce(min_x, ?1), ?1), "
                    "min_y = min(coalesce(min_y, ?2), ?2), max_x = max(coalesce(max_x, ?3), ?3), "
                    "max_y = max(coalesce(max_y, ?4), ?4) WHERE table_name = ?5",
                    (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max()), table))


# ---- whole layers: drop, and copy from an attached scratch file -------------------------------------------
def tables(con: sqlite3.Connection, schema: str = "main") -> set[str]:
    """The names of every table in the database ``schema``."""
    return {r[0] for r in con.execute(f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table'")}


def drop_layer(con: sqlite3.Connection, table: str) -> None:
    """Remove a table with its R-tree, triggers and registrations (inside the caller's transaction)."""
    gcol = geometry_column(con, table)
    if gcol is not None:
        con.execute(f"DROP TABLE IF EXISTS main.{q(f'rtree_{table}_{gcol[0]}')}")
    con.execute(f"DROP TABLE IF EXISTS main.{q(table)}")  # qualified: a scratch file may be attached
    present = tables(con)
    for meta in LAYER_META_TABLES:
        if meta in present:
            con.execute(f"DELETE FROM main.{meta} WHERE table_name = ?", (table,))


def copy_layer(con: sqlite3.Connection, table: str, source: str = "s") -> None:
    """Copy ``table`` (rows, R-tree, indexes, triggers, registrations) from attached ``source`` into main.

    Runs inside the caller's transaction; the rows go in before the triggers, so the index is
    copied as it is rather than rebuilt row by row."""
    objects = con.execute(f"SELECT type, name, sql FROM {source}.sqlite_master WHERE tbl_name = ? "
                          "AND sql IS NOT NULL", (table,)).fetchall()
    create = [sql for kind, _, sql in objects if kind == "table"]
    if not create:
        raise ValueError(f"the scratch file has no table '{table}'")
    con.execute(create[0])
    con.execute(f"INSERT INTO main.{q(table)} SELECT * FROM {source}.{q(table)}")
    gcol = geometry_column(con, table, source)
    if gcol is not None:
        rtree = f"rtree_{table}_{gcol[0]}"
        row = con.execute(f"SELECT sql FROM {source}.sqlite_master WHERE name = ?", (rtree,)).fetchone()
        if row is not None:
            con.execute(row[0])
            con.execute(f"INSERT INTO main.{q(rtree)} SELECT * FROM {source}.{q(rtree)}")
        _copy_srs(con, gcol[1], source)
    present, theirs = tables(con), tables(con, source)
    for meta in LAYER_META_TABLES:
        if meta not in theirs:
            continue
        if meta not in present:
            sql = con.execute(f"SELECT sql FROM {source}.sqlite_master WHERE name = ?", (meta,)).fetchone()[0]
            con.execute(sql)
        cols = ", ".join(q(c) for c in columns(con, meta, source))
        con.execute(f"INSERT INTO main.{meta} ({cols}) SELECT {cols} FROM {source}.{meta} WHERE table_name = ?",
                    (table,))
    for kind, _, sql in objects:
        if kind == "index":
            con.execute(sql)
    for kind, _, sql in objects:
        if kind == "trigger":
            con.execute(sql)


def _copy_srs(con: sqlite3.Connection, srs_id: int, source: str) -> None:
    mine = con.execute("SELECT definition FROM main.gpkg_spatial_ref_sys WHERE srs_id = ?", (srs_id,)).fetchone()
    theirs = con.execute(f"SELECT * FROM {source}.gpkg_spatial_ref_sys WHERE srs_id = ?", (srs_id,)).fetchone()
    if theirs is None or mine is not None:
        return
    cols = ", ".join(q(c) for c in columns(con, "gpkg_spatial_ref_sys", source))
    con.execute(f"INSERT INTO main.gpkg_spatial_ref_sys ({cols}) SELECT {cols} FROM {source}.gpkg_spatial_ref_sys "
                "WHERE srs_id = ?", (srs_id,))


def append_rows(con: sqlite3.Connection, table: str, source: str = "s") -> None:
    """Append the rows of ``source``'s ``table`` to main's (new columns are added), triggers firing."""
    mine, theirs = columns(con, table), columns(con, table, source)
    for c, kind in theirs.items():
        if c not in mine:
            con.execute(f"ALTER TABLE main.{q(table)} ADD COLUMN {q(c)} {kind}")
    cols = ", ".join(q(c) for c in theirs if c != "fid")
    con.execute(f"INSERT INTO main.{q(table)} ({cols}) SELECT {cols} FROM {source}.{q(table)} ORDER BY fid")
