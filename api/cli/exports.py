"""``pingan export …``: GIS files and tables of any layer, printed maps, report tables, offline pages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.common import (
    Workspace,
    app,
    cli_errors,
    emit,
    open_store,
    out,
    progress_steps,
)
from layers.store import Store

export_app = typer.Typer(help="Exports: GIS files and tables of any layer, printed maps, report tables, offline "
                         "HTML. Limited to the user's role and area; recorded in the audit log.", no_args_is_help=True)
app.add_typer(export_app, name="export")
ExportUser = Annotated[str | None, typer.Option(
    "--user", help="Act as this workspace user (their role and area apply); default: the local administrator")]
Lang = Annotated[str, typer.Option("--lang", help="zh (default) or en")]
AreaOpt = Annotated[str | None, typer.Option(
    "--area", help="Only part of the area: an admin-code prefix, community:CODE,… or grid:CODE,…")]


def _source(store: Store, user: str | None, lang: str) -> Any:
    from api.exports import Source

    return Source.local(store, user, lang)


Force = Annotated[bool, typer.Option("--force", help="Replace the file if it exists")]


def _export(workspace: str, user: str | None, lang: str, target: Path, title: str, *, force: bool = False,
            **spec: Any) -> None:
    from api.exports import ExportSpec, make
    from api.exports.files import EXTENSIONS

    with cli_errors():
        fmt = ExportSpec(**spec).resolved_format()
        written = target.with_suffix(EXTENSIONS[fmt]) if fmt == "shapefile" else target
        if written.exists() and not force:
            raise FileExistsError(f"{written} exists: choose another name, or replace it with --force")
        source = _source(open_store(workspace), user, lang)
        with progress_steps(title) as step:
            path = make(source, ExportSpec(**spec), target, step)
        if not emit({"file": str(path), "bytes": path.stat().st_size}):
            out.print(f"wrote {path} ({path.stat().st_size:,} bytes)")


@export_app.command("layer")
def export_layer_cmd(
        workspace: Workspace, layer: Annotated[str, typer.Argument(help="Layer or result to export")],
        target: Annotated[Path, typer.Argument(
            help="Output file (.gpkg .geojson .zip .kml .csv .xlsx; .gpx and .pdf route cards for patrol_routes)")],
        fmt: Annotated[str | None, typer.Option(
            "--format", help="gpkg, geojson, shapefile, kml, csv, xlsx; gpx, pdf (patrol_routes)")] = None,
        coords: Annotated[str, typer.Option(help="wgs84 (default), cgcs2000, gcj02, bd09 or EPSG:code")] = "wgs84",
        detail: Annotated[bool, typer.Option(help="households one row each instead of per-grid aggregates")] = False,
        reason: Annotated[str | None, typer.Option(help="Why household detail is exported (PIPL; audited)")] = None,
        user: ExportUser = None, lang: Lang = "zh", area: AreaOpt = None, force: Force = False) -> None:
    """Export a layer or result (households: per-grid aggregates unless --detail --reason)."""
    from layers.exchange import detect_format

    with cli_errors():
        kind = fmt or {".gpx": "gpx", ".pdf": "pdf"}.get(target.suffix.lower()) or detect_format(target)
    _export(workspace, user, lang, target, f"exporting {layer}", what="layer", layer=layer,
            format={"shp": "shapefile", "json": "geojson"}.get(kind, kind), coords=coords.lower(), detail=detail,
            reason=reason, area=area, force=force)


@export_app.command("map")
def export_map_cmd(
        workspace: Workspace, target: Annotated[Path, typer.Argument(help="Output file (.png or .pdf)")],
        kind: Annotated[str, typer.Option(help="risk (levels), coverage, or subgrids (组格/片格; with "
                                               "--area grid:CODE for one grid)")] = "risk",
        paper: Annotated[str, typer.Option(help="A4 or A3")] = "A4",
        orientation: Annotated[str, typer.Option(help="landscape or portrait")] = "landscape",
        dpi: Annotated[int, typer.Option(help="PNG resolution")] = 300,
        user: ExportUser = None, lang: Lang = "zh", area: AreaOpt = None, force: Force = False) -> None:
    """Print the risk-level, coverage or 组格/片格 map (PNG at 300 dpi or PDF, A4/A3)."""
    _export(workspace, user, lang, target, f"printing the {kind} map", what="map", kind=kind,
            format=target.suffix.lstrip(".").lower() or "png", paper=paper.upper(), orientation=orientation,
            dpi=dpi, area=area, force=force)


@export_app.command("tables")
def export_tables_cmd(
        workspace: Workspace, target: Annotated[Path, typer.Argument(help=".xlsx, or .csv for one table")],
        table: Annotated[str, typer.Option(help="CSV: grids, communities, groups, patches")] = "grids",
        user: ExportUser = None, lang: Lang = "zh", area: AreaOpt = None, force: Force = False) -> None:
    """Per-grid and per-community figures: an XLSX workbook (summary first) or one CSV table."""
    _export(workspace, user, lang, target, "building the tables", what="tables",
            format=target.suffix.lstrip(".").lower() or "xlsx", table=table, area=area, force=force)


@export_app.command("html")
def export_html_cmd(
        workspace: Workspace, target: Annotated[Path, typer.Argument(help="Output file (.html)")],
        kind: Annotated[str, typer.Option(help="risk (levels) or coverage")] = "risk",
        user: ExportUser = None, lang: Lang = "zh", area: AreaOpt = None, force: Force = False) -> None:
    """The risk or coverage map as one HTML file that opens with no network (all assets inlined)."""
    _export(workspace, user, lang, target, f"saving the {kind} map", what="offline", kind=kind, format="html",
            area=area, force=force)
