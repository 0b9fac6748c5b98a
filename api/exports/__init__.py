"""Exports: printed maps, report tables, GIS files and offline HTML, for one user's area.

``make(source, spec, path)`` writes what ``spec`` asks for; the CLI (``pingan export …``)
and the API (``/api/export/…``, ``/api/reports/…``, export jobs) both call it. Every
export is written atomically, limited to the user's role and area, recorded in the audit
log, and protects household data (:mod:`api.exports.privacy`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.exports.source import CST, Source

__all__ = ["CST", "ExportSpec", "Source", "default_name", "make"]


class ExportSpec(BaseModel):
    """One export: a layer as a file, a printed map, the report tables, or an offline map."""

    model_config = ConfigDict(extra="forbid")

    what: Literal["layer", "map", "tables", "offline"]
    layer: Annotated[str | None, Field(max_length=64, pattern=r"^[a-z_]+$")] = None
    format: Literal["gpkg", "geojson", "shapefile", "kml", "csv", "xlsx", "gpx", "png", "pdf", "html"] | None = None
    coords: Annotated[str, Field(pattern=r"^(wgs84|cgcs2000|cgcs2000-geographic|gcj02|bd09|(?i:epsg):\d{4,6})$",
                                 description="wgs84, cgcs2000 (the workspace's 3° Gauss–Krüger zone), "
                                             "cgcs2000-geographic (EPSG:4490), gcj02, bd09 or EPSG:code")] = "wgs84"
    detail: bool = False
    reason: Annotated[str | None, Field(max_length=200)] = None
    kind: Literal["risk", "coverage", "subgrids"] = "risk"
    paper: Literal["A4", "A3"] = "A4"
    orientation: Literal["landscape", "portrait"] = "landscape"
    dpi: Annotated[int, Field(ge=72, le=600)] = 300
    table: Literal["grids", "communities", "groups", "patches"] = "grids"
    name: Annotated[str | None, Field(max_length=120)] = None
    area: Annotated[str | None, Field(max_length=400, description="a part of your area: an admin-code prefix, "
                                      "'community:CODE,…' or 'grid:CODE,…'")] = None

    def resolved_format(self) -> str:
        default = {"layer": "gpkg", "map": "png", "tables": "xlsx", "offline": "html"}[self.what]
        fmt = self.format or default
        allowed = {"layer": ("gpkg", "geojson", "shapefile", "kml", "csv", "xlsx", "gpx", "pdf"), "map": ("png", "pdf"),
                   "tables": ("xlsx", "csv"), "offline": ("html",)}[self.what]
        if fmt not in allowed:
            raise ValueError(f"a {self.what} export is {', '.join(allowed)}, not '{fmt}'")
        if self.what == "layer" and not self.layer:
            raise ValueError("say which layer to export")
        if self.what == "offline" and self.kind not in ("risk", "coverage"):
            raise ValueError(f"the offline map is the risk or the coverage map, not '{self.kind}'")
        return fmt


def default_name(spec: ExportSpec, source: Source) -> str:
    day = source.at.strftime("%Y%m%d")
    zh = source.lang == "zh"
    if spec.what == "layer":  # shifted coordinates say so in the name too
        shifted = {"gcj02": "_gcj02", "bd09": "_bd09"}.get(spec.coords.lower(), "")
        return f"{spec.layer}{shifted}_{day}"
    if spec.what == "tables":
        table = spec.table if spec.format == "csv" else "grids"  # the workbook holds them all
        names = {"grids": ("网格统计", "grid_tables"), "communities": ("社区统计", "community_tables"),
                 "groups": ("组格统计", "group_tables"), "patches": ("片格统计", "patch_tables")}[table]
        return f"{names[0] if zh else names[1]}_{day}"
    titles = {"risk": ("网格风险等级图", "risk_map"), "coverage": ("视频覆盖图", "coverage_map"),
              "subgrids": ("组格片格图", "subgrid_map")}[spec.kind]
    return f"{titles[0] if zh else titles[1]}_{day}"


def make(source: Source, spec: ExportSpec, path: str | Path,
         progress: Callable[[str], None] | None = None) -> Path:
    """Write the export ``spec`` describes to ``path`` (its suffix follows the format)."""
    from api.exports import files, offline, printed, tables

    fmt = spec.resolved_format()
    path = Path(path)
    source = source.narrowed(spec.area)
    if spec.what == "layer":
        assert spec.layer is not None
        return files.export_layer(source, spec.layer, path, fmt=fmt, coords=spec.coords, detail=spec.detail,
                                  reason=spec.reason, progress=progress)
    if spec.what == "map":
        return printed.print_map(source, path, kind=spec.kind, paper=spec.paper, orientation=spec.orientation,
                                 fmt=fmt, dpi=spec.dpi, progress=progress)
    if spec.what == "tables":
        (progress or (lambda _n: None))("building the tables")
        if fmt == "csv":
            return tables.write_csv(source, path, table=spec.table)
        return tables.write_xlsx(source, path)
    return offline.offline_html(source, path, kind=spec.kind, progress=progress)
