"""The ``pingan`` command line (typer). Each command calls the same functions as the API."""

from __future__ import annotations

import math
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from layers import demo, exchange, schemas
from layers.errors import ImportFormatError, LayerValidationError, UnknownLayerError, WorkspaceError
from layers.store import Store, open_workspace

app = typer.Typer(help="Pingan Planner: grids, risk and video coverage for community safety planning.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
# tables keep their columns when piped: the terminal's width, or 160 columns without one
_WIDTH = shutil.get_terminal_size((160, 24)).columns if sys.stdout.isatty() else 160
# no markup: messages carry user text (names, paths, field names like [a-z_]) that Rich would eat
out = Console(soft_wrap=True, width=_WIDTH, markup=False)
err = Console(stderr=True, soft_wrap=True, width=_WIDTH, markup=False)
DEFAULT_WORKSPACE = "workspace/demo.gpkg"
EXIT_CODES: dict[type[Exception], int] = {
    LayerValidationError: 2, OSError: 2, ImportFormatError: 2, ValueError: 2, UnknownLayerError: 3,
    WorkspaceError: 4, PermissionError: 5, FileExistsError: 6}

WorkspaceOpt = Annotated[str, typer.Option(help="Workspace (a .gpkg file or a postgresql:// URI)")]
Workspace = Annotated[str, typer.Argument(
    help="The workspace: a GeoPackage file, or postgresql://user:password@host:port/database?workspace=name")]


@contextmanager
def _errors() -> Iterator[None]:
    """Turn domain errors into one readable message and a non-zero exit code."""
    try:
        yield
    except tuple(EXIT_CODES) as exc:
        # the message as plain text: Rich markup would eat '[a-z_]' in it (field names, paths)
        err.print(Text.assemble(("error: ", "bold red"), str(exc)), highlight=False)
        code = next((EXIT_CODES[t] for t in type(exc).__mro__ if t in EXIT_CODES), 1)  # the closest class wins
        raise typer.Exit(code) from None


@contextmanager
def _progress(title: str) -> Iterator[Callable[[str], None]]:
    with err.status(title) as status:
        def step(name: str) -> None:
            status.update(f"{title}: {name}")
            err.print(f"  · {name}", highlight=False)
        yield step


def _open(path: str | Path) -> Store:
    return open_workspace(path)


@app.command()
def init(workspace: Workspace, name: Annotated[str, typer.Option(help="Display name")] = "",
         outside_china: Annotated[bool, typer.Option("--outside-china",
                                                     help="Do not flag coordinates outside China")] = False,
         force: Annotated[bool, typer.Option(help="Replace an existing file")] = False) -> None:
    """Create an empty workspace."""
    with _errors():
        store = open_workspace(workspace, create=True, name=name, expect_china=not outside_china, overwrite=force)
        out.print(f"created workspace {store.uri}")


@app.command("import")
def import_(workspace: Workspace, file: Annotated[Path, typer.Argument(help="File to import")],
            layer: Annotated[str | None, typer.Option(help=f"Target layer: {', '.join(schemas.SCHEMAS)}; "
                                                           "omit for an OSM PBF (imports all it has)")] = None,
            coords: Annotated[str | None, typer.Option(help="Coordinates of the file: wgs84, cgcs2000, gcj02, "
                                                            "bd09 or an EPSG code (e.g. EPSG:4549)")] = None,
            fmt: Annotated[str | None, typer.Option("--format", help="Format if the extension does not say")] = None,
            append: Annotated[bool, typer.Option(help="Add to the layer instead of replacing it")] = False,
            extra: Annotated[str, typer.Option(help="Unknown columns: error, drop or keep")] = "error",
            repair: Annotated[bool, typer.Option(help="Repair invalid geometries (make_valid)")] = False,
            sheet: Annotated[str | None, typer.Option(help="XLSX sheet name (default: the first visible one)")] = None,
            source_layer: Annotated[str | None, typer.Option(help="Layer inside a multi-layer file")] = None,
            encoding: Annotated[str | None, typer.Option(help="Shapefile text encoding when it has no .cpg "
                                                              "(default: detected, UTF-8 or GB18030)")] = None,
            ) -> None:
    """Import a GIS file, inventory (CSV/XLSX) or OSM PBF into a workspace layer. Validates first."""
    with _errors():
        store = _open(workspace)
        if exchange.detect_format(file, fmt) == "osm" and layer is None:
            with _progress(f"importing {file.name}") as step:
                report = exchange.import_osm(store, file, progress=step)
            for name, info in report.items():
                note = f", {info['repaired']} repaired" if info["repaired"] else ""
                note += f", {len(info['dropped'])} unusable features skipped" if info["dropped"] else ""
                out.print(f"{name}: {info['rows']} rows stored{note}")  # 'rows' counts what was stored
            return
        if layer is None:
            raise ImportFormatError("say which layer the file holds with --layer")
        read: dict[str, Any] = {}
        version = exchange.import_layer(store, file, layer, coords=coords, fmt=fmt,
                                        mode="append" if append else "replace", extra=extra, repair=repair,
                                        sheet=sheet, source_layer=source_layer, encoding=encoding, report=read)
        rows = next(i.rows for i in store.layers() if i.name == layer)
        note = f"; {read['note']}" if read.get("note") else ""
        out.print(f"{layer}: imported from {read['source']} (version {version}, {rows} rows{note})")


@app.command()
def validate(file: Annotated[Path, typer.Argument(help="File to check")],
             layer: Annotated[str, typer.Option(help="Layer the file holds")],
             coords: Annotated[str | None, typer.Option(help="wgs84, cgcs2000, gcj02, bd09 or EPSG code")] = None,
             workspace: Annotated[Path | None, typer.Option(help="Check against this workspace too")] = None,
             extra: Annotated[str, typer.Option(help="Unknown columns: error, drop or keep")] = "error",
             sheet: Annotated[str | None, typer.Option(help="XLSX sheet name (default: the first visible one)")
                              ] = None,
             encoding: Annotated[str | None, typer.Option(help="Shapefile text encoding when it has no .cpg")
                                 ] = None) -> None:
    """Check a file against a layer schema without storing anything."""
    with _errors():
        raw = exchange.read_file(file, layer, coords=coords, sheet=sheet, encoding=encoding)
        ws = _open(workspace) if workspace else None
        frame = exchange.check(ws, raw, layer, extra=extra)
        hint = exchange.datum_hint(ws, frame, coords.strip().lower() if coords else None)
        note = f" ({'; '.join(filter(None, [raw.note, hint]))})" if raw.note or hint else ""
        out.print(f"{raw.source}: {len(frame)} rows are valid {layer}{note}")


@app.command()
def layers(workspace: Workspace) -> None:
    """List the workspace's layers."""
    with _errors():
        store = _open(workspace)
        table = Table("layer", "rows", "version", "geometry", "updated (UTC)")
        for info in store.layers():
            table.add_row(info.name, str(info.rows), str(info.version), info.geometry_type or "table",
                          info.updated_at)
        out.print(table)
        out.print(f"metric CRS: {store.metric_crs().to_string()}" if store.layers() else "no layers yet")


workspace_app = typer.Typer(help="Whole workspaces: copy between GeoPackage and PostGIS.", no_args_is_help=True)
app.add_typer(workspace_app, name="workspace")


@workspace_app.command("copy")
def workspace_copy_cmd(
        source: Annotated[str, typer.Argument(help="The workspace to copy (.gpkg or postgresql://…)")],
        target: Annotated[str, typer.Argument(help="A new workspace (.gpkg or postgresql://…?workspace=name)")],
        force: Annotated[bool, typer.Option(help="Replace the target if it exists")] = False,
        with_users: Annotated[bool, typer.Option("--with-users", help="Carry the user accounts across too")
                              ] = False) -> None:
    """Copy a workspace — layers with their versions, settings, audit log, and with --with-users
    the accounts — into a new one (GeoPackage into PostGIS and back). Sessions are not copied."""
    from layers.store import copy_workspace

    with _errors():
        src = _open(source)
        dst = open_workspace(target, create=True, name=str(src.get_meta("name") or ""), overwrite=force)
        with _progress("copying") as step:
            copied = copy_workspace(src, dst, users=with_users, progress=step)
        dst.audit("workspace_copy", "workspace", {"from": _redact(source), "layers": copied})
        out.print(f"copied {len(copied)} layers ({sum(copied.values()):,} rows) into {_redact(target)}")


@workspace_app.command("share")
def workspace_share_cmd(
        source: Annotated[str, typer.Argument(help="The workspace to share (.gpkg or postgresql://…)")],
        target: Annotated[Path, typer.Argument(help="The GeoPackage to write for people outside")],
        force: Annotated[bool, typer.Option(help="Replace the target if it exists")] = False) -> None:
    """Write a copy for people outside: every layer, households only as counts per grid (1–4
    suppressed), and no users, sessions, keys or audit log."""
    from api.exports.share import share_workspace

    with _errors():
        src = _open(source)
        with _progress("sharing") as step:
            written = share_workspace(src, target, force=force, progress=step)
        out.print(f"wrote {len(written)} layers ({sum(written.values()):,} rows) to {target}: no household detail, "
                  "accounts or audit log")


def _redact(uri: str) -> str:
    """A URI without its password, for messages and the audit log."""
    from layers.postgis import redact

    return redact(uri)


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

    with _errors():
        fmt = ExportSpec(**spec).resolved_format()
        written = target.with_suffix(EXTENSIONS[fmt]) if fmt == "shapefile" else target
        if written.exists() and not force:
            raise FileExistsError(f"{written} exists: choose another name, or replace it with --force")
        source = _source(_open(workspace), user, lang)
        with _progress(title) as step:
            path = make(source, ExportSpec(**spec), target, step)
        out.print(f"wrote {path} ({path.stat().st_size:,} bytes)")


@export_app.command("layer")
def export_layer_cmd(
        workspace: Workspace, layer: Annotated[str, typer.Argument(help="Layer or result to export")],
        target: Annotated[Path, typer.Argument(help="Output file (.gpkg .geojson .zip .kml .csv .xlsx)")],
        fmt: Annotated[str | None, typer.Option("--format", help="gpkg, geojson, shapefile, kml, csv, xlsx")] = None,
        coords: Annotated[str, typer.Option(help="wgs84 (default), cgcs2000, gcj02, bd09 or EPSG:code")] = "wgs84",
        detail: Annotated[bool, typer.Option(help="households one row each instead of per-grid aggregates")] = False,
        reason: Annotated[str | None, typer.Option(help="Why household detail is exported (PIPL; audited)")] = None,
        user: ExportUser = None, lang: Lang = "zh", area: AreaOpt = None, force: Force = False) -> None:
    """Export a layer or result (households: per-grid aggregates unless --detail --reason)."""
    from layers.exchange import detect_format

    with _errors():
        kind = fmt or detect_format(target)
    _export(workspace, user, lang, target, f"exporting {layer}", what="layer", layer=layer,
            format={"shp": "shapefile", "json": "geojson"}.get(kind, kind), coords=coords.lower(), detail=detail,
            reason=reason, area=area, force=force)


@export_app.command("map")
def export_map_cmd(
        workspace: Workspace, target: Annotated[Path, typer.Argument(help="Output file (.png or .pdf)")],
        kind: Annotated[str, typer.Option(help="risk (levels) or coverage")] = "risk",
        paper: Annotated[str, typer.Option(help="A4 or A3")] = "A4",
        orientation: Annotated[str, typer.Option(help="landscape or portrait")] = "landscape",
        dpi: Annotated[int, typer.Option(help="PNG resolution")] = 300,
        user: ExportUser = None, lang: Lang = "zh", area: AreaOpt = None, force: Force = False) -> None:
    """Print the risk-level or coverage map (PNG at 300 dpi or PDF, A4/A3)."""
    _export(workspace, user, lang, target, f"printing the {kind} map", what="map", kind=kind,
            format=target.suffix.lstrip(".").lower() or "png", paper=paper.upper(), orientation=orientation,
            dpi=dpi, area=area, force=force)


@export_app.command("tables")
def export_tables_cmd(
        workspace: Workspace, target: Annotated[Path, typer.Argument(help=".xlsx, or .csv for one table")],
        table: Annotated[str, typer.Option(help="For CSV: grids or communities")] = "grids",
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


@app.command("settings")
def settings_cmd(workspace: Workspace,
                 changes: Annotated[list[str] | None, typer.Argument(
                     help="KEY=VALUE to change, e.g. dori_profile=iec62676-4:2014-rounded storey_height_m=2.9 "
                          "'camera_defaults={\"height_m\": 5}' (values are JSON where they parse as JSON)")] = None,
                 ) -> None:
    """Show the workspace's analysis settings, or change some (checked, audited; results become stale)."""
    import getpass
    import json

    import pydantic

    from api import services

    with _errors():
        store = _open(workspace)
        if changes:
            values: dict[str, Any] = {}
            for item in changes:
                key, sep, text = item.partition("=")
                if not sep or not key.strip():
                    raise ValueError(f"'{item}': write KEY=VALUE, e.g. storey_height_m=3.2")
                try:
                    values[key.strip()] = json.loads(text)
                except json.JSONDecodeError:
                    values[key.strip()] = text
            allowed = {*SETTABLE, *services.TABLE_SETTINGS}
            unknown = sorted(set(values) - allowed)
            if unknown:
                raise ValueError(f"unknown setting(s) {unknown}: known are {', '.join(sorted(allowed))}")
            from api.routers.workspace import SettingsChange

            try:  # types and ranges, as the API checks them
                SettingsChange(**{k: v for k, v in values.items() if k in SETTABLE})
            except pydantic.ValidationError as exc:
                raise ValueError("; ".join(f"{'.'.join(map(str, e['loc']))} = {e['input']!r}: {e['msg']}"
                                           for e in exc.errors())) from None
            services.change_settings(store, values, user=f"local:{getpass.getuser()}")
        for key, value in sorted(store.settings().items()):
            if key in ("risk_model",):
                continue  # long; shown by pingan risk --show-model
            out.print(f"{key} = {json.dumps(value, ensure_ascii=False)}", highlight=False)


#: settings changed one value at a time (the API's PUT /api/settings takes the same)
SETTABLE = ("storey_height_m", "target_height_m", "dori_profile", "dori_form", "occlusion", "expect_china",
            "max_outside_km")


@app.command("views")
def views_cmd(workspace: Workspace,
              mode: Annotated[str | None, typer.Option(help="Occlusion: 2.5d (heights) or 2d (every building "
                                                            "blocks); default from the settings")] = None,
              target_height: Annotated[float | None, typer.Option(help="Target height in m (1.6 face, 0 "
                                                                     "ground); default from the settings")] = None,
              workers: Annotated[int, typer.Option(help="Processes to use")] = 1,
              parallel: Annotated[bool, typer.Option(help="Tiles with a halo on a dask LocalCluster (one "
                                                          "worker per core, or --workers)")] = False,
              scheduler: Annotated[str | None, typer.Option(help="A dask cluster to use (tcp://host:8786)")] = None,
              tile_m: Annotated[float, typer.Option(help="Tile size in metres for --parallel/--scheduler")] = 1000.0,
              ) -> None:
    """Compute what every camera sees (DORI levels, occlusion) and store it as the views layer."""
    from rich.progress import Progress

    from api import services

    with _errors(), Progress(console=err, transient=True) as bar:
        task = bar.add_task("views", total=None)
        result = services.compute_views(_open(workspace), mode=mode, target_height=target_height,
                                        workers=workers, parallel=parallel, scheduler=scheduler, tile_m=tile_m,
                                        progress=lambda done, total: bar.update(task, completed=done, total=total))
    table = Table("level", "cameras", "area seen (m², summed over cameras)")
    for level, row in services.summarise_views(result).iterrows():
        table.add_row(str(level), str(int(row["cameras"])), f"{row['area_m2']:,.0f}")
    out.print(table)
    stamp = result.attrs["stamp"]
    out.print(f"views layer written: {len(result)} polygons, {stamp['occlusion']} occlusion, "
              f"targets at {stamp['target_height_m']} m; inputs {stamp['inputs']}")
    if stamp.get("mounted_cameras"):
        out.print(f"{stamp['mounted_cameras']} camera(s) stood inside their building by ≤ 0.5 m: computed from "
                  "its wall")
    if stamp.get("indoor_cameras"):
        shown = ", ".join(stamp["indoor_cameras"][:20]) + (" …" if len(stamp["indoor_cameras"]) > 20 else "")
        out.print(f"{len(stamp['indoor_cameras'])} camera(s) stand inside a building, deeper than 0.5 m: indoor, "
                  f"no outdoor view — check their positions: {shown}")


@app.command("coverage")
def coverage_cmd(workspace: Workspace,
                 grid: Annotated[str | None, typer.Option(help="Show only this grid (by code)")] = None,
                 include_planned: Annotated[bool, typer.Option(help="Count planned cameras as covering")] = False,
                 top: Annotated[int, typer.Option(help="Blind spots to list")] = 10,
                 parallel: Annotated[bool, typer.Option(help="Grids in tiles on a dask LocalCluster (one worker "
                                                             "per core, or --workers); same figures")] = False,
                 scheduler: Annotated[str | None, typer.Option(help="A dask cluster to use (tcp://host:8786)")] = None,
                 workers: Annotated[int | None, typer.Option(help="LocalCluster workers for --parallel")] = None,
                 tile_m: Annotated[float, typer.Option(help="Tile size in metres for --parallel/--scheduler")] = 2000.0,
                 ) -> None:
    """Coverage per community (or one grid), key targets, blind spots; writes the coverage layers."""
    from api import services

    with _errors(), _progress("coverage") as step:
        result = services.compute_coverage(_open(workspace), include_planned=include_planned, progress=step,
                                           parallel=parallel, scheduler=scheduler, workers=workers, tile_m=tile_m)
    grids, spots = result["grids"], result["blind_spots"]
    if grid is not None:
        if grid not in set(grids["code"]):
            err.print(Text.assemble(("error: ", "bold red"), f"no grid {grid} in {workspace}"), highlight=False)
            raise typer.Exit(3)
        grids = grids[grids["code"] == grid]
        spots = spots[spots["grid_code"] == grid]
        rows = grids.assign(name=grid)
    else:
        rows = result["communities"].assign(name=result["communities"]["name"].fillna(
            result["communities"]["community_code"]))
    table = Table("社区/网格" if grid is None else "网格", "public km²", "detect", "observe", "recognise", "identify",
                  "≥2 cameras", "roads seen", "cameras (active/faulty/planned)", "blind spot km²")
    for _, r in rows.iterrows():
        road = r["road_seen_detect_m"] / r["road_m"] if r["road_m"] else 0.0
        table.add_row(str(r["name"]), f"{r['public_m2'] / 1e6:.3f}",
                      *(f"{r[f'share_{lv}']:.1%}" for lv in ("detect", "observe", "recognise", "identify")),
                      f"{r['share_redundant']:.1%}", f"{road:.1%}",
                      f"{int(r['cameras_active'])}/{int(r['cameras_faulty'])}/{int(r['cameras_planned'])}",
                      f"{r['uncovered_m2'] / 1e6:.3f}")
    out.print(table)
    ind = result["indicators"]
    if grid is None:
        def share(value: float, fmt: str) -> str:
            return "— (none in the workspace)" if math.isnan(value) else format(value, fmt)  # nothing to count

        all_in = "100% ✓" if ind["class1_all_covered"] else "not all"
        class1 = (f"{ind['class1_covered']}/{ind['class1_targets']} ({all_in})" if ind["class1_targets"]
                  else "— (none in the workspace)")
        out.print(f"一类目标 class-1 targets covered: {class1}; 路口 intersections covered: "
                  f"{share(ind['intersection_share'], '.0%')}; 重点公共区域 key public areas seen: "
                  f"{share(ind.get('key_public_area_share', float('nan')), '.1%')}")
        if ind.get("cameras_outside_grids"):
            out.print(f"{ind['cameras_outside_grids']} camera(s) stand outside every grid and are counted in none")
    ranked = spots[spots["ranked"]].head(top)
    if len(ranked):
        bt = Table("#", "grid", "kind", "where", "m²", "near", "priority")
        for k, (_, s) in enumerate(ranked.iterrows(), start=1):
            where = "" if pd.isna(s["name"]) else str(s["name"])
            bt.add_row(str(k), str(s["grid_code"]), str(s["kind"]), where, f"{s['area_m2']:,.0f}",
                       str(s["near_targets"])[:40], f"{s['priority']:.1f}")
        out.print(bt)
    out.print("coverage layers written: coverage_grids, coverage_communities, coverage_targets, blind_spots")


@app.command("place")
def place_cmd(workspace: Workspace,
              k: Annotated[int | None, typer.Option("--k", min=1, max=500, help="How many new cameras (1–500)")
                           ] = None,
              budget: Annotated[float | None, typer.Option(min=0.01, help="Budget in yuan (cameras + sites)")
                                ] = None,
              cover_class: Annotated[list[str] | None, typer.Option(help="Cover every target of this class "
                                                                         "(1, 2, 3) at least cost; repeatable")] = None,
              seconds: Annotated[float, typer.Option(min=0.1, help="Time limit of the exact solver (s)")] = 30.0,
              greedy: Annotated[bool, typer.Option(help="Lazy greedy only (fast, within 1−1/e)")] = False,
              heading_step: Annotated[float, typer.Option(min=5, max=180, help="Headings tried per site, degrees "
                                                                             "(5–180)")] = 30.0,
              model: Annotated[list[str] | None,
                               typer.Option(help="Camera model from the catalogue; repeatable")] = None,
              workers: Annotated[int, typer.Option(help="Processes for the candidate views")] = 1,
              parallel: Annotated[bool, typer.Option(help="Candidate views in tiles on a dask LocalCluster "
                                                          "(same views)")] = False,
              scheduler: Annotated[str | None, typer.Option(help="A dask cluster to use (tcp://host:8786)")] = None,
              ) -> None:
    """Propose where the next cameras do the most good (MCLP for --k/--budget, LSCP for --cover-class)."""
    from api import planning

    for cls in cover_class or []:
        if cls not in ("1", "2", "3"):
            raise typer.BadParameter(f"'{cls}' is not a point class: use 1, 2 or 3", param_hint="--cover-class")

    with _errors(), _progress("placement") as step:
        result = planning.place(_open(workspace), k=k, budget=budget, cover_classes=cover_class, seconds=seconds,
                                method="greedy" if greedy else "milp", heading_step_deg=heading_step,
                                models=tuple(model) if model else planning.placement.DEFAULT_MODELS,
                                workers=workers, progress=step, parallel=parallel, scheduler=scheduler)
    props = result["proposals"]
    table = Table("#", "site", "model", "heading", "gain", "covers", "grids", "blind spots", "cost ¥")
    for _, p in props.iterrows():
        table.add_row(str(p["rank"]), str(p["site"]), str(p["model"]), f"{p['heading_deg']:.0f}°", f"{p['gain']:.1f}",
                      str(p["targets"])[:40], str(len(str(p["grids"]).split(","))),
                      str(p["blind_spots_closed"]), f"{p['cost']:,.0f}")
    out.print(table)
    out.print(f"{result['problem']}: objective {result['objective']:,.1f}, proven bound {result['bound']:,.1f} "
              f"(gap {result['gap']:.2%}, {result['status']}); {len(props)} cameras, ¥{result['cost']:,.0f}; "
              f"{result['candidates']:,} candidates, {result['demand']:,} demand points "
              f"({result['already_covered']:,} already covered by existing cameras)")
    if result["uncoverable"]:
        out.print(f"no candidate can cover: {'、'.join(result['uncoverable'])}")
    out.print("stored as the layers proposals and proposal_views; accept with: pingan accept WORKSPACE RANK…")


@app.command("accept")
def accept_cmd(workspace: Workspace, ranks: Annotated[list[int], typer.Argument(help="Proposal ranks to accept")],
               user: Annotated[str, typer.Option(help="Who accepts (recorded in the audit log)")] = "cli") -> None:
    """Turn proposals into planned cameras."""
    from api import planning

    with _errors():
        ids = planning.accept(_open(workspace), ranks, user=user)
    out.print(f"{len(ids)} planned camera(s) added: {', '.join(ids)}")


def _period(value: str | None) -> str | None:
    """A period the user typed, checked in their terms (YYYY-MM, a real month)."""
    if value is None:
        return None
    m = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", value)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise typer.BadParameter(f"'{value}' is not a month: write YYYY-MM, e.g. 2026-11")
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"


@app.command("risk")
def risk_cmd(workspace: Workspace,
             method: Annotated[str | None, typer.Option(help="fixed, quantile, natural_breaks or baseline "
                                                             "(default: the model's)")] = None,
             period: Annotated[str | None, typer.Option(help="Period YYYY-MM (default: the latest month)",
                                                        callback=_period)] = None,
             model: Annotated[Path | None, typer.Option(help="Install this risk model (TOML) first")] = None,
             show_model: Annotated[bool, typer.Option(help="Print the risk model in use and stop")] = False,
             top: Annotated[int, typer.Option(help="Grids to list")] = 15) -> None:
    """Grade every grid red/yellow/green with the reasons; writes the risk and risk_history layers."""
    from api import grading
    from api.i18n import t

    with _errors():
        store = _open(workspace)
        if model is not None:
            version = grading.set_model(store, model.read_text(encoding="utf-8"))
            out.print(f"risk model version {version} installed from {model}")
        if show_model:
            out.print(grading.model_of(store).text, markup=False, highlight=False)
            return
        with _progress("risk") as step:
            result = grading.compute_risk(store, period=period, method=method, progress=step)
    grids, stamp = result["grids"], result["stamp"]
    names = dict(zip(*(store.read("communities")[c] for c in ("code", "name")), strict=True)) if store.has(
        "communities") else {}
    table = Table("社区/村", "红", "黄", "绿", "top reasons (红/黄 grids)")
    for code, row in result["summary"].iterrows():
        mine = grids[(grids["community_code"] == code) & (grids["level"] != "green")]
        words = [r.split("（")[0].split(" ")[0] for rs in mine["reasons"] for r in rs.split("；")[:1] if r]
        common = pd.Series(words).value_counts().head(2).index.tolist() if words else []
        table.add_row(names.get(code, str(code)), str(row["red"]), str(row["yellow"]), str(row["green"]),
                      "、".join(common))
    out.print(table)
    gt = Table("网格", "名称", "等级", "score", "reasons", "to move down a level")
    for code, g in grids.sort_values("score", ascending=False).head(top).iterrows():
        gt.add_row(str(code), str(g["name"]), t("zh", f"level.{g['level']}"), f"{g['score']:.1f}", str(g["reasons"]),
                   str(g["to_lower_level"]))
    out.print(gt)
    m = stamp["model"]
    out.print(f"period {stamp['period']}, method {m['method']}, model v{stamp['model_version']}; "
              f"{len(result['changes'])} grid(s) changed level since the month before")
    for _, c in result["changes"].iterrows():
        out.print(f"  {c['code']}: {c['before']} → {c['after']} ({c['why']})")


grids_app = typer.Typer(help="Grid planning (网格划分).", no_args_is_help=True)
app.add_typer(grids_app, name="grids")


@grids_app.command("plan")
def grids_plan_cmd(workspace: Workspace,
                   community: Annotated[str | None, typer.Option(help="Only this community (code)")] = None,
                   min_households: Annotated[int, typer.Option("--min", help="Fewest households")] = 300,
                   max_households: Annotated[int, typer.Option("--max", help="Most households")] = 500,
                   write: Annotated[bool, typer.Option(help="Store them as the planned_grids layer")] = False,
                   replace: Annotated[bool, typer.Option(help="Also replace the grids layer with them")] = False
                   ) -> None:
    """Partition communities into contiguous grids of a household range along streets."""
    from api import grading

    with _errors():
        result = grading.plan_grids(_open(workspace), community=community, min_households=min_households,
                                    max_households=max_households, write=write or replace, replace=replace)
    grids = result["grids"]
    table = Table("code", "name", "kind", "households", "note")
    for _, g in grids.iterrows():
        table.add_row(str(g["code"]), str(g["name"]), str(g["kind"]), f"{g['households']:.0f}", str(g["note"]))
    out.print(table)
    basic = grids[grids["kind"] == "basic"]
    inside = basic["households"].between(min_households, max_households).sum()
    out.print(f"{len(grids)} grids ({len(basic)} basic, {len(grids) - len(basic)} dedicated); {inside} basic grids "
              f"within {min_households}–{max_households} households, the others explained in the note")
    for code, problems in result["problems"].items():
        out.print(f"community {code}: " + ("tiles without gaps or overlaps" if not problems else "; ".join(problems)))


@app.command("demo")
def demo_cmd(workspace: Annotated[Path, typer.Argument(help="Where to build it")] = Path(DEFAULT_WORKSPACE),
             seed: Annotated[int, typer.Option(help="Random seed (same seed, same town)")] = 2013,
             force: Annotated[bool, typer.Option(help="Rebuild even if the workspace exists")] = False,
             serve: Annotated[bool, typer.Option(help="Serve the map afterwards")] = False,
             analysis: Annotated[bool, typer.Option(help="Compute views, coverage and risk")] = True,
             port: Annotated[int, typer.Option(help="Port for --serve")] = 8000) -> None:
    """Build the demo workspace (a town in 莱西市, Qingdao), compute coverage and risk, optionally serve it."""
    from api import grading, services

    with _errors():
        if workspace.exists() and not force:
            out.print(f"{workspace} exists; using it as it is (--force rebuilds it)")
            store = open_workspace(workspace)
        else:
            store = open_workspace(workspace, create=True, name="莱西市水集街道示范区", overwrite=True)
            with _progress("building the demo town") as step:
                counts = demo.build(store, seed=seed, progress=step)
            out.print(", ".join(f"{k} {v}" for k, v in counts.items() if not k.startswith("_")))
            out.print(f"demo workspace written to {workspace}")
        from api import access

        made = access.create_demo_users(store)
        if made:
            table = Table("user", "role", "area", "password (new on every demo run)", title="demo users: log in "
                          "at /login")
            for row in made:
                table.add_row(*row)
            out.print(table)
        if analysis and not (services.coverage_is_current(store) and store.has("risk")):
            with _progress("analysing") as step:
                step("camera views")
                services.compute_views(store)
                services.compute_coverage(store, progress=step)
                result = grading.compute_risk(store, progress=step)
            levels = result["grids"]["level"].value_counts()
            out.print(f"coverage and risk computed: {levels.get('red', 0)} red, {levels.get('yellow', 0)} yellow, "
                      f"{levels.get('green', 0)} green grids")
    if serve:
        serve_cmd(str(workspace), port=port)


@app.command("serve")
def serve_cmd(workspace: Workspace = DEFAULT_WORKSPACE,
              host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
              port: Annotated[int, typer.Option(help="Port")] = 8000,
              auth: Annotated[bool, typer.Option(help="Require users to log in (--no-auth: loopback only)")] = True,
              workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes (they share the "
                                                   "workspace, sessions, what-if sessions and jobs)")] = 1,
              ) -> None:
    """Serve the maps and the API for a workspace."""
    import uvicorn

    from api import access
    from api.app import create_app
    from api.settings import Settings

    with _errors():
        store = _open(workspace)  # fail here, clearly, rather than on the first request
        if not auth and host not in ("127.0.0.1", "localhost", "::1"):
            raise typer.BadParameter("--no-auth serves everything to anyone who can connect: only on 127.0.0.1")
        if auth and not access.has_users(store):
            out.print("[yellow]this workspace has no users yet: add one with "
                      "'pingan users add NAME --role admin' before logging in[/yellow]")
    out.print(f"serving {_redact(workspace)} at http://{host}:{port}"
              + (f" with {workers} processes" if workers > 1 else "") + "  (Ctrl+C stops)")
    if workers == 1:
        uvicorn.run(create_app(Settings(workspace=workspace, host=host, port=port, auth=auth)), host=host,
                    port=port, log_level="warning")
        return
    # each process builds its own app from the same settings, passed the way Settings reads them
    where = str(workspace) if "://" in str(workspace) else str(Path(workspace).resolve())
    os.environ.update({"PINGAN_WORKSPACE": where, "PINGAN_HOST": host, "PINGAN_PORT": str(port),
                       "PINGAN_AUTH": "true" if auth else "false"})
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="warning")


users_app = typer.Typer(help="Users, roles and areas of a workspace", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(name: Annotated[str, typer.Argument(help="User name")],
              role: Annotated[str, typer.Option(help="admin, planner, police, grid_worker or viewer")],
              area: Annotated[str, typer.Option(help="all, an admin-code prefix, community:CODE,… or grid:CODE,…")
                              ] = "all",
              workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
              display_name: Annotated[str, typer.Option(help="Name shown in the pages")] = "",
              password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin")] = False) -> None:
    """Add a user; prints a generated password once (or reads one with --password-stdin)."""
    from api import access

    with _errors():
        store = _open(workspace)
        password = sys.stdin.readline().rstrip("\n") if password_stdin else None
        made = access.add_user(store, name, role, access.Area.parse(area), password, display_name=display_name,
                               by="cli")
        out.print(f"user {name} ({role}, area {access.Area.parse(area).describe()}) added"
                  + ("" if password_stdin else f"; password (shown once): {made}"))


@users_app.command("list")
def users_list(workspace: WorkspaceOpt = DEFAULT_WORKSPACE) -> None:
    """The users with role, area and state (never passwords)."""
    from api import access

    with _errors():
        store = _open(workspace)
        table = Table("user", "name", "role", "area", "state", "clients held back", "created")
        for u in access.users(store):
            table.add_row(u["username"], u["display_name"] or "", u["role"],
                          access.Area.from_json(u["area"]).describe(),
                          "disabled" if u["disabled"] == "1" else "active",
                          str(access.login_holds(store, u["username"])), u["created_at"])
        out.print(table)


@users_app.command("passwd")
def users_passwd(name: str, workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
                 password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin")] = False) -> None:
    """Set a new password (generated and shown once unless read from stdin); ends their sessions."""
    from api import access

    with _errors():
        password = sys.stdin.readline().rstrip("\n") if password_stdin else None
        made = access.set_password(_open(workspace), name, password, by="cli")
        out.print(f"password of {name} set" + ("" if password_stdin else f" (shown once): {made}"))


@users_app.command("disable")
def users_disable(name: str, workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
                  enable: Annotated[bool, typer.Option(help="Enable again instead")] = False) -> None:
    """Disable a user (ends their sessions at once), or --enable them again."""
    from api import access

    with _errors():
        access.set_disabled(_open(workspace), name, not enable, by="cli")
        out.print(f"user {name} {'enabled' if enable else 'disabled'}")


@app.command("audit")
def audit_cmd(workspace: Workspace = DEFAULT_WORKSPACE,
              user: Annotated[str | None, typer.Option(help="Only this user")] = None,
              action: Annotated[str | None, typer.Option(help="Only this action (view, export, login, …)")] = None,
              since: Annotated[str | None, typer.Option(help="From this ISO date/time (UTC)")] = None,
              limit: Annotated[int, typer.Option(help="At most this many, newest first")] = 50) -> None:
    """Query the audit log: who did what, when, to which object."""
    with _errors():
        from api import access

        log = access.audit_entries(_open(workspace), user=user, action=action, since=since, limit=limit)
        table = Table("at", "user", "action", "object", "detail")
        for r in log.itertuples():
            table.add_row(*(str(v) for v in (r.at, r.user, r.action, r.object, r.detail)))
        out.print(table)


def main(argv: list[str] | None = None) -> Any:
    return app(argv if argv is not None else sys.argv[1:])
