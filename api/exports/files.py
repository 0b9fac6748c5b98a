"""Any layer or result as a file: GeoPackage, GeoJSON, zipped Shapefile, KML, CSV or XLSX.

The rows are those of the user's area. Household-derived counts are suppressed below 5
in every format (see :mod:`api.exports.privacy`); the ``households`` layer leaves as
aggregates per grid unless household detail is asked for, allowed and reasoned.
CSV and XLSX carry the schema's Chinese headers for base layers (so the file imports back)
and 经度/纬度 for points, in the coordinates asked for.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from api.exports import cells, gpx, privacy, qgis, route_cards
from api.exports.source import Source
from api.i18n import MESSAGES
from api.workflows import reasons
from gis import crs as crs_policy
from gis import risk
from layers import exchange, exporting, schemas
from layers.errors import ImportFormatError

GIS_FORMATS = ("gpkg", "geojson", "shapefile", "kml")
TABLE_FORMATS = ("csv", "xlsx")
#: formats of one layer only: patrol routes as GPX for handhelds and as printable route cards (PDF)
ROUTE_FORMATS = ("gpx", "pdf")
FORMATS = GIS_FORMATS + TABLE_FORMATS + ROUTE_FORMATS
EXTENSIONS = {"gpkg": ".gpkg", "geojson": ".geojson", "shapefile": ".zip", "kml": ".kml", "csv": ".csv",
              "xlsx": ".xlsx", "gpx": ".gpx", "png": ".png", "pdf": ".pdf", "html": ".html"}


def safe_name(name: str | None, default: str, fmt: str) -> str:
    """A download name without paths or control characters, ending in the format's extension."""
    stem = Path(unicodedata.normalize("NFC", name or default).replace("\\", "/")).name  # no directories
    stem = re.sub(r"[^\w.\- ]", "_", stem).strip(" .") or default
    stem = re.sub(r"\.(gpkg|geojson|json|zip|kml|shp|csv|xlsx|gpx|png|pdf|html?)$", "", stem, flags=re.IGNORECASE)
    return (stem[:80] or default) + EXTENSIONS[fmt]


def format_of(path: Path, fmt: str | None) -> str:
    if fmt:
        fmt = {"shp": "shapefile", "json": "geojson", "xls": "xlsx"}.get(fmt.lower(), fmt.lower())
    else:
        fmt = exchange.FORMATS.get(path.suffix.lower()) or {".gpx": "gpx", ".pdf": "pdf"}.get(path.suffix.lower())
    if fmt not in FORMATS:
        raise ImportFormatError(f"cannot export to '{fmt or path.suffix}': use one of {', '.join(FORMATS)}")
    return fmt


def export_coords(source: Source, coords: str | None) -> str | None:
    """What an export's ``coords`` means: ``cgcs2000`` is the workspace's CGCS2000 3° Gauss–Krüger zone
    (what users asking for CGCS2000 mean), ``cgcs2000-geographic`` CGCS2000 lon/lat (EPSG:4490)."""
    if coords is None:
        return None
    key = coords.strip().lower()
    if key == "cgcs2000":
        metric = source.store.metric_crs()
        if not crs_policy.is_cgcs2000_gk(metric):
            raise ValueError(f"this workspace lies outside China (its metric CRS is {metric.name}): ask for "
                             "cgcs2000-geographic or an EPSG code")
        return f"EPSG:{metric.to_epsg()}"
    if key == "cgcs2000-geographic":
        return "EPSG:4490"
    return coords


def layer_frame(source: Source, layer: str, *, detail: bool = False, reason: str | None = None,
                bbox: tuple[float, ...] | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """What leaves for ``layer`` (every file and API answer): the rows of the user's area (meeting the
    lon/lat ``bbox``), household figures protected."""
    if layer == "households":
        if detail:
            frame = privacy.household_detail(source, reason)
            return frame, {"detail": True, "reason": reason, "rows": len(frame)}
        agg = privacy.household_aggregates(source)
        shown, n = privacy.suppress(agg, group="community_code")
        return shown, {"detail": False, "aggregated_per": "grid", "suppressed_cells": n, "rows": len(shown)}
    if detail:
        raise ValueError("'detail' applies to the households layer only")
    source.store.read(layer, bbox=bbox)  # an unknown layer is reported as such before any permission question
    frame = source.read(layer, bbox=bbox)
    borrowed = _borrow_counts(source, frame)
    shown, n = privacy.suppress(frame.join(borrowed) if len(borrowed.columns) else frame,
                                group="community_code" if "community_code" in frame else None)
    return shown.drop(columns=list(borrowed.columns)), {"rows": len(shown), "suppressed_cells": n}


def _borrow_counts(source: Source, frame: pd.DataFrame) -> pd.DataFrame:
    """Household counts a table's shares derive from but that it does not carry (risk_history's
    shares are those of the current grid figures): brought in by grid code to decide suppression."""
    missing = [c for c, derived in privacy.DERIVED.items() if c not in frame and any(d in frame for d in derived)]
    if not missing or "code" not in frame or not privacy.may_see_aggregates(source):
        return pd.DataFrame(index=frame.index)
    agg = privacy.household_aggregates(source).set_index("code")
    codes = frame["code"].astype(str)
    return pd.DataFrame({f"{c}": codes.map(agg[c]).fillna(0).to_numpy() for c in missing}, index=frame.index)


def _headers(layer: str, columns: list[str], lang: str) -> dict[str, str]:
    """Chinese headers: the layer schema's labels (so the file imports back), else the report's words."""
    if lang != "zh":
        return {}
    labels = {k[len("column."):]: v for k, v in MESSAGES["zh"].items() if k.startswith("column.")}
    if layer in schemas.SCHEMAS or layer in schemas.TABLES:
        labels |= {f.name: f.label for f in schemas.get(layer).fields if f.label}
    if layer.startswith("patrol_") or layer == "checkpoints":  # the patrol plan's own words
        labels |= {k[len("patrol.col_"):]: v for k, v in MESSAGES["zh"].items() if k.startswith("patrol.col_")}
    out: dict[str, str] = {}
    for c in columns:
        label = labels.get(c)
        if label and label not in columns and label not in out.values():
            out[c] = label
    return out


def as_table(frame: pd.DataFrame, layer: str, lang: str, coords: str | None) -> pd.DataFrame:
    """Geometry as 经度/纬度 (points, in ``coords``) or WKT; schema labels as headers in Chinese."""
    out = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
    if isinstance(frame, gpd.GeoDataFrame) and len(frame):
        moved = exporting.reproject_out(frame, coords)
        geoms = moved.geometry
        if (geoms.geom_type == "Point").all():
            lon, lat = ("经度", "纬度") if lang == "zh" else ("lon", "lat")
            out[lon], out[lat] = np.round(geoms.x.to_numpy(), 7), np.round(geoms.y.to_numpy(), 7)
        else:
            out["wkt"] = geoms.to_wkt(rounding_precision=7)
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d %H:%M:%S")
    if lang == "zh":
        out = _chinese_values(layer, out)
    return out.rename(columns=_headers(layer, list(out.columns), lang))


def _choice_names(field: schemas.Field) -> dict[str, str]:
    """Stored key → its Chinese name: the catalogue's (a status is 在用 everywhere), else the first
    Chinese spelling the schema accepts for it (so the file imports back)."""
    out: dict[str, str] = {}
    for spelling, key in (field.choices or {}).items():
        if key not in out and re.search(r"[\u4e00-\u9fff]", spelling):
            out[key] = spelling
    return out | {key: MESSAGES["zh"][key] for key in out if key in MESSAGES["zh"]}


def _chinese_values(layer: str, table: pd.DataFrame) -> pd.DataFrame:
    """A Chinese table's coded values in Chinese: choices (kinds, statuses, uses …), risk levels and
    indicator keys; values without a Chinese name are kept as they are."""
    out = table.copy()
    names: dict[str, dict[str, str]] = {}
    if layer in schemas.SCHEMAS or layer in schemas.TABLES:
        names = {f.name: _choice_names(f) for f in schemas.get(layer).fields if f.choices}
    for col in ("level", "before", "after"):
        names.setdefault(col, {lv: MESSAGES["zh"][f"level.{lv}"] for lv in ("red", "yellow", "green")})
    for col in ("lower_indicator", "why_indicator"):
        names[col] = {k: reasons.indicator_name(k) for k in risk.INDICATORS}
    names["hint"] = {h: MESSAGES["zh"][f"risk.hint.{h}"] for h in ("lower", "several", "override")}
    for col, mapping in names.items():
        if col in out and (out[col].dtype == object or pd.api.types.is_string_dtype(out[col])):
            out[col] = out[col].map(lambda v, m=mapping: m.get(v, v) if isinstance(v, str) else v)
    if "drivers" in out:
        out["drivers"] = out["drivers"].map(lambda v: "、".join(reasons.indicator_name(k) for k in v.split(";") if k)
                                            if isinstance(v, str) else v)
    return out


def write_table(table: pd.DataFrame, path: Path, *, kind: str, title: str, footer: str) -> Path:
    """A table (headers and values as shown, e.g. from :func:`as_table`) written atomically as CSV (UTF-8
    with BOM, CRLF) or XLSX (bold header, filters, title and footer), every cell neutralised."""
    if kind == "csv":
        return cells.atomic(path, lambda tmp: cells.safe_frame(table).to_csv(tmp, index=False, encoding="utf-8-sig",
                                                                         lineterminator="\r\n"))
    return cells.atomic(path, lambda tmp: _write_xlsx(table, tmp, title=title, footer=footer))


def _write_xlsx(table: pd.DataFrame, path: Path, *, title: str, footer: str) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append([cells.safe_text(str(c)) for c in table.columns])
    for cell in ws[1]:
        cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor="DDE4EE")
    for values in table.itertuples(index=False):
        ws.append([cells.cell(v) for v in values])
    for j, col in enumerate(table.columns, start=1):
        widest = max([cells.width(col)] + [cells.width(v) for v in table[col].head(500)])
        ws.column_dimensions[get_column_letter(j)].width = min(60, widest + 2)
    ws.freeze_panes = "B2"
    if len(table):
        ws.auto_filter.ref = ws.dimensions
    ws.oddHeader.center.text = title
    ws.oddFooter.left.text = footer
    ws.oddFooter.right.text = "&P / &N"
    wb.save(path)


def export_layer(source: Source, layer: str, path: str | Path, *, fmt: str | None = None,
                 coords: str | None = None, detail: bool = False, reason: str | None = None,
                 progress: Callable[[str], None] | None = None) -> Path:
    """Write ``layer`` (rows of the user's area) to ``path`` and record the export in the audit log."""
    step = progress or (lambda _name: None)
    source.require_export()
    path = Path(path)
    kind = format_of(path, fmt)
    coords = export_coords(source, coords)
    step(f"reading {layer}")
    frame, detail_info = layer_frame(source, layer, detail=detail, reason=reason)
    step(f"writing {len(frame):,} rows as {kind}")
    if kind in ROUTE_FORMATS:
        if layer != "patrol_routes":
            raise ImportFormatError(f"{kind.upper()} holds patrol routes: export patrol_routes as {kind}, '{layer}' "
                                    "as gpkg or kml")
        stops, _ = layer_frame(source, "patrol_stops") if source.store.has("patrol_stops") else (frame.iloc[:0], {})
    if kind == "pdf":
        metric = source.store.metric_crs()
        roads, _ = layer_frame(source, "roads") if source.may_read("roads") else (frame.iloc[:0], {})
        out = route_cards.write_cards(gpd.GeoDataFrame(frame).to_crs(metric),
                                      gpd.GeoDataFrame(stops).to_crs(metric) if len(stops) else gpd.GeoDataFrame(stops),
                                      gpd.GeoDataFrame(roads).to_crs(metric), path, lang=source.lang,
                                      meta={"Author": source.who})
    elif kind == "gpx":
        text = gpx.routes_gpx(gpd.GeoDataFrame(frame), gpd.GeoDataFrame(stops), lang=source.lang)

        def write_gpx(tmp: Path) -> None:
            tmp.write_text(text, encoding="utf-8")

        out = cells.atomic(path, write_gpx)
    elif kind in TABLE_FORMATS:
        by = "导出人" if source.lang == "zh" else "Exported by"
        out = write_table(as_table(frame, layer, source.lang, coords), path, kind=kind, title=layer,
                          footer=f"{by} {source.who} · {source.when}")
    else:
        if not isinstance(frame, gpd.GeoDataFrame) and kind != "gpkg":
            raise ImportFormatError(f"'{layer}' is a table without geometry: export it as csv, xlsx or gpkg")
        out = exporting.export_frame(frame, path, layer=layer, fmt=kind, coords=coords,
                                     dress=lambda k, where, name, cols: qgis.dress(k, where, name, cols, layer=layer,
                                                                                  lang=source.lang))
    source.audit(layer, {"format": kind, "coords": coords or "wgs84", "file": out.name, **detail_info})
    return out
