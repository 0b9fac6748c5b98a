"""Read access to the workspace's layers (GeoJSON)."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any

import geopandas as gpd
import pandas as pd
import shapely
from fastapi import APIRouter, Header, Query
from fastapi.responses import Response
from geojson_pydantic import Feature
from geojson_pydantic.geometries import Geometry

from api import geojson
from api.access import BASE, Area, ForbiddenError, Scope
from api.deps import LangDep, Page, ScopeDep, StoreDep, paging
from api.errors import ConflictError, PreconditionFailedError, PreconditionRequiredError, declares
from api.exports import files
from api.exports.source import Source
from api.openapi import GEOJSON, answers
from layers import references, validate
from layers.errors import LayerValidationError, UnknownLayerError
from layers.store import json_value

router = APIRouter(tags=["layers"])
PERSONAL = {"households"}  # personal information: detail only for roles that need it, in their area, audited


@router.get("/layers", summary="Layers in the workspace with row counts and versions")
def list_layers(store: StoreDep, scope: ScopeDep, page: Annotated[Page, paging(100, 1000)]) -> list[dict[str, Any]]:
    """The layers this user may read (row counts are the workspace's, not the area's)."""
    return page.take([{"name": i.name, "rows": i.rows, "version": i.version, "updated_at": i.updated_at,
                       "geometry_type": i.geometry_type} for i in store.layers() if i.name in scope.user.role.reads])


@router.get("/layers/{name}", summary="One layer as GeoJSON (rows in your area), optionally within a lon/lat bbox",
            **answers("a FeatureCollection (a layer with geometry), or rows (a table)", GEOJSON, "application/json"))
def read_layer(store: StoreDep, scope: ScopeDep, lang: LangDep, name: str,
               bbox: Annotated[str | None, Query(pattern=r"^-?[\d.]+,-?[\d.]+,-?[\d.]+,-?[\d.]+$",
                                                  description="west,south,east,north in degrees")] = None,
               grid: Annotated[str | None, Query(max_length=32, description="only rows in this grid")] = None,
               community: Annotated[str | None, Query(max_length=32, description="only rows in this community")
                                    ] = None,
               reason: Annotated[str | None, Query(max_length=200, description="why household detail is read")] = None,
               limit: Annotated[int | None, Query(ge=1, le=100_000, description="at most this many features")
                                ] = None,
               offset: Annotated[int, Query(ge=0, description="skip this many features first (with limit: "
                                                              "pages)")] = 0,
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
    # the same output path as the exports: rows of the area, household counts suppressed below 5
    frame, _ = files.layer_frame(Source(store, scope, lang), name, detail=name in PERSONAL, reason=reason,
                                 bbox=box)
    if grid is not None:
        frame = _within(store, scope, name, frame, Area(grids=(grid,)), f"grid '{grid}'")
    if community is not None:
        frame = _within(store, scope, name, frame, Area(communities=(community,)), f"community '{community}'")
    if name in PERSONAL:
        store.audit("view", "households", {"rows": len(frame), "area": scope.user.area.describe(),
                                           "grid": grid, "reason": reason}, user=scope.user.username)
    matched = len(frame)
    frame = frame.iloc[offset:None if limit is None else offset + limit]
    page = {"X-Total-Count": str(matched)}
    if not isinstance(frame, gpd.GeoDataFrame):
        return Response(json.dumps(frame.to_dict(orient="records"), ensure_ascii=False, default=str),
                        media_type="application/json", headers={"ETag": f'W/"{name}-{store.version(name)}"', **page})
    doc = geojson.feature_collection(frame, geojson.feature_key(frame, name), matched)
    return Response(json.dumps(doc, ensure_ascii=False, default=str), media_type="application/geo+json",
                    headers={"ETag": f'W/"{name}-{store.version(name)}"', **page})


def _within(store: Any, scope: Any, name: str, frame: Any, area: Any, what: str) -> Any:
    """The rows of ``frame`` (already in the user's area) that also lie in ``area``."""
    one = Scope.of(store, dataclasses.replace(scope.user, area=area))
    if not one.grids:
        raise UnknownLayerError(f"no {what} in this workspace")
    return one.filter(store, name, frame)


# ---- editing features: every change carries the feature's ETag (If-Match) --------------------------
#: the input layers are edited (the computed ones are recomputed): the roles' base layers
EDITABLE = BASE
#: editable layers without geometry (a household lives in its building)
TABLES = {"households"}
FeatureIn = Feature[Geometry, dict[str, Any]]  # geometry and properties may be null


def _key(name: str) -> str:
    return "code" if name in ("communities", "grids") else "id"


def _one(frame: pd.DataFrame, key: str, fid: str) -> pd.Series | None:
    hit = frame[frame[key].astype(str) == fid]
    return None if hit.empty else hit.iloc[0]


def _not_found(name: str, fid: str | None) -> UnknownLayerError:
    # the same answer for a row that does not exist and one outside the user's area
    return UnknownLayerError(f"no feature '{fid}' in {name} (in your area)")


@router.get("/layers/{name}/{fid}", summary="One feature with its ETag")
def read_feature(store: StoreDep, scope: ScopeDep, name: str, fid: str) -> Response:
    if name in PERSONAL or name not in EDITABLE:
        raise PermissionError(f"'{name}' features are not served one by one")
    scope.allow_read(name)
    if not store.has(name):
        raise _not_found(name, fid)
    row = store.row(name, _key(name), fid)
    if row is None or not scope.shows(store, name, row.to_dict()):
        raise _not_found(name, fid)
    geom = row.get("geometry")
    body = {"type": "Feature",
            "geometry": None if geom is None or geom.is_empty else json.loads(shapely.to_geojson(geom)),
            "properties": {str(k): json_value(v) for k, v in row.items() if k != "geometry"}}
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/geo+json",
                    headers={"ETag": scope.etag(store, name, row)})


def _sent_row(name: str, key: str, fid: str | None, feature: Any) -> tuple[str, dict[str, Any]]:
    """The row a request sends: its key and fields, with its geometry (None for a household)."""
    props = dict(feature.properties or {})
    if fid is not None and str(props.get(key, fid)) != fid:
        raise ValueError(f"the feature's '{key}' ({props.get(key)}) differs from the URL ({fid})")
    fid = str(props.setdefault(key, fid))
    if not fid or fid == "None":
        raise ValueError(f"the feature has no '{key}': give it in the properties")
    if feature.geometry is None:
        if name not in TABLES:
            raise ValueError(f"a feature of {name} needs a geometry (GeoJSON 'geometry' is null)")
        return fid, props
    if name in TABLES:
        raise ValueError(f"{name} have no geometry of their own (a household is placed by its building_id): "
                         "send 'geometry': null")
    geom = shapely.from_geojson(json.dumps(feature.geometry.model_dump(exclude_none=True)))
    return fid, props | {"geometry": geom}


def _edit(store: Any, scope: Any, name: str, fid: str | None, feature: Any, if_match: str | None,
          action: str) -> Response:
    if name not in EDITABLE:
        raise PermissionError(f"'{name}' is computed, not edited: recompute it instead")
    scope.allow_write(name)
    key = _key(name)
    new_row: dict[str, Any] | None = None
    if feature is not None:
        fid, new_row = _sent_row(name, key, fid, feature)
        if not scope.holds(store, name, new_row):
            store.audit(f"{action}_refused", f"{name}:{fid}", {"reason": "sent outside the area"},
                        user=scope.user.username)
            raise ForbiddenError("that feature would lie outside your area" if name not in TABLES else
                                 f"building '{new_row.get('building_id')}' is not in your area")
    if action != "create" and not if_match:
        raise PreconditionRequiredError("send If-Match with the ETag you read (GET the feature first)")
    outcome: dict[str, Any] = {}
    scope.ready_etags(store)  # ETags are compared inside the write lock, where no other write may happen
    checked = None
    if new_row is not None:
        # the sent row is validated alone, before the write lock (nothing in it depends on the stored
        # row); its id's uniqueness is the store's (the row is looked up by it, and a unique index
        # holds it against every other writer)
        source = f"{action} by {scope.user.username}"
        checked = (validate.validate(pd.DataFrame([new_row]), name, source=source) if name in TABLES else
                   validate.validate(gpd.GeoDataFrame([new_row], geometry="geometry", crs=4326), name,
                                     source=source))
        wrong = references.problems(store, name, checked)
        if wrong:
            raise LayerValidationError(name, wrong, source)

    def decide(current: pd.Series | None) -> pd.DataFrame | None:
        # runs inside the store's transaction, the stored row locked: only this row is read and checked
        if current is not None and not scope.holds(store, name, current.to_dict()):
            # a row outside the area is not there for this user: nothing is compared or told about it
            outcome["refused"] = "stored outside the area"  # audited once the transaction is over
            if action == "create":
                raise ConflictError(f"{name} cannot take '{fid}': choose another {key}")
            raise _not_found(name, fid)
        if action == "create":
            if current is not None:
                raise ConflictError(f"{name} already has '{fid}': edit it with PUT and its ETag")
        else:
            if current is None:
                raise _not_found(name, fid)
            etag = scope.etag(store, name, current)
            if if_match not in (etag, f"W/{etag}"):
                raise PreconditionFailedError(f"{name} '{fid}' changed since you read it: read it again, "
                                              "then repeat your edit", etag)
        return checked

    try:
        version, stored = store.edit(name, key, str(fid), decide,
                                     message=f"{action} {name}:{fid} by {scope.user.username}",
                                     audit=(action, f"{name}:{fid}", scope.user.username))
    except PreconditionFailedError as exc:
        store.audit(f"{action}_conflict", f"{name}:{fid}", {"sent": if_match}, user=scope.user.username)
        raise exc from None
    except (UnknownLayerError, ConflictError):
        if "refused" in outcome:
            store.audit(f"{action}_refused", f"{name}:{fid}", {"reason": outcome["refused"]},
                        user=scope.user.username)
        raise
    etag = scope.etag(store, name, stored) if stored is not None else None
    return Response(json.dumps({"id": fid, "layer": name, "layer_version": version, "etag": etag}),
                    status_code=201 if action == "create" else 200, media_type="application/json",
                    headers={"ETag": etag} if etag else {})


@router.post("/layers/{name}", summary="Add a feature (GeoJSON Feature, validated)", status_code=201,
             responses=declares(409))
def create_feature(store: StoreDep, scope: ScopeDep, name: str, feature: FeatureIn) -> Response:
    return _edit(store, scope, name, None, feature, None, "create")


@router.put("/layers/{name}/{fid}", summary="Replace a feature; needs If-Match with its ETag (412 if stale)",
            responses=declares(412, 428))
def update_feature(store: StoreDep, scope: ScopeDep, name: str, fid: str, feature: FeatureIn,
                   if_match: Annotated[str | None, Header()] = None) -> Response:
    return _edit(store, scope, name, fid, feature, if_match, "update")


@router.delete("/layers/{name}/{fid}", summary="Delete a feature; needs If-Match with its ETag (412 if stale)",
               responses=declares(412, 428))
def delete_feature(store: StoreDep, scope: ScopeDep, name: str, fid: str,
                   if_match: Annotated[str | None, Header()] = None) -> Response:
    return _edit(store, scope, name, fid, None, if_match, "delete")
