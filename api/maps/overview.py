"""The workspace overview page: communities, grids, buildings, roads, targets, cameras.

This is the first map the app serves; the 户况网格图, coverage and placement pages
build on the same helpers.
"""

from __future__ import annotations

import html

import folium

from api.i18n import t
from api.maps.base import page_html
from api.maps.displays import STATUS_COLOURS
from api.maps.layers import Page, add_layer

COMMUNITY_COLOURS = ["#8fb8de", "#b5d99c", "#f2c57c", "#d7a9e3", "#9ad1d4", "#f4a6a6", "#c9c9a3", "#a3b8c9"]
TARGET_COLOURS = {"1": "#b03a2e", "2": "#d68910", "3": "#7d6608"}


def _tooltip(columns: list[str], lang: str) -> folium.GeoJsonTooltip:
    return folium.GeoJsonTooltip(fields=columns, aliases=[t(lang, c) for c in columns], sticky=True)


def _legend(lang: str, counts: dict[str, int]) -> str:
    rows = "".join(f'<div><i style="background:{STATUS_COLOURS[k]};border-radius:6px"></i>'
                   f"{html.escape(t(lang, 'cameras'))} · {html.escape(t(lang, k))}: {n}</div>"
                   for k, n in counts.items())
    rows += "".join(f'<div><i style="background:{c}"></i>{html.escape(t(lang, "targets"))} '
                    f"{html.escape(t(lang, 'class'))} {k}</div>" for k, c in TARGET_COLOURS.items())
    return (f'<div class="pingan-legend" style="position:fixed;bottom:24px;right:12px;z-index:1000">'
            f"<b>{html.escape(t(lang, 'legend'))}</b>{rows}</div>")


def overview_map(page: Page) -> folium.Map:
    lang = page.lang
    m, present = page.start("title")
    if not present:
        page_html(m).add_child(folium.Element(f"<p>{html.escape(t(lang, 'no_layers'))}</p>"))
        return m
    tr = {"kind": lambda v: t(lang, v) if v else v, "status": lambda v: t(lang, v) if v else v}
    if "grids" in present:
        grids = page.read("grids")
        names = {}
        if "communities" in present:
            comm = page.read("communities")
            names = dict(zip(comm["code"], comm["name"], strict=True))
        grids["community"] = grids["community_code"].map(names)
        palette = {c: COMMUNITY_COLOURS[k % len(COMMUNITY_COLOURS)]
                   for k, c in enumerate(sorted(grids["community_code"].dropna().unique()))}
        shown = page.escaped(grids, ["code", "name", "community", "kind"], tr)
        shown["_fill"] = grids["community_code"].map(palette).fillna("#cccccc")
        folium.GeoJson(shown, name=t(lang, "grids"), tooltip=_tooltip(["code", "name", "community", "kind"], lang),
                       style_function=lambda f: {"fillColor": f["properties"]["_fill"], "fillOpacity": 0.35,
                                                 "color": "#555555", "weight": 1}).add_to(m)
    if "communities" in present:
        folium.GeoJson(page.escaped(page.read("communities"), ["code", "name"]), name=t(lang, "communities"),
                       style_function=lambda f: {"fill": False, "color": "#222222", "weight": 3}).add_to(m)
    if "roads" in present:
        add_layer(m, page, "roads", name=t(lang, "roads"), tooltip=True)
    if "buildings" in present:
        add_layer(m, page, "buildings", name=t(lang, "buildings"), tooltip=True)
    if "targets" in present:
        targets = page.read("targets")
        folium.GeoJson(page.escaped(targets, ["name", "category", "class"]), name=t(lang, "targets"),
                       tooltip=_tooltip(["name", "category", "class"], lang),
                       marker=folium.CircleMarker(radius=5, fill=True, fill_opacity=0.9, weight=1),
                       style_function=lambda f: {"color": TARGET_COLOURS.get(f["properties"]["class"], "#555"),
                                                 "fillColor": TARGET_COLOURS.get(f["properties"]["class"], "#555"),
                                                 "fillOpacity": 0.25, "weight": 2}).add_to(m)
    counts: dict[str, int] = {}
    if "cameras" in present:
        cams = page.read("cameras")
        counts = {str(k): int(v) for k, v in cams["status"].fillna("active").value_counts().items()}
        add_layer(m, page, "cameras", name=t(lang, "cameras"), tooltip=True)
    page_html(m).add_child(folium.Element(_legend(lang, counts)))
    folium.LayerControl(collapsed=False).add_to(m)
    return m
