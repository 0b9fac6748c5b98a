"""The coverage map: camera views by DORI level, cameras, key targets, ranked blind spots, search."""

from __future__ import annotations

import html

import folium
import geopandas as gpd
import pandas as pd
import shapely

from api.i18n import t
from api.maps.base import add_export_menu, page_html
from api.maps.displays import CAPTURE_COLOURS, LEVEL_FILL, SPOT_COLOURS
from api.maps.layers import Page, add_layer
from api.workflows.coverage import coverage_model
from gis.camera import DORI_LEVELS

SEARCH_JS = """
<script>
(function () {
  function mapOf() { return Object.values(window).find(v => v && v._container && v.eachLayer); }
  function install() {
    const map = mapOf();
    if (!map) { return setTimeout(install, 50); }
    const box = L.control({position: 'topleft'});
    box.onAdd = function () {
      const div = L.DomUtil.create('div', 'pingan-search');
      div.innerHTML = '<input id="pingan-search" type="search" placeholder="%(placeholder)s">';
      L.DomEvent.disableClickPropagation(div);
      function local(q) {
        let found = null;
        map.eachLayer(function (l) {
          if (found || !l.feature) { return; }
          const p = l.feature.properties || {};
          const keys = [p.code, p.id, p._id, p.name, p.where].filter(Boolean).map(s => String(s).toLowerCase());
          if (keys.some(k => k === q || k.includes(q))) { found = l; }
        });
        return found;
      }
      function open(found) {
        const at = found.getLatLng ? found.getLatLng() : found.getBounds().getCenter();
        if (found.getBounds) { map.fitBounds(found.getBounds(), {maxZoom: 18}); } else { map.setView(at, 18); }
        // folium binds the card on the parent layer: a click on the feature opens it as a user's would
        found.fire('click', {latlng: at}, true);
      }
      div.querySelector('input').addEventListener('keydown', async function (e) {
        if (e.key !== 'Enter') { return; }
        const q = this.value.trim().toLowerCase();
        if (!q) { return; }
        let found = local(q);
        if (!found) {
          // not drawn here (a city loads only what is in view): ask the server, go there, look again
          // a page saved for offline use has no server to ask: it then searches what it holds
          const r = await fetch('/api/search?q=' + encodeURIComponent(q)).catch(() => null);
          const hits = r && r.ok ? await r.json() : [];
          if (hits.length) {
            const h = hits[0];
            await new Promise(done => {
              map.once('moveend', () => setTimeout(done, 0));
              map.fitBounds([[h.bbox[1], h.bbox[0]], [h.bbox[3], h.bbox[2]]], {maxZoom: 18, animate: false});
            });
            for (let i = 0; i < 100 && (document.body.dataset.pinganPending || '0') !== '0'; i++) {
              await new Promise(done => setTimeout(done, 50));
            }
            found = local(h.id.toLowerCase());
            if (!found) {
              const card = document.createElement('div');
              card.textContent = h.id + ' ' + h.name;
              L.popup().setLatLng([h.lat, h.lon]).setContent(card).openOn(map);
              this.classList.remove('pingan-miss');
              return;
            }
          }
        }
        this.classList.toggle('pingan-miss', !found);
        if (found) { open(found); }
      });
      return div;
    };
    box.addTo(map);
  }
  document.addEventListener('DOMContentLoaded', install);
})();
</script>
"""


def coverage_map(page: Page, *, redundancy: bool = False, exports: bool = True, light: str = "day") -> folium.Map:
    """The coverage map of the page's user; ``light="night"`` draws the night views, blind spots and
    targets (``pingan coverage --light night``), with a switch between the two."""
    store, lang = page.store, page.lang
    m, present = page.start("coverage_title" if light == "day" else "coverage_title_night")
    night = light == "night"
    views_key, spots_key, targets_key = ("views_night", "blind_spots_night", "coverage_targets_night") if night \
        else ("views", "blind_spots", "coverage_targets")
    if "grids" in present:
        folium.GeoJson(page.escaped(page.read("grids"), ["code", "name"]), name=t(lang, "grids"),
                       popup=folium.GeoJsonPopup(["code", "name"], aliases=[t(lang, "code"), t(lang, "name")]),
                       style_function=lambda f: {"fill": True, "fillOpacity": 0.0, "color": "#666",
                                                 "weight": 1}).add_to(m)
    if "buildings" in present:
        add_layer(m, page, "buildings", name=t(lang, "buildings"), interactive=False)
    if views_key in present:
        for level in DORI_LEVELS:
            add_layer(m, page, f"{views_key}:{level}", name=f"{t(lang, 'views')} · {t(lang, level)}",
                      interactive=False)
        if redundancy and "grids" in present and not night:
            model = coverage_model(store)
            mine = model.grids if page.scope is None or page.scope.everywhere else model.grids[
                model.grids["code"].astype(str).isin(page.scope.grids)]
            twice = shapely.union_all([model.redundant(g) for g in mine.geometry])

            folium.GeoJson(page.escaped(gpd.GeoDataFrame(geometry=[twice], crs=store.metric_crs()), []),
                           name=t(lang, "redundant"),
                           style_function=lambda f: {"fillColor": "#6a3d9a", "fillOpacity": 0.5, "color": "#6a3d9a",
                                                     "weight": 0.5}).add_to(m)
    if spots_key in present:  # ranked ones: inline, or as vector tiles when there are many
        add_layer(m, page, spots_key, name=t(lang, "blind_spots"), popup=True)
    zones_key = "capture_views_night" if night else "capture_views"
    if zones_key in present and not len(page.read(zones_key)):
        present = present - {zones_key}  # no target asks for a capture: no layer, no legend
    if zones_key in present:  # where faces and plates are captured
        add_layer(m, page, zones_key, name=t(lang, "capture_views"), popup=True)
    targets = page.read(targets_key) if targets_key in present else None
    if targets is not None and len(targets) and "covered" in targets:  # a workspace may have no key targets
        targets["covered_text"] = [_covered_text(lang, row) for _, row in targets.iterrows()]
        targets["capture_text"] = [_capture_text(lang, row) for _, row in targets.iterrows()]
        fields = ["id", "name", "class", "required_level", "best_level", "capture_text", "covered_text"]
        shown = page.escaped(targets, fields)
        shown["_colour"] = ["#1a9850" if c else "#d73027" for c in targets["covered"].astype(bool)]
        folium.GeoJson(shown, name=t(lang, "targets"),
                       popup=folium.GeoJsonPopup(fields, aliases=[t(lang, f"tgt_{f}") for f in fields]),
                       marker=folium.CircleMarker(radius=6, fill=True, fill_opacity=0.9, weight=2),
                       style_function=lambda f: {"color": f["properties"]["_colour"],
                                                 "fillColor": f["properties"]["_colour"], "fillOpacity": 0.3,
                                                 "weight": 2}).add_to(m)
    if "cameras" in present:
        add_layer(m, page, "cameras", name=t(lang, "cameras"), popup=True)
    page_html(m).add_child(folium.Element(_legend(lang, zones_key in present)))
    if exports:  # day or night (an offline copy is one of them, with no server to switch)
        page_html(m).add_child(folium.Element(_light_switch(lang, light, views_key in present or night)))
    page_html(m).add_child(folium.Element(SEARCH_JS % {"placeholder": html.escape(t(lang, "search"))}))
    if exports and "coverage_grids" in present and page.scope is not None and page.scope.user.role.can_export:
        add_export_menu(m, lang, "coverage")
    folium.LayerControl(collapsed=True).add_to(m)
    return m


def _covered_text(lang: str, row: pd.Series) -> str:
    """'是', '否', or for a target only PTZ tours see, '是（20% 的时间：球机巡航）'."""
    if not bool(row["covered"]):
        return t(lang, "no")
    share = pd.to_numeric(pd.Series([row.get("time_share")]), errors="coerce").fillna(1.0).to_numpy(float)[0]
    return t(lang, "covered_part_time", share=f"{share:.0%}") if share < 1 else t(lang, "yes")


def _capture_text(lang: str, row: pd.Series) -> str:
    """'人脸 · 可抓拍 (100%)' for a target that asks for a capture, '' for one that does not."""
    kind = row.get("capture")
    if not isinstance(kind, str):
        return ""
    done = row.get("captured") in (True, 1, "1", "true", "True")
    share = float(row.get("capture_share") or 0.0)
    return f"{t(lang, 'capture_' + kind)} · {t(lang, 'capture_done' if done else 'capture_missed')} ({share:.0%})"


def _light_switch(lang: str, light: str, available: bool) -> str:
    """Links between the day and the night map (the night one says how to compute it when missing)."""
    suffix = "&amp;lang=en" if lang == "en" else ""
    day = f'<a id="pingan-light-day" href="/coverage?light=day{suffix}">{html.escape(t(lang, "light_day"))}</a>'
    dark = (f'<a id="pingan-light-night" href="/coverage?light=night{suffix}">'
            f'{html.escape(t(lang, "light_night"))}</a>')
    shown = f"<b>{html.escape(t(lang, 'light_' + light))}</b>"
    links = f"{shown} · {dark if light == 'day' else day}"
    note = "" if available else f'<div style="font-size:12px">{html.escape(t(lang, "light_missing"))}</div>'
    return (f'<div class="pingan-legend" id="pingan-light" style="position:fixed;top:50px;left:60px;z-index:1000">'
            f"{links}{note}</div>")


def _legend(lang: str, capture: bool = False) -> str:
    rows = "".join(f'<div><i style="background:{LEVEL_FILL[lv]}"></i>{html.escape(t(lang, lv))}</div>'
                   for lv in DORI_LEVELS)
    rows += (f'<div><i style="background:{SPOT_COLOURS[0]}"></i>{html.escape(t(lang, "blind_spots"))} 1–10</div>'
             f'<div><i style="background:#1a9850;border-radius:6px"></i>{html.escape(t(lang, "covered"))}</div>'
             f'<div><i style="background:#d73027;border-radius:6px"></i>{html.escape(t(lang, "uncovered"))}</div>')
    rows += "".join(f'<div><i style="background:{c}"></i>{html.escape(t(lang, "capture_views"))} · '
                    f'{html.escape(t(lang, "capture_" + k))}</div>' for k, c in CAPTURE_COLOURS.items() if capture)
    return (f'<div class="pingan-legend" id="pingan-legend" style="position:fixed;bottom:24px;right:12px;'
            f'z-index:1000"><b>{html.escape(t(lang, "legend"))}</b>{rows}</div>')
