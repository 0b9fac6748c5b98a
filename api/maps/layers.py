"""Display layers shared by the pages: inlined when small, loaded by viewport when large.

A display layer is a frame in lon/lat (in the basemap's datum) whose property columns are
already HTML-escaped text, plus the style columns (``_fill``, ``_colour``, ``_weight``)
its style refers to as ``"$_fill"``. The same builder feeds both ways of drawing it:

- a small layer (≤ ``inline_limit`` features: the demo) is inlined in the page as GeoJSON;
- a large one (a city's 20,000 cameras and their 80,000 view polygons) is drawn by
  :class:`ViewportLayer`, which fetches ``/api/features/{key}?bbox=…&zoom=…`` on every
  pan or zoom, on a canvas, with geometry simplified to the zoom's pixel size.

Built frames are cached per (layer, language, basemap datum, input versions).
"""

from __future__ import annotations

import collections
import dataclasses
import html
import json
import threading
from collections.abc import Callable
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from jinja2 import Template

from api.access import Scope
from api.i18n import t
from api.maps.base import NO_BASEMAP, Basemap
from gis.camera import DORI_LEVELS
from layers.errors import UnknownLayerError
from layers.store import Store

LEVEL_FILL = {"detect": "#c6dbef", "observe": "#6baed6", "recognise": "#2171b5", "identify": "#08306b"}
STATUS_COLOURS = {"active": "#1b7f3b", "faulty": "#c0392b", "planned": "#2c6fbb", "removed": "#7f8c8d"}
ROAD_WEIGHTS = {"primary": 5, "secondary": 3.5, "tertiary": 2.5, "residential": 1.5, "service": 1.2}
#: most features one viewport answer carries; beyond it the answer says ``truncated``
MAX_FEATURES = 30_000


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
        from api.exports import privacy

        frame = self.store.read(layer)
        frame = frame if self.scope is None else self.scope.filter(self.store, layer, frame)
        if any(c in frame for c in privacy.DERIVED):
            frame, _ = privacy.suppress(frame, group="community_code" if "community_code" in frame else None)
        return frame

    def start(self, title_key: str) -> tuple[folium.Map, set[str]]:
        """The page's empty offline map with its title, and the layers this user may read."""
        from api.maps.base import add_title, offline_map

        m = offline_map(self.store.extent(), basemap=self.basemap)
        add_title(m, f"{t(self.lang, title_key)} · {self.store.get_meta('name', '')}")
        return m, self.present()

    def mask(self, key: str, shown: Display) -> np.ndarray:
        """Which rows of a display layer lie in the user's area."""
        return area_mask(self.store, self.scope, self.basemap, key, shown)


    def escaped(self, frame: gpd.GeoDataFrame, columns: list[str],
                translate: dict[str, Callable[[Any], Any]] | None = None) -> gpd.GeoDataFrame:
        return escaped(frame, columns, translate, basemap=self.basemap)


def area_mask(store: Store, scope: Scope | None, basemap: Basemap, key: str, shown: Display) -> np.ndarray:
    """Which rows of a display layer lie in the user's area, decided on the stored rows (a display copy is
    simplified and shifted: its points may fall elsewhere), by the area policy."""
    if scope is None or scope.everywhere:
        return np.ones(len(shown.frame), dtype=bool)
    if key.startswith("views"):
        cams = scope.filter(store, "cameras", store.read("cameras"))
        return shown.frame["camera"].isin(set(cams["id"].astype(str))).to_numpy()
    layer = DISPLAYS[key.split(":", maxsplit=1)[0]].inputs[0]
    stored = store.read(layer)
    if len(stored) != len(shown.frame):  # built row for row from its layer: changed since, so show nothing
        return np.zeros(len(shown.frame), dtype=bool)
    return scope.mask(store, layer, stored)


def escaped(frame: gpd.GeoDataFrame, columns: list[str], translate: dict[str, Callable[[Any], Any]] | None = None,
            *, basemap: Basemap = NO_BASEMAP) -> gpd.GeoDataFrame:
    """A display copy: lon/lat (shifted to the basemap's datum), chosen columns only, values HTML-escaped
    (Leaflet tooltips and popups use innerHTML)."""
    geoms = frame.to_crs(4326).geometry.array if frame.crs is not None else frame.geometry.array
    geoms = basemap.display(np.asarray(geoms))
    # simplified to ~5 cm (an arc's 1° steps carry nothing visible at street zoom) and rounded to
    # ~0.1 m for a smaller page; rounding point-wise, so no topology work can fail
    geoms = shapely.simplify(geoms, 5e-7, preserve_topology=True)
    out = gpd.GeoDataFrame(geometry=shapely.set_precision(geoms, 1e-6, mode="pointwise"), crs=4326)
    for col in columns:
        values = frame[col] if col in frame else pd.Series([None] * len(frame), index=frame.index)
        if translate and col in translate:
            values = values.map(translate[col])
        out[col] = ["" if pd.isna(v) else html.escape(str(v)) for v in values]
    return out


@dataclasses.dataclass
class Display:
    """A built display layer: the frame, its popup fields and their (escaped) labels, its style."""

    frame: gpd.GeoDataFrame
    fields: list[str]
    aliases: list[str]
    style: dict[str, Any]
    points: bool = False
    min_zoom: int = 0
    _tree: shapely.STRtree | None = None

    @property
    def extent(self) -> tuple[float, float, float, float]:
        bounds = self.frame.total_bounds if len(self.frame) else (0.0, 0.0, 0.0, 0.0)
        return tuple(float(v) for v in bounds)  # type: ignore[return-value]

    @property
    def tree(self) -> shapely.STRtree:
        if self._tree is None:
            self._tree = shapely.STRtree(self.frame.geometry.array)
        return self._tree

    def query(self, bbox: tuple[float, float, float, float], zoom: int, limit: int = MAX_FEATURES,
              allowed: np.ndarray | None = None) -> dict[str, Any]:
        """Features meeting ``bbox`` (and ``allowed``) as GeoJSON, simplified to about a pixel at ``zoom``."""
        hits = np.sort(self.tree.query(shapely.box(*bbox)))
        if allowed is not None:
            hits = hits[allowed[hits]]
        truncated = len(hits) > limit
        hits = hits[:limit]
        geoms = self.frame.geometry.array[hits]
        if not self.points:
            pixel = 360.0 / (256 * 2 ** zoom)  # degrees of longitude per pixel at this zoom
            geoms = shapely.simplify(np.asarray(geoms), pixel * 0.7, preserve_topology=True)
            geoms = shapely.set_precision(geoms, pixel / 8, mode="pointwise")
            keep = ~shapely.is_empty(geoms)
            hits, geoms = hits[keep], geoms[keep]
        props = self.frame.iloc[hits][self.fields + [c for c in self.frame.columns if c.startswith("_")]]
        texts = shapely.to_geojson(np.asarray(geoms))
        records = props.to_dict("records")
        features = ",".join(f'{{"type":"Feature","geometry":{g},"properties":{json.dumps(p, ensure_ascii=False)}}}'
                            for g, p in zip(texts, records, strict=True))
        extent = json.dumps([round(float(v), 7) for v in self.extent])
        return {"body": f'{{"type":"FeatureCollection","truncated":{json.dumps(truncated)},"extent":{extent},'
                        f'"features":[{features}]}}',
                "count": len(records), "truncated": truncated}


class FrameCache:
    """Built display layers, keyed by what they were built from (bounded, thread-safe)."""

    def __init__(self, size: int = 24):
        self.size = size
        self._items: collections.OrderedDict[tuple[Any, ...], Display] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, store: Store, key: str, lang: str, basemap: Basemap) -> Display:
        spec = DISPLAYS.get(key.split(":", maxsplit=1)[0])
        if spec is None:
            raise UnknownLayerError(f"no display layer '{key}': the pages draw {', '.join(sorted(DISPLAYS))}")
        inputs = tuple((name, store.version(name)) for name in spec.inputs if store.has(name))
        ident = (str(getattr(store, "path", id(store))), key, lang, basemap.shifted, inputs)
        with self._lock:
            if ident in self._items:
                self._items.move_to_end(ident)
                return self._items[ident]
        built = spec.build(store, key, lang, basemap)
        with self._lock:
            self._items[ident] = built
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return built


@dataclasses.dataclass(frozen=True)
class Spec:
    inputs: tuple[str, ...]
    build: Callable[[Store, str, str, Basemap], Display]


def _buildings(store: Store, key: str, lang: str, basemap: Basemap) -> Display:
    fields = ["name", "floors", "use"]
    frame = escaped(store.read("buildings"), fields, basemap=basemap)
    return Display(frame, fields, [html.escape(t(lang, c)) for c in fields],
                   {"fillColor": "#8d8d8d", "fillOpacity": 0.75, "color": "#6b6b6b", "weight": 0.4}, min_zoom=15)


def _roads(store: Store, key: str, lang: str, basemap: Basemap) -> Display:
    roads = store.read("roads")
    frame = escaped(roads, ["name"], basemap=basemap)
    frame["_weight"] = roads["class"].map(ROAD_WEIGHTS).fillna(1.5).to_numpy()
    return Display(frame, ["name"], [html.escape(t(lang, "name"))],
                   {"color": "#ffffff", "opacity": 0.95, "weight": "$_weight"}, min_zoom=13)


def _cameras(store: Store, key: str, lang: str, basemap: Basemap) -> Display:
    cams = store.read("cameras")
    tr = {"kind": lambda v: t(lang, v) if v else v, "status": lambda v: t(lang, v) if v else v}
    cams["code"] = cams["id"]
    fields = ["code", "name", "kind", "status", "point_class", "heading_deg"]
    frame = escaped(cams, fields, tr, basemap=basemap)
    frame["_colour"] = cams["status"].map(STATUS_COLOURS).fillna("#1b7f3b").to_numpy()
    frame["_id"] = cams["id"].astype(str).to_numpy()
    for col in ("heading_deg", "height_m", "tilt_deg", "hfov_deg"):
        frame[f"_{col}"] = pd.to_numeric(cams[col], errors="coerce").round(1).astype(object).where(
            cams[col].notna(), None).to_numpy() if col in cams else None
    return Display(frame, fields, [html.escape(t(lang, "heading" if c == "heading_deg" else c)) for c in fields],
                   {"radius": 4, "color": "#ffffff", "weight": 1, "fillColor": "$_colour", "fillOpacity": 1.0,
                    "bubblingMouseEvents": False},  # a click on a camera opens its card, nothing else
                   points=True)


def _views(store: Store, key: str, lang: str, basemap: Basemap) -> Display:
    level = key.split(":")[1] if ":" in key else "detect"
    if level not in DORI_LEVELS:
        raise UnknownLayerError(f"no DORI level '{level}': use one of {', '.join(DORI_LEVELS)}")
    views = store.read("views")
    part = views[views["level"] == level]
    frame = escaped(part, ["camera", "level"], basemap=basemap)
    colour = LEVEL_FILL[level]
    return Display(frame, ["camera", "level"], [html.escape(t(lang, "cameras")), html.escape(t(lang, "level"))],
                   {"fillColor": colour, "fillOpacity": 0.45, "color": colour, "weight": 0.5}, min_zoom=15)


def _household_buildings(store: Store, key: str, lang: str, basemap: Basemap) -> Display:
    from api.maps.households import building_layer

    frame, fields = building_layer(store, lang, basemap)
    return Display(frame, fields, [html.escape(t(lang, f"bld_{c}")) for c in fields],
                   {"fillColor": "$_fill", "fillOpacity": 0.9, "color": "#555", "weight": 0.4}, min_zoom=15)


DISPLAYS: dict[str, Spec] = {
    "buildings": Spec(("buildings",), _buildings),
    "roads": Spec(("roads",), _roads),
    "cameras": Spec(("cameras",), _cameras),
    "views": Spec(("views",), _views),
    "household_buildings": Spec(("buildings", "households"), _household_buildings),
}


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
