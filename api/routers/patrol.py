"""The patrol plan as a resource: its figures per slot (in your area) and the patrol model (TOML)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from api.deps import ScopeDep, StoreDep
from api.workflows.patrol import model_of, summary
from gis.patrol.model import Slot

router = APIRouter(tags=["patrol"])


@router.get("/patrol", summary="Uncovered risk before and after the stored patrols, per slot, in your area")
def get_patrol(store: StoreDep, scope: ScopeDep,
               slot: Annotated[str | None, Query(max_length=20, pattern=r"^((all|weekday|weekend):)?\d{1,2}-\d{1,2}$",
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
