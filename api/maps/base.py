"""A Folium map that loads nothing from the internet, and the basemaps it may draw on.

Folium's defaults pull Leaflet, jQuery, Bootstrap and icon fonts from CDNs; intranet
deployments have no internet, so every asset is served by the app under ``/static``
(Leaflet from the ``xstatic-leaflet`` package) and no tile layer is added unless a
basemap is configured (:class:`Basemap`).

Chinese web basemaps differ in datum: Tianditu draws CGCS2000 (within centimetres of
WGS84 at map scales), Gaode/AutoNavi draws GCJ-02, hundreds of metres off. With a GCJ-02
basemap every overlay is shifted into GCJ-02 before it is drawn (:meth:`Basemap.display`)
and clicks on the map are shifted back before they reach the analysis.
"""

from __future__ import annotations

import dataclasses
import html
from typing import Any, cast
from urllib.parse import urlencode

import folium
import numpy as np
import shapely
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from api.i18n import t
from api.security import tile_origins
from gis.coords import gcj02_to_wgs84, wgs84_to_gcj02

STATIC_PREFIX = "/static"

#: Basemap presets. ``{tk}`` is filled from the Tianditu key setting; subdomains rotate ``{s}``.
PRESETS: dict[str, dict[str, Any]] = {
    "tianditu": {"url": "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                        "&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
                        "&TILECOL={x}&tk={tk}",
                 "labels": "https://t{s}.tianditu.gov.cn/cva_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                           "&LAYER=cva&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
                           "&TILECOL={x}&tk={tk}",
                 "subdomains": "01234567", "crs": "wgs84", "attribution": "天地图"},
    "gaode": {"url": "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}"
                     "&z={z}", "subdomains": "1234", "crs": "gcj02", "attribution": "高德地图 (GCJ-02)"},
    "osm": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "subdomains": "abc", "crs": "wgs84",
            "attribution": "© OpenStreetMap contributors"},
}
BASEMAPS = ("none", "xyz", *PRESETS)


class BasemapError(ValueError):
    """A basemap setting that cannot work (unknown kind, missing URL or key)."""


@dataclasses.dataclass(frozen=True)
class Basemap:
    """Which tiles are drawn under the overlays, and in which datum they are.

    ``kind`` is ``none`` (the default: nothing is fetched, the workspace's roads and
    buildings draw the context), ``xyz`` (an intranet XYZ or WMTS-KVP URL template with
    ``{z}``, ``{x}``, ``{y}``), or a preset: ``tianditu`` (needs ``tk``), ``gaode``, ``osm``.
    """

    kind: str = "none"
    url: str | None = None
    attribution: str = ""
    crs: str = "wgs84"
    tk: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in BASEMAPS:
            raise BasemapError(f"unknown basemap '{self.kind}': choose one of {', '.join(BASEMAPS)}")
        if self.kind == "xyz" and not self.url:
            raise BasemapError("basemap 'xyz' needs a URL template (PINGAN_TILES_URL=http://host/{z}/{x}/{y}.png)")
        if self.kind == "tianditu" and not self.tk:
            raise BasemapError("basemap 'tianditu' needs its key: set PINGAN_TIANDITU_TK "
                               "(from console.tianditu.gov.cn)")
        if self.crs not in ("wgs84", "gcj02"):
            raise BasemapError(f"basemap datum '{self.crs}' is not supported: use wgs84 (or cgcs2000) or gcj02")

    @classmethod
    def from_settings(cls, settings: Any) -> Basemap:
        kind = settings.basemap or ("xyz" if settings.tiles_url else "none")
        crs = PRESETS[kind]["crs"] if kind in PRESETS else settings.tiles_crs.lower().replace("cgcs2000", "wgs84")
        return cls(kind=kind, url=settings.tiles_url, attribution=settings.tiles_attribution, crs=crs,
                   tk=settings.tianditu_tk)

    @property
    def shifted(self) -> bool:
        """True when overlays are drawn in GCJ-02 to sit on the basemap."""
        return self.kind != "none" and self.crs == "gcj02"

    def tile_layers(self) -> list[folium.TileLayer]:
        if self.kind == "none":
            return []
        if self.kind == "xyz":
            assert self.url is not None
            return [folium.TileLayer(tiles=self.url, attr=self.attribution or "basemap", name="basemap",
                                     max_zoom=20)]
        preset = PRESETS[self.kind]
        attr = self.attribution or preset["attribution"]
        layers = [folium.TileLayer(tiles=preset["url"].replace("{tk}", self.tk or ""), attr=attr, name=self.kind,
                                   subdomains=preset["subdomains"], max_zoom=19)]
        if "labels" in preset:
            layers.append(folium.TileLayer(tiles=preset["labels"].replace("{tk}", self.tk or ""), attr=attr,
                                           name=f"{self.kind} labels", subdomains=preset["subdomains"],
                                           overlay=True, control=False, max_zoom=19))
        return layers

    def tile_urls(self) -> list[list[str]]:
        """The basemap's tile URL templates as a WebGL map takes them (MapLibre: no ``{s}``, so one URL per
        subdomain; the key filled in): the base layer, then the labels layer if the preset has one."""
        if self.kind == "none":
            return []
        if self.kind == "xyz":
            assert self.url is not None
            subs = list("abc") if "{s}" in self.url else [""]
            return [[self.url.replace("{s}", sub) for sub in subs]]
        preset = PRESETS[self.kind]
        out = []
        for template in (preset["url"], preset.get("labels")):
            if template:
                filled = template.replace("{tk}", self.tk or "")
                out.append([filled.replace("{s}", sub) for sub in preset["subdomains"]])
        return out

    def tile_origins(self) -> list[str]:
        """Where this basemap's tiles come from, as CSP sources (a page may load images from them only)."""
        if self.kind == "none":
            return []
        if self.kind == "xyz":
            return tile_origins([self.url])
        return tile_origins([PRESETS[self.kind]["url"], PRESETS[self.kind].get("labels")])

    def display(self, geoms: Any) -> Any:
        """WGS84 lon/lat geometries (array) as drawn on this basemap."""
        if not self.shifted:
            return geoms

        def shift(xy: np.ndarray) -> np.ndarray:
            x, y = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
            return np.column_stack([x, y])

        return shapely.transform(geoms, shift)

    def display_lonlat(self, lon: float, lat: float) -> tuple[float, float]:
        """A WGS84 position as drawn on this basemap."""
        if not self.shifted:
            return lon, lat

        x, y = wgs84_to_gcj02(lon, lat)
        return float(x), float(y)

    def from_display(self, lon: float, lat: float) -> tuple[float, float]:
        """A position clicked on this basemap, in WGS84."""
        if not self.shifted:
            return lon, lat

        x, y = gcj02_to_wgs84(lon, lat)
        return float(x), float(y)

    def bounds(self, bounds: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        if not self.shifted:
            return bounds
        box = self.display(np.array([shapely.box(*bounds)]))[0]
        return tuple(float(v) for v in box.bounds)  # type: ignore[return-value]


NO_BASEMAP = Basemap()


def offline_map(bounds: tuple[float, float, float, float] | None, *, basemap: Basemap = NO_BASEMAP,
                static_prefix: str = STATIC_PREFIX) -> folium.Map:
    """An empty map fitted to lon/lat ``bounds`` with only self-served assets."""
    if bounds is not None:
        bounds = basemap.bounds(bounds)
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=True, zoom_start=15, max_zoom=20,
                   location=None if bounds is None else [(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2])
    m.options["minZoom"] = 0  # else Leaflet stops zooming out at a tiled layer's own minimum zoom
    m.default_js = [("leaflet", f"{static_prefix}/leaflet/leaflet.js"),
                    ("vectorgrid", f"{static_prefix}/Leaflet.VectorGrid.bundled.min.js"),
                    ("pingan_viewport", f"{static_prefix}/pingan-viewport.js")]
    m.default_css = [("leaflet_css", f"{static_prefix}/leaflet/leaflet.css"),
                     ("pingan_css", f"{static_prefix}/pingan.css")]
    for layer in basemap.tile_layers():
        layer.add_to(m)
    _NoLeafletPrefix().add_to(m)
    # the page's datum, for scripts that send clicked positions to the API
    page_html(m).add_child(folium.Element(
        f'<script>window.PINGAN_COORDS = "{"gcj02" if basemap.shifted else "wgs84"}";</script>'))
    if bounds is not None:
        m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    return m


class _NoLeafletPrefix(MacroElement):
    """Leaflet's own prefix (a flag and a link to leafletjs.com) off the attribution line: the pages are
    offline, and the line is for the basemap's attribution only."""

    _template = Template("{% macro script(this, kwargs) %}"
                         "{{ this._parent.get_name() }}.attributionControl.setPrefix(false);"
                         "{% endmacro %}")


def page_html(m: folium.Map) -> Element:
    """The ``<body>`` part of the map's page, for legends, panels and scripts."""
    return cast(Figure, m.get_root()).html


def add_title(m: folium.Map, text: str) -> None:
    """The page's title box (escaped), top left beside the zoom buttons."""
    page_html(m).add_child(folium.Element(
        f'<div class="pingan-title" id="pingan-title" style="position:fixed;top:10px;left:60px;z-index:1000">'
        f"{html.escape(text)}</div>"))


def add_export_menu(m: folium.Map, lang: str, kind: str) -> None:
    """The page's downloads (printed map, tables, offline map, grid layer), served by the export API."""

    layer = "risk" if kind == "risk" else "coverage_grids"
    extra = {"lang": "en"} if lang == "en" else {}
    links = [("export_pdf", "/api/reports/map", {"kind": kind, "format": "pdf"}),
             ("export_pdf_a3", "/api/reports/map", {"kind": kind, "format": "pdf", "paper": "A3"}),
             ("export_png", "/api/reports/map", {"kind": kind, "format": "png"}),
             ("export_tables", "/api/reports/tables", {"format": "xlsx"}),
             ("export_offline", "/api/reports/offline", {"kind": kind}),
             ("export_kml", f"/api/export/{layer}", {"format": "kml"}),
             ("export_gpkg", f"/api/export/{layer}", {"format": "gpkg"})]
    items = "".join(f'<a class="pingan-export-{key}" href="{html.escape(path + "?" + urlencode(query | extra))}" '
                    f'download>{html.escape(t(lang, key))}</a>' for key, path, query in links)
    page_html(m).add_child(folium.Element(
        f'<details class="pingan-export" id="pingan-export" style="position:fixed;bottom:64px;left:10px;z-index:1000">'
        f"<summary>{html.escape(t(lang, 'export'))}</summary>{items}</details>"))
