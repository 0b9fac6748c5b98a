"""Workspace commands: init, import, validate, layers, workspace copy/share."""

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
    people_table,
    progress_steps,
    redact,
)
from layers import exchange, schemas
from layers.errors import ImportFormatError
from layers.store import open_workspace


@app.command()
def init(workspace: Workspace, name: Annotated[str, typer.Option(help="Display name")] = "",
         outside_china: Annotated[bool, typer.Option("--outside-china",
                                                     help="Do not flag coordinates outside China")] = False,
         force: Annotated[bool, typer.Option(help="Replace an existing file")] = False) -> None:
    """Create an empty workspace."""
    with cli_errors():
        store = open_workspace(workspace, create=True, name=name, expect_china=not outside_china, overwrite=force)
        if not emit({"workspace": store.uri}):
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
    with cli_errors():
        store = open_store(workspace)
        if exchange.detect_format(file, fmt) == "osm" and layer is None:
            with progress_steps(f"importing {file.name}") as step:
                report = exchange.import_osm(store, file, progress=step)
            if emit({"layers": report}):
                return
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
        if emit({"layer": layer, "source": read["source"], "version": version, "rows": rows,
                   "note": read.get("note") or ""}):
            return
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
    with cli_errors():
        raw = exchange.read_file(file, layer, coords=coords, sheet=sheet, encoding=encoding)
        ws = open_store(workspace) if workspace else None
        frame = exchange.check(ws, raw, layer, extra=extra)
        hint = exchange.datum_hint(ws, frame, coords.strip().lower() if coords else None)
        note = f" ({'; '.join(filter(None, [raw.note, hint]))})" if raw.note or hint else ""
        if emit({"source": raw.source, "layer": layer, "valid_rows": len(frame),
                   "notes": [n for n in (raw.note, hint) if n]}):
            return
        out.print(f"{raw.source}: {len(frame)} rows are valid {layer}{note}")


@app.command()
def layers(workspace: Workspace) -> None:
    """List the workspace's layers."""
    with cli_errors():
        store = open_store(workspace)
        infos = store.layers()
        if emit({"layers": [{"name": i.name, "rows": i.rows, "version": i.version, "geometry": i.geometry_type,
                               "updated_at": i.updated_at} for i in infos],
                   "metric_crs": store.metric_crs().to_string() if infos else None}):
            return
        table = people_table("layer", "rows", "version", "geometry", "updated (UTC)")
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
    from layers.workspace import copy_workspace

    with cli_errors():
        src = open_store(source)
        dst = open_workspace(target, create=True, name=str(src.get_meta("name") or ""), overwrite=force)
        with progress_steps("copying") as step:
            copied = copy_workspace(src, dst, users=with_users, progress=step)
        dst.audit("workspace_copy", "workspace", {"from": redact(source), "layers": copied})
        if emit({"target": redact(target), "layers": copied}):
            return
        out.print(f"copied {len(copied)} layers ({sum(copied.values()):,} rows) into {redact(target)}")


@workspace_app.command("share")
def workspace_share_cmd(
        source: Annotated[str, typer.Argument(help="The workspace to share (.gpkg or postgresql://…)")],
        target: Annotated[Path, typer.Argument(help="The GeoPackage to write for people outside")],
        force: Annotated[bool, typer.Option(help="Replace the target if it exists")] = False) -> None:
    """Write a copy for people outside: every layer, households only as counts per grid (1–4
    suppressed), and no users, sessions, keys or audit log."""
    from api.exports.share import share_workspace

    with cli_errors():
        src = open_store(source)
        with progress_steps("sharing") as step:
            written = share_workspace(src, target, force=force, progress=step)
        if emit({"target": str(target), "layers": written}):
            return
        out.print(f"wrote {len(written)} layers ({sum(written.values()):,} rows) to {target}: no household detail, "
                  "accounts or audit log")
