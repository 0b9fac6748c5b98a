"""Map data by viewport: what a page's large layers fetch as the user pans and zooms."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.deps import LangDep, SettingsDep, StoreDep
from api.maps.base import Basemap
from api.maps.layers import DISPLAYS, FrameCache

router = APIRouter(tags=["map data"])


def frame_cache(request: Request) -> FrameCache:
    cache = getattr(request.app.state, "frames", None)
    if cache is None:
        cache = request.app.state.frames = FrameCache()
    return cache


@router.get("/features/{key}", summary="A display layer's features in a lon/lat box, simplified for a zoom level",
            description="Keys: " + ", ".join(sorted(DISPLAYS)) + " (views take a DORI level: views:identify). "
            "Property values are HTML-escaped display text; geometry is in the basemap's datum.")
def features(request: Request, store: StoreDep, settings: SettingsDep, lang: LangDep, key: str,
             bbox: Annotated[str, Query(pattern=r"^-?[\d.]+,-?[\d.]+,-?[\d.]+,-?[\d.]+$",
                                        description="west,south,east,north in degrees")],
             zoom: Annotated[int, Query(ge=0, le=22)] = 16) -> Response:
    box = tuple(float(v) for v in bbox.split(","))
    if not (box[0] <= box[2] and box[1] <= box[3]):
        raise ValueError(f"bbox '{bbox}' is not west,south,east,north (west ≤ east, south ≤ north)")
    shown = frame_cache(request).get(store, key, lang, Basemap.from_settings(settings))
    answer = shown.query(box, zoom)  # type: ignore[arg-type]
    return Response(answer["body"], media_type="application/geo+json",
                    headers={"X-Feature-Count": str(answer["count"]), "Cache-Control": "no-cache"})
