"""How the pages draw display layers (:mod:`api.maps.displays`): inlined when small, by viewport when large.

- a small layer (≤ ``inline_limit`` features: the demo) is inlined in the page as GeoJSON;
- a large heavy one (a city's buildings and 80,000 view polygons) is drawn from vector tiles
  (:class:`TileLayer`, ``/api/tiles/{key}/{z}/{x}/{y}.pbf``, :mod:`api.maps.tiles`);
- another large one (a city's 20,000 cameras) is drawn by :class:`ViewportLayer`, which fetches
  ``/api/features/{key}?bbox=…&zoom=…`` on every pan or zoom, on a canvas, with geometry
  simplified to the zoom's pixel size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from jinja2 import Template

from api.access import Scope
from api.exports import privacy
from api.i18n import t
from api.maps.base import NO_BASEMAP, Basemap, add_title, offline_map
from api.maps.displays import DISPLAYS, Display, FrameCache, area_mask, escaped
from api.maps.tiles import LAYER as TILE_LAYER
from api.maps.tiles import TILED
from layers.store import Store


@dataclasses.dataclass
class Page:
    """What a page builder needs besides the workspace: language, basemap, the frame cache."""

    store: Store
    lang: str = "zh"
    basemap: Basemap = NO_BASEMAP
    inline_limit: int = 5000
    cache: FrameCache | None = None
    #: the user's role and area: pages draw only what they may read, inside their area
    scope: Scope | None = None

    def frame(self, key: str) -> Display:
        return (self.cache or FrameCache()).get(self.store, key, self.lang, self.basemap)

    def present(self) -> set[str]:
        """The workspace's layers this user may read."""
        names = {i.name for i in self.store.layers()}
        return names if self.scope is None else names & set(self.scope.user.role.reads)

    def read(self, layer: str) -> pd.DataFrame:
        """A layer's rows inside the user's area, household counts from 1 to 4 suppressed (as in every answer)."""
        frame = self.store.read(layer)
        frame = frame if self.scope is None else self.scope.filter(self.store, layer, frame)
        if any(c in frame for c in privacy.DERIVED):
            frame, _ = privacy.suppress(frame, group="community_code" if "community_code" in frame else None)
        return frame

    def start(self, title_key: str) -> tuple[folium.Map, set[str]]:
        """The page's empty offline map with its title, and the layers this user may read."""
        m = offline_map(self.store.extent(), basemap=self.basemap)
        add_title(m, f"{t(self.lang, title_key)} · {self.store.get_meta('name', '')}")
        return m, self.present()

    def mask(self, key: str, shown: Display) -> np.ndarray:
        """Which rows of a display layer lie in the user's area."""
        return area_mask(self.store, self.scope, self.basemap, key, shown)


    def escaped(self, frame: gpd.GeoDataFrame, columns: list[str],
                translate: dict[str, Callable[[Any], Any]] | None = None) -> gpd.GeoDataFrame:
        return escaped(frame, columns, translate, basemap=self.basemap)


def _resolve(style: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    return {k: props.get(v[1:]) if isinstance(v, str) and v.startswith("$") else v for k, v in style.items()}


def add_layer(m: folium.Map, page: Page, key: str, *, name: str, popup: bool = False, tooltip: bool = False,
              interactive: bool = True, show: bool = True) -> None:
    """Draw display layer ``key`` on ``m``: inline when small, by viewport from the API when large."""
    shown = page.frame(key)
    if page.scope is not None:
        source = DISPLAYS[key.split(":", maxsplit=1)[0]].inputs[0]
        if source not in page.scope.user.role.reads:
            return
    if len(shown.frame) <= page.inline_limit:
        if page.scope is not None and not page.scope.everywhere:
            shown = dataclasses.replace(shown, frame=shown.frame[page.mask(key, shown)], _tree=None)
        style = shown.style
        kwargs: dict[str, Any] = {}
        if popup and interactive:
            kwargs["popup"] = folium.GeoJsonPopup(shown.fields, aliases=shown.aliases, max_width=420)
        if tooltip and interactive:
            kwargs["tooltip"] = folium.GeoJsonTooltip(shown.fields, aliases=shown.aliases, sticky=True)
        if shown.points:
            circle = {k: v for k, v in style.items() if not (isinstance(v, str) and v.startswith("$"))}
            radius = circle.pop("radius", 4)
            kwargs["marker"] = folium.CircleMarker(radius=radius, fill=True, **circle)
        data = shown.frame[shown.fields + [c for c in shown.frame.columns if c.startswith("_")] + ["geometry"]]
        folium.GeoJson(data, name=name, interactive=interactive, show=show,
                       style_function=lambda f, s=style: _resolve(s, f["properties"]), **kwargs).add_to(m)
        return
    if shown.min_zoom:
        name = f"{name} ({t(page.lang, 'from_zoom')} {shown.min_zoom})"
    if key.split(":", maxsplit=1)[0] in TILED:
        TileLayer(f"/api/tiles/{key}", f"lang={page.lang}", shown, name=name, popup=popup and interactive,
                  interactive=interactive, show=show).add_to(m)
        return
    ViewportLayer(f"/api/features/{key}?lang={page.lang}", shown, name=name, popup=popup and interactive,
                  tooltip=tooltip and interactive, interactive=interactive, show=show).add_to(m)


class ViewportLayer(folium.map.Layer):
    """A GeoJSON layer on the canvas whose features the page fetches for the current view only."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = pinganViewport({{ this._parent.get_name() }}, {{ this.config|tojson }});
        {% endmacro %}
        """)

    def __init__(self, url: str, shown: Display, *, name: str, popup: bool, tooltip: bool, interactive: bool,
                 show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "ViewportLayer"
        self.config = {"url": url, "fields": shown.fields, "aliases": shown.aliases, "style": shown.style,
                       "points": shown.points, "minZoom": shown.min_zoom, "popup": popup, "tooltip": tooltip,
                       "interactive": interactive}


class TileLayer(folium.map.Layer):
    """A heavy layer drawn from Mapbox Vector Tiles (Leaflet.VectorGrid, served by the app itself)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = pinganTiles({{ this._parent.get_name() }}, {{ this.config|tojson }});
        {% endmacro %}
        """)

    def __init__(self, url: str, query: str, shown: Display, *, name: str, popup: bool, interactive: bool,
                 show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "TileLayer"
        self.config = {"url": url, "query": query, "layer": TILE_LAYER, "fields": shown.fields,
                       "aliases": shown.aliases, "style": shown.style, "points": shown.points,
                       "minZoom": shown.min_zoom, "popup": popup, "interactive": interactive}


class GridLabels(folium.map.Layer):
    """Short grid codes at each grid's inner point, created by the page for the visible area only
    (a city's 2,000 labels as DOM markers would make every pan slow)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = pinganLabels({{ this._parent.get_name() }}, {{ this.labels|tojson }},
                                                     {{ this.min_zoom }});
        {% endmacro %}
        """)

    def __init__(self, points: gpd.GeoSeries, texts: list[str], *, name: str, min_zoom: int = 0):
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "GridLabels"
        self.labels = [[round(p.y, 6), round(p.x, 6), str(text)] for p, text in zip(points, texts, strict=True)]
        self.min_zoom = min_zoom
