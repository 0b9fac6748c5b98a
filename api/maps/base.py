"""A Folium map that loads nothing from the internet.

Folium's defaults pull Leaflet, jQuery, Bootstrap and icon fonts from CDNs; intranet
deployments have no internet, so every asset is served by the app under ``/static``
(Leaflet from the ``xstatic-leaflet`` package) and no tile layer is added unless a
tile URL is configured.
"""

from __future__ import annotations

import folium

STATIC_PREFIX = "/static"


def offline_map(bounds: tuple[float, float, float, float] | None, *, tiles_url: str | None = None,
                attribution: str = "", static_prefix: str = STATIC_PREFIX) -> folium.Map:
    """An empty map fitted to lon/lat ``bounds`` with only self-served assets."""
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=True, zoom_start=15,
                   location=None if bounds is None else [(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2])
    m.default_js = [("leaflet", f"{static_prefix}/leaflet/leaflet.js")]
    m.default_css = [("leaflet_css", f"{static_prefix}/leaflet/leaflet.css"),
                     ("pingan_css", f"{static_prefix}/pingan.css")]
    if tiles_url:
        folium.TileLayer(tiles=tiles_url, attr=attribution or "basemap", name="basemap").add_to(m)
    if bounds is not None:
        m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    return m


def add_title(m: folium.Map, text: str) -> None:
    """The page's title box (escaped), top left beside the zoom buttons."""
    import html

    m.get_root().html.add_child(folium.Element(
        f'<div class="pingan-title" id="pingan-title" style="position:fixed;top:10px;left:60px;z-index:1000">'
        f"{html.escape(text)}</div>"))
