// The 3D 户况网格图 (/3d): MapLibre GL JS, everything from this server (no tiles, no fonts, no CDN).
// Buildings, camera views and cameras load by viewport from /api/features (the area policy decides
// what comes back); grids come with the page. A click on a building opens its stack.
(function () {
  'use strict';
  const CFG = JSON.parse(document.getElementById('pingan-3d-config').textContent);
  const T = CFG.texts;
  const params = new URLSearchParams(window.location.search);
  const state = {ready: false, loads: 0, bytes: 0, lastStack: null, map: null};
  window.pingan3d = state;  // for tests and the benchmark: the map, and what has been loaded
  const EMPTY = {type: 'FeatureCollection', features: []};
  const RAMP = ['#f2f0f7', '#cbc9e2', '#9e9ac8', '#6a51a3', '#3f007d'];

  maplibregl.setWorkerUrl('/static/maplibre/maplibre-gl-csp-worker.js');
  const place = params.has('lat') && params.has('lon')  // a place asked for (the 2D map's link), else the area
    ? {center: [Number(params.get('lon')), Number(params.get('lat'))], zoom: Number(params.get('zoom') || 16)}
    : {bounds: CFG.bounds, fitBoundsOptions: {padding: 20}};
  const map = new maplibregl.Map({
    container: 'map', ...place,
    pitch: Number(params.get('pitch') ?? CFG.pitch), bearing: Number(params.get('bearing') ?? CFG.bearing),
    maxPitch: 80, attributionControl: false, preserveDrawingBuffer: params.has('capture'),
    style: {version: 8, sources: {}, layers: [{id: 'background', type: 'background',
                                               paint: {'background-color': '#f4f3ef'}}]},
  });
  state.map = map;
  map.addControl(new maplibregl.NavigationControl({visualizePitch: true}), 'bottom-right');
  map.addControl(new maplibregl.ScaleControl({unit: 'metric'}), 'bottom-left');

  function situationColour() {
    const key = '_s_' + document.getElementById('p3-situation').value;
    return ['case', ['==', ['get', key], null], '#d9d9d9',
            ['step', ['get', key], RAMP[0], 0.1, RAMP[1], 0.25, RAMP[2], 0.5, RAMP[3], 0.75, RAMP[4]]];
  }

  function square(lon, lat, metres) {  // a small square around a point (a camera pole)
    const dy = metres / 111320, dx = metres / (111320 * Math.cos(lat * Math.PI / 180));
    return [[[lon - dx, lat - dy], [lon + dx, lat - dy], [lon + dx, lat + dy], [lon - dx, lat + dy],
             [lon - dx, lat - dy]]];
  }

  function centre(geometry) {  // the mean of a polygon's outer ring: where a marker stands
    const ring = geometry.type === 'Polygon' ? geometry.coordinates[0] : geometry.coordinates[0][0];
    let x = 0, y = 0;
    for (const [a, b] of ring) { x += a; y += b; }
    return [x / ring.length, y / ring.length];
  }

  async function load(key, zoom) {
    const b = map.getBounds();
    const url = '/api/features/' + key + '?bbox=' + [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]
      .map(v => v.toFixed(6)).join(',') + '&zoom=' + Math.max(15, Math.round(zoom));
    const r = await fetch(url);
    if (!r.ok) { return EMPTY; }
    const text = await r.text();
    state.bytes += text.length;
    return JSON.parse(text);
  }

  let pending = 0;
  async function refresh() {
    const zoom = map.getZoom(), mine = ++pending;
    if (zoom < 14.5) {
      for (const s of ['buildings', 'views', 'poles', 'markers']) { map.getSource(s).setData(EMPTY); }
      return;
    }
    const [blds, views, cams] = await Promise.all([
      CFG.buildings ? load(CFG.households ? 'household_buildings' : 'buildings', zoom) : EMPTY,
      CFG.views ? load('views:detect', zoom) : EMPTY, CFG.cameras ? load('cameras', zoom) : EMPTY]);
    if (mine !== pending) { return; }  // a later move already asked again
    for (const f of blds.features) {
      if (f.properties._height === undefined) { f.properties._height = 3 * (Number(f.properties.floors) || 2); }
    }
    map.getSource('buildings').setData(blds);
    map.getSource('views').setData(views);
    map.getSource('poles').setData({type: 'FeatureCollection', features: cams.features.map(f => ({
      type: 'Feature', properties: {height: Number(f.properties._height_m) || 6},
      geometry: {type: 'Polygon', coordinates: square(f.geometry.coordinates[0], f.geometry.coordinates[1], 0.4)}}))});
    const marks = [];
    for (const f of blds.features) {
      const [x, y] = centre(f.geometry);
      let k = 0;  // a building with several marked situations: the markers side by side (about 2 m apart)
      for (const m of CFG.markers) {
        if (f.properties['_m_' + m]) {
          marks.push({type: 'Feature', properties: {kind: m, height: f.properties._height},
                      geometry: {type: 'Point', coordinates: [x + 0.00002 * k, y]}});
          k += 1;
        }
      }
    }
    map.getSource('markers').setData({type: 'FeatureCollection', features: marks});
    state.loads += 1;
  }

  const stackBox = document.getElementById('p3-stack');
  function openStack(id) {  // the stack box is drawn by pingan-drill.js, as on the 2D map
    return window.pinganStack.open(stackBox, id, T, CFG.detail, data => { state.lastStack = data; });
  }
  state.openStack = openStack;

  map.on('load', function () {
    if (CFG.basemap) {  // the deployment's own tile server (PINGAN_TILES_URL or a preset), under everything
      CFG.basemap.tiles.forEach(function (urls, i) {
        map.addSource('basemap' + i, {type: 'raster', tiles: urls, tileSize: 256, maxzoom: 19,
                                      attribution: CFG.basemap.attribution});
        map.addLayer({id: 'basemap' + i, type: 'raster', source: 'basemap' + i});
      });
      map.addControl(new maplibregl.AttributionControl({compact: true}));
    }
    map.addSource('grids', {type: 'geojson', data: CFG.grids});
    map.addLayer({id: 'grids', type: 'fill', source: 'grids',
                  paint: {'fill-color': ['get', '_fill'], 'fill-opacity': 0.35}});
    map.addLayer({id: 'grid-lines', type: 'line', source: 'grids', paint: {'line-color': '#444', 'line-width': 1.2}});
    for (const s of ['buildings', 'views', 'poles', 'markers']) { map.addSource(s, {type: 'geojson', data: EMPTY}); }
    map.addLayer({id: 'views', type: 'fill', source: 'views',
                  paint: {'fill-color': CFG.view_fill, 'fill-opacity': 0.45}});
    map.addLayer({id: 'buildings', type: 'fill-extrusion', source: 'buildings',
                  paint: {'fill-extrusion-color': situationColour(), 'fill-extrusion-height': ['get', '_height'],
                          'fill-extrusion-opacity': 0.9}});
    map.addLayer({id: 'poles', type: 'fill-extrusion', source: 'poles',
                  paint: {'fill-extrusion-color': '#1b7f3b', 'fill-extrusion-height': ['get', 'height']}});
    map.addLayer({id: 'markers', type: 'circle', source: 'markers',
                  paint: {'circle-radius': 5, 'circle-stroke-color': '#fff',
                          'circle-color': ['match', ['get', 'kind'], ...Object.entries(CFG.marker_colours).flat(), '#d7301f'],
                          'circle-stroke-width': 1.5, 'circle-pitch-alignment': 'viewport'}});
    map.on('click', 'buildings', function (e) {
      const f = e.features && e.features[0];
      if (f && f.properties._id) { openStack(f.properties._id); }
    });
    map.on('mouseenter', 'buildings', () => { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', 'buildings', () => { map.getCanvas().style.cursor = ''; });
    map.on('moveend', refresh);
    refresh().then(() => { state.ready = true; });
  });

  document.getElementById('p3-situation').addEventListener('change', function () {
    map.setPaintProperty('buildings', 'fill-extrusion-color', situationColour());
  });
  document.getElementById('p3-views').addEventListener('change', function () {
    map.setLayoutProperty('views', 'visibility', this.checked ? 'visible' : 'none');
  });
  document.getElementById('p3-markers').addEventListener('change', function () {
    map.setLayoutProperty('markers', 'visibility', this.checked ? 'visible' : 'none');
  });
  let typing = 0;
  document.getElementById('p3-search').addEventListener('input', function () {
    const q = this.value.trim(), mine = ++typing, list = document.getElementById('p3-hits');
    if (!q) { list.innerHTML = ''; return; }
    setTimeout(async function () {
      if (mine !== typing) { return; }
      const r = await fetch('/api/search?q=' + encodeURIComponent(q)).catch(() => null);
      if (!r || !r.ok) { return; }
      const hits = await r.json();
      list.innerHTML = '';
      for (const h of hits) {
        const a = document.createElement('a');
        a.href = '#'; a.className = 'p3-hit'; a.textContent = h.id + ' ' + h.name;
        a.addEventListener('click', function (ev) {
          ev.preventDefault();
          map.fitBounds([[h.bbox[0], h.bbox[1]], [h.bbox[2], h.bbox[3]]], {padding: 60, maxZoom: 18});
          if (h.layer === 'buildings') { openStack(h.id); }
        });
        list.appendChild(a);
        list.appendChild(document.createElement('br'));
      }
    }, 250);
  });
  // the 2D map of the same place
  map.on('moveend', function () {
    const c = map.getCenter();
    document.getElementById('p3-2d').href = '/?lat=' + c.lat.toFixed(6) + '&lon=' + c.lng.toFixed(6)
      + '&zoom=' + Math.round(map.getZoom()) + (CFG.lang === 'en' ? '&lang=en' : '');
  });
})();
