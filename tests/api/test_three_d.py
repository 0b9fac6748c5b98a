"""The 3D 户况网格图 (/3d) in headless Chromium (WebGL through SwiftShader), and the building stack
behind it under the personal-information rules."""

from __future__ import annotations

import shutil

import pytest
import shapely
from fastapi.testclient import TestClient

from api import access
from api.app import create_app
from api.settings import Settings
from layers import store
from tests.api.test_browser import CHROMIUM, FLAGS, serving, wait_for
from tests.conftest import require

PASSWORD = "correct horse battery"
#: WebGL in headless Chromium without a GPU: ANGLE on SwiftShader
WEBGL = [f for f in FLAGS if f != "--disable-gpu"] + ["--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                                                       "--ignore-gpu-blocklist"]


@pytest.fixture(scope="module")
def demo3d(analysed_path, tmp_path_factory):
    path = tmp_path_factory.mktemp("three-d") / "demo.gpkg"
    shutil.copyfile(analysed_path, path)
    return path


@pytest.fixture(scope="module")
def webgl():
    require(CHROMIUM is not None, "Debian's chromium is not installed (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=WEBGL)
        yield b
        b.close()


def _known_building(ws):
    """A residential building with several floors and households, and its per-floor counts."""
    hh = ws.read("households")
    per = hh.groupby("building_id").size()
    bid = str(per[per >= 12].index[0])
    mine = hh[hh["building_id"] == bid]
    cells = mine.groupby(["unit", "floor"]).size()
    return bid, cells


def _clients(ws, path):
    grids = ws.read("grids").sort_values("code")
    for name, role, area in [("planner", "planner", "all"), ("police", "police", "all"), ("viewer", "viewer", "all"),
                             ("local", "police", f"community:{grids['community_code'].iloc[-1]}")]:
        access.add_user(ws, name, role, access.Area.parse(area), PASSWORD)
    app = create_app(Settings(workspace=str(path)))

    def client(name):
        token = TestClient(app).post("/api/auth/login", json={"username": name, "password": PASSWORD}).json()["token"]
        return TestClient(app, headers={"Authorization": f"Bearer {token}"})

    return client


def test_a_buildings_stack_is_counts_per_floor_with_small_ones_suppressed_and_detail_on_record(demo3d, tmp_path):
    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo3d, path)
    ws = store.open_workspace(path)
    bid, cells = _known_building(ws)
    client = _clients(ws, path)
    police = client("police")
    got = police.get(f"/api/buildings/{bid}/stack").json()
    assert got["building"]["households"] == int(cells.sum()) and got["detail"] is None
    shown = {(c["unit"], c["floor"]): c["households"] for c in got["cells"]}
    assert set(shown) == {(u, int(f)) for u, f in cells.index}
    for (u, f), n in cells.items():  # 1–4 shown as <5, and no visible count gives a hidden one back
        assert shown[(u, int(f))] == ("<5" if n < 5 else int(n))
    hidden = [c for c in got["cells"] for k in ("households", "rented", "vacant") if c[k] == "<5"]
    assert hidden and got["suppressed"] >= len(hidden)
    assert police.get(f"/api/buildings/{bid}/stack", params={"reason": "核查"}).status_code == 403
    assert client("viewer").get(f"/api/buildings/{bid}/stack").status_code == 403  # no buildings at all
    planner = client("planner")
    assert planner.get(f"/api/buildings/{bid}/stack", params={"reason": "  "}).status_code == 422
    detail = planner.get(f"/api/buildings/{bid}/stack", params={"reason": "入户走访核查"}).json()["detail"]
    assert len(detail) == int(cells.sum()) and {"unit", "floor", "room", "members", "tags"} <= set(detail[0])
    log = ws.audit_log()
    assert any("入户走访核查" in str(r) and r.get("user") == "planner" for r in log.to_dict("records"))
    # a building outside one's area is not there
    local = client("local")
    scope = access.Scope.of(ws, local_user := access.User("local", access.ROLES["police"], access.Area.parse(
        f"community:{ws.read('grids').sort_values('code')['community_code'].iloc[-1]}")))
    blds = ws.read("buildings")
    mask = scope.mask(ws, "buildings", blds)
    assert local_user.role.name == "police" and mask.any() and not mask.all()
    assert local.get(f"/api/buildings/{blds['id'][~mask].iloc[0]}/stack").status_code == 404
    assert local.get(f"/api/buildings/{blds['id'][mask].iloc[0]}/stack").status_code == 200


@pytest.mark.browser
def test_the_3d_page_renders_offline_and_a_click_on_a_building_shows_its_floors(demo3d, webgl, tmp_path):
    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo3d, path)
    ws = store.open_workspace(path)
    bid, cells = _known_building(ws)
    b = ws.features("buildings").set_index("id").loc[bid]
    centre = b.geometry.representative_point()
    with serving(str(path)) as url:
        page = webgl.new_page(viewport={"width": 1200, "height": 800})
        errors, outside = [], []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((url, "data:", "blob:")) else None)
        page.goto(f"{url}/3d?pitch=0&bearing=0&lat={centre.y}&lon={centre.x}&zoom=18", wait_until="load")
        wait_for(page, "window.pingan3d && window.pingan3d.ready && window.pingan3d.loads > 0", 60)
        assert page.evaluate("!!document.querySelector('canvas.maplibregl-canvas')")
        assert page.evaluate("window.pingan3d.map.painter.context.gl instanceof WebGLRenderingContext "
                             "|| window.pingan3d.map.painter.context.gl instanceof WebGL2RenderingContext")
        drawn = page.evaluate("window.pingan3d.map.queryRenderedFeatures({layers: ['buildings']}).length")
        assert drawn > 0
        # a real click where the building is drawn
        x, y = page.evaluate(f"(() => {{ const p = window.pingan3d.map.project([{centre.x}, {centre.y}]); "
                             "return [p.x, p.y]; })()")
        page.mouse.click(x, y)
        wait_for(page, "window.pingan3d.lastStack !== null", 20)
        assert page.evaluate("window.pingan3d.lastStack.building.id") == bid
        shown = page.evaluate("""() => Array.from(document.querySelectorAll('#p3-stack .ps-table td.ps-cell')).map(
            td => [td.dataset.unit, td.dataset.floor, td.dataset.households])""")
        got = {(u, int(f)): h for u, f, h in shown}
        assert got == {(u, int(f)): ("<5" if n < 5 else str(int(n))) for (u, f), n in cells.items()}
        assert "<5" in page.inner_text("#p3-stack .ps-table") or all(n >= 5 for n in cells)
        # tilt and rotate, then the page still draws without errors
        page.evaluate("window.pingan3d.map.jumpTo({pitch: 60, bearing: 45})")
        wait_for(page, "window.pingan3d.map.loaded()", 20)
        assert errors == [] and outside == []
        page.close()


@pytest.mark.browser
def test_the_2d_map_drills_down_to_a_patchs_figures_and_a_buildings_floors(demo3d, webgl, tmp_path):
    from api.exports import Source
    from api.exports.tables import level_table

    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo3d, path)
    ws = store.open_workspace(path)
    bid, cells = _known_building(ws)
    b = ws.features("buildings").set_index("id")
    centre = b.geometry[bid].representative_point()
    subs = ws.features("subgrids")
    patches = subs[subs["level"] == "patch"]
    patch = patches[patches.geometry.contains(centre)].iloc[0]
    empty = patch.geometry.difference(shapely.union_all(b.geometry.to_numpy())).representative_point()
    table, _ = level_table(Source.local(ws), "patches")
    expected = table.set_index("subgrid_code").loc[patch["code"]]
    with serving(str(path)) as url:
        page = webgl.new_page(viewport={"width": 1200, "height": 800})
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/", wait_until="load")
        wait_for(page, "!!window.pinganDrillState", 30)
        page.evaluate(f"void Object.values(window).find(v => v && v._container && v.eachLayer)"
                      f".setView([{centre.y}, {centre.x}], 19, {{animate: false}})")

        def click(point):
            x, y = page.evaluate(f"(() => {{ const m = Object.values(window).find(v => v && v._container && "
                                 f"v.eachLayer); const p = m.latLngToContainerPoint([{point.y}, {point.x}]); "
                                 "return [p.x, p.y]; })()")
            page.mouse.click(x, y)

        click(centre)  # a building: its card, and its stack beside it
        wait_for(page, "window.pinganDrillState.lastStack !== null", 20)
        assert page.evaluate("window.pinganDrillState.lastStack.building.id") == bid
        shown = page.evaluate("""() => Array.from(document.querySelectorAll('#pingan-stack .ps-table td.ps-cell'))
            .map(td => [td.dataset.unit, td.dataset.floor, td.dataset.households])""")
        assert {(u, int(f)): h for u, f, h in shown} == {
            (u, int(f)): ("<5" if n < 5 else str(int(n))) for (u, f), n in cells.items()}
        page.locator(".leaflet-control-layers-overlays label", has_text="组格/片格").locator("input").click()
        click(empty)  # inside the patch, off every building
        wait_for(page, "window.pinganDrillState.lastCard !== null", 20)
        card = page.evaluate("window.pinganDrillState.lastCard")
        assert card["code"] == patch["code"] and card["level"] == "patch"
        got = page.evaluate("""() => Object.fromEntries(Array.from(document.querySelectorAll(
            '.leaflet-popup-content .ps-card td')).map(td => [td.dataset.key, td.textContent]))""")
        for key in ("households", "rented", "vacant", "elderly_alone", "incidents"):
            assert got[key] == str(expected[key]), (key, got[key], expected[key])
        assert errors == []
        page.close()


def test_the_marked_situations_are_a_workspace_setting(demo3d, tmp_path):
    import json

    from typer.testing import CliRunner

    from api.cli import app as cli

    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo3d, path)
    runner = CliRunner()
    ok = runner.invoke(cli, ["settings", str(path), "markers=elderly,rented"])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(cli, ["settings", str(path), "markers=elderly,pets"])
    assert bad.exit_code != 0 and "markers" in bad.output
    ws = store.open_workspace(path)
    assert ws.settings()["markers"] == ["elderly", "rented"]
    client = _clients(ws, path)
    html = client("planner").get("/3d").text
    start = html.index('id="pingan-3d-config">') + len('id="pingan-3d-config">')
    config = json.loads(html[start:html.index("</script>", start)])
    assert config["markers"] == ["elderly", "rented"] and set(config["marker_colours"]) >= {"elderly", "rented"}
    assert 'data-marker="rented"' in html  # and the legend names it
    refused = client("planner").put("/api/settings", json={"markers": ["pets"]})
    assert refused.status_code == 422
    assert client("planner").put("/api/settings", json={"markers": ["vacant"]}).status_code == 200
    assert store.open_workspace(path).settings()["markers"] == ["vacant"]


@pytest.mark.browser
def test_the_3d_page_draws_the_deployments_own_basemap_tiles(demo3d, webgl):
    import io

    from fastapi import FastAPI
    from fastapi.responses import Response
    from PIL import Image

    from api.app import serve_in_background

    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 220, 240)).save(buf, format="PNG")
    png, hits = buf.getvalue(), []
    tiles = FastAPI()

    @tiles.get("/{z}/{x}/{y}.png")
    def tile(z: int, x: int, y: int) -> Response:  # an intranet tile server (WebGL maps need CORS)
        hits.append((z, x, y))
        return Response(png, media_type="image/png", headers={"Access-Control-Allow-Origin": "*"})

    tiles_url, srv, thread = serve_in_background(tiles)
    try:
        with serving(str(demo3d), tiles_url=f"{tiles_url}/{{z}}/{{x}}/{{y}}.png", tiles_attribution="内网底图") as url:
            page = webgl.new_page(viewport={"width": 900, "height": 600})
            errors = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{url}/3d", wait_until="load")
            wait_for(page, "window.pingan3d && window.pingan3d.ready", 60)
            for _ in range(200):  # the raster tiles are asked for once the map has settled
                if hits:
                    break
                page.wait_for_timeout(50)
            assert hits, "no basemap tile was asked for"
            assert page.evaluate("window.pingan3d.map.getLayer('basemap0').type") == "raster"
            assert "内网底图" in page.inner_text(".maplibregl-ctrl-attrib")
            assert errors == []
            page.close()
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
