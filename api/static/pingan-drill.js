// The drill-down below the grid, shared by the 2D 户况网格图 and the 3D page: a building's stack
// (单元 × 楼层, /api/buildings/{id}/stack: counts per floor, 1–4 shown as "<5", households one by one
// only for a role allowed it after stating a reason) in a side box, and on the 2D map the cards of
// 组格 and 片格 (/api/subgrids/{code}: their rolled-up figures). The server decides what comes back.
(function () {
  'use strict';

  function esc(s) { const d = document.createElement('div'); d.textContent = String(s); return d.innerHTML; }
  function cell(value) { return value === '<5' ? '&lt;5' : esc(value); }

  // draw a stack answer in `box`; T: the texts, detail: whether the role may ask for households
  function render(box, data, T, detail, onShown) {
    const b = data.building;
    const floors = [...new Set(data.cells.map(c => c.floor))].sort((a, z) => (z ?? -99) - (a ?? -99));
    const units = data.units;
    const at = {};
    for (const c of data.cells) { at[c.unit + '|' + c.floor] = c; }
    let rows = '';
    for (const f of floors) {
      rows += '<tr><th>' + (f === null ? '?' : esc(f)) + '</th>';
      for (const u of units) {
        const c = at[u + '|' + f];
        if (!c) { rows += '<td></td>'; continue; }
        const n = typeof c.households === 'number' ? c.households : 2;
        rows += '<td class="ps-cell" data-unit="' + esc(u) + '" data-floor="' + esc(f) + '" data-households="'
          + esc(c.households) + '">' + cell(c.households) + ' <span class="ps-bar" style="width:' + (4 * n)
          + 'px"></span>' + (typeof c.rented === 'number' && c.rented ? ' ' + esc(T.rented) + ' ' + c.rented : '')
          + '</td>';
      }
      rows += '</tr>';
    }
    let html = '<b>' + esc(T.stack.replace('{building}', b.name || b.address || b.id)) + '</b>'
      + ' <button type="button" class="ps-close">' + esc(T.close) + '</button>'
      + '<div>' + esc(T.households) + ': <span class="ps-total">' + cell(b.households) + '</span></div>'
      + '<table class="ps-table"><tr><th>' + esc(T.floor) + ' \\ ' + esc(T.unit) + '</th>'
      + units.map(u => '<th>' + esc(u || '—') + '</th>').join('') + '</tr>' + rows + '</table>';
    if (data.suppressed) { html += '<div style="font-size:12px">' + esc(T.suppressed.replace('{n}', data.suppressed)) + '</div>'; }
    if (detail) {
      html += '<div><input class="ps-reason" placeholder="' + esc(T.reason) + '"> <button type="button" '
        + 'class="ps-ask">' + esc(T.detail) + '</button></div><div class="ps-people"></div>';
    }
    if (data.detail) {
      html += '<table class="ps-detail-rows">' + data.detail.map(h => '<tr><td>' + esc(h.unit ?? '') + '</td><td>'
        + esc(h.floor ?? '') + '</td><td>' + esc(h.room ?? '') + '</td><td>' + esc(h.members ?? '') + '</td><td>'
        + esc(h.tags ?? '') + '</td></tr>').join('') + '</table>';
    }
    box.innerHTML = html;
    box.style.display = 'block';
    box.querySelector('.ps-close').addEventListener('click', () => { box.style.display = 'none'; });
    const ask = box.querySelector('.ps-ask');
    if (ask) {
      ask.addEventListener('click', function () {
        const reason = box.querySelector('.ps-reason').value.trim();
        if (!reason) { box.querySelector('.ps-people').textContent = T.reason_needed; return; }
        open(box, b.id, T, detail, onShown, reason);
      });
    }
    if (onShown) { onShown(data); }
  }

  async function open(box, id, T, detail, onShown, reason) {
    const url = '/api/buildings/' + encodeURIComponent(id) + '/stack'
      + (reason ? '?reason=' + encodeURIComponent(reason) : '');
    const r = await fetch(url);
    const data = await r.json();
    if (r.ok) { render(box, data, T, detail, onShown); return; }
    const people = box.querySelector('.ps-people');
    if (reason && people) { people.textContent = data.detail || r.status; }
  }

  window.pinganStack = {open: open, render: render};

  // the 2D map: a click on a building opens its stack beside the card; a 组格/片格 card fills in
  window.pinganDrill = function (map, cfg) {
    const T = cfg.texts;
    const box = document.getElementById('pingan-stack');
    const state = {lastStack: null, lastCard: null};
    window.pinganDrillState = state;
    function propsOf(popup) {
      if (popup.options.pinganProps) { return popup.options.pinganProps; }
      const s = popup._source;
      return s && s.feature ? s.feature.properties : null;
    }
    async function fillCard(popup, code) {
      const r = await fetch('/api/subgrids/' + encodeURIComponent(code) + '?lang=' + cfg.lang);
      const data = await r.json();
      if (!r.ok) { popup.setContent(esc(data.detail || r.status)); return; }
      let html = '<b>' + esc(T['level_' + data.level]) + ' ' + esc(data.name || '') + '</b>'
        + '<table class="ps-card">';
      for (const key of cfg.fields) {
        if (data[key] === undefined || data[key] === null) { continue; }
        const v = key === 'share_detect' ? (100 * data[key]).toFixed(1) + '%' : data[key];
        html += '<tr><th>' + esc(T[key]) + '</th><td data-key="' + esc(key) + '">' + cell(v) + '</td></tr>';
      }
      html += '</table>';
      if (data.children.length) { html += '<div>' + esc(T.children.replace('{n}', data.children.length)) + '</div>'; }
      popup.setContent(html);
      state.lastCard = data;
    }
    map.on('popupopen', function (e) {
      const p = propsOf(e.popup);
      if (!p) { return; }
      if (p._sub) { fillCard(e.popup, p._sub); return; }
      if (cfg.stacks && p._id && p._height !== undefined) {
        open(box, p._id, T, cfg.detail, data => { state.lastStack = data; });
      }
    });
  };
})();
