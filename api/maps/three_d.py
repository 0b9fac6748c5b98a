"""The 3D 户况网格图 (/3d): "看图知片情、看标识户况、看房知人" in MapLibre GL JS (vendored, offline).

Buildings are extruded by height and coloured by a household situation's share (出租, 空置, 流动,
独居老人: aggregates, none where fewer than five households would give a count back); markers stand
on the buildings that have a marked situation; grids are draped in their 红/黄/绿 level; camera views
are draped on the ground and camera poles drawn at their height. Buildings, views and cameras load by
viewport from the API (``/api/features/...?bbox=``), under the area policy, so a city is never one
blob. A click on a building opens its stack (单元 × 楼层, ``/api/buildings/{id}/stack``): counts per
floor, 1–4 shown as "<5"; household detail only for a role allowed it, after stating a reason.
"""

from __future__ import annotations

import html
import json
from typing import Any

import numpy as np
import pandas as pd
import shapely

from api.i18n import t
from api.maps.displays import LEVEL_COLOURS, LEVEL_FILL
from api.maps.layers import Page
from api.workflows.settings import MARKABLE

#: the situations a building can be coloured by or marked with ("看标识户况": which ones is the
#: workspace setting ``markers``), and each marker's colour
SITUATIONS = MARKABLE
MARKER_COLOURS = {"elderly": "#d7301f", "rented": "#2171b5", "floating": "#e6550d", "vacant": "#525252"}
TEXTS = ("title", "search", "colour_by", "rented", "vacant", "floating", "elderly", "no_share", "stack",
         "households", "floor", "unit", "detail", "reason", "reason_needed", "views", "cameras", "markers",
         "to_2d", "no_buildings", "loading", "close", "residents", "suppressed")

PAGE = """<!DOCTYPE html>
<html lang="%(html_lang)s">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%(title)s</title>
<link rel="icon" href="/static/favicon.svg">
<link rel="stylesheet" href="/static/maplibre/maplibre-gl.css">
<link rel="stylesheet" href="/static/pingan.css">
<style>
  html, body, #map { margin: 0; height: 100%%; width: 100%%; }
  #p3-panel { position: fixed; top: 10px; left: 10px; z-index: 2; width: 300px; max-height: 92vh; overflow: auto;
              background: #fff; }
</style>
</head>
<body>
<div id="map"></div>
<div class="pingan-panel pingan-legend" id="p3-panel">
  <b>%(title)s</b>
  <div><input id="p3-search" placeholder="%(search)s" style="width:95%%"><div id="p3-hits"></div></div>
  <div>%(colour_by)s <select id="p3-situation">%(situations)s</select></div>
  <div id="p3-legend">%(legend)s</div>
  <div><label><input type="checkbox" id="p3-views" checked> %(views)s</label>
       <label><input type="checkbox" id="p3-markers" checked> %(markers)s</label></div>
  <div id="p3-note" style="font-size:12px;color:#555">%(note)s</div>
  <div><a id="p3-2d" href="/">%(to_2d)s</a></div>
</div>
<div class="pingan-panel pingan-stack" id="p3-stack"></div>
<script type="application/json" id="pingan-3d-config">%(config)s</script>
<script src="/static/maplibre/maplibre-gl-csp.js"></script>
<script src="/static/pingan-drill.js"></script>
<script src="/static/pingan-3d.js"></script>
</body>
</html>
"""


def _grids(page: Page, present: set[str]) -> dict[str, Any]:
    """The grids of the user's area as GeoJSON on the basemap, with their level (when risk is read)."""
    if "grids" not in present:
        return {"type": "FeatureCollection", "features": []}
    grids = page.read("risk") if "risk" in present else page.read("grids")
    level = grids["level"] if "level" in grids else pd.Series("", index=grids.index)
    grids = grids.assign(level_text=level.map(lambda v: t(page.lang, f"level_{v}") if v else ""))
    shown = page.escaped(grids, [c for c in ("code", "name", "level_text") if c in grids])
    shown["_fill"] = level.map(LEVEL_COLOURS).fillna("#9e9e9e").to_numpy()
    return json.loads(shown.to_json(drop_id=True, na="null"))


def three_d_page(page: Page, *, pitch: float = 55.0, bearing: float = -20.0) -> str:
    """The /3d page's HTML for the page's user (what they may read, in their area)."""
    lang = page.lang
    present = page.present()
    grids = _grids(page, present)
    extent = page.store.extent() or (120.0, 36.0, 120.1, 36.1)
    bounds = [float(v) for v in page.basemap.display(np.array([shapely.box(*extent)]))[0].bounds]
    if grids["features"]:  # the user's own grids (already on the basemap)
        bounds = [float(v) for v in shapely.union_all([shapely.geometry.shape(f["geometry"])
                                                        for f in grids["features"]]).bounds]
    role = page.scope.user.role if page.scope is not None else None
    markers = [m for m in page.store.settings()["markers"] if m in MARKER_COLOURS]
    config = {
        "lang": lang, "bounds": bounds, "pitch": pitch, "bearing": bearing, "grids": grids,
        "buildings": "buildings" in present, "households": "buildings" in present and page.store.has("households"),
        "views": "views" in present and page.store.has("views"), "cameras": "cameras" in present,
        "detail": bool(role is not None and role.household_detail and "households" in present),
        "situations": list(SITUATIONS), "markers": markers, "marker_colours": MARKER_COLOURS,
        "view_fill": LEVEL_FILL["detect"],
        "texts": {k: t(lang, f"3d.{k}") for k in TEXTS},
        # basemap tiles only when the deployment names a tile server (none by default: no request leaves)
        "basemap": {"tiles": page.basemap.tile_urls(), "attribution": page.basemap.attribution or page.basemap.kind}
        if page.basemap.kind != "none" else None}
    situations = "".join(f'<option value="{s}">{html.escape(t(lang, f"3d.{s}"))}</option>' for s in SITUATIONS)
    legend = "".join(f'<div><i style="background:{c}"></i>{html.escape(t(lang, f"level_{k}"))}</div>'
                     for k, c in LEVEL_COLOURS.items())
    legend += "".join(f'<div class="p3-marker" data-marker="{m}"><i style="background:{MARKER_COLOURS[m]};'
                      f'border-radius:50%"></i>{html.escape(t(lang, f"3d.marker_{m}"))}</div>' for m in markers)
    note = t(lang, "3d.note") if config["buildings"] else t(lang, "3d.no_buildings")
    return PAGE % {
        "html_lang": "zh-CN" if lang == "zh" else "en", "title": html.escape(f"{t(lang, '3d.title')} · "
                                                                             f"{page.store.get_meta('name', '')}"),
        "search": html.escape(t(lang, "3d.search")), "colour_by": html.escape(t(lang, "3d.colour_by")),
        "situations": situations, "legend": legend, "views": html.escape(t(lang, "3d.views")),
        "markers": html.escape(t(lang, "3d.markers")), "note": html.escape(note),
        "to_2d": html.escape(t(lang, "3d.to_2d")),
        "config": json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")}
