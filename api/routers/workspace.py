"""Workspace settings and exports as resources (filtered by role and area, audited)."""

from __future__ import annotations

import re
import tempfile
import unicodedata
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from api.access import ForbiddenError
from api.deps import ScopeDep, StoreDep
from api.errors import ERRORS
from gis.camera import DORI_PROFILES
from layers import exchange

router = APIRouter(tags=["workspace"], responses=ERRORS)


class SettingsChange(BaseModel):
    """The analysis settings a planner may change; anything else is refused by name."""

    model_config = ConfigDict(extra="forbid")

    storey_height_m: Annotated[float | None, Field(ge=1.5, le=10)] = None
    target_height_m: Annotated[float | None, Field(ge=0, le=3)] = None
    dori_profile: str | None = None
    dori_form: Literal["arc", "flat"] | None = None
    occlusion: Literal["2d", "2.5d"] | None = None
    expect_china: bool | None = None
    max_outside_km: Annotated[float | None, Field(ge=0, le=5000)] = None


@router.get("/settings", summary="The workspace's analysis settings")
def get_settings(store: StoreDep, scope: ScopeDep) -> dict[str, Any]:
    return store.settings()


@router.put("/settings", summary="Change analysis settings (planners and admins; results become stale)")
def put_settings(store: StoreDep, scope: ScopeDep, change: SettingsChange) -> dict[str, Any]:
    if scope.user.role.name not in ("admin", "planner") or not scope.everywhere:
        raise ForbiddenError("workspace settings are changed by planners and administrators whose area is 'all'")
    values = change.model_dump(exclude_none=True)
    profiles = set(DORI_PROFILES) | set(store.settings().get("dori_profiles") or {})
    if "dori_profile" in values and values["dori_profile"] not in profiles:
        raise ValueError(f"unknown DORI profile '{values['dori_profile']}': "
                         f"choose one of {', '.join(sorted(profiles))}")
    before = store.settings()
    merged = store.update_settings(**values)
    store.audit("settings", "workspace", {k: {"from": before.get(k), "to": v} for k, v in values.items()},
                user=scope.user.username)
    return merged


EXTENSIONS = {"gpkg": ".gpkg", "geojson": ".geojson", "shapefile": ".zip", "kml": ".kml"}


def safe_name(name: str | None, layer: str, fmt: str) -> str:
    """A download name without paths or control characters, ending in the format's extension."""
    stem = Path(unicodedata.normalize("NFC", name or layer).replace("\\", "/")).name  # no directories
    stem = re.sub(r"[^\w.\- ]", "_", stem).strip(" .") or layer
    stem = re.sub(r"\.(gpkg|geojson|json|zip|kml|shp)$", "", stem, flags=re.IGNORECASE)[:80] or layer
    return stem + EXTENSIONS[fmt]


@router.get("/export/{layer}", summary="Download a layer (rows in your area) as a GIS file",
            response_class=FileResponse,
            responses={200: {"content": {"application/octet-stream": {}}, "description": "the file"}})
def export(store: StoreDep, scope: ScopeDep, tasks: BackgroundTasks, layer: str,
           fmt: Annotated[Literal["gpkg", "geojson", "shapefile", "kml"], Query(alias="format")] = "gpkg",
           coords: Annotated[Literal["wgs84", "cgcs2000", "gcj02"], Query()] = "wgs84",
           name: Annotated[str | None, Query(max_length=120, description="file name for the download")] = None,
           reason: Annotated[str | None, Query(max_length=200, description="why (needed for households)")] = None,
           ) -> FileResponse:
    if not scope.user.role.can_export:
        raise ForbiddenError(f"role '{scope.user.role.name}' does not export")
    frame = store.read(layer)  # an unknown layer is a 404 before any permission question
    scope.allow_read(layer)
    if layer == "households":
        if not scope.user.role.household_detail:
            raise ForbiddenError(f"role '{scope.user.role.name}' sees households as aggregates only")
        if not reason or not reason.strip():
            raise ValueError("household detail leaves the system only with a stated reason (it is audited)")
    if not hasattr(frame, "geometry"):
        raise ValueError(f"'{layer}' has no geometry: it is exported as a table with the reports (issue 9)")
    frame = scope.filter(store, layer, frame)
    filename = safe_name(name, layer, fmt)
    tmpdir = tempfile.mkdtemp(prefix="pingan-export-")
    path = exchange.export_frame(frame, Path(tmpdir) / f"{layer}{EXTENSIONS[fmt]}", layer=layer, fmt=fmt,
                                 coords=coords)
    store.audit("export", layer, {"rows": len(frame), "format": fmt, "coords": coords, "file": filename,
                                  "area": scope.user.area.describe(), "reason": reason}, user=scope.user.username)
    tasks.add_task(_remove, Path(tmpdir))
    return FileResponse(path, media_type="application/octet-stream", headers={
        "Content-Disposition": f"attachment; filename=\"{filename.encode('ascii', 'replace').decode()}\"; "
                               f"filename*=UTF-8''{quote(filename)}"})


def _remove(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
