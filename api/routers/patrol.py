"""The patrol plan as a resource: its figures per slot (in your area) and the patrol model (TOML)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from api import jobs
from api.access import ForbiddenError, Scope
from api.deps import ScopeDep, SettingsDep, StoreDep
from api.jobs import Job
from api.maps.base import Basemap
from api.routers.whatif import session_ops
from api.workflows.patrol import model_of, summary
from api.workflows.patrol_whatif import run_plan
from gis.patrol.model import PatrolModelError, Slot

router = APIRouter(tags=["patrol"])
SLOT_PATTERN = r"^((all|weekday|weekend):)?\d{1,2}-\d{1,2}$"


class PatrolRun(BaseModel):
    """One slot's patrol plan: the units per station, their shift, the zones and checkpoints, the
    solver's time per station; ``whatif`` plans on the cameras of your what-if session (for
    ``baseline``) and stores nothing, else the plan is stored for the whole workspace."""

    slot: Annotated[str, Field(max_length=20, pattern=SLOT_PATTERN)] = "18-24"
    units: Annotated[dict[Annotated[str, Field(pattern="^[a-z_]{1,20}$")], Annotated[int, Field(ge=0, le=50)]],
                     Field(min_length=1, max_length=10)] = Field(default_factory=lambda: {"foot": 2})
    shift_h: Annotated[float, Field(gt=0, le=12)] = 4.0
    zones: Annotated[int, Field(ge=1, le=20)] = 3
    checkpoints: Annotated[int | None, Field(ge=0, le=100)] = None
    seconds: Annotated[float, Field(gt=0, le=120)] = 5.0
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    whatif: bool = False
    baseline: Literal["active", "planned"] = "active"


@router.get("/patrol", summary="Uncovered risk before and after the stored patrols, per slot, in your area")
def get_patrol(store: StoreDep, scope: ScopeDep,
               slot: Annotated[str | None, Query(max_length=20, pattern=SLOT_PATTERN,
                                                 description="18-24, weekday:18-24 …")] = None) -> dict[str, Any]:
    scope.allow_read("patrol_routes")
    routes = scope.filter(store, "patrol_routes", store.read("patrol_routes")) if store.has("patrol_routes") else None
    streets = scope.filter(store, "patrol_streets", store.read("patrol_streets")) if store.has(
        "patrol_streets") else None
    stored = sorted(set(routes["slot"].astype(str))) if routes is not None and len(routes) else []
    model = model_of(store)
    wanted = [Slot.parse(slot)] if slot else [Slot.parse(s) for s in stored] or list(model.slots)
    stamps = store.get_meta("patrol") or {}
    out = []
    for s in wanted:
        figures = summary(streets, routes, s) if streets is not None and routes is not None else {
            "before": 0.0, "routed": 0.0, "after": 0.0, "absorbed": 0.0, "routes": 0, "stops": 0}
        stamp = stamps.get(s.label) or {}
        entry = {"slot": s.label, "planned": s.label in stored, **figures,
                 "model_version": stamp.get("model_version"), "computed_at": stamp.get("computed_at")}
        if scope.everywhere and stamp:  # station totals and solver reports span the whole workspace
            entry["solves"] = stamp.get("solves", [])
        out.append(entry)
    return {"slots": out, "model_version": int(store.settings().get("patrol_model_version", 0))}


@router.get("/patrol/model", summary="The patrol model in use (TOML)",
            responses={200: {"content": {"application/toml": {"schema": {"type": "string"}}},
                             "description": "the model as TOML"}})
def get_model(store: StoreDep, scope: ScopeDep) -> PlainTextResponse:
    scope.allow_read("patrol_routes")
    version = int(store.settings().get("patrol_model_version", 0))
    return PlainTextResponse(model_of(store).text, headers={"ETag": f'W/"patrol-model-{version}"'},
                             media_type="application/toml")


def _may_patrol(store: Any, scope: Scope, body: PatrolRun) -> None:
    if not scope.user.role.can_patrol:
        raise ForbiddenError(f"role '{scope.user.role.name}' may not plan patrols")
    scope.allow_read("patrol_routes")
    if not body.whatif:
        scope.allow_whole_workspace("a stored patrol plan")
    model = model_of(store)
    unknown = sorted(set(body.units) - set(model.units))
    if unknown:
        raise PatrolModelError(f"units: no unit kind {', '.join(unknown)} in the patrol model; "
                               f"its kinds are {', '.join(sorted(model.units))}")
    if not sum(body.units.values()):
        raise PatrolModelError("units: every count is 0; give at least one unit (foot: 2, say)")
    model.slot(body.slot)  # an unknown or malformed slot is refused here, not in the job


@jobs.kind("patrol")
def _patrol_job(context: jobs.Context, params: dict[str, Any], progress: Any) -> dict[str, Any]:
    return run_plan(context.store, Scope.of(context.store, context.user), params,
                    Basemap.from_settings(context.settings), progress)


@router.post("/patrol/jobs", status_code=202, summary="Plan one slot's patrols in the background (stored or "
             "what-if); poll its job")
def start_job(store: StoreDep, settings: SettingsDep, scope: ScopeDep, body: PatrolRun) -> Job:
    _may_patrol(store, scope, body)
    params = body.model_dump() | {"ops": session_ops(store, scope, body.baseline) if body.whatif else []}
    job = jobs.queue_for(store, settings).submit("patrol", scope.user, params)
    store.audit("patrol_job", f"job:{job['id']}", body.model_dump(), user=scope.user.username)
    return Job(**job)


@router.get("/patrol/jobs/{job_id}", summary="A patrol job: status, progress and, when done, its figures and routes "
            "in your area")
def get_job(store: StoreDep, settings: SettingsDep, scope: ScopeDep,
            job_id: Annotated[str, Path(pattern="^[0-9a-f]{16}$")]) -> Job:
    return Job(**jobs.queue_for(store, settings).get(job_id, scope, "patrol"))
