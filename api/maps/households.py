"""The 户况网格图: grids by risk level, buildings by household situation, cards on click.

"看图知片情、看标识户况": a planner sees each grid's level (红/黄/绿, with the reasons and what would
move it down) and each building's household situation. Household detail is personal
information: buildings show aggregates only, and counts below ``SMALL_COUNT`` are suppressed.
"""

from __future__ import annotations

import html
import json
from typing import Any

import folium
import numpy as np
import pandas as pd

from api.i18n import t
from api.maps.base import add_export_menu, page_html
from api.maps.displays import LEVEL_COLOURS, RENTED_BINS, VACANT_COLOUR
from api.maps.layers import GridLabels, Page, add_layer
from api.workflows import reasons

TO_3D = """
<a id="pingan-to-3d" class="pingan-title" href="/3d"
   style="position:fixed;top:50px;left:60px;z-index:1000;font-size:13px">%(text)s</a>
<script>
document.getElementById('pingan-to-3d').addEventListener('click', function (ev) {
  const map = Object.values(window).find(v => v && v._container && v.eachLayer);
  if (!map) { return; }
  ev.preventDefault();
  const c = map.getCenter();
  window.location.href = '/3d?lat=' + c.lat.toFixed(6) + '&lon=' + c.lng.toFixed(6) + '&zoom=' + map.getZoom()
    + '%(lang)s';
});
</script>
"""


def household_map(page: Page, *, households: bool = True, title_key: str = "household_title",
                  exports: bool = True) -> folium.Map:
    """The 户况网格图; without ``households`` it is the risk-level map alone (no household figures);
    ``exports`` adds the download menu for users who export (not in an offline copy)."""
    lang = page.lang
    m, present = page.start(title_key)
    if "roads" in present:
        add_layer(m, page, "roads", name=t(lang, "roads"), interactive=False)
    counts = {"red": 0, "yellow": 0, "green": 0}
    if "grids" in present:
        grids = reasons.in_language(page.read("risk"), lang) if "risk" in present else page.read("grids")
        comms = page.read("communities") if "communities" in present else pd.DataFrame({"code": [], "name": []})
        grids["community"] = grids["community_code"].map(dict(zip(comms["code"], comms["name"], strict=True)))
        if "coverage_grids" in present:
            cov = page.read("coverage_grids").set_index("code")
            grids["seen"] = grids["code"].map(cov["share_detect"]).map(lambda v: "" if pd.isna(v) else f"{v:.1%}")
            grids["blind_m2"] = grids["code"].map(cov["uncovered_m2"]).map(lambda v: "" if pd.isna(v) else f"{v:,.0f}")
            grids["cameras"] = grids["code"].map(cov["cameras_active"])
        level = grids["level"] if "level" in grids else pd.Series("", index=grids.index)
        counts.update({k: int(v) for k, v in level.value_counts().items() if k in counts})
        grids["level_text"] = level.map(lambda v: t(lang, f"level_{v}") if v else "")
        grids["worker"] = grids.get("worker_id")
        if "residents" in grids:
            grids["residents"] = grids["residents"].round().astype("Int64")
            grids["households"] = grids["households"].round().astype("Int64")
        fields = [c for c in ("code", "name", "community", "worker", "households", "residents", "level_text",
                              "score", "reasons", "to_lower_level", "seen", "blind_m2", "cameras") if c in grids
                  and (households or c not in ("households", "residents"))]
        if "score" in grids:
            grids["score"] = grids["score"].round(1)
        shown = page.escaped(grids, fields)
        shown["_fill"] = level.map(LEVEL_COLOURS).fillna("#9e9e9e").to_numpy()
        folium.GeoJson(
            shown, name=t(lang, "grids"), tooltip=folium.GeoJsonTooltip(["code", "name"], aliases=[
                t(lang, "code"), t(lang, "name")]),
            popup=folium.GeoJsonPopup(fields, aliases=[t(lang, f"card_{c}") for c in fields], max_width=420),
            style_function=lambda f: {"fillColor": f["properties"]["_fill"], "fillOpacity": 0.45, "color": "#444",
                                      "weight": 1.2}).add_to(m)
        # labels let clicks through to the grid below (its card opens on the number too); a city's
        # thousands of labels appear from street zoom on
        GridLabels(shown.geometry.representative_point(), [str(c)[-3:] for c in grids["code"]],
                   name=t(lang, "grid_labels"), min_zoom=0 if len(grids) <= 300 else 15).add_to(m)
    served = exports  # a page this server answers for (an offline copy has no API to drill into)
    if "subgrids" in present:  # the drill-down below the grid: 组格 solid, 片格 dashed; a click opens the card
        subs = page.read("subgrids")
        if len(subs):
            subs["level_text"] = subs["level"].map(lambda v: t(lang, f"subgrid_{v}"))
            cols = ["code", "name", "level_text", "buildings"]
            shown = page.escaped(subs, cols)
            shown["_dash"] = np.where(subs["level"].to_numpy() == "patch", "4 4", "")
            shown["_weight"] = np.where(subs["level"].to_numpy() == "patch", 0.8, 1.6)
            # a fill a click can land on (almost transparent); patches drawn last, so a click finds the smallest
            shown = shown.iloc[np.argsort(subs["level"].to_numpy() == "patch", kind="stable")]
            kwargs: dict[str, Any] = {}
            if served:
                shown["_sub"] = shown["code"].to_numpy()
                kwargs["popup"] = folium.GeoJsonPopup(["code"], aliases=[t(lang, "drill.card")], max_width=360)
            folium.GeoJson(shown, name=t(lang, "subgrids"), show=False,
                           tooltip=folium.GeoJsonTooltip(cols, aliases=[t(lang, f"sub_{c}") for c in cols]),
                           style_function=lambda f: {"fill": True, "fillOpacity": 0.01, "color": "#4a148c",
                                                     "weight": f["properties"]["_weight"],
                                                     "dashArray": f["properties"]["_dash"]}, **kwargs).add_to(m)
    if households and "buildings" in present and "households" in present:
        add_layer(m, page, "household_buildings", name=t(lang, "buildings"), popup=True)
    if exports and "risk" in present and page.scope is not None and page.scope.user.role.can_export:
        add_export_menu(m, lang, "risk")
    page_html(m).add_child(folium.Element(_legend(lang, counts, rented=households)))
    if households and served:  # the same place in 3D (an offline copy has no /3d to go to)
        page_html(m).add_child(folium.Element(TO_3D % {"text": html.escape(t(lang, "3d.open")),
                                                       "lang": "&lang=en" if lang == "en" else ""}))
    if served and ("subgrids" in present or (households and "buildings" in present)):
        page_html(m).add_child(folium.Element(drill_script(page, present, households=households)))
    folium.LayerControl(collapsed=False).add_to(m)
    return m


#: what a 组格/片格 card shows, in order (the report tables' figures)
CARD_FIELDS = ("worker_id", "buildings", "households", "residents", "rented", "floating", "vacant", "elderly_alone",
               "incidents", "public_m2", "share_detect")
DRILL = """<div class="pingan-panel pingan-stack" id="pingan-stack"></div>
<script type="application/json" id="pingan-drill-config">%(config)s</script>
<script src="/static/pingan-drill.js"></script>
<script>
window.addEventListener('load', function () {
  const map = Object.values(window).find(v => v && v._container && v.eachLayer);
  const cfg = JSON.parse(document.getElementById('pingan-drill-config').textContent);
  if (map) { window.pinganDrill(map, cfg); }
});
</script>
"""


def drill_script(page: Page, present: set[str], *, households: bool) -> str:
    """The drill-down of the served 2D map: 组格/片格 cards and building stacks (pingan-drill.js)."""
    lang = page.lang
    role = page.scope.user.role if page.scope is not None else None
    stack_texts = ("stack", "households", "floor", "unit", "detail", "reason", "reason_needed", "close",
                   "suppressed", "rented")
    texts = {k: t(lang, f"3d.{k}") for k in stack_texts}
    texts |= {k: t(lang, f"column.{k}") for k in CARD_FIELDS if k != "worker_id"}
    texts |= {"worker_id": t(lang, "drill.worker_id"), "children": t(lang, "drill.children"),
              "level_group": t(lang, "subgrid_group"), "level_patch": t(lang, "subgrid_patch")}
    fields = [f for f in CARD_FIELDS if households or f not in ("households", "residents", "rented", "floating",
                                                                "vacant", "elderly_alone")]
    config = {"lang": lang, "texts": texts, "fields": fields,
              "stacks": households and "buildings" in present,
              "detail": bool(role is not None and role.household_detail and "households" in present)}
    return DRILL % {"config": json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")}


def _legend(lang: str, counts: dict[str, int], *, rented: bool = True) -> str:
    rows = "".join(f'<div data-level="{k}"><i style="background:{LEVEL_COLOURS[k]}"></i>'
                   f"{html.escape(t(lang, f'level_{k}'))}: <b class=\"pingan-count\">{n}</b></div>"
                   for k, n in (("red", counts["red"]), ("yellow", counts["yellow"]), ("green", counts["green"])))
    if not rented:
        return (f'<div class="pingan-legend" id="pingan-legend" style="position:fixed;bottom:24px;right:12px;'
                f'z-index:1000"><b>{html.escape(t(lang, "legend"))}</b>{rows}</div>')
    bins = [RENTED_BINS[i][0] for i in range(len(RENTED_BINS))] + [1.0]
    rows += f"<div style='margin-top:4px'><b>{html.escape(t(lang, 'rented_share'))}</b></div>"
    rows += "".join(f'<div><i style="background:{c}"></i>{lo:.0%}–{hi:.0%}</div>'
                    for (lo, c), hi in zip(RENTED_BINS, np.array(bins[1:]), strict=True))
    rows += f'<div><i style="background:{VACANT_COLOUR}"></i>{html.escape(t(lang, "vacant_only"))}</div>'
    return (f'<div class="pingan-legend" id="pingan-legend" style="position:fixed;bottom:24px;right:12px;'
            f'z-index:1000"><b>{html.escape(t(lang, "legend"))}</b>{rows}</div>')

