"""Read access to the workspace's layers (GeoJSON)."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import ScopeDep, StoreDep
from layers.errors import UnknownLayerError

router = APIRouter(tags=["layers"])
PERSONAL = {"households"}  # personal information: detail only for roles that need it, in their area, audited


@router.get("/layers", summary="Layers in the workspace with row counts and versions")
def list_layers(store: StoreDep, scope: ScopeDep) -> list[dict[str, Any]]:
    """The layers this user may read (row counts are the workspace's, not the area's)."""
    return [{"name": i.name, "rows": i.rows, "version": i.version, "updated_at": i.updated_at,
             "geometry_type": i.geometry_type} for i in store.layers() if i.name in scope.user.role.reads]


@router.get("/layers/{name}", summary="One layer as GeoJSON (rows in your area), optionally within a lon/lat bbox")
def read_layer(store: StoreDep, scope: ScopeDep, name: str,
               bbox: Annotated[str | None, Query(pattern=r"^-?[\d.]+,-?[\d.]+,-?[\d.]+,-?[\d.]+$",
                                                  description="west,south,east,north in degrees")] = None,
               grid: Annotated[str | None, Query(max_length=32, description="only rows in this grid")] = None,
               reason: Annotated[str | None, Query(max_length=200, description="why household detail is read")] = None,
               ) -> Response:
    if not store.has(name):
        raise UnknownLayerError(f"workspace has no layer '{name}'")
    scope.allow_read(name)
    if name in PERSONAL:
        if not scope.user.role.household_detail:
            raise PermissionError(f"role '{scope.user.role.name}' sees households as aggregates only")
        if not reason or not reason.strip():
            raise ValueError("household detail is personal information: say why in 'reason' (it is audited)")
    box = tuple(float(v) for v in bbox.split(",")) if bbox else None
    frame = scope.filter(store, name, store.read(name, bbox=box if name not in PERSONAL else None))
    if grid is not None:
        frame = _in_grid(store, scope, name, frame, grid)
    if name in PERSONAL:
        store.audit("view", "households", {"rows": len(frame), "area": scope.user.area.describe(),
                                           "grid": grid, "reason": reason}, user=scope.user.username)
    body = frame.to_json(drop_id=True, ensure_ascii=False, default=str) if hasattr(frame, "geometry") else (
        json.dumps(frame.to_dict(orient="records"), ensure_ascii=False, default=str))
    return Response(body, media_type="application/geo+json",
                    headers={"ETag": f'W/"{name}-{store.version(name)}"'})


def _in_grid(store: Any, scope: Any, name: str, frame: Any, grid: str) -> Any:
    from api.access import Area, Scope

    one = Scope.of(store, dataclasses.replace(scope.user, area=Area(grids=(grid,))))
    if not one.grids:
        raise UnknownLayerError(f"no grid '{grid}' in this workspace")
    return one.filter(store, name, frame)
