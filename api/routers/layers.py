"""Read access to the workspace's layers (GeoJSON)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Annotated, Any

import geopandas as gpd
import pandas as pd
import shapely
from fastapi import APIRouter, Header, Query
from fastapi.responses import Response
from geojson_pydantic import Feature
from geojson_pydantic.geometries import Geometry

from api.access import Area, Scope
from api.deps import ScopeDep, StoreDep
from api.errors import ERRORS, ConflictError, PreconditionFailedError, PreconditionRequiredError
from layers.errors import UnknownLayerError

router = APIRouter(tags=["layers"], responses=ERRORS)
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
               community: Annotated[str | None, Query(max_length=32, description="only rows in this community")
                                    ] = None,
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
        frame = _within(store, scope, name, frame, Area(grids=(grid,)), f"grid '{grid}'")
    if community is not None:
        frame = _within(store, scope, name, frame, Area(communities=(community,)), f"community '{community}'")
    if name in PERSONAL:
        store.audit("view", "households", {"rows": len(frame), "area": scope.user.area.describe(),
                                           "grid": grid, "reason": reason}, user=scope.user.username)
    body = frame.to_json(drop_id=True, ensure_ascii=False, default=str) if isinstance(frame, gpd.GeoDataFrame) else (
        json.dumps(frame.to_dict(orient="records"), ensure_ascii=False, default=str))
    return Response(body, media_type="application/geo+json",
                    headers={"ETag": f'W/"{name}-{store.version(name)}"'})


def _within(store: Any, scope: Any, name: str, frame: Any, area: Any, what: str) -> Any:
    """The rows of ``frame`` (already in the user's area) that also lie in ``area``."""
    one = Scope.of(store, dataclasses.replace(scope.user, area=area))
    if not one.grids:
        raise UnknownLayerError(f"no {what} in this workspace")
    return one.filter(store, name, frame)


# ---- editing features: every change carries the feature's ETag (If-Match) --------------------------
EDITABLE = {"communities", "grids", "buildings", "households", "roads", "targets", "incidents", "cameras", "sites"}
FeatureIn = Feature[Geometry, dict[str, Any]]


def etag_of(row: pd.Series) -> str:
    """A strong ETag from a feature's stored content: properties and geometry."""
    props = {k: (None if _missing(v) else str(v)) for k, v in row.items() if k != "geometry"}
    geom = row.get("geometry")
    wkb = shapely.to_wkb(geom, hex=True, output_dimension=2) if geom is not None else ""
    digest = hashlib.sha256((json.dumps(props, sort_keys=True, ensure_ascii=False) + wkb).encode()).hexdigest()
    return f'"{digest[:20]}"'


def _missing(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _key(name: str) -> str:
    return "code" if name in ("communities", "grids") else "id"


def _one(frame: pd.DataFrame, key: str, fid: str) -> pd.Series | None:
    hit = frame[frame[key].astype(str) == fid]
    return None if hit.empty else hit.iloc[0]


def _check_place(scope: Any, store: Any, name: str, geoms: list[Any]) -> None:
    if scope.everywhere or name == "households":
        return
    if not scope.contains(geoms).all():
        raise PermissionError("that feature lies outside your area")


@router.get("/layers/{name}/{fid}", summary="One feature with its ETag")
def read_feature(store: StoreDep, scope: ScopeDep, name: str, fid: str) -> Response:
    if name in PERSONAL or name not in EDITABLE:
        raise PermissionError(f"'{name}' features are not served one by one")
    scope.allow_read(name)
    row = _one(scope.filter(store, name, store.read(name)), _key(name), fid)
    if row is None:
        raise UnknownLayerError(f"no feature '{fid}' in {name} (in your area)")
    frame = gpd.GeoDataFrame([row], crs=4326)
    body = json.loads(frame.to_json(drop_id=True, ensure_ascii=False, default=str))["features"][0]
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/geo+json",
                    headers={"ETag": etag_of(row)})


def _edit(store: Any, scope: Any, name: str, fid: str | None, feature: Any, if_match: str | None,
          action: str) -> Response:
    from layers import validate

    if name not in EDITABLE:
        raise PermissionError(f"'{name}' is computed, not edited: recompute it instead")
    scope.allow_write(name)
    key = _key(name)
    new_row: dict[str, Any] | None = None
    if feature is not None:
        props = dict(feature.properties or {})
        if fid is not None and str(props.get(key, fid)) != fid:
            raise ValueError(f"the feature's '{key}' ({props.get(key)}) differs from the URL ({fid})")
        fid = str(props.setdefault(key, fid))
        geom = shapely.from_geojson(json.dumps(feature.geometry.model_dump(exclude_none=True)))
        new_row = props | {"geometry": geom}
        _check_place(scope, store, name, [geom])
    if action != "create" and not if_match:
        store.audit(f"{action}_refused", f"{name}:{fid}", {"reason": "no If-Match"}, user=scope.user.username)
        raise PreconditionRequiredError("send If-Match with the ETag you read (GET the feature first)")
    outcome: dict[str, Any] = {}

    def change(frame: pd.DataFrame) -> pd.DataFrame:
        current = _one(frame, key, str(fid))
        if action == "create":
            if current is not None:
                raise ConflictError(f"{name} already has '{fid}': edit it with PUT and its ETag")
        else:
            if current is None:
                raise UnknownLayerError(f"no feature '{fid}' in {name}")
            _check_place(scope, store, name, [current["geometry"]] if "geometry" in current else [])
            if if_match not in (etag_of(current), f"W/{etag_of(current)}"):
                raise PreconditionFailedError(f"{name} '{fid}' changed since you read it: read it again, "
                                              "then repeat your edit", etag_of(current))
        rest = frame[frame[key].astype(str) != str(fid)]
        if new_row is None:
            return rest
        added = gpd.GeoDataFrame([new_row], geometry="geometry", crs=4326)
        merged = pd.concat([rest, added], ignore_index=True)
        checked = validate.validate(gpd.GeoDataFrame(merged, geometry="geometry", crs=4326), name,
                                    source=f"{action} by {scope.user.username}")
        outcome["row"] = _one(checked, key, str(fid))
        return checked

    try:
        version = store.update(name, change, message=f"{action} {name}:{fid} by {scope.user.username}")
    except PreconditionFailedError as exc:
        store.audit(f"{action}_conflict", f"{name}:{fid}", {"sent": if_match, "current": exc.etag},
                    user=scope.user.username)
        raise
    etag = etag_of(outcome["row"]) if "row" in outcome else None
    store.audit(action, f"{name}:{fid}", {"version": version}, user=scope.user.username)
    return Response(json.dumps({"id": fid, "layer": name, "layer_version": version, "etag": etag}),
                    status_code=201 if action == "create" else 200, media_type="application/json",
                    headers={"ETag": etag} if etag else {})


@router.post("/layers/{name}", summary="Add a feature (GeoJSON Feature, validated)", status_code=201)
def create_feature(store: StoreDep, scope: ScopeDep, name: str, feature: FeatureIn) -> Response:
    return _edit(store, scope, name, None, feature, None, "create")


@router.put("/layers/{name}/{fid}", summary="Replace a feature; needs If-Match with its ETag (412 if stale)")
def update_feature(store: StoreDep, scope: ScopeDep, name: str, fid: str, feature: FeatureIn,
                   if_match: Annotated[str | None, Header()] = None) -> Response:
    return _edit(store, scope, name, fid, feature, if_match, "update")


@router.delete("/layers/{name}/{fid}", summary="Delete a feature; needs If-Match with its ETag (412 if stale)")
def delete_feature(store: StoreDep, scope: ScopeDep, name: str, fid: str,
                   if_match: Annotated[str | None, Header()] = None) -> Response:
    return _edit(store, scope, name, fid, None, if_match, "delete")
