"""What-if placement: drop, move or remove a camera and get its view and the coverage it adds."""

from __future__ import annotations

import collections
import dataclasses
import json
import secrets
import threading
from collections.abc import Callable
from typing import Annotated, Any, Literal

import geopandas as gpd
import pandas as pd
import shapely
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.access import ForbiddenError, Scope
from api.deps import LangDep, ScopeDep, SettingsDep, StoreDep
from api.errors import ConflictError, declares
from api.i18n import t
from api.maps.base import Basemap
from api.workflows.placement import planning_model
from api.workflows.settings import assumptions
from api.workflows.whatif import WhatIf
from gis.camera import DORI_LEVELS
from layers.errors import UnknownLayerError
from layers.store import json_value, now_iso

router = APIRouter(tags=["what-if"])
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


#: what-if models kept at once in one process (one per user and baseline; the least recently used goes)
SESSIONS = 8
#: how often a change is tried again when another server process changed the same session meanwhile
_RETRIES = 5


@dataclasses.dataclass
class _Model:
    """One process's model of a session: the stored session's operations applied to a fresh model."""

    versions: dict[str, int]
    whatif: WhatIf
    ops: list[list[Any]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class _Session:
    """A user's what-if session as stored (in the accounts store, beside users and sessions): the
    workspace versions it started from and every camera set or removed since, in order. Any server
    process continues it: one that has not seen the latest operations replays them."""

    key: str
    versions: dict[str, int]
    ops: list[list[Any]]
    count: int = 0
    #: the cameras this user dropped or moved in this session (the only ones they may remove)
    placed: set[str] = dataclasses.field(default_factory=set)
    revision: str | None = None  # the stored revision this was read at (None: not stored yet)
    model: _Model | None = None


def session_ops(store: Any, scope: Scope, baseline: str) -> list[list[Any]]:
    """The operations (``[camera id, fields or None]``, in order) of the user's what-if session for
    ``baseline``: none when there is no session or the workspace's inputs changed since it began."""
    record = store.record("whatif", f"{scope.user.username}|{baseline}")
    state = json.loads(record["state"]) if record else None
    return list(state["ops"]) if state is not None and state["versions"] == store.versions() else []


def _load(request: Request, store: Any, scope: Scope, baseline: str) -> _Session:
    """The user's session for one baseline (a new one when the workspace's inputs changed), with a
    model that has applied all of its operations."""
    versions = store.versions()
    key = f"{scope.user.username}|{baseline}"
    record = store.record("whatif", key)
    state = json.loads(record["state"]) if record else None
    session = _Session(key, versions, [], revision=record["revision"] if record else None)
    if state is not None and state["versions"] == versions:
        session.ops, session.count, session.placed = state["ops"], int(state["count"]), set(state["placed"])
    models: collections.OrderedDict[str, _Model] = request.app.state.__dict__.setdefault(
        "whatif_models", collections.OrderedDict())
    model = models.get(key)
    if model is None or model.versions != versions or model.ops != session.ops[:len(model.ops)]:
        whatif = WhatIf(store, include_planned=baseline == "planned")
        model = models[key] = _Model(versions, whatif)
    if len(model.ops) < len(session.ops):  # operations another process made: applied here too
        models.pop(key)  # until they all apply
        for cam_id, fields in session.ops[len(model.ops):]:
            model.whatif.set_camera(cam_id, fields)
            model.ops.append([cam_id, fields])
        models[key] = model
        model.whatif.figures = model.whatif.model.grid_figures().set_index("code")
    elif not hasattr(model.whatif, "figures"):
        model.whatif.figures = model.whatif.model.grid_figures().set_index("code")
    models.move_to_end(key)
    while len(models) > SESSIONS:
        models.popitem(last=False)
    session.model = model
    return session


def _change(request: Request, store: Any, scope: Scope, baseline: str,
            act: Callable[[_Session], tuple[str, dict[str, Any] | None, Callable[[], Any]]]) -> Any:
    """Apply one operation to the user's session and store it (compare-and-set on its revision).

    ``act`` checks the request against the session and returns (camera id, fields or None to
    remove, what to do to the model); the model's answer is returned."""
    for _ in range(_RETRIES):
        with _lock:
            session = _load(request, store, scope, baseline)
            cam_id, fields, apply = act(session)
            assert session.model is not None
            try:
                answer = apply()
            except BaseException:
                request.app.state.whatif_models.pop(session.key, None)  # rebuilt from the stored session
                raise
            # a camera ends as its last operation left it: earlier ones on it go (the stored session
            # stays as long as the cameras in it, however often they are moved); the model is the one
            # these operations make
            session.ops = [op for op in session.ops if op[0] != cam_id] + [[cam_id, fields]]
            session.model.ops = list(session.ops)
            revision = secrets.token_hex(8)
            state = {"versions": session.versions, "ops": session.ops, "count": session.count,
                     "placed": sorted(session.placed)}
            record = {"key": session.key, "username": scope.user.username, "revision": revision,
                      "state": json.dumps(state, ensure_ascii=False, default=json_value), "updated_at": now_iso()}
            if session.revision is None:  # a new session: the first of two processes to store it wins
                stored = store.put_record("whatif", "key", record, absent=True)
            else:
                stored = store.put_record("whatif", "key", record, expect={"revision": session.revision})
            if stored:
                return answer
            request.app.state.whatif_models.pop(session.key, None)  # another process went first: again
    raise ConflictError("your what-if session kept changing in another window: try again")


def _workspace_camera(store: Any, scope: Scope, cam_id: str) -> bool:
    """Whether ``cam_id`` is a workspace camera; one outside the user's area is refused as unknown."""
    cams = store.read("cameras") if store.has("cameras") else None
    if cams is None or not (cams["id"].astype(str) == cam_id).any():
        return False
    mine = scope.filter(store, "cameras", cams)
    if not (mine["id"].astype(str) == cam_id).any():
        raise UnknownLayerError(f"no camera '{cam_id}' in your area")
    return True


@router.post("/whatif/cameras", summary="Drop a camera, or move one; its view and the coverage it adds",
             responses=declares(404, 409))
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
        spec = planning_model(camera.model, assumptions(store.settings()))  # a typical model, or the catalogue's
        cam_id = camera.id or ""
        fields = {"kind": spec.kind, "heading_deg": camera.heading_deg, "hfov_deg": spec.hfov_deg,
                  "focal_mm": spec.focal_mm, "sensor": spec.sensor, "resolution_px": spec.resolution_px,
                  "height_m": camera.height_m,
                  "tilt_deg": spec.tilt_deg if camera.tilt_deg is None else camera.tilt_deg,
                  "status": "active", "point_class": "1"}  # counted as if installed, whatever the baseline
    def act(session: _Session) -> tuple[str, dict[str, Any] | None, Callable[[], Any]]:
        assert session.model is not None
        name = cam_id
        if not name:
            name = f"WHATIF-{session.count + 1}"  # counted once it is placed
        elif camera.move is None and _workspace_camera(store, scope, name):
            raise ConflictError(f"'{name}' is a workspace camera: move it with 'move', or drop a new one "
                                "under another id")
        placed = {"lon": lon, "lat": lat, **fields}
        whatif = session.model.whatif

        def apply() -> Any:
            grids, targets = whatif.set_camera(name, placed)
            session.placed.add(name)
            if name == f"WHATIF-{session.count + 1}":
                session.count += 1
            return _answer(store, scope, whatif, name, grids, targets, Basemap.from_settings(settings),
                           camera.baseline, lang)

        return name, placed, apply

    return dict(_change(request, store, scope, camera.baseline, act))


CAMERA_FIELDS = ("kind", "heading_deg", "hfov_deg", "focal_mm", "sensor", "resolution_px", "height_m", "tilt_deg",
                 "status", "point_class", "resolution_v_px", "presets")


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


@router.delete("/whatif/cameras/{cam_id}", summary="Remove a dropped camera", responses=declares(409))
def remove_camera(request: Request, store: StoreDep, settings: SettingsDep, scope: ScopeDep, lang: LangDep,
                  cam_id: str, baseline: Literal["active", "planned"] = "active") -> dict[str, Any]:
    _may_place(scope)

    def act(session: _Session) -> tuple[str, dict[str, Any] | None, Callable[[], Any]]:
        assert session.model is not None
        if cam_id not in session.placed and not _workspace_camera(store, scope, cam_id):
            raise UnknownLayerError(f"no camera '{cam_id}' in your what-if session or your area")
        whatif = session.model.whatif

        def apply() -> Any:
            grids, targets = whatif.set_camera(cam_id, None)
            session.placed.discard(cam_id)
            return _answer(store, scope, whatif, cam_id, grids, targets, Basemap.from_settings(settings),
                           baseline, lang)

        return cam_id, None, apply

    return dict(_change(request, store, scope, baseline, act))


def _answer(store: Any, scope: Scope, session: WhatIf, cam_id: str, grids: Any, targets: Any,
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
