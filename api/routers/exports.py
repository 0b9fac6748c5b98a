"""Exports as downloads: GIS files of any layer, printed maps, report tables, offline HTML, export jobs.

Every download is streamed from a temporary file (removed after sending) with a safe file
name, limited to the user's role and area, and recorded in the audit log. Large exports
run as jobs: ``POST /api/export/jobs`` answers at once, ``GET /api/export/jobs/{id}`` shows
progress, ``GET /api/export/jobs/{id}/file`` downloads the result.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from api import jobs
from api.access import Scope
from api.deps import LangDep, ScopeDep, SettingsDep, StoreDep
from api.errors import declares
from api.exports import ExportSpec, Source, default_name, make
from api.exports.files import EXTENSIONS, safe_name
from api.jobs import Job
from layers.errors import UnknownLayerError

router = APIRouter(tags=["exports"])
MEDIA = {"gpkg": "application/geopackage+sqlite3", "geojson": "application/geo+json", "shapefile": "application/zip",
         "kml": "application/vnd.google-earth.kml+xml", "csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "png": "image/png",
         "pdf": "application/pdf", "html": "text/html; charset=utf-8"}


def _files(*formats: str) -> dict[int | str, dict[str, Any]]:
    """The 200 answer of a download: the file, as an attachment, in one of these media types."""
    return {200: {"description": "the file, as an attachment",
                  "content": {MEDIA[f].split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
                              for f in formats}}}
Name = Annotated[str | None, Query(max_length=120, description="file name for the download")]
AreaQ = Annotated[str | None, Query(max_length=400, description="a part of your area: admin-code prefix, "
                                    "'community:CODE,…' or 'grid:CODE,…'")]


def _produce(source: Source, spec: ExportSpec, progress: Any = None,
             folder: Path | None = None) -> tuple[Path, str, str]:
    """Write the export into ``folder`` (default: a fresh temporary directory): (path, download name, format)."""
    source.require_export()
    fmt = spec.resolved_format()
    filename = safe_name(spec.name, default_name(spec, source), fmt)
    source = dataclasses.replace(source, download_name=filename)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    tmpdir = folder if folder is not None else Path(tempfile.mkdtemp(prefix="pingan-export-"))
    try:
        path = make(source, spec, tmpdir / f"export{EXTENSIONS[fmt]}", progress)
    except BaseException:
        shutil.rmtree(tmpdir, ignore_errors=True)
        raise
    return path, filename, fmt


def _send(path: Path, filename: str, fmt: str, tasks: BackgroundTasks | None) -> FileResponse:
    if tasks is not None:
        tasks.add_task(shutil.rmtree, path.parent, True)
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    return FileResponse(path, media_type=MEDIA[fmt], headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}",
        "Cache-Control": "no-store"})  # exports carry personal data and camera positions: never cached


def _download(store: Any, scope: Any, lang: str, tasks: BackgroundTasks, spec: ExportSpec) -> FileResponse:
    return _send(*_produce(Source(store, scope, lang), spec), tasks)


@router.get("/export/{layer}", summary="A layer or result (rows in your area) as a GIS file or table",
            response_class=FileResponse,
            responses=_files("gpkg", "geojson", "shapefile", "kml", "csv", "xlsx") | declares(400))
def export_layer(store: StoreDep, scope: ScopeDep, lang: LangDep, tasks: BackgroundTasks,
                 layer: Annotated[str, PathParam(max_length=64)],
                 fmt: Annotated[Literal["gpkg", "geojson", "shapefile", "kml", "csv", "xlsx"],
                                Query(alias="format")] = "gpkg",
                 coords: Annotated[Literal["wgs84", "cgcs2000", "cgcs2000-geographic", "gcj02", "bd09"],
                                   Query(description="cgcs2000: the workspace's 3° Gauss–Krüger zone")] = "wgs84",
                 detail: Annotated[bool, Query(description="households one row each (role, reason; audited)")] = False,
                 reason: Annotated[str | None, Query(max_length=200, description="why (household detail)")] = None,
                 name: Name = None, area: AreaQ = None) -> FileResponse:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,63}", layer):
        raise UnknownLayerError(f"unknown layer '{layer}'")
    spec = ExportSpec(what="layer", layer=layer, format=fmt, coords=coords, detail=detail, reason=reason, name=name,
                      area=area)
    return _download(store, scope, lang, tasks, spec)


@router.get("/reports/map", summary="The risk-level, coverage or 组格/片格 map, printed (PNG 300 dpi or PDF; A4/A3); "
            "area=grid:CODE for one grid", response_class=FileResponse, responses=_files("png", "pdf"))
def report_map(store: StoreDep, scope: ScopeDep, lang: LangDep, tasks: BackgroundTasks,
               kind: Literal["risk", "coverage", "subgrids"] = "risk",
               fmt: Annotated[Literal["png", "pdf"], Query(alias="format")] = "pdf",
               paper: Literal["A4", "A3"] = "A4", orientation: Literal["landscape", "portrait"] = "landscape",
               dpi: Annotated[int, Query(ge=72, le=600)] = 300, name: Name = None, area: AreaQ = None) -> FileResponse:
    spec = ExportSpec(what="map", kind=kind, format=fmt, paper=paper, orientation=orientation, dpi=dpi, name=name,
                      area=area)
    return _download(store, scope, lang, tasks, spec)


@router.get("/reports/tables", summary="Per-grid and per-community figures: XLSX workbook or one CSV table",
            response_class=FileResponse, responses=_files("xlsx", "csv"))
def report_tables(store: StoreDep, scope: ScopeDep, lang: LangDep, tasks: BackgroundTasks,
                  fmt: Annotated[Literal["xlsx", "csv"], Query(alias="format")] = "xlsx",
                  table: Literal["grids", "communities", "groups", "patches"] = "grids", name: Name = None,
                  area: AreaQ = None) -> FileResponse:
    spec = ExportSpec(what="tables", format=fmt, table=table, name=name, area=area)
    return _download(store, scope, lang, tasks, spec)


@router.get("/reports/offline", summary="The risk or coverage map as one HTML file that works with no network",
            response_class=FileResponse, responses=_files("html"))
def report_offline(store: StoreDep, scope: ScopeDep, lang: LangDep, tasks: BackgroundTasks,
                   kind: Literal["risk", "coverage"] = "risk", name: Name = None,
                   area: AreaQ = None) -> FileResponse:
    spec = ExportSpec(what="offline", kind=kind, name=name, area=area)
    return _download(store, scope, lang, tasks, spec)


@jobs.kind("export")
def _export_job(context: jobs.Context, params: dict[str, Any], progress: Any) -> dict[str, Any]:
    """An export as its owner may make it now (the area policy is applied again when the job runs)."""
    spec = ExportSpec(**params["spec"])
    source = Source(context.store, Scope.of(context.store, context.user), params["lang"])
    path, filename, fmt = _produce(source, spec, progress, folder=context.files)
    return {"dir": str(path.parent), "file": path.name, "filename": filename, "format": fmt,
            "bytes": path.stat().st_size, "personal": _personal(spec)}


@router.post("/export/jobs", status_code=202, summary="Start a large export in the background; poll its job",
             responses=declares(400))
def start_job(store: StoreDep, settings: SettingsDep, scope: ScopeDep, lang: LangDep, spec: ExportSpec) -> Job:
    source = Source(store, scope, lang)
    source.require_export()
    spec.resolved_format()  # a bad combination is refused now, not in the job
    job = jobs.queue_for(store, settings).submit("export", scope.user, {"spec": spec.model_dump(), "lang": lang})
    return _public(job)


def _public(job: dict[str, Any]) -> Job:
    result = job.get("result")
    shown = None if result is None else {k: v for k, v in result.items() if k not in ("dir", "file", "personal")} | {
        "download": f"/api/export/jobs/{job['id']}/file"}
    return Job(**(job | {"result": shown}))


JobId = Annotated[str, PathParam(pattern="^[0-9a-f]{16}$")]


@router.get("/export/jobs/{job_id}", summary="An export job: status, progress and, when done, where to download")
def get_job(store: StoreDep, settings: SettingsDep, scope: ScopeDep, job_id: JobId) -> Job:
    return _public(jobs.queue_for(store, settings).get(job_id, scope, "export"))


@router.get("/export/jobs/{job_id}/file", summary="Download a finished export job's file",
            response_class=FileResponse, responses=_files(*MEDIA))
def job_file(store: StoreDep, settings: SettingsDep, scope: ScopeDep, job_id: JobId) -> FileResponse:
    job = jobs.queue_for(store, settings).get(job_id, scope, "export")
    if job["status"] != "done":
        raise UnknownLayerError(f"export job '{job_id}' is {job['status']}: its file is not ready")
    result = job["result"]
    path = Path(result["dir"]) / result["file"]
    if not path.is_file():
        raise UnknownLayerError(f"export job '{job_id}' has no file any more")
    if result.get("personal"):  # every download of household data is on record, not only its making
        store.audit("download", f"job:{job_id}", {"file": result["filename"], "bytes": result["bytes"]},
                    user=scope.user.username)
    return _send(path, result["filename"], result["format"], None)


def _personal(spec: ExportSpec) -> bool:
    """Whether an export's file holds household data (detail, or aggregates per grid or building)."""
    return spec.what in ("tables", "offline") or (spec.what == "layer" and spec.layer in (
        "households", "risk", "risk_history", "buildings"))
