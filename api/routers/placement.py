"""Placement runs from the page: propose cameras, accept proposals as planned cameras."""

from __future__ import annotations

from typing import Annotated, Any

import shapely
from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from api import jobs
from api.access import ForbiddenError, Scope
from api.deps import ScopeDep, SettingsDep, StoreDep
from api.errors import declares
from api.jobs import Job
from api.maps.base import Basemap
from api.workflows.placement import accept as accept_picks
from api.workflows.placement import place
from gis.placement import DEFAULT_MODELS

router = APIRouter(tags=["placement"])


class PlacementRun(BaseModel):
    k: Annotated[int | None, Field(ge=1, le=500)] = None
    budget: Annotated[float | None, Field(gt=0)] = None
    cover_class: list[Annotated[str, Field(pattern="^[123]$")]] | None = None
    seconds: Annotated[float, Field(gt=0, le=300)] = 30.0
    greedy: bool = False
    heading_step_deg: Annotated[float, Field(ge=5, le=180)] = 30.0
    models: list[str] = Field(default_factory=lambda: list(DEFAULT_MODELS))


class Accept(BaseModel):
    ranks: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=1, max_length=500)]


@router.post("/placement/run", summary="Propose cameras and wait for the answer (short runs; else use jobs)")
def run(store: StoreDep, settings: SettingsDep, scope: ScopeDep, body: PlacementRun) -> dict[str, Any]:
    _may_place(scope)
    return _trimmed(store, scope, _run(store, settings, body, None)) or {}


@jobs.kind("placement")
def _placement_job(context: jobs.Context, params: dict[str, Any], progress: Any) -> dict[str, Any]:
    return _run(context.store, context.settings, PlacementRun(**params), progress)


@router.post("/placement/jobs", status_code=202, summary="Start a placement run in the background; poll its job")
def start_job(store: StoreDep, settings: SettingsDep, scope: ScopeDep, body: PlacementRun) -> Job:
    _may_place(scope)
    job = jobs.queue_for(store, settings).submit("placement", scope.user, body.model_dump())
    store.audit("placement_job", f"job:{job['id']}", body.model_dump(), user=scope.user.username)
    return Job(**job)


@router.get("/placement/jobs/{job_id}", summary="A placement job: status, progress and, when done, the proposals")
def get_job(store: StoreDep, settings: SettingsDep, scope: ScopeDep,
            job_id: Annotated[str, Path(pattern="^[0-9a-f]{16}$")]) -> Job:
    job = jobs.queue_for(store, settings).get(job_id, scope, "placement")
    return Job(**(job | {"result": _trimmed(store, scope, job["result"])}))


def _trimmed(store: Any, scope: Scope, result: dict[str, Any] | None) -> dict[str, Any] | None:
    """A placement answer as the reader may see it: proposals and grids inside their area only."""
    if result is None:
        return None
    rows = result["proposals"]
    if not scope.everywhere:
        where = scope.contains([shapely.Point(r["_lon"], r["_lat"]) for r in rows])
        rows = [r for r, keep in zip(rows, where, strict=True) if keep]
        rows = [r | {"grids": ",".join(g for g in r["grids"].split(",") if g in scope.grids)} for r in rows]
    return result | {"proposals": [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]}


def _run(store: Any, settings: Any, body: PlacementRun, progress: Any) -> dict[str, Any]:
    result = place(store, k=body.k, budget=body.budget, cover_classes=body.cover_class,
                   seconds=body.seconds, method="greedy" if body.greedy else "milp",
                   heading_step_deg=body.heading_step_deg, models=tuple(body.models), progress=progress)
    props = result.proposals.to_crs(4326)
    stored = props.geometry  # lon/lat as stored: where the area policy looks
    basemap = Basemap.from_settings(settings)  # proposals are drawn on the page's basemap
    props = props.set_geometry(basemap.display(props.geometry.to_numpy()))
    rows = [{"rank": int(p["rank"]), "site": str(p["site"]), "model": str(p["model"]),
             "heading_deg": float(p["heading_deg"]), "gain": float(p["gain"]), "targets": str(p["targets"]),
             "grids": str(p["grids"]), "blind_spots_closed": int(p["blind_spots_closed"]), "cost": float(p["cost"]),
             "lon": float(p.geometry.x), "lat": float(p.geometry.y), "_lon": float(stored.iat[i].x),
             "_lat": float(stored.iat[i].y)} for i, (_, p) in enumerate(props.iterrows())]
    fields = ("problem", "objective", "bound", "gap", "status", "cost", "uncoverable")
    return {k: getattr(result, k) for k in fields} | {"proposals": rows}


@router.post("/placement/accept", summary="Turn proposals of the last run into planned cameras",
             responses=declares(404))
def accept(store: StoreDep, scope: ScopeDep, body: Accept) -> dict[str, list[str]]:
    _may_place(scope)
    scope.allow_write("cameras")
    return {"cameras": accept_picks(store, body.ranks, user=scope.user.username)}


def _may_place(scope: Scope) -> None:
    if not scope.user.role.can_place:
        raise ForbiddenError(f"role '{scope.user.role.name}' does not place cameras")
    # the optimiser weighs the whole workspace's demand and proposes anywhere in it
    scope.allow_whole_workspace("a placement run")
