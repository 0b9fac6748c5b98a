"""The served page in a real headless Chromium (Debian's package, driven by playwright)."""

from __future__ import annotations

import shutil
import socket
import threading
import time

import pytest
import uvicorn

from api.app import create_app
from api.settings import Settings
from tests.conftest import require

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(demo_path):
    port = free_port()
    config = uvicorn.Config(create_app(Settings(workspace=demo_path)), host="127.0.0.1", port=port,
                            log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    require(CHROMIUM is not None, "Debian's chromium is not installed (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_overview_loads_offline_without_errors(server, browser, lang):
    page = browser.new_page()
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((server, "data:")) else None)
    page.goto(f"{server}/?lang={lang}", wait_until="load")
    page.wait_for_function("document.querySelectorAll('.leaflet-control-layers-selector').length > 0")
    assert errors == [] and outside == []
    title = page.inner_text("#pingan-title")
    assert ("工作区概览" in title) if lang == "zh" else ("workspace overview" in title)
    # one feature per grid in the grid layer (71 grids in the demo), counted in Leaflet itself
    n_grids = page.evaluate("""() => {
        const map = Object.values(window).find(v => v && v._container && v.eachLayer);
        let n = 0;
        map.eachLayer(l => { if (l.feature && /^\\d{15}$/.test(l.feature.properties.code || '')) n++; });
        return n; }""")
    assert n_grids == 71
    page.close()
