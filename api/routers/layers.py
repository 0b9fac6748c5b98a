"""Read access to the workspace's layers (GeoJSON)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import StoreDep

router = APIRouter(tags=["layers"])
PERSONAL = {"households"}  # personal information: served only through the access-controlled API


@router.get("/layers", summary="Layers in the workspace with row counts and versions")
def list_layers(store: StoreDep) -> list[dict[str, Any]]:
    return [{"name": i.name, "rows": i.rows, "version": i.version, "updated_at": i.updated_at,
             "geometry_type": i.geometry_type} for i in store.layers()]


@router.get("/layers/{name}", summary="One layer as GeoJSON, optionally within a lon/lat bbox")
def read_layer(store: StoreDep, name: str,
               bbox: Annotated[str | None, Query(pattern=r"^-?[\d.]+,-?[\d.]+,-?[\d.]+,-?[\d.]+$",
                                                  description="west,south,east,north in degrees")] = None
               ) -> Response:
    if name in PERSONAL:
        raise PermissionError("household detail is personal information and is not served by this endpoint")
    box = tuple(float(v) for v in bbox.split(",")) if bbox else None
    frame = store.read(name, bbox=box)
    body = frame.to_json(drop_id=True, ensure_ascii=False) if hasattr(frame, "geometry") else (
        json.dumps(frame.to_dict(orient="records"), ensure_ascii=False, default=str))
    return Response(body, media_type="application/geo+json",
                    headers={"ETag": f'W/"{name}-{store.version(name)}"'})
