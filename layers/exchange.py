"""Import of GIS formats and inventories (export: :mod:`layers.exporting`).

Reading: GeoPackage, GeoJSON, zipped Shapefile, KML, CSV and XLSX inventories (with
经度/纬度 columns), OpenStreetMap PBF (:mod:`layers.osm`). Coordinates may be declared
as WGS84, CGCS2000, GCJ-02, BD-09 or any EPSG code (CGCS2000 Gauss-Krüger metres
with a zone prefix are recognised by themselves). Every import validates against the
layer schema before anything is written, and writes atomically.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from gis import coords as offsets
from gis import crs as crs_policy
from layers import osm, references, schemas, sheets, validate, values
from layers.errors import ImportFormatError, LayerValidationError, Problem
from layers.store import DEFAULT_SETTINGS, Store

FORMATS = {
    ".gpkg": "gpkg", ".geojson": "geojson", ".json": "geojson", ".zip": "shapefile",
    ".shp": "shapefile", ".kml": "kml", ".csv": "csv", ".xlsx": "xlsx", ".pbf": "osm",
}
EXPORT_FORMATS = ("gpkg", "geojson", "shapefile", "kml")
_KML_BOILERPLATE = ("description", "timestamp", "begin", "end", "altitudeMode", "tessellate",
                    "extrude", "visibility", "drawOrder", "icon", "snippet")


@dataclass
class RawTable:
    """What a file held, before validation: a frame plus how the user refers to its rows."""

    frame: pd.DataFrame
    source: str
    rows: list[int]
    shown: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)  # found while reading (bad coordinates)
    note: str = ""  # what reading did that the user should know (sheet read, header, encoding)


def detect_format(path: Path, fmt: str | None = None) -> str:
    """The import format of ``path``: the one given (aliases allowed), else the one its suffix names."""
    if fmt:
        fmt = fmt.lower().lstrip(".")
        aliases = {"shp": "shapefile", "json": "geojson", "pbf": "osm", "xls": "xlsx"}
        fmt = aliases.get(fmt, fmt)
        if fmt not in set(FORMATS.values()):
            raise ImportFormatError(f"unknown format '{fmt}': use one of {', '.join(sorted(set(FORMATS.values())))}")
        return fmt
    suffix = "".join(path.suffixes[-2:]).lower() if path.name.lower().endswith(".osm.pbf") else path.suffix.lower()
    suffix = ".pbf" if suffix == ".osm.pbf" else suffix
    if suffix not in FORMATS:
        raise ImportFormatError(f"{path.name}: cannot tell the format from '{suffix}'; "
                                f"use one of {', '.join(FORMATS)} or say the format")
    return FORMATS[suffix]


def parse_coords(declared: str | None) -> tuple[str | None, CRS | None]:
    """Split a declared coordinate system into an offset system (gcj02/bd09) or a CRS."""
    if declared is None or declared.strip().lower() in {"", "wgs84", "wgs-84", "epsg:4326", "4326"}:
        return None, None
    key = offsets.offset_system(declared)
    if key:
        return key, None
    if declared.strip().lower() in {"cgcs2000", "cgcs", "epsg:4490", "4490"}:
        return None, crs_policy.CGCS2000
    try:
        return None, CRS.from_user_input(declared)
    except Exception as exc:  # pyproj raises CRSError; the message is what matters
        raise ImportFormatError(f"unknown coordinate system '{declared}': use wgs84, cgcs2000, gcj02, "
                                "bd09 or an EPSG code such as EPSG:4549") from exc


def _to_wgs84(gs: gpd.GeoSeries, offset: str | None, declared_crs: CRS | None) -> gpd.GeoSeries:
    if declared_crs is not None:
        gs = gs.set_crs(declared_crs, allow_override=True)
    if gs.crs is None:
        gs = gs.set_crs(crs_policy.WGS84)
    if not gs.crs.equals(crs_policy.WGS84):
        gs = gs.to_crs(crs_policy.WGS84)
    if offset:
        to_wgs, _ = offsets.OFFSET_SYSTEMS[offset]
        gs = gpd.GeoSeries(shapely.transform(gs.array, lambda xy: np.column_stack(to_wgs(xy[:, 0], xy[:, 1]))),
                           index=gs.index, crs=crs_policy.WGS84)
    return gs


def _find_column(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    folded = {schemas.normalise_header(c): c for c in columns}
    for cand in candidates:
        if schemas.normalise_header(cand) in folded:
            return folded[schemas.normalise_header(cand)]
    return None


def _read_table(path: Path, fmt: str, sheet: str | int | None) -> sheets.Sheet:
    if path.stat().st_size == 0:
        raise ImportFormatError(f"{path.name} is empty (0 bytes)")
    return sheets.read_csv(path) if fmt == "csv" else sheets.read_xlsx(path, sheet)


def shapefile_encoding(path: Path, given: str | None) -> tuple[str | None, str]:
    """The text encoding to read a Shapefile (or a zip of them) with, and what to tell the user.

    A ``.cpg`` says it (GDAL reads it: None); else the DBF's text is tried as strict UTF-8, then
    as GB18030 (GBK's superset, what Chinese desktop GIS writes) if that reads as Chinese."""
    if given:
        return given, f"read as {given} (--encoding)"
    dbf: bytes | None = None
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            if any(n.lower().endswith(".cpg") for n in names):
                return None, "encoding from its .cpg"
            member = next((n for n in names if n.lower().endswith(".dbf")), None)
            dbf = z.read(member) if member else None
    else:
        if any(path.with_suffix(s).exists() for s in (".cpg", ".CPG")):
            return None, "encoding from its .cpg"
        other = next((path.with_suffix(s) for s in (".dbf", ".DBF") if path.with_suffix(s).exists()), None)
        dbf = other.read_bytes() if other else None
    text = _dbf_text(dbf) if dbf else b""
    if not any(b > 0x7F for b in text):
        return None, ""
    try:
        text.decode("utf-8")
        return "UTF-8", "no .cpg: its text is UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        decoded = text.decode("gb18030")
    except UnicodeDecodeError:
        return None, "no .cpg and its text is neither UTF-8 nor GB18030: give --encoding"
    if sum("\u4e00" <= ch <= "\u9fff" for ch in decoded) >= sum(ord(ch) > 0x7F for ch in decoded) / 2:
        return "GB18030", "no .cpg: its text read as GB18030 (GBK)"
    return None, "no .cpg: its encoding is unclear, give --encoding"


def _dbf_text(dbf: bytes) -> bytes:
    """The text parts of a DBF: field names and records (its header numbers are binary)."""
    if len(dbf) < 32:
        return b""
    header_len = int.from_bytes(dbf[8:10], "little")
    names = b"".join(dbf[pos:pos + 11].split(b"\0")[0] for pos in range(32, max(32, header_len - 1), 32)
                     if dbf[pos:pos + 1] != b"\r")
    return names + b" " + dbf[header_len:]


def _points_from_table(table: sheets.Sheet, source: str, layer: str) -> RawTable:
    df, rows = table.frame, table.rows  # spreadsheet row numbers, header rows counted
    if table.name:
        source = f"{source} [{table.name}]"
    cols = [str(c) for c in df.columns]
    lon_col, lat_col = _find_column(cols, schemas.LON_HEADERS), _find_column(cols, schemas.LAT_HEADERS)
    raw = RawTable(df, source, rows, note=table.note)
    if schemas.get(layer).geometry is None:
        return raw
    if lon_col is None or lat_col is None:
        raw.problems.append(Problem(None, "经度/纬度", None, "no coordinate columns found",
                                    "name them 经度 and 纬度 (or lon and lat, x and y)"))
        return raw
    raw.shown.update(lon=lon_col, lat=lat_col)
    xs, ys = np.full(len(df), np.nan), np.full(len(df), np.nan)
    for pos, (x, y) in enumerate(zip(df[lon_col].tolist(), df[lat_col].tolist(), strict=True)):
        for name, value, arr in ((lon_col, x, xs), (lat_col, y, ys)):
            try:
                arr[pos] = values.to_number(value)
            except ValueError:
                raw.problems.append(Problem(rows[pos], name, value, f"'{value}' is not a number",
                                            "write coordinates as decimal degrees, e.g. 120.5123"))
    geoms = np.asarray(shapely.points(xs, ys), dtype=object)
    geoms[np.isnan(xs) | np.isnan(ys)] = None
    raw.frame = gpd.GeoDataFrame(df.drop(columns=[lon_col, lat_col]), geometry=geoms)
    return raw


def read_file(path: str | Path, layer: str, *, coords: str | None = None, fmt: str | None = None,
              source_layer: str | None = None, sheet: str | int | None = None,
              encoding: str | None = None) -> RawTable:
    """Read one layer's worth of features from a file, in EPSG:4326, not yet validated.

    ``encoding`` is a Shapefile's text encoding when it has no ``.cpg``; without it, one is
    detected (strict UTF-8, else GB18030 when that reads as Chinese) and named in the note."""
    path = Path(path)
    if not path.exists():
        raise ImportFormatError(f"{path} does not exist")
    kind = detect_format(path, fmt)
    offset, declared = parse_coords(coords)
    if kind == "osm":
        frames = osm.read_pbf(path)
        if layer not in frames:
            raise ImportFormatError(f"an OSM extract gives {', '.join(frames)}, not {layer}")
        return RawTable(frames[layer], str(path), list(range(1, len(frames[layer]) + 1)))
    if kind in ("csv", "xlsx"):
        raw = _points_from_table(_read_table(path, kind, sheet), path.name, layer)
    else:
        if path.stat().st_size == 0:
            raise ImportFormatError(f"{path.name} is empty (0 bytes)")
        note = ""
        options: dict[str, Any] = {}
        if kind == "shapefile":
            enc, note = shapefile_encoding(path, encoding)
            options = {"encoding": enc} if enc else {}
        try:
            read_geometry = schemas.get(layer).geometry is not None
            if kind == "shapefile" and source_layer is None and path.suffix.lower() == ".zip":
                # one shapefile per geometry family (points, lines, polygons) may share the zip
                parts = [pyogrio.read_dataframe(path, layer=name, read_geometry=read_geometry, **options)
                         for name, _ in pyogrio.list_layers(path)]
                frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
            else:
                frame = pyogrio.read_dataframe(path, layer=source_layer, read_geometry=read_geometry, **options)
        except UnicodeDecodeError as exc:
            raise ImportFormatError(f"{path.name}: a field name or value is not in the encoding "
                                    f"{options.get('encoding', 'the file declares')} ({exc.reason} at byte "
                                    f"{exc.start}): give the right one with --encoding (GB18030, UTF-8)") from exc
        except Exception as exc:  # pyogrio's DataSourceError and friends
            hint = " (the file may be truncated or damaged)" if kind == "gpkg" else ""
            raise ImportFormatError(f"{path.name} cannot be read as {kind}{hint}: {exc}") from exc
        if kind == "kml":  # LIBKML adds standard KML fields (and empty id/name) to every layer
            frame = frame.drop(columns=[c for c in _KML_BOILERPLATE if c in frame])
            empty = [c for c in frame.columns if c != frame.geometry.name
                     and frame[c].map(lambda v: pd.isna(v) or v == "").all()]
            frame = frame.drop(columns=empty)
            if "id" in frame and "id" not in schemas.get(layer).by_name:
                frame = frame.drop(columns="id")  # the placemark id LIBKML adds
            if "Name" in frame and "name" not in frame:
                frame = frame.rename(columns={"Name": "name"})
        raw = RawTable(frame, path.name, list(range(1, len(frame) + 1)), note=note)
    frame = raw.frame
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame:
        gs = frame.geometry
        if declared is None and gs.crs is None and len(gs) and np.nanmax(np.abs(gs.bounds.to_numpy()),
                                                                         initial=0) > 360:
            declared = crs_policy.gk_crs_from_easting(gs.bounds["minx"].to_numpy())
            if declared is None:
                raw.problems.append(Problem(None, raw.shown.get("lon", "x"), None,
                                            "coordinates look like metres but carry no CRS",
                                            "declare it, e.g. --crs EPSG:4549 (CGCS2000 GK CM 120E)"))
                return raw
        crs = frame.crs
        labelled = next((k for k, (name, _) in OFFSET_NOTES.items() if crs is not None and crs.name.startswith(
            (f"{name} (shifted", f"{name}_shifted"))), None)  # a file of ours in shifted coordinates
        if labelled:
            if offset not in (None, labelled):
                raise ImportFormatError(f"{path.name} says its coordinates are {OFFSET_NOTES[labelled][0]}, "
                                        f"not {coords}: import it without --coords (or with --coords {labelled})")
            offset, crs = labelled, crs_policy.WGS84
            raw.note = "; ".join(filter(None, [raw.note, f"coordinates are {OFFSET_NOTES[labelled][0]} (the file "
                                                         "says so): converted to WGS 84"]))
        gs = shapely.force_2d(gs.array) if gs.has_z.any() else gs.array
        raw.frame = frame.set_geometry(_to_wgs84(gpd.GeoSeries(gs, index=frame.index, crs=crs or None),
                                                 offset, declared))
    return raw


def import_layer(store: Store, path: str | Path, layer: str, *, coords: str | None = None,
                 fmt: str | None = None, mode: str = "replace", extra: str = "error",
                 repair: bool = False, source_layer: str | None = None,
                 sheet: str | int | None = None, encoding: str | None = None,
                 report: dict[str, Any] | None = None) -> int:
    """Read, validate and store one layer; return its new version. Nothing is written on error.
    ``report`` (a dict) receives what was read (``source``) and how (``note``)."""
    raw = read_file(path, layer, coords=coords, fmt=fmt, source_layer=source_layer, sheet=sheet, encoding=encoding)
    frame = check(store, raw, layer, mode=mode, extra=extra, repair=repair)
    if report is not None:
        hint = datum_hint(store, frame, coords.strip().lower() if coords else None)
        report.update(source=raw.source, note="; ".join(filter(None, [raw.note, hint])))
    return store.write(layer, frame, mode=mode, message=f"import {raw.source}")


def datum_hint(store: Store | None, frame: pd.DataFrame, declared: str | None) -> str:
    """A warning when points declared as WGS84 fit the workspace's roads and buildings far better as GCJ-02.

    Gaode and Tencent coordinates are shifted 300–600 m from WGS84 in China; a camera list
    copied from their maps and imported as WGS84 lands off its streets. A sample of up to 300
    points is measured to the nearest road (else building) as given and as if it were GCJ-02."""
    if store is None or declared not in (None, "wgs84") or not isinstance(frame, gpd.GeoDataFrame) or len(frame) < 5:
        return ""
    if not (frame.geom_type == "Point").all():
        return ""
    context = next((name for name in ("roads", "buildings") if store.has(name)), None)
    if context is None:
        return ""
    metric = store.metric_crs()
    tree = shapely.STRtree(store.features(context).geometry.to_crs(metric).to_numpy())
    sample = frame.geometry.sample(min(300, len(frame)), random_state=0)
    x, y = sample.x.to_numpy(), sample.y.to_numpy()
    as_given = gpd.GeoSeries.from_xy(x, y, crs=4326).to_crs(metric).to_numpy()
    sx, sy = offsets.gcj02_to_wgs84(x, y)
    as_gcj = gpd.GeoSeries.from_xy(sx, sy, crs=4326).to_crs(metric).to_numpy()
    d_given = np.median(tree.query_nearest(as_given, return_distance=True)[1])
    d_gcj = np.median(tree.query_nearest(as_gcj, return_distance=True)[1])
    if d_given > 25 and d_gcj < d_given / 3:
        return (f"warning: these points lie a median {d_given:.0f} m from the workspace's {context}, but "
                f"{d_gcj:.0f} m if read as GCJ-02 (Gaode/Tencent): if they came from such a map, import again with "
                "--coords gcj02")
    return ""


def check(store: Store | None, raw: RawTable, layer: str, *, mode: str = "replace",
          extra: str = "error", repair: bool = False) -> pd.DataFrame:
    """Validate a read table in the context of a workspace (its extent, existing ids)."""
    settings = store.settings() if store is not None else dict(DEFAULT_SETTINGS)
    extent = store.extent() if store is not None else None
    problems = list(raw.problems)
    bad_rows = {p.row for p in problems}
    try:
        frame = validate.validate(raw.frame, layer, extra=extra, repair=repair,
                                  expect_china=bool(settings["expect_china"]),
                                  extent=extent, max_outside_km=float(settings["max_outside_km"]),
                                  rows=raw.rows, source=raw.source, shown=raw.shown)
    except LayerValidationError as exc:
        problems += [p for p in exc.problems if not (p.row in bad_rows and p.field == "geometry")]
        raise LayerValidationError(layer, problems, raw.source) from None
    problems += references.problems(store, layer, frame, raw.rows, raw.shown)
    if problems:
        raise LayerValidationError(layer, problems, raw.source)
    id_field = schemas.get(layer).id_field
    if store is not None and mode == "append" and id_field and store.has(layer):
        have = set(store.read(layer)[id_field].astype(str))
        clash = [Problem(raw.rows[i], raw.shown.get(id_field, id_field), v, f"{v} is already in the workspace",
                         "use replace mode, or give the feature a new id")
                 for i, v in enumerate(frame[id_field]) if v in have]
        if clash:
            raise LayerValidationError(layer, clash, raw.source)
    return frame


def import_osm(store: Store, path: str | Path, *, only: list[str] | None = None,
               progress: Any = None) -> dict[str, Any]:
    """Import an OSM PBF extract's buildings, roads, targets and cameras in one atomic write.

    Returns a report per layer: rows stored, OSM features repaired and dropped.
    """
    frames = osm.read_pbf(path, only=only, progress=progress)
    if not frames:
        raise ImportFormatError(f"{Path(path).name} holds none of: buildings, roads, targets, cameras")
    checked: dict[str, pd.DataFrame] = {}
    report: dict[str, Any] = {}
    for name, frame in frames.items():
        raw = RawTable(frame, Path(path).name, list(range(1, len(frame) + 1)))
        checked[name] = check(store, raw, name, repair=True)
        report[name] = {"rows": len(checked[name]), "repaired": frame.attrs.get("repaired", 0),  # rows stored
                        "dropped": frame.attrs.get("dropped", [])}
    versions = store.write_many(checked, message=f"import {Path(path).name}")
    for name, version in versions.items():
        report[name]["version"] = version
    return report


# ---- export ------------------------------------------------------------------------------
#: what an exported file says of shifted (obfuscated) coordinates: they have no EPSG code, and must
#: never be labelled WGS 84, which they are 300–600 m away from


OFFSET_NOTES = {
    "gcj02": ("GCJ-02", "GCJ-02 (Mars coordinates, Gaode/Tencent): WGS 84 lon/lat shifted by China's obfuscation "
                        "algorithm, 300-600 m; not WGS 84, not a datum. Convert back before overlaying true data."),
    "bd09": ("BD-09", "BD-09 (Baidu): GCJ-02 shifted again by Baidu; not WGS 84, not a datum. Convert back before "
                      "overlaying true data."),
}
