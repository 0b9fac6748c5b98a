"""Page load and interaction in real headless Chromium: the demo and a 20,000-camera city.

For each page of each workspace, served by ``pingan serve`` in its own process:

- HTML size and the server's time to answer (first request, and again with warm caches);
- time to first render: from navigation start until the map is drawn and every
  viewport request has arrived;
- map data fetched by viewport or as vector tiles (bytes, features drawn);
- interaction: twelve pans of 300–400 px, six at the opening zoom (ending where they began) and six at street
  level (zoom 17), each timed until the new data is drawn, and the zoom to street
  level itself, and the frame rate during a one-second animated pan.

    python -m benchmarks.pages [--city /tmp/city.gpkg] [--cameras 20000]

Needs Debian's ``chromium`` and the ``playwright`` package (never ``playwright install``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks._common import write_section

PAGES = ("/", "/coverage", "/placement", "/overview")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
MAP = "Object.values(window).find(v => v && v._container && v.eachLayer)"
SETTLED = ("() => document.querySelectorAll('.leaflet-control-layers-selector').length > 0 && "
           "(document.body.dataset.pinganPending || '0') === '0'")


def serve(path: Path | str, *options: str, env: dict[str, str] | None = None
          ) -> tuple[str, subprocess.Popen[bytes]]:
    """`pingan serve path` on a free loopback port in its own process; its URL once it answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    quiet = () if any(o.startswith("--log-level") for o in options) else ("--log-level", "warning")
    proc = subprocess.Popen([sys.executable, "-c", "from api.cli import main; main()", "serve", str(path),
                             "--port", str(port), *quiet, *options], stdout=subprocess.DEVNULL,
                            env=None if env is None else dict(os.environ, **env), cwd=Path(__file__).parents[1])
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(f"{url}/api/health", timeout=1)
            return url, proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"pingan serve {path} did not start")


def _move(page: Any, action: str) -> float:
    """Milliseconds from ``action(map)`` until the move ended and its data is drawn."""
    return float(page.evaluate("""(action) => new Promise(done => {
        const map = __MAP__;
        const t0 = performance.now();
        map.once('moveend', () => {
          const wait = () => (document.body.dataset.pinganPending || '0') === '0'
            ? requestAnimationFrame(() => done(performance.now() - t0)) : setTimeout(wait, 5);
          setTimeout(wait, 0);
        });
        (new Function('map', action))(map); })""".replace("__MAP__", MAP), action))


USER, PASSWORD = "bench", "page benchmark password"
#: features on the map: GeoJSON ones, and those in the vector tiles loaded
DRAWN = (f"() => {{ let n = 0; {MAP}.eachLayer(l => {{ if (l.feature) n++; "
         f"else if (l.pinganLoaded && l.pinganLoaded.tiles !== undefined) n += l.pinganLoaded.count; }}); return n; }}")


def measure(browser: Any, url: str, path: str) -> dict[str, Any]:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    login = page.request.post(f"{url}/api/auth/login", data={"username": USER, "password": PASSWORD})
    assert login.ok, login.text()  # the session cookie now rides with every page request
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    response = page.goto(url + path, wait_until="load", timeout=300_000)
    html_bytes = len(response.body())
    page.wait_for_function(SETTLED, timeout=300_000, polling=20)
    first = page.evaluate("""() => { const nav = performance.getEntriesByType('navigation')[0];
        const data = performance.getEntriesByType('resource').filter(
            r => r.name.includes('/api/features/') || r.name.includes('/api/tiles/'));
        return {render: performance.now(), server: nav.responseEnd - nav.requestStart,
                data: data.reduce((s, r) => s + r.encodedBodySize, 0), requests: data.length}; }""")
    drawn = page.evaluate(DRAWN)
    # back where they started: the zoom to street level is at the opening centre (the data's), not
    # 7 km off it at a city's opening zoom
    steps = ([400, 0], [-400, 0], [0, 300], [0, -300], [400, 0], [-400, 0])
    pans = [_move(page, f"map.panBy({list(d)}, {{animate: false}});") for d in steps]
    zoom = _move(page, "map.setZoom(17, {animate: false});")
    street = page.evaluate(DRAWN)
    pans += [_move(page, f"map.panBy({list(d)}, {{animate: false}});") for d in steps]
    fps = float(page.evaluate("""() => new Promise(done => {
        const map = __MAP__; let frames = 0; const t0 = performance.now();
        const tick = () => { frames++; if (performance.now() - t0 < 1000) requestAnimationFrame(tick);
                             else done(frames * 1000 / (performance.now() - t0)); };
        requestAnimationFrame(tick);
        map.panBy([900, 300], {animate: true, duration: 1.0}); })""".replace("__MAP__", MAP)))
    page.close()
    return {"html_kib": html_bytes / 1024, "server_ms": first["server"], "render_ms": first["render"],
            "data_kib": first["data"] / 1024, "requests": first["requests"], "drawn": drawn,
            "pan_p50_ms": statistics.median(pans), "pan_max_ms": max(pans), "zoom_ms": zoom,
            "street_drawn": street, "fps": fps, "errors": len(errors)}


#: WebGL for the 3D page in headless Chromium without a GPU: ANGLE on SwiftShader
WEBGL = [f for f in FLAGS if f != "--disable-gpu"] + ["--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                                                       "--ignore-gpu-blocklist"]
READY_3D = "!!(window.pingan3d && window.pingan3d.ready && window.pingan3d.map.loaded())"


def measure_3d(browser: Any, url: str, query: str) -> dict[str, Any]:
    """/3d: first render (navigation start until the map has drawn what the first viewport fetched),
    data fetched by viewport, buildings drawn, and the frame time while rotating for a second."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    login = page.request.post(f"{url}/api/auth/login", data={"username": USER, "password": PASSWORD})
    assert login.ok, login.text()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    response = page.goto(f"{url}/3d{query}", wait_until="load", timeout=300_000)
    html_bytes = len(response.body())
    deadline = time.monotonic() + 300
    while not page.evaluate(READY_3D):  # polled (wait_for_function's eval is what the page's CSP forbids)
        if time.monotonic() > deadline:
            raise RuntimeError("/3d did not finish drawing in 300 s")
        page.wait_for_timeout(20)
    first = page.evaluate("""() => { const data = performance.getEntriesByType('resource').filter(
            r => r.name.includes('/api/features/') || r.name.includes('/static/'));
        return {render: performance.now(), data: data.filter(r => r.name.includes('/api/')).reduce(
                    (s, r) => s + r.encodedBodySize, 0),
                assets: data.filter(r => r.name.includes('/static/')).reduce((s, r) => s + r.encodedBodySize, 0),
                drawn: window.pingan3d.map.queryRenderedFeatures({layers: ['buildings']}).length}; }""")
    frames = page.evaluate("""() => new Promise(done => {
        const map = window.pingan3d.map; const times = []; let last = performance.now(); const t0 = last;
        const tick = () => { const now = performance.now(); times.push(now - last); last = now;
                             if (now - t0 < 1000) requestAnimationFrame(tick); else done(times); };
        map.easeTo({bearing: map.getBearing() + 90, duration: 1000}); requestAnimationFrame(tick); })""")
    page.close()
    frames = sorted(frames[1:]) or [0.0]
    return {"html_kib": html_bytes / 1024, "render_ms": first["render"], "data_kib": first["data"] / 1024,
            "assets_kib": first["assets"] / 1024, "drawn": first["drawn"], "frame_ms": statistics.median(frames),
            "frame_p95_ms": frames[int(0.95 * (len(frames) - 1))], "errors": len(errors)}


def run_3d(name: str, path: Path, browser: Any) -> list[dict[str, Any]]:
    """/3d on a workspace: at its opening view and at street level (zoom 17) on its busiest grid."""
    from api import access
    from layers import store

    ws = store.open_workspace(path)
    if not any(u["username"] == USER for u in access.users(ws)):
        access.add_user(ws, USER, "admin", access.Area(), PASSWORD)
    blds = ws.features("buildings")
    middle = blds.geometry.iloc[len(blds) // 2].representative_point()
    url, proc = serve(path)
    rows = []
    try:
        for view, query in (("opening view", "?"), ("street level", f"?lat={middle.y}&lon={middle.x}&zoom=17")):
            measure_3d(browser, url, query)  # warm the server's caches and the browser's
            runs = [measure_3d(browser, url, query) for _ in range(3)]
            row = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            rows.append({"workspace": name, "view": view, **row})
            print(f"{name} /3d {view}: {row}", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return rows


def three_d_table(rows: list[dict[str, Any]]) -> str:
    """The /3d rows as a Markdown table."""
    head = ("| workspace | view | HTML KiB | first render ms | viewport data KiB | page assets KiB | buildings drawn "
            "| frame ms rotating (median / p95) | console errors |\n|---|---|---:|---:|---:|---:|---:|---:|---:|")
    return head + "\n" + "\n".join(
        f"| {r['workspace']} | {r['view']} | {r['html_kib']:,.0f} | {r['render_ms']:,.0f} | {r['data_kib']:,.0f} | "
        f"{r['assets_kib']:,.0f} | {r['drawn']:,.0f} | {r['frame_ms']:.1f} / {r['frame_p95_ms']:.1f} | "
        f"{r['errors']:.0f} |" for r in rows)


def run(name: str, path: Path, browser: Any) -> list[dict[str, Any]]:
    from api import access
    from layers import store

    ws = store.open_workspace(path)
    if not any(u["username"] == USER for u in access.users(ws)):
        access.add_user(ws, USER, "admin", access.Area(), PASSWORD)
    url, proc = serve(path)
    rows = []
    try:
        for page in PAGES:
            cold = measure(browser, url, page)
            warm = measure(browser, url, page)
            rows.append({"workspace": name, "page": page, "cold_server_ms": cold["server_ms"], **warm})
            print(f"{name} {page}: cold server {cold['server_ms']:.0f} ms, warm {warm}", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--city", type=Path, help="a city workspace (built if missing)")
    parser.add_argument("--cameras", type=int, default=20_000)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--only-3d", action="store_true", help="only the 3D page (its own section)")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("Debian's chromium is needed: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    from layers import demo
    from layers.geopackage import GeoPackageStore

    tmp = Path(tempfile.mkdtemp(prefix="pingan-pages-"))
    demo_path = tmp / "demo.gpkg"
    store = GeoPackageStore.create(demo_path, name="莱西市水集街道 (demo)")
    demo.build(store)
    from api.workflows.coverage import compute_coverage
    from api.workflows.risk import compute_risk
    from api.workflows.views import compute_views

    compute_views(store)
    compute_coverage(store)
    compute_risk(store)
    city = args.city or tmp / "city.gpkg"
    if not city.exists():
        from benchmarks import city_workspace

        city_workspace.build(city, n_cameras=args.cameras)
    with sync_playwright() as p:
        gl = p.chromium.launch(executable_path=chromium, args=WEBGL)
        rows_3d = run_3d("demo", demo_path, gl) + run_3d(f"city ({args.cameras:,} cameras)", city, gl)
        gl.close()
    text_3d = ("## 3D page (`python -m benchmarks.pages --only-3d`)\n\nHeadless Chromium (Debian's `chromium`, "
               "WebGL through ANGLE on SwiftShader, no GPU), 1400×900, logged in as an administrator; each view "
               "opened once to warm up, then three times (medians). First render = navigation start until the "
               "map has drawn what its first viewport fetched; buildings load by viewport from zoom 14.5 (at the "
               "city's opening view there are none to draw). Frame time = requestAnimationFrame intervals while "
               "the map rotates 90° in one second (software rendering: a GPU does better).\n\n"
               + three_d_table(rows_3d))
    print(text_3d)
    if not args.no_write:
        write_section("pages_3d", text_3d)
    if args.only_3d:
        shutil.rmtree(tmp, ignore_errors=True)
        return
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=FLAGS)
        rows = run("demo", demo_path, browser) + run(f"city ({args.cameras:,} cameras)", city, browser)
        browser.close()
    shutil.rmtree(tmp, ignore_errors=True)
    header = ("| workspace | page | HTML KiB | server ms (cold / warm) | first render ms | viewport data KiB "
              "(requests) | features drawn | pan p50 / max ms | zoom to 17 ms (features) | animated pan fps "
              "| console errors |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    lines = [f"| {r['workspace']} | `{r['page']}` | {r['html_kib']:,.0f} | {r['cold_server_ms']:,.0f} / "
             f"{r['server_ms']:,.0f} | {r['render_ms']:,.0f} | {r['data_kib']:,.0f} ({r['requests']}) | "
             f"{r['drawn']:,} | {r['pan_p50_ms']:,.0f} / {r['pan_max_ms']:,.0f} | {r['zoom_ms']:,.0f} "
             f"({r['street_drawn']:,}) | {r['fps']:.0f} | {r['errors']} |" for r in rows]
    body = ("## Pages (`python -m benchmarks.pages`)\n\nHeadless Chromium (Debian's `chromium` through "
            "playwright), 1400×900 viewport, server `pingan serve` in its own process on loopback, logged in as "
            "an administrator (the whole workspace). Each page is "
            "opened twice; the table shows the second (warm) load, with the first request's server time beside "
            "it. First render = navigation start until the map is drawn and every viewport request has arrived. "
            "Layers above 5,000 features are loaded as Mapbox Vector Tiles (buildings, views and ranked blind "
            "spots, `/api/tiles/…`) or by viewport (cameras, `/api/features/…`, canvas, simplified per zoom), "
            "gzipped on the way; buildings and views from zoom 15 only, so the city's opening view (zoom 13) "
            "fetches only its cameras. Viewport data = the bytes transferred (encoded) for both. "
            "Features drawn counts GeoJSON features and those in the vector tiles loaded. The city "
            "workspace: `benchmarks/city_workspace.py` (50,000 buildings, "
            f"~120,000 households, 2,025 grids, {args.cameras:,} cameras and their views; no coverage or risk "
            "results, so its grids are drawn grey).\n\n" + header + "\n" + "\n".join(lines))
    print(body)
    if not args.no_write:
        write_section("pages", body)


if __name__ == "__main__":
    main()
