"""Map data by viewport: what a page's large layers fetch as the user pans and zooms (GeoJSON by
box, or vector tiles for the heaviest), and the search box."""

from __future__ import annotations

import collections
import weakref
from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from api.deps import LangDep, Page, ScopeDep, SettingsDep, StoreDep, paging
from api.maps import tiles
from api.maps.base import Basemap
from api.maps.displays import DISPLAYS, FrameCache, area_mask
from api.openapi import GEOJSON, answers
from layers.errors import UnknownLayerError

router = APIRouter(tags=["map data"])


def frame_cache(request: Request) -> FrameCache:
    cache = getattr(request.app.state, "frames", None)
    if cache is None:
        cache = request.app.state.frames = FrameCache()
    return cache


@router.get("/features/{key}", summary="A display layer's features in a lon/lat box, simplified for a zoom level",
            description="Keys: " + ", ".join(sorted(DISPLAYS)) + " (views take a DORI level: views:identify). "
            "Property values are HTML-escaped display text; geometry is in the basemap's datum.",
            **answers("a FeatureCollection", GEOJSON))
def features(request: Request, store: StoreDep, settings: SettingsDep, lang: LangDep, scope: ScopeDep, key: str,
             bbox: Annotated[str, Query(pattern=r"^-?[\d.]+,-?[\d.]+,-?[\d.]+,-?[\d.]+$",
                                        description="west,south,east,north in degrees")],
             zoom: Annotated[int, Query(ge=0, le=22)] = 16) -> Response:
    box = tuple(float(v) for v in bbox.split(","))
    if not (box[0] <= box[2] and box[1] <= box[3]):
        raise ValueError(f"bbox '{bbox}' is not west,south,east,north (west ≤ east, south ≤ north)")
    shown, allowed = _display(request, store, settings, lang, scope, key)
    answer = shown.query(box, zoom, allowed=allowed)
    return Response(answer["body"], media_type="application/geo+json",
                    headers={"X-Feature-Count": str(answer["count"]), "Cache-Control": "no-cache"})


@router.get("/tiles/{key}/{z}/{x}/{y}.pbf", summary="A heavy display layer as a Mapbox Vector Tile (your area)",
            description="Keys: " + ", ".join(tiles.TILED) + " (views take a DORI level: views:identify). "
            "One layer, 'features', in Web Mercator tile coordinates (4096 units, a 64-unit buffer); property "
            "values are HTML-escaped display text; geometry is in the basemap's datum.",
            **answers("a Mapbox Vector Tile (empty below the layer's minimum zoom)", tiles.MEDIA_TYPE))
def vector_tile(request: Request, store: StoreDep, settings: SettingsDep, lang: LangDep, scope: ScopeDep,
                key: str, z: Annotated[int, PathParam(ge=0, le=22)], x: Annotated[int, PathParam(ge=0)],
                y: Annotated[int, PathParam(ge=0)]) -> Response:
    if key.split(":", maxsplit=1)[0] not in tiles.TILED:
        raise UnknownLayerError(f"no tiled layer '{key}': tiles are served for {', '.join(tiles.TILED)}")
    tiles.check_tile(z, x, y)
    shown, allowed = _display(request, store, settings, lang, scope, key)
    # encoded tiles are kept per built layer (a new version builds a new one) and area
    cache = request.app.state.__dict__.setdefault("tiles", collections.OrderedDict())
    ident = (id(shown), None if allowed is None else scope.user.area, z, x, y)
    kept = cache.get(ident)
    if kept is not None and kept[0]() is shown:  # (an id may be reused once its layer is gone)
        body = kept[1]
    else:
        body = tiles.tile(shown, z, x, y, allowed)
        cache[ident] = (weakref.ref(shown), body)
        while len(cache) > 4096:
            cache.popitem(last=False)
    return Response(body, media_type=tiles.MEDIA_TYPE, headers={"Cache-Control": "no-cache"})


def _display(request: Request, store: Any, settings: Any, lang: str, scope: Any, key: str
             ) -> tuple[Any, np.ndarray | None]:
    """The built display layer ``key`` and which of its rows lie in the user's area (None: all)."""
    spec = DISPLAYS.get(key.split(":", maxsplit=1)[0])
    if spec is None:
        raise UnknownLayerError(f"no display layer '{key}': the pages draw {', '.join(sorted(DISPLAYS))}")
    scope.allow_read(spec.inputs[0])
    basemap = Basemap.from_settings(settings)
    shown = frame_cache(request).get(store, key, lang, basemap)
    allowed = None
    if not scope.everywhere:  # only what lies in the user's area, cached per user area and layer build
        masks = request.app.state.__dict__.setdefault("masks", {})
        ident = (id(shown), scope.user.area, key)
        if ident not in masks:
            if len(masks) > 256:
                masks.clear()
            masks[ident] = area_mask(store, scope, basemap, key, shown)
        allowed = masks[ident]
    return shown, allowed


SEARCHABLE = {"grids": ("code", "name"), "cameras": ("id", "name"), "targets": ("id", "name"),
              "communities": ("code", "name"), "subgrids": ("code", "name"), "buildings": ("id", "address")}


@router.get("/search", summary="Find grids, cameras, key targets and communities by code or name")
def search(request: Request, store: StoreDep, settings: SettingsDep, scope: ScopeDep,
           q: Annotated[str, Query(min_length=1, max_length=100, description="a code or part of a name")],
           page: Annotated[Page, paging(10, 50)]) -> list[dict[str, Any]]:
    needle = q.strip().lower()
    basemap = Basemap.from_settings(settings)
    hits: list[tuple[int, dict[str, Any]]] = []
    matched = 0
    versions = store.versions()
    cache = request.app.state.__dict__.setdefault("search_frames", {})
    for layer, columns in SEARCHABLE.items():
        if layer not in versions or layer not in scope.user.role.reads:
            continue
        key = (str(getattr(store, "path", id(store))), layer, versions[layer], scope.user.area)
        if key not in cache:  # one read per layer version and area, not one per keystroke
            if len(cache) > 64:
                cache.clear()
            cache[key] = scope.filter(store, layer, store.read(layer))
        frame = cache[key]
        text = [frame[c].astype("string").str.lower().fillna("") if c in frame else pd.Series("", index=frame.index)
                for c in columns]
        exact = (text[0] == needle) | (text[1] == needle)
        found = exact | text[0].str.contains(needle, regex=False) | text[1].str.contains(needle, regex=False)
        matched += int(found.sum())
        for idx in frame.index[found.to_numpy()][: page.end * 2]:  # enough of each layer for the page
            row = frame.loc[idx]
            geom = basemap.display(np.array([row.geometry]))[0]
            point = geom if geom.geom_type == "Point" else geom.representative_point()
            hits.append((0 if exact[idx] else 1, {
                "layer": layer, "id": str(row[columns[0]]), "name": "" if pd.isna(row[columns[1]]) else
                str(row[columns[1]]), "lon": round(point.x, 7), "lat": round(point.y, 7),
                "bbox": [round(v, 7) for v in geom.bounds]}))
    hits.sort(key=lambda h: h[0])
    return page.take([h[1] for h in hits], total=matched)
