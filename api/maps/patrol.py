"""The patrol page (/patrol): zones by duty level, routes coloured by unit, stops with their times,
checkpoints and stations, a slot selector and the uncovered risk before and after the patrols.

Everything is read through the page's scope (the one area policy); the slot's figures are those of
the rows the user may see.
"""

from __future__ import annotations

import html
import json

import folium
import pandas as pd

from api.i18n import t
from api.maps.base import page_html
from api.maps.layers import Page, add_layer
from api.workflows.patrol import model_of, summary
from gis.patrol.model import PatrolModelError, Slot

DUTY_COLOURS = {1: "#d7301f", 2: "#fc8d59", 3: "#91cf60"}
UNIT_COLOURS = ["#1f78b4", "#e31a1c", "#33a02c", "#6a3d9a", "#ff7f00", "#b15928", "#a6cee3", "#fb9a99",
                "#b2df8a", "#cab2d6", "#fdbf6f", "#8dd3c7"]

PANEL = """
<div class="pingan-legend pingan-panel" id="pingan-patrol"
     style="position:fixed;top:60px;right:12px;z-index:1000;width:260px">
  <b>%(title)s</b>
  <div>%(slot_label)s <select id="pp-slot">%(options)s</select></div>
  <div id="pp-before">%(before)s</div>
  <div id="pp-after">%(after)s</div>
  <div style="font-size:12px;color:#555">%(note)s</div>
  %(whatif)s
  <div style="margin-top:6px">%(legend)s</div>
</div>
<script>
document.getElementById('pp-slot').addEventListener('change', function () {
  const q = new URLSearchParams(window.location.search); q.set('slot', this.value);
  window.location.search = q.toString();
});
</script>
"""


WHATIF = """
<div style="margin-top:6px"><button type="button" id="pp-whatif">%(button)s</button>
  <div id="pp-whatif-status" style="font-size:12px"></div>
  <div style="font-size:12px;color:#555">%(note)s</div></div>
"""

#: the what-if re-plan: a background patrol job on the user's what-if cameras, its routes drawn dashed
WHATIF_SCRIPT = """
<script type="application/json" id="pingan-patrol-whatif-config">%(config)s</script>
<script>
(function () {
  const CFG = JSON.parse(document.getElementById('pingan-patrol-whatif-config').textContent);
  function mapOf() { return Object.values(window).find(v => v && v._container && v.eachLayer); }
  let drawn = null;
  async function replan() {
    const status = document.getElementById('pp-whatif-status');
    status.textContent = CFG.running;
    const r = await fetch('/api/patrol/jobs', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                               body: JSON.stringify(CFG.run)});
    let job = await r.json();
    if (!r.ok) { status.textContent = job.detail || r.status; return; }
    while (job.status === 'queued' || job.status === 'running') {
      await new Promise(done => setTimeout(done, 500));
      const poll = await fetch('/api/patrol/jobs/' + job.id);
      job = await poll.json();
      if (!poll.ok) { status.textContent = job.detail || poll.status; return; }
      status.textContent = CFG.running + ' ' + (job.progress.length ? job.progress[job.progress.length - 1] : '');
    }
    if (job.status !== 'done') { status.textContent = job.error || job.status; return; }
    const ans = job.result, map = mapOf();
    if (drawn) { map.removeLayer(drawn); }
    drawn = L.geoJSON(ans.routes, {style: {color: '#6a3d9a', weight: 3, dashArray: '6 6'}}).addTo(map);
    status.textContent = CFG.done.replace('{before}', ans.before.toFixed(3)).replace('{after}', ans.after.toFixed(3))
      .replace('{routes}', String(ans.routes.features.length));
    status.dataset.before = ans.before; status.dataset.after = ans.after;
    status.dataset.routes = ans.routes.features.length;
  }
  document.addEventListener('DOMContentLoaded', function () {
    document.getElementById('pp-whatif').addEventListener('click', replan);
  });
})();
</script>
"""


def _whatif(page: Page, chosen: Slot) -> tuple[str, str]:
    """The what-if button and its script, for a user who may plan patrols (else nothing)."""
    if page.scope is None or not page.scope.user.role.can_patrol:
        return "", ""
    lang = page.lang
    stamp = (page.store.get_meta("patrol") or {}).get(chosen.label) or {}
    run = {"slot": chosen.label, "units": stamp.get("units") or {"foot": 2}, "shift_h": stamp.get("shift_h", 4.0),
           "zones": stamp.get("zones", 3), "seconds": 2.0, "whatif": True,
           "baseline": "planned" if stamp.get("include_planned") else "active"}
    config = {"run": run, "running": t(lang, "patrol.whatif_running"), "done": t(lang, "patrol.whatif_done")}
    button = WHATIF % {"button": html.escape(t(lang, "patrol.whatif_button")),
                       "note": html.escape(t(lang, "patrol.whatif_note"))}
    return button, WHATIF_SCRIPT % {"config": json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")}


def _slot(page: Page, wanted: str | None, stored: list[str]) -> Slot:
    model = model_of(page.store)
    try:
        return Slot.parse(wanted) if wanted else Slot.parse(stored[0] if stored else model.slots[-1].label)
    except PatrolModelError:
        return Slot.parse(stored[0]) if stored else model.slots[-1]


def patrol_map(page: Page, slot: str | None = None) -> folium.Map:
    """The patrol page for ``slot`` (default: the first slot with routes)."""
    lang = page.lang
    m, present = page.start("patrol.title")
    routes = page.read("patrol_routes") if "patrol_routes" in present else pd.DataFrame({"slot": []})
    stored = sorted(set(routes["slot"].astype(str))) if len(routes) else []
    chosen = _slot(page, slot, stored)
    key = chosen.key
    if "roads" in present:
        add_layer(m, page, "roads", name=t(lang, "roads"), interactive=False)
    if "patrol_zones" in present:
        zones = page.read("patrol_zones")
        if len(zones) and f"level_{key}" in zones:
            zones["duty"] = zones[f"level_{key}"].map(lambda v: t(lang, f"patrol.level{int(v)}"))
            zones["officers"] = zones[f"officers_{key}"]
            zones["uncovered"] = zones[f"uncovered_{key}"].map(lambda v: f"{v:.3f}")
            cols = ["code", "name", "duty", "officers", "uncovered", "street_km"]
            shown = page.escaped(zones, cols)
            shown["_fill"] = zones[f"level_{key}"].map(DUTY_COLOURS).fillna("#cccccc").to_numpy()
            folium.GeoJson(shown, name=t(lang, "patrol.zones"),
                           tooltip=folium.GeoJsonTooltip(cols, aliases=[t(lang, f"patrol.col_{c}") for c in cols]),
                           style_function=lambda f: {"fillColor": f["properties"]["_fill"], "fillOpacity": 0.3,
                                                     "color": "#444444", "weight": 2}).add_to(m)
    mine = routes[routes["slot"].astype(str) == chosen.label] if len(routes) else routes
    colours = {u: UNIT_COLOURS[k % len(UNIT_COLOURS)] for k, u in enumerate(sorted(mine["unit"]))} if len(
        mine) else {}
    if len(mine):
        cols = ["unit", "kind", "stops", "km", "start", "end", "prize"]
        shown = page.escaped(mine.assign(kind=mine["kind"].map(lambda k: t(lang, f"patrol.kind_{k}")),
                                         prize=mine["prize"].map(lambda v: f"{v:.3f}")), cols)
        shown["_colour"] = mine["unit"].map(colours).to_numpy()
        folium.GeoJson(shown, name=t(lang, "patrol.routes"),
                       tooltip=folium.GeoJsonTooltip(cols, aliases=[t(lang, f"patrol.col_{c}") for c in cols]),
                       style_function=lambda f: {"color": f["properties"]["_colour"], "weight": 4,
                                                 "opacity": 0.85}).add_to(m)
    if "patrol_stops" in present:
        stops = page.read("patrol_stops")
        stops = stops[stops["slot"].astype(str) == chosen.label] if len(stops) else stops
        if len(stops):
            cols = [c for c in ("unit", "order", "arrive", "dwell_minutes", "street", "why") if c in stops]
            shown = page.escaped(stops, cols)
            shown["_colour"] = stops["unit"].map(colours).fillna("#333333").to_numpy()
            folium.GeoJson(shown, name=t(lang, "patrol.stops"),
                           tooltip=folium.GeoJsonTooltip(cols, aliases=[t(lang, f"patrol.col_{c}") for c in cols]),
                           marker=folium.CircleMarker(radius=5, fill=True, fill_opacity=0.9, weight=1),
                           style_function=lambda f: {"color": f["properties"]["_colour"],
                                                     "fillColor": f["properties"]["_colour"]}).add_to(m)
    for layer, colour, label in (("checkpoints", "#000000", "patrol.checkpoints"), ("stations", "#08306b",
                                                                                      "patrol.stations")):
        if layer in present:
            frame = page.read(layer)
            if len(frame):
                cols = [c for c in ("rank", "name", "kind") if c in frame]
                folium.GeoJson(page.escaped(frame, cols), name=t(lang, label),
                               tooltip=folium.GeoJsonTooltip(cols, aliases=[t(lang, f"patrol.col_{c}") for c in cols]),
                               marker=folium.CircleMarker(radius=8, fill=True, fill_opacity=0.8, weight=2),
                               style_function=lambda f, c=colour: {"color": c, "fillColor": "#ffffff"}).add_to(m)
    streets = page.read("patrol_streets") if "patrol_streets" in present else pd.DataFrame()
    figures = summary(streets, routes if len(routes) else pd.DataFrame({"slot": []}), chosen)
    slots = sorted({*stored, *(s.label for s in model_of(page.store).slots), chosen.label})
    options = "".join(f'<option value="{html.escape(s)}"{" selected" if s == chosen.label else ""}>'
                      f"{html.escape(s)}{'' if s in stored else ' · ' + t(lang, 'patrol.no_plan')}</option>"
                      for s in slots)
    legend = "".join(f'<div><i style="background:{c}"></i>{html.escape(t(lang, f"patrol.level{k}"))}</div>'
                     for k, c in DUTY_COLOURS.items())
    button, script = _whatif(page, chosen)
    page_html(m).add_child(folium.Element(PANEL % {
        "title": html.escape(t(lang, "patrol.title")), "slot_label": html.escape(t(lang, "patrol.slot")),
        "options": options, "legend": legend,
        "before": html.escape(t(lang, "patrol.before", value=f"{figures['before']:.3f}")),
        "after": html.escape(t(lang, "patrol.after", value=f"{figures['after']:.3f}",
                                share=f"{figures['absorbed']:.0%}", routes=figures["routes"])),
        "note": html.escape(t(lang, "patrol.note")), "whatif": button}))
    if script:
        page_html(m).add_child(folium.Element(script))
    data = json.dumps(figures).replace("<", "\\u003c")  # nothing in it can close the script element
    page_html(m).add_child(folium.Element(f'<script type="application/json" id="pingan-patrol-data">{data}</script>'))
    folium.LayerControl(collapsed=False).add_to(m)
    return m
