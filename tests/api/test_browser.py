"""The served page in a real headless Chromium (Debian's package, driven by playwright)."""

from __future__ import annotations

import contextlib
import shutil

import pytest

from api.app import create_app, serve_in_background
from api.settings import Settings
from layers import store
from tests.conftest import BACKENDS, copied_workspace, require

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]



def wait_for(page, expression: str, timeout_s: float = 30.0) -> None:
    """Wait until ``expression`` is true in the page. Playwright's wait_for_function compiles its
    predicate with ``new Function``, which the pages' CSP (no 'unsafe-eval') rightly blocks; an
    evaluate goes through the DevTools protocol, which the CSP does not govern."""
    import time

    deadline = time.time() + timeout_s
    while not page.evaluate(expression):
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        time.sleep(0.05)

def _serve(path, **settings):
    return serve_in_background(create_app(Settings(**({"auth": False, "workspace": path} | settings))))


@contextlib.contextmanager
def serving(path, **settings):
    """The app on ``path`` served from a thread for the length of a ``with`` block; yields its URL."""
    url, srv, thread = _serve(path, **settings)
    try:
        yield url
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, analysed_path, tmp_path_factory):
    """The analysed demo served from a GeoPackage and from PostGIS (pages write the audit log: a copy
    of our own)."""
    served, _ws = copied_workspace(request, analysed_path, "served", tmp_path_factory)
    url, srv, thread = _serve(served)
    yield url
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def viewport_server(analysed_path, tmp_path_factory):
    """The demo served as a city would be: every layer above 100 features loaded by viewport."""
    import shutil

    served = tmp_path_factory.mktemp("served-viewport") / "demo.gpkg"
    shutil.copyfile(analysed_path, served)
    url, srv, thread = _serve(served, inline_limit=100)
    yield url
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


def open_page(browser, url):
    """A page with its console errors and any request leaving the test server recorded."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.errors, page.outside = [], []
    server = url.split("/", 3)[:3]
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("request", lambda r: page.outside.append(r.url)
            if not r.url.startswith(("/".join(server), "data:")) else None)
    page.goto(url, wait_until="load")
    wait_for(page, "document.querySelectorAll('.leaflet-control-layers-selector').length > 0")
    return page


GRID_FEATURES = """() => {
    const map = Object.values(window).find(v => v && v._container && v.eachLayer);
    const out = [];
    map.eachLayer(l => { if (l.feature && /^\\d{15}$/.test(l.feature.properties.code || '') && l.options.fillColor)
        out.push({code: l.feature.properties.code, fill: l.options.fillColor,
                  xy: map.latLngToContainerPoint(l.getCenter())}); });
    return out; }"""


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_household_map_colours_cards_and_language(server, browser, analysed_path, lang):
    from api.maps.displays import LEVEL_COLOURS
    from layers import store

    page = open_page(browser, f"{server}/?lang={lang}")
    assert page.errors == [] and page.outside == []
    risk = store.open_workspace(analysed_path).read("risk").set_index("code")["level"]
    grids = page.evaluate(GRID_FEATURES)
    assert len(grids) == len(risk)  # one polygon per grid
    assert all(g["fill"] == LEVEL_COLOURS[risk[g["code"]]] for g in grids)  # coloured by its level
    legend = page.inner_text("#pingan-legend")
    assert (f"红色网格: {int((risk == 'red').sum())}" in legend) if lang == "zh" else ("red grids" in legend)
    target = next(g for g in grids if risk[g["code"]] == "red")
    page.mouse.click(target["xy"]["x"], target["xy"]["y"])
    page.wait_for_selector(".leaflet-popup-content")
    card = page.inner_text(".leaflet-popup-content")
    assert target["code"] in card
    words = ("风险等级", "红色网格") if lang == "zh" else ("Risk level", "red grids")
    assert all(w in card for w in words)
    page.close()


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_overview_loads_offline_without_errors(server, browser, lang):
    page = open_page(browser, f"{server}/overview?lang={lang}")
    errors, outside = page.errors, page.outside
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
    # the attribution line carries no Leaflet prefix (a flag and a link out of an offline page)
    attribution = page.query_selector(".leaflet-control-attribution")
    assert attribution is None or "Leaflet" not in attribution.inner_text()
    page.close()


@pytest.mark.browser
def test_coverage_map_search_opens_the_card(server, browser):
    page = open_page(browser, f"{server}/coverage")
    assert page.errors == [] and page.outside == []
    assert "视频覆盖图" in page.inner_text("#pingan-title")
    page.fill("#pingan-search", "水集派出所")
    page.press("#pingan-search", "Enter")
    page.wait_for_selector(".leaflet-popup-content")
    assert "水集派出所" in page.inner_text(".leaflet-popup-content")
    page.fill("#pingan-search", "没有这个地方")
    page.press("#pingan-search", "Enter")
    page.wait_for_selector("#pingan-search.pingan-miss")  # after asking the server too
    english = open_page(browser, f"{server}/coverage?lang=en&k=2")
    assert english.errors == [] and "Video coverage map" in english.inner_text("#pingan-title")
    page.close()
    english.close()


@pytest.mark.browser
def test_placement_page_dropping_a_camera_updates_the_figures(server, browser, analysed_path):
    from layers import store

    page = open_page(browser, f"{server}/placement")
    assert page.errors == [] and page.outside == []
    assert page.inner_text("#pingan-gain") == "—"
    lon, lat = store.open_workspace(analysed_path).read("grids").set_index("code").geometry.loc[
        "370285001201001"].representative_point().coords[0]
    xy = page.evaluate(f"""() => {{ const map = Object.values(window).find(v => v && v._container && v.eachLayer);
        return map.latLngToContainerPoint([{lat}, {lon}]); }}""")
    page.select_option("#pp-model", "bullet-12mm")
    page.mouse.click(xy["x"], xy["y"])
    wait_for(page, "document.getElementById('pingan-gain').textContent !== '—'")
    assert page.inner_text("#pingan-gain").endswith("㎡") and "→" in page.inner_text("#pingan-grids")
    page.click("#pp-undo")
    wait_for(page, "document.getElementById('pp-undo').disabled")
    assert page.errors == []
    page.close()


@pytest.mark.browser
def test_placement_page_runs_the_optimiser_and_accepts(server, browser):
    page = open_page(browser, f"{server}/placement")
    page.fill("#pp-k", "2")
    page.check("#pp-greedy")
    page.click("#pp-run")
    page.wait_for_selector("#pp-proposals li .pp-accept", timeout=120_000)
    assert "MCLP" in page.inner_text("#pp-status")
    page.click("#pp-proposals li:first-child .pp-accept")
    page.wait_for_selector("#pp-proposals li.pp-done")
    assert "已采纳为规划点位 PLAN-" in page.inner_text("#pp-proposals li.pp-done")
    assert page.errors == [] and page.outside == []
    page.close()


LOADED = """() => {
    const map = Object.values(window).find(v => v && v._container && v.eachLayer);
    const out = {};
    map.eachLayer(l => { if (l.pinganLoaded) out[l.pinganUrl] = Object.assign({url: l.pinganUrl}, l.pinganLoaded); });
    let cameras = [];
    map.eachLayer(l => { if (l.feature && l.feature.properties._id) cameras.push(
        {id: l.feature.properties._id, xy: map.latLngToContainerPoint(l.getLatLng())}); });
    return {layers: Object.values(out), cameras: cameras, zoom: map.getZoom()}; }"""


def _move(page, action):
    """Run ``action(map)`` in the page and wait for the move to end and its data to arrive."""
    page.evaluate("""(action) => new Promise(done => {
        const map = Object.values(window).find(v => v && v._container && v.eachLayer);
        map.once('moveend', () => setTimeout(done, 0));
        (new Function('map', action))(map); })""", action)
    return _settled(page)


def _settled(page):
    wait_for(page, "document.body.dataset.pinganPending === '0'")
    return page.evaluate(LOADED)


@pytest.mark.browser
def test_viewport_layers_load_what_is_in_view(viewport_server, analysed_path, browser):
    stored = len(store.open_workspace(analysed_path).read("cameras"))
    page = open_page(browser, f"{viewport_server}/coverage")
    first = _settled(page)
    assert page.errors == [] and page.outside == []
    assert len(first["layers"]) >= 3 and all(not x["truncated"] for x in first["layers"])
    assert any(x["count"] > 0 for x in first["layers"]) and first["cameras"]
    # zoom out below the buildings' and views' minimum zoom: they are dropped, cameras stay
    far = _move(page, "map.setZoom(12, {animate: false});")
    assert sum(1 for x in far["layers"] if x.get("belowMinZoom")) >= 2 and far["cameras"]
    # in close at the centre: the buildings there, not the town's 3,860; the cameras (all of them
    # arrived at once, the whole layer) are not fetched again
    near = _move(page, "map.setView(map.getCenter(), 18, {animate: false});")
    buildings = next(x for x in near["layers"] if "/buildings" in x["url"])
    assert 0 < buildings["count"] < 3860
    requests = page.evaluate("() => performance.getEntriesByType('resource').map(r => r.name)")
    assert sum("/api/features/cameras" in r for r in requests) == 1 and len(near["cameras"]) == stored
    assert page.errors == [] and page.outside == []
    page.close()


@pytest.mark.browser
def test_placement_page_moves_an_existing_camera(viewport_server, browser):
    page = open_page(browser, f"{viewport_server}/placement")
    state = _settled(page)
    cam = next(c for c in state["cameras"] if 200 < c["xy"]["x"] < 1000 and 200 < c["xy"]["y"] < 800)
    page.mouse.click(cam["xy"]["x"], cam["xy"]["y"])
    page.wait_for_selector(".leaflet-popup-content .pp-move")
    assert cam["id"] in page.inner_text(".leaflet-popup-content")
    page.click(".leaflet-popup-content .pp-move")
    handle = page.wait_for_selector(".pingan-move-handle")
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 30, y + 15, steps=6)
    page.mouse.up()
    wait_for(page, "document.getElementById('pingan-gain').textContent.endsWith('㎡')")
    assert "→" in page.inner_text("#pingan-grids")
    page.click("#pp-undo")  # back where it was
    wait_for(page, "document.getElementById('pp-undo').disabled")
    assert page.errors == [] and page.outside == []
    page.close()


@pytest.mark.browser
def test_search_goes_to_what_is_not_drawn(viewport_server, browser, analysed_path):
    from layers import store

    community = store.open_workspace(analysed_path).read("communities").iloc[0]
    page = open_page(browser, f"{viewport_server}/coverage")
    _settled(page)
    page.fill("#pingan-search", str(community["code"]))  # communities are not drawn on this page
    page.press("#pingan-search", "Enter")
    page.wait_for_selector(".leaflet-popup-content")
    assert community["name"] in page.inner_text(".leaflet-popup-content")
    assert page.errors == [] and page.outside == []
    page.close()


@pytest.fixture(scope="module")
def secured_server(analysed_path, tmp_path_factory):
    """The demo served as in production: users must log in."""
    import shutil

    from api import access
    from layers import store

    served = tmp_path_factory.mktemp("served-secured") / "demo.gpkg"
    shutil.copyfile(analysed_path, served)
    grid = store.open_workspace(served).read("grids").sort_values("code")["code"].iloc[0]
    access.add_user(store.open_workspace(served), "worker", "grid_worker", access.Area.parse(f"grid:{grid}"),
                    "a long test password")
    url, srv, thread = _serve(served, auth=True)
    yield url, grid
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.mark.browser
def test_logging_in_opens_the_map_of_ones_own_grid(secured_server, browser):
    url, grid = secured_server
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{url}/", wait_until="load")
    assert "/login?next=/" in page.url  # no session: the login page
    page.fill("#username", "worker")
    page.fill("#password", "wrong password!")
    page.click("button[type=submit]")
    wait_for(page, "document.getElementById('login-error').textContent.length > 0")
    page.fill("#password", "a long test password")
    page.click("button[type=submit]")
    page.wait_for_selector(".leaflet-control-layers-selector")
    grids = page.evaluate(GRID_FEATURES)
    assert [g["code"] for g in grids] == [grid]  # a grid worker's map holds their grid only
    cookie = next(c for c in page.context.cookies() if c["name"] == "pingan_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert [e for e in errors if "401" not in e] == []  # the failed login's 401 is the only console noise
    page.close()


@pytest.mark.browser
def test_the_export_menu_downloads_the_tables_of_ones_area(secured_server, browser, tmp_path):
    import openpyxl

    url, grid = secured_server
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{url}/login?next=/", wait_until="load")
    page.fill("#username", "worker")
    page.fill("#password", "a long test password")
    page.click("button[type=submit]")
    page.wait_for_selector("#pingan-export summary")
    page.click("#pingan-export summary")
    with page.expect_download() as info:
        page.click(".pingan-export-export_tables")
    download = info.value
    assert download.suggested_filename.startswith("网格统计_") and download.suggested_filename.endswith(".xlsx")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    rows = list(openpyxl.load_workbook(path)["网格"].values)
    assert [r[0] for r in rows[1:]] == [grid]  # the worker's grid only
    context.close()
