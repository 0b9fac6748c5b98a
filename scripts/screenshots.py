"""Retake the README's screenshots (docs/*.png) from the demo as a user sees it: logged in, in
headless Chromium (Debian's ``chromium``, driven by playwright), 1400×900.

    python scripts/screenshots.py            # writes docs/login.png, households.png, coverage.png,
                                             # placement.png, overview.png, three-d.png

Builds and analyses the demo in a temporary folder, serves it on a free loopback port with login
required, and refuses to write a picture of a page that logged a console error or asked anything
of another host.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: the 3D page needs WebGL: ANGLE on SwiftShader (no GPU)
WEBGL = [f for f in FLAGS if f != "--disable-gpu"] + ["--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                                                       "--ignore-gpu-blocklist"]
MAP = "Object.values(window).find(v => v && v._container && v.eachLayer)"


def _analysed_demo(path: Path) -> None:
    from api.workflows.coverage import compute_coverage
    from api.workflows.hierarchy import plan_subgrids
    from api.workflows.risk import compute_risk
    from api.workflows.views import compute_views
    from layers import demo, store

    ws = store.open_workspace(path, create=True, name="莱西市水集街道示范区")
    print("building the demo …", flush=True)
    demo.build(ws)
    compute_views(ws)
    compute_coverage(ws)
    compute_risk(ws)
    plan_subgrids(ws)


def _serve(path: Path):  # type: ignore[no-untyped-def]
    from api.app import create_app, serve_in_background
    from api.settings import Settings

    return serve_in_background(create_app(Settings(workspace=path)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("Debian's chromium is needed: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    from api import access
    from layers import store

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.gpkg"
        _analysed_demo(path)
        password = secrets.token_urlsafe(16)
        access.add_user(store.open_workspace(path), "admin", "admin", access.Area(), password, display_name="管理员")
        url, server, thread = _serve(path)
        shots: list[str] = []
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=FLAGS)
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                problems: list[str] = []
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: problems.append(str(e)))
                page.on("request", lambda r: problems.append(f"outside request {r.url}")
                        if not r.url.startswith((url, "data:")) else None)

                def shot(name: str) -> None:
                    if problems:
                        raise SystemExit(f"{name}: {problems[0]}")
                    out = args.out / f"{name}.png"
                    page.screenshot(path=str(out))
                    shots.append(str(out.relative_to(ROOT)) if out.is_relative_to(ROOT) else str(out))

                page.goto(f"{url}/login?next=/", wait_until="load")
                page.fill("#username", "admin")
                page.fill("#password", password)
                shot("login")
                page.click("button[type=submit]")
                page.wait_for_selector(".leaflet-control-layers-selector", state="attached")
                page.wait_for_timeout(500)
                shot("households")
                for name, route in (("coverage", "/coverage"), ("overview", "/overview")):
                    page.goto(f"{url}{route}", wait_until="load")
                    page.wait_for_selector(".leaflet-control-layers-selector", state="attached")
                    page.wait_for_timeout(500)
                    shot(name)
                page.goto(f"{url}/placement", wait_until="load")
                page.wait_for_selector(".leaflet-control-layers-selector", state="attached")
                lon, lat = store.open_workspace(path).read("grids").set_index("code").geometry.loc[
                    "370285001201001"].representative_point().coords[0]
                xy = page.evaluate(f"() => {MAP}.latLngToContainerPoint([{lat}, {lon}])")
                page.select_option("#pp-model", "bullet-12mm")
                page.mouse.click(xy["x"], xy["y"])
                for _ in range(600):  # polled: wait_for_function's eval is what the page's CSP forbids
                    if page.evaluate("document.getElementById('pingan-gain').textContent !== '—'"):
                        break
                    page.wait_for_timeout(100)
                page.wait_for_timeout(300)
                shot("placement")
                browser.close()
                gl = p.chromium.launch(executable_path=chromium, args=WEBGL)
                page = gl.new_page(viewport={"width": 1400, "height": 900})
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: problems.append(str(e)))
                page.on("request", lambda r: problems.append(f"outside request {r.url}")
                        if not r.url.startswith((url, "data:", "blob:")) else None)
                page.request.post(f"{url}/api/auth/login", data={"username": "admin", "password": password})
                ws = store.open_workspace(path)
                hh = ws.read("households").groupby("building_id").size()
                tallest = ws.features("buildings").set_index("id").loc[str(hh.idxmax())]
                lon, lat = tallest.geometry.representative_point().coords[0]
                page.goto(f"{url}/3d?lat={lat}&lon={lon}&zoom=17.3&pitch=58&bearing=-25", wait_until="load")
                for _ in range(1200):  # (not wait_for_function: the page's CSP forbids the eval it uses)
                    if page.evaluate("!!(window.pingan3d && window.pingan3d.ready && window.pingan3d.map.loaded())"):
                        break
                    page.wait_for_timeout(100)
                page.evaluate(f"window.pingan3d.openStack('{tallest.name}')")
                page.wait_for_selector("#p3-stack .ps-table")
                page.wait_for_timeout(800)
                shot("three-d")
                gl.close()
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    print("written:", ", ".join(shots))


if __name__ == "__main__":
    main()
