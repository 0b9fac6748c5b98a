"""OGC API – Features (Part 1 Core, GeoJSON, OpenAPI 3.0; Part 2 CRS), read-only, at ``/ogc``.

QGIS and GDAL (``OAPIF:http://host/ogc``) connect here to the live workspace. Every answer goes
through the same area policy and login as the rest of the API: a collection is a layer the user's
role may read, its items the rows in the user's area. Household detail is never served here.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any
from urllib.parse import urlencode

import geopandas as gpd
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pyproj import CRS, Transformer

from api import geojson
from api.deps import LangDep, ScopeDep, StoreDep
from api.exports import files
from api.exports.source import Source
from api.i18n import t
from api.openapi import answers
from layers.errors import UnknownLayerError
from layers.store import json_value

router = APIRouter(prefix="/ogc", tags=["OGC API – Features"])

CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
)
#: layers never offered as collections: personal detail (households are served aggregated elsewhere)
HIDDEN = {"households"}
DEFAULT_LIMIT, MAX_LIMIT = 100, 10_000
GEOJSON, JSON = "application/geo+json", "application/json"
OPENAPI_30 = "application/vnd.oai.openapi+json;version=3.0"


def _json(body: Any, media_type: str = JSON, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, default=str), media_type=media_type, headers=headers)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _crs_list(store: Any) -> list[str]:
    """The CRSs items can be asked in: CRS84, WGS84 and CGCS2000 lon/lat, and the workspace's metric CRS."""
    out = [geojson.CRS84, "http://www.opengis.net/def/crs/EPSG/0/4326",
           "http://www.opengis.net/def/crs/EPSG/0/4490"]
    try:
        metric = geojson.crs_uri(store.metric_crs())
    except Exception:  # an empty workspace has no metric CRS yet
        return out
    return out if metric in out else [*out, metric]


def _collections(store: Any, scope: Any) -> list[str]:
    """The layers this user may read that have geometry."""
    return [i.name for i in store.layers()
            if i.name in scope.user.role.reads and i.name not in HIDDEN and i.geometry_type]


def _extent(store: Any, scope: Any, name: str) -> list[float] | None:
    if not scope.everywhere:
        if scope.shape is None or scope.shape.is_empty:
            return None
        return [float(v) for v in scope.shape.bounds]
    bounds = store.layer_bounds(name)
    return None if bounds is None else list(bounds)


def _collection(request: Request, store: Any, scope: Any, name: str, lang: str) -> dict[str, Any]:
    base = _base(request)
    doc: dict[str, Any] = {
        "id": name, "title": t(lang, name), "itemType": "feature",
        "crs": _crs_list(store), "storageCrs": geojson.CRS84,
        "links": [{"href": f"{base}/collections/{name}", "rel": "self", "type": JSON, "title": name},
                  {"href": f"{base}/collections/{name}/items", "rel": "items", "type": GEOJSON,
                   "title": f"{name} (GeoJSON)"}]}
    extent = _extent(store, scope, name)
    if extent is not None:
        doc["extent"] = {"spatial": {"bbox": [extent], "crs": geojson.CRS84}}
    return doc


def _open(store: Any, scope: Any, name: str) -> None:
    """The collection exists for this user, or 404 (the same answer for one they may not read)."""
    if name in HIDDEN or not store.has(name) or name not in _collections(store, scope):
        raise UnknownLayerError(f"no collection '{name}' (the layers you may read: GET /ogc/collections)")


def _crs(store: Any, uri: str | None, what: str) -> CRS:
    if uri is None:
        return CRS.from_user_input("OGC:CRS84")
    crs = geojson.crs_of_uri(uri)
    offered = _crs_list(store)
    if geojson.crs_uri(crs) not in offered:
        raise ValueError(f"'{what}' {uri} is not offered here: use one of {', '.join(offered)}")
    return crs


def _bbox(text: str | None, crs: CRS) -> tuple[float, ...] | None:
    """The lon/lat box of a ``bbox`` given in ``crs`` (in that CRS's axis order)."""
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"bbox '{text}' is not four numbers separated by commas") from None
    if len(values) == 6:  # 3D box: the heights do not filter
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4:
        raise ValueError(f"bbox '{text}' needs four numbers: lower-left then upper-right corner")
    if crs != CRS.from_user_input("OGC:CRS84"):
        back = Transformer.from_crs(crs, "OGC:CRS84")  # from the CRS's own axis order to lon/lat
        values = list(back.transform_bounds(values[0], values[1], values[2], values[3]))
    w, s, e, n = values
    if w > e or s > n:
        raise ValueError(f"bbox '{text}': the first corner must be the lower-left one")
    return (w, s, e, n)


@router.get("", summary="Landing page", **answers("links to the API's parts", JSON))
def landing(request: Request) -> Response:
    base = _base(request)
    return _json({"title": "Pingan Planner", "description": "平安规划：社区网格与视频覆盖图层 (OGC API – Features)",
                  "links": [
                      {"href": base, "rel": "self", "type": JSON, "title": "this document"},
                      {"href": f"{base}/api", "rel": "service-desc",
                       "type": "application/vnd.oai.openapi+json;version=3.0", "title": "the API definition"},
                      {"href": f"{base}/conformance", "rel": "conformance", "type": JSON,
                       "title": "conformance classes"},
                      {"href": f"{base}/collections", "rel": "data", "type": JSON, "title": "the layers"}]})


@router.get("/conformance", summary="Conformance classes", **answers("the conformance classes", JSON))
def conformance() -> Response:
    return _json({"conformsTo": list(CONFORMANCE)})


@router.get("/api", summary="The OpenAPI 3.0 definition of this OGC API", **answers("OpenAPI 3.0", OPENAPI_30))
def definition(request: Request) -> Response:
    return _json(openapi_30(_base(request)), media_type=OPENAPI_30)


@router.get("/collections", summary="The layers you may read", **answers("the collections", JSON))
def collections(request: Request, store: StoreDep, scope: ScopeDep, lang: LangDep) -> Response:
    base = _base(request)
    return _json({"links": [{"href": f"{base}/collections", "rel": "self", "type": JSON, "title": "collections"}],
                  "collections": [_collection(request, store, scope, n, lang) for n in _collections(store, scope)],
                  "crs": _crs_list(store)})


@router.get("/collections/{collection}", summary="One layer", **answers("the collection", JSON))
def collection(request: Request, store: StoreDep, scope: ScopeDep, lang: LangDep, collection: str) -> Response:
    _open(store, scope, collection)
    return _json(_collection(request, store, scope, collection, lang))


def _rows(store: Any, scope: Any, lang: str, name: str, box: tuple[float, ...] | None) -> gpd.GeoDataFrame:
    # the same output path as every export and the layers API: the area's rows, counts suppressed below 5
    frame, _ = files.layer_frame(Source(store, scope, lang), name, bbox=box)
    if not isinstance(frame, gpd.GeoDataFrame):
        raise UnknownLayerError(f"'{name}' has no geometry")
    return frame


@router.get("/collections/{collection}/items", summary="The layer's features in your area, a page at a time",
            **answers("a page of features", GEOJSON))
def items(request: Request, store: StoreDep, scope: ScopeDep, lang: LangDep, collection: str,
          bbox: Annotated[str | None, Query(max_length=200, description="minx,miny,maxx,maxy in bbox-crs")] = None,
          bbox_crs: Annotated[str | None, Query(alias="bbox-crs", max_length=100)] = None,
          crs: Annotated[str | None, Query(max_length=100, description="the CRS of the answer")] = None,
          limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
          offset: Annotated[int, Query(ge=0)] = 0) -> Response:
    _open(store, scope, collection)
    out_crs = _crs(store, crs, "crs")
    frame = _rows(store, scope, lang, collection, _bbox(bbox, _crs(store, bbox_crs, "bbox-crs")))
    matched = len(frame)
    page = frame.iloc[offset:offset + limit]
    doc = geojson.feature_collection(page, geojson.feature_key(frame, collection), matched, out_crs)
    base = f"{_base(request)}/collections/{collection}/items"
    asked = {k: v for k, v in request.query_params.items() if k not in ("limit", "offset")}

    def link(rel: str, at: int) -> dict[str, str]:
        return {"href": f"{base}?{urlencode({**asked, 'limit': limit, 'offset': at})}", "rel": rel,
                "type": GEOJSON, "title": rel}

    links = [link("self", offset)]
    if offset + limit < matched:
        links.append(link("next", offset + limit))
    if offset > 0:
        links.append(link("prev", max(0, offset - limit)))
    doc["links"] = links
    doc["timeStamp"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return _json(doc, GEOJSON, {"Content-Crs": f"<{geojson.crs_uri(out_crs)}>",
                                "ETag": f'W/"{collection}-{store.version(collection)}"'})


@router.get("/collections/{collection}/items/{feature}", summary="One feature (in your area)",
            **answers("the feature", GEOJSON))
def item(request: Request, store: StoreDep, scope: ScopeDep, lang: LangDep, collection: str, feature: str,
         crs: Annotated[str | None, Query(max_length=100)] = None) -> Response:
    _open(store, scope, collection)
    out_crs = _crs(store, crs, "crs")
    frame = _rows(store, scope, lang, collection, None)
    key = geojson.feature_key(frame, collection)
    hit = frame[frame[key].astype(str) == feature] if key else frame.iloc[0:0]
    if hit.empty:  # the same answer for a feature that does not exist and one outside the area
        raise UnknownLayerError(f"no feature '{feature}' in {collection} (in your area)")
    doc = geojson.feature_collection(hit.iloc[:1], key, 1, out_crs)["features"][0]
    base = f"{_base(request)}/collections/{collection}"
    doc["links"] = [{"href": f"{base}/items/{feature}", "rel": "self", "type": GEOJSON, "title": "this feature"},
                    {"href": base, "rel": "collection", "type": JSON, "title": collection}]
    doc["id"] = json_value(hit.iloc[0][key])
    return _json(doc, GEOJSON, {"Content-Crs": f"<{geojson.crs_uri(out_crs)}>"})


def openapi_30(base: str) -> dict[str, Any]:
    """The OpenAPI 3.0 document of the OGC API (the conformance class 'oas30')."""
    ref = {"$ref": "#/components/responses/Features"}
    collection = {"name": "collectionId", "in": "path", "required": True, "schema": {"type": "string"}}
    query = [{"name": "bbox", "in": "query", "required": False, "style": "form", "explode": False,
              "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}},
             {"name": "bbox-crs", "in": "query", "required": False, "schema": {"type": "string", "format": "uri"}},
             {"name": "crs", "in": "query", "required": False, "schema": {"type": "string", "format": "uri"}},
             {"name": "limit", "in": "query", "required": False,
              "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}},
             {"name": "offset", "in": "query", "required": False,
              "schema": {"type": "integer", "minimum": 0, "default": 0}}]
    plain = {"200": {"description": "the document", "content": {JSON: {"schema": {"type": "object"}}}}}
    problem = {"description": "the error (RFC 9457)",
               "content": {"application/problem+json": {"schema": {"type": "object"}}}}
    errors = {"400": problem, "401": problem, "404": problem, "422": problem}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Pingan Planner – OGC API Features", "version": "1.0.0"},
        "servers": [{"url": base}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "session": {"type": "apiKey", "in": "cookie", "name": "pingan_session"}},
            "responses": {"Features": {"description": "features (GeoJSON)",
                                       "content": {GEOJSON: {"schema": {"type": "object"}}}}}},
        "security": [{"bearer": []}, {"session": []}],
        "paths": {
            "/": {"get": {"operationId": "landing", "summary": "Landing page", "responses": plain}},
            "/conformance": {"get": {"operationId": "conformance", "summary": "Conformance classes",
                                     "responses": plain}},
            "/collections": {"get": {"operationId": "collections", "summary": "The layers you may read",
                                     "responses": plain | errors}},
            "/collections/{collectionId}": {"get": {"operationId": "collection", "summary": "One layer",
                                                    "parameters": [collection], "responses": plain | errors}},
            "/collections/{collectionId}/items": {
                "get": {"operationId": "items", "summary": "Features in your area",
                        "parameters": [collection, *query], "responses": {"200": ref} | errors}},
            "/collections/{collectionId}/items/{featureId}": {
                "get": {"operationId": "item", "summary": "One feature",
                        "parameters": [collection, {"name": "featureId", "in": "path", "required": True,
                                                    "schema": {"type": "string"}}, query[2]],
                        "responses": {"200": ref} | errors}}}}
