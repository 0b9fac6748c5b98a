"""Display layers: what the pages and the viewport API draw, built once from the workspace.

A display layer is a frame in lon/lat (in the basemap's datum) whose property columns are
already HTML-escaped text, plus the style columns (``_fill``, ``_colour``, ``_weight``)
its style refers to as ``"$_fill"``. :data:`DISPLAYS` names them; :class:`FrameCache` keeps
built ones per (layer, language, basemap datum, input versions). How a page draws one (inline
or by viewport) is :mod:`api.maps.layers`'.
"""

from __future__ import annotations

import collections
import dataclasses
import html
import json
import threading
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from api.access import Scope
from api.i18n import t
from api.maps.base import NO_BASEMAP, Basemap
from gis.camera import DORI_LEVELS
from gis.visibility import building_heights
from layers.errors import UnknownLayerError
from layers.store import Store

LEVEL_FILL = {"detect": "#c6dbef", "observe": "#6baed6", "recognise": "#2171b5", "identify": "#08306b"}
#: risk levels as the pages, printed maps, tables and QGIS styles colour them
LEVEL_COLOURS = {"red": "#e03a3e", "yellow": "#f5c242", "green": "#3aa655"}
STATUS_COLOURS = {"active": "#1b7f3b", "faulty": "#c0392b", "planned": "#2c6fbb", "removed": "#7f8c8d"}
#: coverage classes: share of a grid's public space seen at detect level, and their colours
COVERAGE_BREAKS = (0.0, 0.02, 0.05, 0.10, 0.20, 1.0)
COVERAGE_COLOURS = ("#fff5eb", "#c7e9c0", "#74c476", "#31a354", "#006d2c")
ROAD_WEIGHTS = {"primary": 5, "secondary": 3.5, "tertiary": 2.5, "residential": 1.5, "service": 1.2}
#: most features one viewport answer carries; beyond it the answer says ``truncated``
MAX_FEATURES = 30_000



RENTED_BINS = ((0.0, "#f2f0f7"), (0.1, "#cbc9e2"), (0.25, "#9e9ac8"), (0.5, "#6a51a3"))  # share rented
VACANT_COLOUR = "#bdbdbd"
SMALL_COUNT = 5  # household counts below this are shown as <5


def _rented_colour(share: float, vacant_only: bool) -> str:
    if vacant_only:
        return VACANT_COLOUR
    colour = RENTED_BINS[0][1]
    for lower, c in RENTED_BINS:
        if share >= lower:
            colour = c
    return colour


def building_summary(store: Store) -> pd.DataFrame:
    """Per building: households, residents and tag counts (aggregates; small counts suppressed)."""
    hh = store.read("households")
    tags = hh["tags"].fillna("")
    agg = pd.DataFrame({
        "building_id": hh["building_id"], "households": 1, "residents": hh["members"].fillna(0).astype(int),
        "rented": tags.str.contains("出租").astype(int), "vacant": tags.str.contains("空置").astype(int),
        "floating": tags.str.contains("流动").astype(int), "elderly": tags.str.contains("独居老人").astype(int),
    }).groupby("building_id").sum()
    agg["rented_share"] = agg["rented"] / agg["households"]
    agg["vacant_only"] = agg["vacant"] == agg["households"]
    return agg


def _shown(count: float, lang: str) -> str:
    return "<5" if 0 < count < SMALL_COUNT else f"{int(count)}"


def building_layer(store: Store, lang: str, basemap: Basemap) -> tuple[pd.DataFrame, list[str]]:
    """Buildings with their household aggregates as display text (small counts suppressed), and the fields."""
    b = store.read("buildings")
    s = building_summary(store).reindex(b["id"])
    s = s.fillna({"households": 0, "residents": 0, "rented": 0, "vacant": 0, "floating": 0, "elderly": 0,
                  "rented_share": 0.0, "vacant_only": False})
    for col in ("households", "residents", "rented", "vacant", "floating", "elderly"):
        b[col] = [_shown(v, lang) for v in s[col].to_numpy()]
    b["rented_share_text"] = [f"{v:.0%}" if h >= SMALL_COUNT else "" for v, h in
                              zip(s["rented_share"], s["households"], strict=True)]
    fields = ["name", "address", "households", "residents", "rented", "vacant", "floating", "elderly",
              "rented_share_text"]
    shown = escaped(b, fields, basemap=basemap)
    shown["_fill"] = [_rented_colour(r, bool(v)) if h > 0 else "#e0e0e0" for r, v, h in
                      zip(s["rented_share"], s["vacant_only"], s["households"], strict=True)]
    # for the 3D page: the building's id and height, and each situation's share where there are
    # enough households to show one (a share of fewer than five would give the count back)
    shown["_id"] = b["id"].astype(str).to_numpy()
    storey = float(store.settings().get("storey_height_m", 3.0))
    height = building_heights(b["height_m"], b["floors"], storey)
    shown["_height"] = np.round(np.where(np.isfinite(height), height, 2 * storey), 1)  # unknown: two storeys
    enough = s["households"].to_numpy() >= SMALL_COUNT
    for col in ("rented", "vacant", "floating", "elderly"):
        share = (s[col] / s["households"].where(s["households"] > 0)).to_numpy(dtype=float)
        values = [round(float(v), 3) if ok else None for v, ok in zip(share, enough, strict=True)]
        shown[f"_s_{col}"] = pd.Series(values, index=shown.index, dtype=object)
        shown[f"_m_{col}"] = (s[col].to_numpy() > 0).astype(int)  # a marker: at least one (as "<5" shows)
    return shown, fields


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
    rows, length = shown.source_rows or (np.arange(len(shown.frame)), len(shown.frame))
    if len(stored) != length:  # built from its layer as it was: changed since, so show nothing
        return np.zeros(len(shown.frame), dtype=bool)
    return scope.mask(store, layer, stored)[rows]


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
    #: when built from some rows of its layer: their positions in it, and the layer's length then
    source_rows: tuple[np.ndarray, int] | None = None
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
    views = store.read(key.split(":", maxsplit=1)[0])  # views, or views_night
    part = views[views["level"] == level]
    frame = escaped(part, ["camera", "level"], basemap=basemap)
    colour = LEVEL_FILL[level]
    return Display(frame, ["camera", "level"], [html.escape(t(lang, "cameras")), html.escape(t(lang, "level"))],
                   {"fillColor": colour, "fillOpacity": 0.45, "color": colour, "weight": 0.5}, min_zoom=15)


def _household_buildings(store: Store, key: str, lang: str, basemap: Basemap) -> Display:
    frame, fields = building_layer(store, lang, basemap)
    return Display(frame, fields, [html.escape(t(lang, f"bld_{c}")) for c in fields],
                   {"fillColor": "$_fill", "fillOpacity": 0.9, "color": "#555", "weight": 0.4}, min_zoom=15)


#: blind spots by rank: the ten first, the fifty first, the rest
SPOT_COLOURS = ("#b2182b", "#ef8a62", "#fddbc7")


def _blind_spots(store: Store, key: str, lang: str, basemap: Basemap) -> Display:
    spots = store.read(key).reset_index(drop=True)  # blind_spots, or blind_spots_night
    ranked = spots[spots["ranked"].astype(bool)].sort_values("rank")
    shown = ranked.assign(where=ranked["name"], area=ranked["area_m2"].round(0),
                          kind_text=ranked["kind"].map(lambda k: t(lang, f"spot_{k}")))
    fields = ["rank", "kind_text", "where", "area", "grid_code", "near_targets"]
    frame = escaped(shown, fields, basemap=basemap)
    frame["_fill"] = [SPOT_COLOURS[0] if r <= 10 else SPOT_COLOURS[1] if r <= 50 else SPOT_COLOURS[2]
                      for r in ranked["rank"]]
    return Display(frame, fields, [html.escape(t(lang, f"spot_field_{f}")) for f in fields],
                   {"fillColor": "$_fill", "fillOpacity": 0.55, "color": "$_fill", "weight": 0.5},
                   source_rows=(ranked.index.to_numpy(), len(spots)))


#: face and plate capture zones
CAPTURE_COLOURS = {"face": "#e7298a", "plate": "#66a61e"}


def _capture_views(store: Store, key: str, lang: str, basemap: Basemap) -> Display:
    zones = store.read(key).reset_index(drop=True)  # capture_views, or capture_views_night
    shown = zones.assign(kind_text=zones["capture"].map(lambda k: t(lang, f"capture_{k}")),
                         area=pd.to_numeric(zones["area_m2"]).round(1))
    fields = ["target_name", "camera", "kind_text", "area"]
    frame = escaped(shown, fields, basemap=basemap)
    frame["_fill"] = zones["capture"].map(CAPTURE_COLOURS).fillna("#e7298a").to_numpy()
    return Display(frame, fields, [html.escape(t(lang, f"cap_field_{f}")) for f in fields],
                   {"fillColor": "$_fill", "fillOpacity": 0.5, "color": "$_fill", "weight": 1.5, "dashArray": "4 3"})


DISPLAYS: dict[str, Spec] = {
    "buildings": Spec(("buildings",), _buildings),
    "roads": Spec(("roads",), _roads),
    "cameras": Spec(("cameras",), _cameras),
    "views": Spec(("views",), _views),
    "household_buildings": Spec(("buildings", "households"), _household_buildings),
    "blind_spots": Spec(("blind_spots",), _blind_spots),
    # the night twins (pingan views/coverage --light night), drawn alike
    "views_night": Spec(("views_night",), _views),
    "blind_spots_night": Spec(("blind_spots_night",), _blind_spots),
    "capture_views": Spec(("capture_views",), _capture_views),
    "capture_views_night": Spec(("capture_views_night",), _capture_views),
}
