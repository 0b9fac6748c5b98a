/* Pingan Planner: layers loaded by viewport.
 *
 * pinganViewport(map, config) returns an L.GeoJSON drawn on the map's canvas whose features
 * come from config.url for the visible area (padded by half a screen on each side) at the
 * current zoom. Pans inside the loaded area fetch nothing; a new request aborts the one in
 * flight. Property values arrive HTML-escaped from the server; styles refer to them as "$name".
 * document.body.dataset.pinganPending counts requests in flight (tests and benchmarks wait on 0).
 *
 * Leaflet hands a mouse event only to the topmost canvas, so interactive layers share the map's
 * own canvas (folium's preferCanvas) and points are brought back on top after every load;
 * non-interactive context (buildings, views) is drawn on its own canvas in a pane below the
 * overlays that lets every click through.
 */
(function () {
  'use strict';
  let pending = 0;
  function busy(delta) {
    pending += delta;
    document.body.dataset.pinganPending = String(pending);
  }
  function resolve(spec, props) {
    const out = {};
    for (const k in spec) {
      const v = spec[k];
      out[k] = (typeof v === 'string' && v.charAt(0) === '$') ? props[v.slice(1)] : v;
    }
    return out;
  }
  function card(cfg, props) {
    let rows = '';
    cfg.fields.forEach(function (f, i) {
      rows += '<tr><th>' + cfg.aliases[i] + '</th><td>' + (props[f] === undefined ? '' : props[f]) + '</td></tr>';
    });
    return '<table class="pingan-card">' + rows + '</table>';
  }
  function background(map) {
    if (!map._pinganBackground) {
      const pane = map.createPane('pinganBackground');
      pane.style.zIndex = 350;
      pane.style.pointerEvents = 'none';
      map._pinganBackground = L.canvas({padding: 0.5, pane: 'pinganBackground'});
    }
    return map._pinganBackground;
  }
  function pointsOnTop(map) {
    map.eachLayer(function (l) { if (l instanceof L.CircleMarker && l.bringToFront) { l.bringToFront(); } });
  }
  window.pinganViewport = function (map, cfg) {
    const base = cfg.interactive ? {} : {renderer: background(map), interactive: false};
    const layer = L.geoJSON(null, {
      interactive: cfg.interactive,
      style: function (f) { return Object.assign({}, base, resolve(cfg.style, f.properties)); },
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, Object.assign({}, base, resolve(cfg.style, f.properties)));
      },
      onEachFeature: function (f, l) {
        if (cfg.popup) { l.bindPopup(function () { return card(cfg, f.properties); }, {maxWidth: 420}); }
        if (cfg.tooltip) { l.bindTooltip(function () { return card(cfg, f.properties); }, {sticky: true}); }
      }
    });
    let loaded = null;
    let controller = null;
    layer.pinganLoaded = {count: 0, truncated: false};
    layer.pinganUrl = cfg.url;
    async function refresh() {
      if (!map.hasLayer(layer)) { return; }
      const zoom = map.getZoom();
      if (zoom < cfg.minZoom) {
        if (controller) { controller.abort(); controller = null; }  // an answer for a closer view is moot
        layer.clearLayers();
        loaded = null;
        layer.pinganLoaded = {count: 0, truncated: false, belowMinZoom: true};
        return;
      }
      if (loaded && loaded.bounds.contains(map.getBounds())) {
        // points look the same at every zoom; shapes are kept when zooming out, refined when zooming in
        if (loaded.zoom === zoom || cfg.points || zoom < loaded.zoom) { return; }
      }
      const box = map.getBounds().pad(0.5);
      const url = cfg.url + (cfg.url.indexOf('?') < 0 ? '?' : '&') + 'bbox='
        + [box.getWest(), box.getSouth(), box.getEast(), box.getNorth()].map(v => v.toFixed(6)).join(',')
        + '&zoom=' + zoom;
      if (controller) { controller.abort(); }
      const mine = controller = new AbortController();
      busy(1);
      try {
        const r = await fetch(url, {signal: mine.signal});
        if (!r.ok) { throw new Error(url + ': HTTP ' + r.status); }
        const data = await r.json();
        if (mine !== controller) { return; }  // a later view asked since
        layer.clearLayers();
        layer.addData(data);
        if (cfg.interactive && !cfg.points) { pointsOnTop(map); }
        // the whole layer arrived (its extent is inside the box): no pan needs to fetch it again
        const whole = !data.truncated && data.extent && box.contains(L.latLngBounds(
          [data.extent[1], data.extent[0]], [data.extent[3], data.extent[2]]));
        loaded = {zoom: zoom, bounds: whole ? L.latLngBounds([-90, -180], [90, 180]) : box};
        layer.pinganLoaded = {count: data.features.length, truncated: data.truncated};
        layer.fire('pingan:loaded', layer.pinganLoaded);
      } catch (e) {
        if (e.name !== 'AbortError') { console.error('pingan: could not load', cfg.url, e.message); }
      } finally {
        busy(-1);
      }
    }
    layer.on('add', function () { map.on('moveend', refresh); refresh(); });
    layer.on('remove', function () { map.off('moveend', refresh); loaded = null; });
    return layer;
  };

  /* A heavy layer from Mapbox Vector Tiles (Leaflet.VectorGrid): config.url + '/{z}/{x}/{y}.pbf'.
   * layer.pinganLoaded counts the features in the tiles on the map; pending requests are counted
   * as for the viewport layers. */
  window.pinganTiles = function (map, cfg) {
    if (!L.DomEvent.fakeStop) { L.DomEvent.fakeStop = L.DomEvent.stop; }  // VectorGrid 1.3 on Leaflet >= 1.8
    const styles = {};
    styles[cfg.layer] = function (props) {
      return Object.assign({fill: !cfg.points, weight: 1, radius: 4}, resolve(cfg.style, props));
    };
    const options = {vectorTileLayerStyles: styles, interactive: cfg.interactive, minZoom: cfg.minZoom,
                     maxNativeZoom: 18, rendererFactory: L.canvas.tile,
                     updateWhenIdle: true,  // new tiles once a pan ends: drawing them mid-pan halves the frame rate
                     getFeatureId: function (f) { return f.id; }};
    if (!cfg.interactive) { background(map); options.pane = 'pinganBackground'; }
    const layer = L.vectorGrid.protobuf(cfg.url + '/{z}/{x}/{y}.pbf?' + cfg.query, options);
    // the page's script adds its layers, then fits the map to the area: tiles are asked for only once
    // that script is over, so none is fetched for the opening view the map leaves at once
    const onAdd = layer.onAdd, onRemove = layer.onRemove;
    let started = false;
    layer.onAdd = function (m) {
      const self = this;
      setTimeout(function () { if (m.hasLayer(self) && !started) { started = true; onAdd.call(self, m); } }, 0);
      return this;
    };
    layer.onRemove = function (m) { if (started) { started = false; onRemove.call(this, m); } return this; };
    const counts = new Map();
    const waiting = new Set();  // tiles asked for and not yet arrived (one pending request each)
    layer.pinganUrl = cfg.url;
    layer.pinganLoaded = {count: 0, truncated: false, tiles: 0};
    function tally() {
      let n = 0;
      counts.forEach(function (c) { n += c; });
      layer.pinganLoaded = {count: n, truncated: false, tiles: counts.size,
                            belowMinZoom: map.getZoom() < cfg.minZoom};
    }
    function key(e) { return e.coords.z + '/' + e.coords.x + '/' + e.coords.y; }
    function arrived(e) {
      if (waiting.delete(key(e))) { busy(-1); }
      if (!waiting.size) { tally(); layer.fire('pingan:loaded', layer.pinganLoaded); }
    }
    layer.on('tileloadstart', function (e) { if (!waiting.has(key(e))) { waiting.add(key(e)); busy(1); } });
    layer.on('tileload', function (e) {  // VectorGrid keeps each tile's renderer, its features by id
      const drawn = layer._vectorTiles && layer._vectorTiles[layer._tileCoordsToKey(e.coords)];
      counts.set(key(e), drawn && drawn._features ? Object.keys(drawn._features).length : 0);
      arrived(e);
    });
    layer.on('tileerror', function (e) { console.error('pingan: could not load tile', key(e)); arrived(e); });
    // a tile dropped before it arrived (a quick pan) is no longer waited for
    layer.on('tileunload', function (e) { counts.delete(key(e)); arrived(e); });
    layer.on('remove', function () { busy(-waiting.size); waiting.clear(); counts.clear(); tally(); });
    map.on('zoomend', tally);
    if (cfg.popup) {
      layer.on('click', function (e) {
        // pinganProps: the feature, for the drill-down (pingan-drill.js) to see what was clicked
        L.popup({maxWidth: 420, pinganProps: e.layer.properties}).setLatLng(e.latlng)
          .setContent(card(cfg, e.layer.properties)).openOn(map);
      });
    }
    return layer;
  };
})();

/* Grid labels: one small text marker per grid, created for the visible area only. */
(function () {
  'use strict';
  window.pinganLabels = function (map, labels, minZoom) {
    const group = L.layerGroup();
    const shown = new Map();
    function refresh() {
      if (!map.hasLayer(group)) { return; }
      const zoom = map.getZoom();
      const box = map.getBounds().pad(0.2);
      const want = new Set();
      if (zoom >= minZoom) {
        labels.forEach(function (l, i) { if (box.contains([l[0], l[1]])) { want.add(i); } });
      }
      shown.forEach(function (marker, i) { if (!want.has(i)) { group.removeLayer(marker); shown.delete(i); } });
      want.forEach(function (i) {
        if (shown.has(i)) { return; }
        const l = labels[i];
        const div = document.createElement('div');
        div.className = 'pingan-grid-label';
        div.textContent = l[2];
        const marker = L.marker([l[0], l[1]], {interactive: false, keyboard: false, icon: L.divIcon({
          html: div, className: 'pingan-label-icon', iconSize: [30, 14], iconAnchor: [15, 7]})});
        shown.set(i, marker);
        group.addLayer(marker);
      });
    }
    group.on('add', function () { map.on('moveend', refresh); refresh(); });
    group.on('remove', function () { map.off('moveend', refresh); shown.clear(); group.clearLayers(); });
    return group;
  };
})();
