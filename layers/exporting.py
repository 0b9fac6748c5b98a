"""Export of layers to GIS files: GeoPackage, GeoJSON, zipped Shapefile (UTF-8 ``.cpg``) and KML, in
WGS84, CGCS2000, GCJ-02, BD-09 or an EPSG code; each file says its CRS (GCJ-02/BD-09 files say they
are offset, not a datum) and KML carries the layer's styles.
"""

from __future__ import annotations

import json
import os
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from gis import coords as offsets
from layers import gpkgsql, schemas
from layers.errors import ImportFormatError
from layers.exchange import EXPORT_FORMATS, OFFSET_NOTES, detect_format, parse_coords
from layers.gpkgfile import GPKG_VERSION
from layers.store import Store, storable

#: adds to an export before it is moved into place: (kind, file or folder, name, columns)
Dress = Callable[[str, Path, str, list[str]], None]


def offset_crs(offset: str) -> CRS:
    """A custom geographic CRS naming a shifted system (a WKT with its remark), never EPSG:4326."""
    name, remark = OFFSET_NOTES[offset]
    return CRS.from_wkt(
        f'GEOGCRS["{name} (shifted WGS 84, not a datum)",DATUM["{name} shifted WGS 84",'
        'ELLIPSOID["WGS 84",6378137,298.257223563,LENGTHUNIT["metre",1]]],'
        'PRIMEM["Greenwich",0,ANGLEUNIT["degree",0.0174532925199433]],CS[ellipsoidal,2],'
        'AXIS["longitude",east,ORDER[1],ANGLEUNIT["degree",0.0174532925199433]],'
        'AXIS["latitude",north,ORDER[2],ANGLEUNIT["degree",0.0174532925199433]],'
        f'REMARK["{remark}"]]')


def reproject_out(frame: pd.DataFrame, coords: str | None) -> pd.DataFrame:
    """Express a stored (EPSG:4326) frame in the coordinates asked for on export; a shifted system
    (GCJ-02, BD-09) gets its own custom CRS, so no file calls it WGS 84."""
    if not isinstance(frame, gpd.GeoDataFrame):
        return frame
    offset, target = parse_coords(coords)
    if offset:
        _, from_wgs = offsets.OFFSET_SYSTEMS[offset]
        moved = shapely.transform(frame.geometry.array,
                                  lambda xy: np.column_stack(from_wgs(xy[:, 0], xy[:, 1])))
        return frame.set_geometry(gpd.GeoSeries(moved, index=frame.index, crs=offset_crs(offset)))
    if target is not None:
        return frame.to_crs(target)
    return frame


def _flatten(frame: pd.DataFrame, *, short: bool, layer: str) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%dT%H:%M:%S").where(out[col].notna(), None)
    if short:  # ≤ 10 characters, and unique (coverage_grids has seen_detect_m2 and seen_detect_share…)
        names: dict[str, str] = {}
        taken = {"geometry"}
        for c in out.columns:
            if c == "geometry":
                continue
            name, n = schemas.short_name(c), 1
            while name.lower() in taken:
                n += 1
                name = f"{schemas.short_name(c)[:10 - len(str(n)) - 1]}_{n}"
            taken.add(name.lower())
            names[c] = name
        out = out.rename(columns=names)
    return out


def _geometry_families(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    if not isinstance(frame, gpd.GeoDataFrame):
        return {"table": frame}
    kind = frame.geom_type.str.replace("Multi", "", regex=False).str.lower().fillna("none")
    return {str(k): frame[kind == k] for k in sorted(kind.unique())}


#: KML styles: risk levels (the map colours), camera status; colours are KML's aabbggrr
KML_STYLES: dict[str, dict[str, str]] = {
    "level": {"red": "e03a3e", "yellow": "f5c242", "green": "3aa655"},
    "status": {"active": "1b7f3b", "faulty": "c0392b", "planned": "2c6fbb", "removed": "7f8c8d"},
}
_KML = "http://www.opengis.net/kml/2.2"


def _kml_colour(rgb: str, alpha: str) -> str:
    return f"{alpha}{rgb[4:6]}{rgb[2:4]}{rgb[0:2]}"


def style_kml(path: Path, frame: pd.DataFrame) -> None:
    """Give each placemark the style of its risk level (or camera status): filled polygons, coloured icons."""
    column = next((c for c in KML_STYLES if c in frame), None)
    if column is None:
        return
    ET.register_namespace("", _KML)
    tree = ET.parse(path)
    root_doc = tree.getroot().find(f"{{{_KML}}}Document")
    if root_doc is None:
        return
    for pos, (value, rgb) in enumerate(KML_STYLES[column].items()):
        style = ET.Element(f"{{{_KML}}}Style", id=f"{column}_{value}")
        line = ET.SubElement(style, f"{{{_KML}}}LineStyle")
        ET.SubElement(line, f"{{{_KML}}}color").text = _kml_colour(rgb, "ff")
        ET.SubElement(line, f"{{{_KML}}}width").text = "1.5"
        poly = ET.SubElement(style, f"{{{_KML}}}PolyStyle")
        ET.SubElement(poly, f"{{{_KML}}}color").text = _kml_colour(rgb, "99")
        icon = ET.SubElement(style, f"{{{_KML}}}IconStyle")
        ET.SubElement(icon, f"{{{_KML}}}color").text = _kml_colour(rgb, "ff")
        root_doc.insert(pos, style)
    values = frame[column].astype(object).where(frame[column].notna(), None).tolist()
    marks = list(root_doc.iter(f"{{{_KML}}}Placemark"))
    if len(marks) != len(values):  # written in frame order, one placemark per row; anything else is left plain
        return
    for mark, value in zip(marks, values, strict=True):
        if value not in KML_STYLES[column]:
            continue
        url = ET.Element(f"{{{_KML}}}styleUrl")
        url.text = f"#{column}_{value}"
        name = mark.find(f"{{{_KML}}}name")
        mark.insert(0 if name is None else list(mark).index(name) + 1, url)
    tree.write(path, encoding="UTF-8", xml_declaration=True)


def export_frame(frame: pd.DataFrame, path: str | Path, *, layer: str, fmt: str | None = None,
                 coords: str | None = None, dress: Dress | None = None) -> Path:
    """Write a frame to a file atomically (a temporary file renamed into place).

    ``dress(kind, where, name, columns)`` may add to the file before it is moved into place: called
    with the GeoPackage being written (``kind="gpkg"``), or with the folder of each Shapefile before
    it is zipped (``kind="shapefile"``, ``name`` the Shapefile's, ``columns`` its fields).
    """
    path = Path(path)
    kind = detect_format(path, fmt) if fmt or path.suffix else "gpkg"
    if kind not in EXPORT_FORMATS:
        raise ImportFormatError(f"cannot export to {kind}: use one of {', '.join(EXPORT_FORMATS)}")
    if kind == "shapefile" and path.suffix.lower() != ".zip":
        path = path.with_suffix(".zip")
    offset, target = parse_coords(coords)
    if kind == "kml" and (offset or target is not None):
        raise ImportFormatError(f"KML is WGS 84 by definition (OGC KML 2.2), not {coords}: export KML without "
                                "--coords, or choose GeoPackage, GeoJSON or Shapefile for other coordinates")
    out = storable(reproject_out(frame, coords), layer)  # valid geometry in every file, in its coordinates
    if isinstance(out, gpd.GeoDataFrame) and len(out):
        empty = out.geometry.is_empty.to_numpy()
        if empty.any():  # an empty shape is written as no shape: KML and Shapefile drivers refuse "EMPTY"
            out = out.set_geometry(out.geometry.where(~empty, None))
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".export-") as tmpdir:
        tmp = Path(tmpdir) / f"{layer}{path.suffix or '.gpkg'}"
        if kind == "gpkg":
            note = {"layer_options": {"DESCRIPTION": OFFSET_NOTES[offset][1]}} if offset else {}
            pyogrio.write_dataframe(gpkgsql.utc_times(out), tmp, layer=layer, driver="GPKG",
                                    dataset_options=GPKG_VERSION, **note)  # DATETIMEs in UTC with Z
            if dress is not None:
                dress("gpkg", tmp, layer, [str(c) for c in out.columns if c != "geometry"])
        elif kind == "geojson":
            pyogrio.write_dataframe(_flatten(out, short=False, layer=layer), tmp, driver="GeoJSON",
                                    layer_options={"RFC7946": "YES" if coords in (None, "wgs84") else "NO"})
            if offset:
                _label_geojson(tmp, offset)
        elif kind == "kml":
            flat = _flatten(out, short=False, layer=layer)
            pyogrio.write_dataframe(flat, tmp, driver="LIBKML", layer=layer)
            style_kml(tmp, flat)
        else:
            shp_dir = Path(tmpdir) / "shp"
            shp_dir.mkdir()
            flat = _flatten(out, short=True, layer=layer)
            families = _geometry_families(flat)
            for family, part in families.items():  # a Shapefile holds one geometry family
                name = layer if len(families) == 1 else f"{layer}_{family}"
                pyogrio.write_dataframe(part, shp_dir / f"{name}.shp", driver="ESRI Shapefile", encoding="UTF-8")
                if dress is not None:
                    dress("shapefile", shp_dir, name, [str(c) for c in part.columns if c != "geometry"])
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
                for member in sorted(shp_dir.iterdir()):
                    zf.write(member, member.name)
        os.replace(tmp, path)
    return path


def _label_geojson(path: Path, offset: str) -> None:
    """Say in a GeoJSON file that its coordinates are shifted (GDAL names no CRS it has no code for)."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    name, remark = OFFSET_NOTES[offset]
    doc = {"type": doc.pop("type"), "name": doc.pop("name", None),
           "crs": {"type": "name", "properties": {"name": f"{name} (shifted WGS 84, not a datum)"}},
           "pingan:coordinates": remark, **doc}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def export_layer(store: Store, layer: str, path: str | Path, *, fmt: str | None = None,
                 coords: str | None = None) -> Path:
    """Export one stored layer as it is stored. Households never leave this way (see below)."""
    frame = store.read(layer)  # an unknown layer is reported as such, before any permission question
    if layer == "households":
        raise PermissionError("household detail is personal information (PIPL): it leaves the workspace only "
                              "through `pingan export layer` or the API, which aggregate it per grid (small counts "
                              "suppressed) and audit detail exports, with the user's role, area and reason")
    return export_frame(frame, path, layer=layer, fmt=fmt, coords=coords)
