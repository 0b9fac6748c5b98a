"""What-if placement: drop, move or remove a camera and get its view and the coverage it adds."""

from __future__ import annotations

import collections
import dataclasses
import threading
from typing import Annotated, Any, Literal

import geopandas as gpd
import pandas as pd
import shapely
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api import services
from api.access import ForbiddenError, Scope
from api.deps import LangDep, ScopeDep, SettingsDep, StoreDep
from api.errors import ERRORS, ConflictError
from api.i18n import t
from api.maps.base import Basemap
from gis.camera import DORI_LEVELS
from gis.placement import CATALOGUE
from layers.errors import UnknownLayerError

router = APIRouter(tags=["what-if"], responses=ERRORS)
_lock = threading.Lock()


class DroppedCamera(BaseModel):
    lon: Annotated[float, Field(ge=-180, le=180)]
    lat: Annotated[float, Field(ge=-90, le=90)]
    model: str = "bullet-4mm"
    heading_deg: Annotated[float, Field(ge=0, le=360)] = 0.0
    height_m: Annotated[float, Field(gt=0, le=150)] = 6.0
    tilt_deg: Annotated[float | None, Field(ge=-90, le=90)] = None
    id: Annotated[str | None, Field(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")] = None
    #: id of a workspace camera to move: it keeps its own optics; heading, height and tilt change
    #: only when given
    move: Annotated[str | None, Field(max_length=64)] = None
    #: datum of lon/lat: what the page's basemap draws in (gcj02 on a Gaode basemap)
    coords: Literal["wgs84", "gcj02"] = "wgs84"
    #: what the figures are compared with: cameras in use (the coverage map's baseline, 在用) or in use
    #: and planned (在用+规划)
    baseline: Literal["active", "planned"] = "active"


#: what-if sessions kept at once (one per user; the least recently used goes first)
SESSIONS = 8


@dataclasses.dataclass
class _Session:
    versions: dict[str, int]
    whatif: services.WhatIf
    count: int = 0
    #: the cameras this user dropped or moved in this session (the only ones they may remove)
    placed: set[str] = dataclasses.field(default_factory=set)


def _session(request: Request, store: Any, scope: Scope, baseline: str) -> _Session:
    """The user's own session for one baseline, rebuilt when the workspace's inputs change."""
    versions = store.versions()
    sessions: collections.OrderedDict[tuple[str, str], _Session] = request.app.state.__dict__.setdefault(
        "whatif_sessions", collections.OrderedDict())
    key = (scope.user.username, baseline)
    cached = sessions.get(key)
    if cached is None or cached.versions != versions:
        whatif = services.WhatIf(store, include_planned=baseline == "planned")
        whatif.figures = whatif.model.grid_figures().set_index("code")
        cached = sessions[key] = _Session(versions, whatif)
    sessions.move_to_end(key)
    while len(sessions) > SESSIONS:
        sessions.popitem(last=False)
    return cached


def _workspace_camera(store: Any, scope: Scope, cam_id: str) -> bool:
    """Whether ``cam_id`` is a workspace camera; one outside the user's area is refused as unknown."""
    cams = store.read("cameras") if store.has("cameras") else None
    if cams is None or not (cams["id"].astype(str) == cam_id).any():
        return False
    mine = scope.filter(store, "cameras", cams)
    if not (mine["id"].astype(str) == cam_id).any():
        raise UnknownLayerError(f"no camera '{cam_id}' in your area")
    return True


@router.post("/whatif/cameras", summary="Drop a camera, or move one; its view and the coverage it adds")
def drop_camera(request: Request, store: StoreDep, settings: SettingsDep, scope: ScopeDep, lang: LangDep,
                camera: DroppedCamera) -> dict[str, Any]:
    _may_place(scope)
    lon, lat = (camera.lon, camera.lat)
    if camera.coords == "gcj02":
        lon, lat = Basemap(kind="gaode", crs="gcj02").from_display(lon, lat)
    if not scope.contains([shapely.Point(lon, lat)])[0]:
        raise ForbiddenError("that place is outside your area")
    if camera.move is not None:
        cam_id, fields = camera.move, _existing(store, camera, scope)
    else:
        if camera.model not in CATALOGUE:
            raise ValueError(f"unknown camera model '{camera.model}': the catalogue has {', '.join(CATALOGUE)}")
        spec = CATALOGUE[camera.model]
        cam_id = camera.id or ""
        fields = {"kind": spec.kind, "heading_deg": camera.heading_deg, "hfov_deg": spec.hfov_deg,
                  "focal_mm": spec.focal_mm, "sensor": spec.sensor, "resolution_px": spec.resolution_px,
                  "height_m": camera.height_m,
                  "tilt_deg": spec.tilt_deg if camera.tilt_deg is None else camera.tilt_deg,
                  "status": "active", "point_class": "1"}  # counted as if installed, whatever the baseline
    with _lock:
        state = _session(request, store, scope, camera.baseline)
        if not cam_id:
            cam_id = f"WHATIF-{state.count + 1}"  # counted once it is placed
        elif camera.move is None and _workspace_camera(store, scope, cam_id):
            raise ConflictError(f"'{cam_id}' is a workspace camera: move it with 'move', or drop a new one "
                                "under another id")
        grids, targets = state.whatif.set_camera(cam_id, {"lon": lon, "lat": lat, **fields})
        state.placed.add(cam_id)
        if cam_id == f"WHATIF-{state.count + 1}":
            state.count += 1
        return _answer(store, scope, state.whatif, cam_id, grids, targets, Basemap.from_settings(settings),
                       camera.baseline, lang)


CAMERA_FIELDS = ("kind", "heading_deg", "hfov_deg", "focal_mm", "sensor", "resolution_px", "height_m", "tilt_deg",
                 "status", "point_class", "resolution_v_px")


def _may_place(scope: Scope) -> None:
    if not scope.user.role.can_place:
        raise ForbiddenError(f"role '{scope.user.role.name}' does not place cameras")


def _existing(store: Any, camera: DroppedCamera, scope: Scope) -> dict[str, Any]:
    """The optics of workspace camera ``camera.move``, with what the request changes."""
    cams = scope.filter(store, "cameras", store.read("cameras"))
    row = cams[cams["id"].astype(str) == camera.move]
    if row.empty:
        raise UnknownLayerError(f"no camera '{camera.move}' in your area: move one that exists or drop a new one")
    fields = {k: (None if pd.isna(v) else v) for k, v in row.iloc[0].items() if k in CAMERA_FIELDS}
    for key in ("heading_deg", "height_m", "tilt_deg"):
        if key in camera.model_fields_set:
            fields[key] = getattr(camera, key)
    fields["status"] = "active"  # a moved camera counts where it is moved to, as if installed there
    return fields


@router.delete("/whatif/cameras/{cam_id}", summary="Remove a dropped camera")
def remove_camera(request: Request, store: StoreDep, settings: SettingsDep, scope: ScopeDep, lang: LangDep,
                  cam_id: str, baseline: Literal["active", "planned"] = "active") -> dict[str, Any]:
    _may_place(scope)
    with _lock:
        state = _session(request, store, scope, baseline)
        if cam_id not in state.placed and not _workspace_camera(store, scope, cam_id):
            raise UnknownLayerError(f"no camera '{cam_id}' in your what-if session or your area")
        grids, targets = state.whatif.model.set_camera(cam_id, None)
        state.placed.discard(cam_id)
        return _answer(store, scope, state.whatif, cam_id, grids, targets, Basemap.from_settings(settings),
                       baseline, lang)


def _answer(store: Any, scope: Scope, session: services.WhatIf, cam_id: str, grids: Any, targets: Any,
            basemap: Basemap, baseline: str, lang: str) -> dict[str, Any]:
    """The changed figures, trimmed to the user's area (a view reaching over the border counts only inside)."""
    rows = []
    gain = 0.0
    if len(grids):
        after = grids.set_index("code")
        before = session.figures.loc[after.index]
        shown = after.index[scope.mask(store, "grids", pd.DataFrame({"code": after.index.astype(str)}))]
        for code in shown:
            delta = float(after.at[code, "seen_detect_m2"] - before.at[code, "seen_detect_m2"])
            gain += delta
            rows.append({"code": code, "seen_before_m2": float(before.at[code, "seen_detect_m2"]),
                         "seen_after_m2": float(after.at[code, "seen_detect_m2"]), "gain_m2": delta,
                         "share_before": float(before.at[code, "share_detect"]),
                         "share_after": float(after.at[code, "share_detect"])})
        session.figures.loc[after.index, after.columns] = after
    view = None
    if cam_id in session.model.views.index:
        geoms = [session.model.view(cam_id, level) for level in DORI_LEVELS]
        frame = gpd.GeoDataFrame({"level": list(DORI_LEVELS)}, geometry=geoms, crs=session.metric).to_crs(4326)
        frame = frame[~frame.is_empty]
        frame = frame.set_geometry(basemap.display(frame.geometry.to_numpy()))
        view = frame.__geo_interface__
    if targets is not None and len(targets) and not scope.everywhere:
        inside = set(scope.filter(store, "targets", store.read("targets"))["id"].astype(str))
        targets = targets[targets["id"].astype(str).isin(inside)]
    covered = [] if targets is None or not len(targets) else [
        {"id": t["id"], "name": t["name"], "covered": bool(t["covered"]), "best_level": t["best_level"]}
        for _, t in targets.iterrows()]
    return {"camera": cam_id, "view": view, "grids": rows, "gain_m2": gain, "targets": covered,
            "baseline": baseline, "baseline_label": t(lang, f"baseline_{baseline}")}
