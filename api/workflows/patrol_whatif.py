"""Patrol plans as jobs, stored or what-if: a what-if plan takes the cameras of the user's what-if
session (dropped, moved or removed on the placement page), so the uncovered risk and the routes
follow a camera that is not there yet. The answer holds only what lies in the starter's area."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from api.access import Scope
from api.maps.base import Basemap
from api.workflows.patrol import PatrolPlan, model_of, plan_patrols, summary
from api.workflows.whatif import WhatIf
from layers.store import Store, json_value


def session_views(store: Store, ops: Sequence[Sequence[Any]], *, include_planned: bool, level: str,
                  light: str = "day") -> list[shapely.Geometry]:
    """The watching views at ``level`` (metric; by day, or at night) once a what-if session's operations
    (``[camera id, fields or None]`` in order, as the what-if routes store them) are applied to the workspace."""
    whatif = WhatIf(store, include_planned=include_planned, light=light)
    for cam_id, fields in ops:
        whatif.set_camera(str(cam_id), fields)
    cov = whatif.model
    return [cov.view(str(c), level) for c in cov.views.index if cov.is_covering(str(c))]


def run_plan(store: Store, scope: Scope, params: dict[str, Any], basemap: Basemap,
             progress: Any = None) -> dict[str, Any]:
    """Plan one slot's patrols as a job does: stored (``whatif`` false) or what-if, on the session's
    cameras (``ops``); the answer is :func:`answer`'s."""
    whatif = bool(params.get("whatif"))
    planned = params.get("baseline") == "planned"
    views = night_views = None
    if whatif:
        if progress:
            progress("cameras of the what-if session")
        ops, level = params.get("ops") or [], model_of(store).dori_level
        views = session_views(store, ops, include_planned=planned, level=level)
        night_views = session_views(store, ops, include_planned=planned, level=level, light="night")
    plan = plan_patrols(store, slot=params["slot"], units=dict(params["units"]), shift_h=float(params["shift_h"]),
                        n_zones=int(params["zones"]), k_checkpoints=params.get("checkpoints"),
                        seconds=float(params["seconds"]), seed=int(params.get("seed", 0)), views=views,
                        night_views=night_views,
                        include_planned=planned, write=not whatif, progress=progress)
    return answer(store, scope, plan, params["slot"], basemap, whatif=whatif)


def _features(frame: gpd.GeoDataFrame, cols: list[str], basemap: Basemap) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of ``frame`` (lon/lat) as drawn on the basemap."""
    shown = frame[[c for c in cols if c in frame]].copy()
    shown = gpd.GeoDataFrame(shown, geometry=basemap.display(frame.geometry.to_numpy()), crs=4326)
    return json.loads(shown.to_json(drop_id=True, na="null"))


def answer(store: Store, scope: Scope, plan: PatrolPlan, slot: str, basemap: Basemap, *,
           whatif: bool) -> dict[str, Any]:
    """A plan's figures and routes as ``scope`` may see them: the streets, routes and stops in the
    area only (the one area policy), and the solver reports only to a whole-workspace user."""
    wanted = model_of(store).slot(slot)
    streets = scope.filter(store, "patrol_streets", plan.streets.to_crs(4326))
    routes = plan.routes.to_crs(4326) if len(plan.routes) else gpd.GeoDataFrame({"slot": []}, geometry=[], crs=4326)
    routes = scope.filter(store, "patrol_routes", routes)
    stops = plan.stops.to_crs(4326) if len(plan.stops) else gpd.GeoDataFrame({"slot": []}, geometry=[], crs=4326)
    stops = scope.filter(store, "patrol_stops", stops)
    figures = summary(streets, routes if len(routes) else pd.DataFrame({"slot": []}), wanted)
    out: dict[str, Any] = {
        "slot": wanted.label, "whatif": whatif, "stored": not whatif, **figures,
        "routes": _features(routes, ["unit", "kind", "station_id", "stops", "km", "start", "end", "prize"], basemap),
        "stops": _features(stops, ["unit", "order", "arrive", "dwell_minutes", "street"], basemap)}
    if scope.everywhere:
        out["solves"] = json.loads(json.dumps(plan.solves, default=json_value))
    return out
