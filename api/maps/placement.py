"""The placement page: click the map to drop a camera and see its view and coverage gain at once."""

from __future__ import annotations

import html
import json

import folium

from api.i18n import t
from api.maps.base import page_html
from api.maps.displays import LEVEL_COLOURS, LEVEL_FILL
from api.maps.layers import Page, add_layer
from gis.placement import CATALOGUE

PANEL = """
<div class="pingan-legend pingan-panel" id="pingan-panel"
     style="position:fixed;top:60px;right:12px;z-index:1000;width:250px">
  <b>%(title)s</b>
  <div>%(model)s <select id="pp-model">%(options)s</select></div>
  <div>%(heading)s
    <input id="pp-heading" type="number" min="0" max="359" step="15" value="90" style="width:60px">°</div>
  <div>%(height)s <input id="pp-height" type="number" min="1" max="50" step="0.5" value="6" style="width:60px"> m</div>
  <div>%(tilt)s
    <input id="pp-tilt" type="number" min="0" max="90" step="1" placeholder="auto" style="width:60px">°</div>
  <div>%(baseline)s <select id="pp-baseline"><option value="active" selected>%(baseline_active)s</option>
    <option value="planned">%(baseline_planned)s</option></select></div>
  <div style="margin-top:6px">%(hint)s</div>
  <div style="margin-top:6px">%(gain)s: <b id="pingan-gain">—</b>
    <span id="pingan-baseline" style="font-size:11px;color:#555"></span></div>
  <div id="pingan-grids" style="font-size:12px"></div>
  <div id="pingan-targets" style="font-size:12px;color:#1a9850"></div>
  <button id="pp-undo" type="button" disabled>%(undo)s</button>
  <hr style="margin:6px 0">
  <div>%(optimise)s k <input id="pp-k" type="number" min="1" max="100" value="5" style="width:50px">
    <label><input id="pp-greedy" type="checkbox"> %(greedy)s</label>
    <button id="pp-run" type="button">%(run)s</button></div>
  <div id="pp-status" style="font-size:12px"></div>
  <ol id="pp-proposals" style="font-size:12px;padding-left:18px;margin:4px 0;max-height:260px;overflow:auto"></ol>
</div>
"""

SCRIPT = """
<script>
(function () {
  const FILL = %(fill)s, M2 = %(m2)s, NEWLY = %(newly)s, RUNNING = %(running)s, ACCEPT = %(accept)s,
        REJECT = %(reject)s, ACCEPTED = %(accepted)s, MOVE = %(move)s, MOVE_HINT = %(move_hint)s;
  function mapOf() { return Object.values(window).find(v => v && v._container && v.eachLayer); }
  function esc(s) { const d = document.createElement('div'); d.textContent = String(s); return d.innerHTML; }
  function install() {
    const map = mapOf();
    if (!map) { return setTimeout(install, 50); }
    const dropped = [];
    // dropped cameras belong to one baseline's session: another baseline starts afresh
    document.getElementById('pp-baseline').addEventListener('change', function () {
      while (dropped.length) { map.removeLayer(dropped.pop().layer); }
      document.getElementById('pp-undo').disabled = true;
      document.getElementById('pingan-gain').textContent = '—';
      document.getElementById('pingan-grids').innerHTML = '';
    });
    map.on('click', async function (e) {
      const tilt = document.getElementById('pp-tilt').value;
      const body = {lon: e.latlng.lng, lat: e.latlng.lat, model: document.getElementById('pp-model').value,
                    heading_deg: Number(document.getElementById('pp-heading').value) %% 360,
                    height_m: Number(document.getElementById('pp-height').value), coords: window.PINGAN_COORDS};
      if (tilt !== '') { body.tilt_deg = Number(tilt); }
      const ans = await post(body);
      if (!ans) { return; }
      const layer = L.layerGroup().addTo(map);
      drawView(ans, layer);
      L.circleMarker(e.latlng, {radius: 6, color: '#fff', fillColor: '#2c6fbb', fillOpacity: 1, weight: 2})
        .addTo(layer);
      dropped.push({id: ans.camera, layer: layer});
      document.getElementById('pp-undo').disabled = false;
      show(ans);
    });
    // an existing camera's card offers to move it: drag the handle, see the view and the gain
    map.on('popupopen', function (e) {
      const src = e.popup._source, f = src && src.feature;
      if (!f || !f.properties || !f.properties._id || !src.getLatLng) { return; }
      const box = e.popup.getElement().querySelector('.leaflet-popup-content');
      if (!box || box.querySelector('.pp-move')) { return; }
      const button = document.createElement('button');
      button.type = 'button'; button.className = 'pp-move'; button.textContent = MOVE;
      button.addEventListener('click', function () { startMove(map, f.properties, src.getLatLng()); });
      box.appendChild(button);
    });
    document.getElementById('pp-undo').addEventListener('click', async function () {
      const last = dropped.pop();
      if (!last) { return; }
      let ans;
      if (last.from) {  // a move: put the camera back where it was
        ans = await post({move: last.id, lon: last.from.lng, lat: last.from.lat, coords: window.PINGAN_COORDS});
      } else {
        const r = await fetch('/api/whatif/cameras/' + encodeURIComponent(last.id) + '?baseline='
                              + document.getElementById('pp-baseline').value, {method: 'DELETE'});
        ans = await r.json();
      }
      map.removeLayer(last.layer);
      if (ans) { show(ans); }
      this.disabled = dropped.length === 0;
    });
    function startMove(map, props, from) {
      map.closePopup();
      const layer = L.layerGroup().addTo(map);
      const handle = L.marker(from, {draggable: true, title: MOVE_HINT, icon: L.divIcon({
        className: 'pingan-move-handle', iconSize: [18, 18], iconAnchor: [9, 9]})}).addTo(layer);
      const entry = {id: props._id, layer: layer, from: from, view: null};
      dropped.push(entry);
      document.getElementById('pp-undo').disabled = false;
      document.getElementById('pingan-gain').textContent = MOVE_HINT;
      handle.on('dragend', async function () {
        const at = handle.getLatLng();
        const ans = await post({move: props._id, lon: at.lng, lat: at.lat, coords: window.PINGAN_COORDS});
        if (!ans) { return; }
        if (entry.view) { layer.removeLayer(entry.view); }
        entry.view = drawView(ans, layer);
        show(ans);
      });
    }
  }
  async function post(body) {
    body.baseline = document.getElementById('pp-baseline').value;
    const r = await fetch('/api/whatif/cameras', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                                 body: JSON.stringify(body)});
    const ans = await r.json();
    if (!r.ok) { document.getElementById('pingan-gain').textContent = ans.detail || r.status; return null; }
    return ans;
  }
  function drawView(ans, layer) {
    if (!ans.view) { return null; }
    return L.geoJSON(ans.view, {style: f => ({color: FILL[f.properties.level], fillColor: FILL[f.properties.level],
                                              fillOpacity: 0.45, weight: 1})}).addTo(layer);
  }
  function show(ans) {
    document.getElementById('pingan-gain').textContent = Math.round(ans.gain_m2).toLocaleString() + ' ' + M2;
    document.getElementById('pingan-baseline').textContent = '(' + ans.baseline_label + ')';
    document.getElementById('pingan-grids').innerHTML = ans.grids.map(g =>
      esc(g.code.slice(-6)) + ': ' + (100 * g.share_before).toFixed(1) + '%% → '
        + (100 * g.share_after).toFixed(1) + '%%'
    ).join('<br>');
    const newly = ans.targets.filter(t => t.covered).map(t => esc(t.name));
    document.getElementById('pingan-targets').innerHTML = newly.length ? NEWLY + ': ' + newly.join('、') : '';
  }
  async function optimise(map) {
    const status = document.getElementById('pp-status'), list = document.getElementById('pp-proposals');
    status.textContent = RUNNING; list.innerHTML = '';
    const body = {k: Number(document.getElementById('pp-k').value),
                  greedy: document.getElementById('pp-greedy').checked,
                  heading_step_deg: document.getElementById('pp-greedy').checked ? 90 : 30};
    // a run is a background job: start it, then follow its progress until the proposals are in
    const r = await fetch('/api/placement/jobs', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                                  body: JSON.stringify(body)});
    let job = await r.json();
    if (!r.ok) { status.textContent = job.detail || r.status; return; }
    while (job.status === 'queued' || job.status === 'running') {
      await new Promise(done => setTimeout(done, 500));
      const poll = await fetch('/api/placement/jobs/' + job.id);
      job = await poll.json();
      if (!poll.ok) { status.textContent = job.detail || poll.status; return; }
      const c = job.counts;
      status.textContent = RUNNING + ' ' + (job.progress.length ? job.progress[job.progress.length - 1] : '')
        + (c && c.total ? ' ' + c.done.toLocaleString() + '/' + c.total.toLocaleString() : '');
    }
    if (job.status !== 'done') { status.textContent = job.error || job.status; return; }
    const ans = job.result;
    status.textContent = ans.problem + ': ' + ans.status + ', gap ' + (100 * ans.gap).toFixed(1) + '%%, ¥'
      + Math.round(ans.cost).toLocaleString();
    for (const p of ans.proposals) {
      const li = document.createElement('li');
      li.innerHTML = esc(p.site) + ' · ' + esc(p.model) + ' · ' + Math.round(p.heading_deg) + '° · +'
        + p.gain.toFixed(0) + (p.targets ? ' · ' + esc(p.targets) : '')
        + ' <button type="button" class="pp-accept">' + ACCEPT + '</button>'
        + ' <button type="button" class="pp-reject">' + REJECT + '</button>';
      const marker = L.circleMarker([p.lat, p.lon], {radius: 7, color: '#6a3d9a', fillOpacity: 0.8})
        .addTo(map).bindTooltip(String(p.rank));
      li.querySelector('.pp-accept').addEventListener('click', async function () {
        const a = await fetch('/api/placement/accept', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                                        body: JSON.stringify({ranks: [p.rank]})});
        const done = await a.json();
        li.textContent = a.ok ? ACCEPTED + ' ' + done.cameras.join(', ') : (done.detail || a.status);
        li.className = 'pp-done';
      });
      li.querySelector('.pp-reject').addEventListener('click', function () { map.removeLayer(marker); li.remove(); });
      list.appendChild(li);
    }
  }
  document.addEventListener('DOMContentLoaded', function () {
    install();
    document.getElementById('pp-run').addEventListener('click', () => optimise(mapOf()));
  });
})();
</script>
"""


def placement_map(page: Page) -> folium.Map:
    lang = page.lang
    m, present = page.start("placement_title")
    if "grids" in present:
        grids = page.read("risk") if "risk" in present else page.read("grids")
        shown = page.escaped(grids, ["code", "name"])
        shown["_fill"] = grids["level"].map(LEVEL_COLOURS).fillna("#9e9e9e").to_numpy() if "level" in grids else (
            "#9e9e9e")
        folium.GeoJson(shown, name=t(lang, "grids"), interactive=False,
                       style_function=lambda f: {"fillColor": f["properties"]["_fill"], "fillOpacity": 0.15,
                                                 "color": "#666", "weight": 1}).add_to(m)
    if "buildings" in present:
        add_layer(m, page, "buildings", name=t(lang, "buildings"), interactive=False)
    if "views" in present:
        add_layer(m, page, "views:detect", name=t(lang, "views"), interactive=False)
    if "cameras" in present:
        # a click on a camera opens its card with a button to move it (drag, then see the gain)
        add_layer(m, page, "cameras", name=t(lang, "cameras"), popup=True)
    options = "".join(f'<option value="{html.escape(n)}"{" selected" if n == "bullet-4mm" else ""}>'
                      f"{html.escape(n)}</option>" for n in CATALOGUE)
    page_html(m).add_child(folium.Element(PANEL % {
        "title": html.escape(t(lang, "placement_panel")), "model": html.escape(t(lang, "model")),
        "options": options, "heading": html.escape(t(lang, "heading")), "height": html.escape(t(lang, "height")),
        "tilt": html.escape(t(lang, "tilt")), "hint": html.escape(t(lang, "placement_hint")),
        "gain": html.escape(t(lang, "placement_gain")), "undo": html.escape(t(lang, "undo")),
        **{k: html.escape(t(lang, k)) for k in ("baseline", "baseline_active", "baseline_planned")},
        "optimise": html.escape(t(lang, "optimise")), "greedy": html.escape(t(lang, "greedy")),
        "run": html.escape(t(lang, "run"))}))
    page_html(m).add_child(folium.Element(SCRIPT % {
        "fill": json.dumps(LEVEL_FILL), "m2": json.dumps(t(lang, "m2")),
        "newly": json.dumps(t(lang, "newly_covered"), ensure_ascii=False),
        **{k: json.dumps(t(lang, k), ensure_ascii=False)
           for k in ("running", "accept", "reject", "accepted", "move", "move_hint")}}))
    folium.LayerControl(collapsed=True, position="bottomleft").add_to(m)
    return m
