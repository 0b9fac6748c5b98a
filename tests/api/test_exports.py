"""Exports, opened with independent readers: pypdf, Pillow, openpyxl, pyogrio, zipfile, Chromium.

Every file is checked for content (features, CRS, Chinese text, totals matching the
workspace), and household data for aggregation, suppression, permission and audit.
"""

from __future__ import annotations

import io
import re
import shutil
import warnings
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely
from PIL import Image
from pypdf import PdfReader

from api import access
from api.exports import ExportSpec, Source, fonts, make, printed, privacy
from api.exports.offline import inline_assets
from api.maps.base import STATIC_PREFIX
from gis.coords import wgs84_to_gcj02
from layers import store
from layers.errors import ImportFormatError
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ws(analysed_path, tmp_path_factory) -> store.Store:
    path = tmp_path_factory.mktemp("exports") / "demo.gpkg"
    shutil.copyfile(analysed_path, path)
    return store.open_workspace(path)


def source_as(ws, username: str = "planner", role: str = "planner", area: str = "all", lang: str = "zh") -> Source:
    user = access.User(username, access.ROLES[role], access.Area.parse(area), "测试用户")
    return Source(ws, access.Scope.of(ws, user), lang)


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


# ---- printed maps ------------------------------------------------------------------------------
def test_risk_map_pdf_carries_everything_a_printed_map_needs(ws, tmp_path):
    out = make(source_as(ws), ExportSpec(what="map", kind="risk", format="pdf", paper="A3",
                                         orientation="portrait"), tmp_path / "risk.pdf")
    reader = PdfReader(out)
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (842, 1191)  # A3 portrait in points
    assert reader.metadata.title.endswith("网格风险等级图") and reader.metadata.author == "测试用户（planner）"
    text = pdf_text(out)
    levels = ws.read("risk")["level"].value_counts()
    for level, word in (("red", "红色网格"), ("yellow", "黄色网格"), ("green", "绿色网格")):
        assert re.search(rf"{word}（.风险）\s*{levels[level]} 个", text), word  # legend with counts
    for name in ws.read("communities")["name"]:
        assert name in text  # community names are drawn, as text
    assert "行政区域" in text and "水集街道" in text and "4 个社区/村，71 个网格" in text
    assert "数据日期" in text and "评估期" in text and "数据来源" in text
    assert "导出：测试用户（planner）" in text and "北" in text and "m" in text  # exporter, north arrow, scale bar


def test_coverage_map_png_is_300_dpi_a4_with_its_legend_counts(ws, tmp_path):
    src = source_as(ws)
    out = make(src, ExportSpec(what="map", kind="coverage", format="png"), tmp_path / "coverage.png")
    with Image.open(out) as image:
        assert image.size == (3508, 2480)  # A4 landscape at 300 dpi
        assert abs(image.info["dpi"][0] - 300) < 1
        pixels = np.asarray(image.convert("RGB"))[::8, ::8]
        assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50  # drawn, not blank
    pdf = make(src, ExportSpec(what="map", kind="coverage", format="pdf"), tmp_path / "coverage.pdf")
    text = pdf_text(pdf)
    status = ws.read("cameras")["status"].value_counts()
    assert re.search(rf"摄像机·在用\s+{status['active']}\n", text)
    assert re.search(rf"摄像机·故障\s+{status['faulty']}\n", text)
    assert re.search(rf"视频盲区\s+{len(ws.read('blind_spots'))} 处", text) and "视频监控覆盖图" in text


def test_the_demo_map_renders_every_chinese_glyph(ws, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make(source_as(ws), ExportSpec(what="map", kind="risk", format="png", dpi=100), tmp_path / "r.png")
    assert not [w for w in caught if "missing from font" in str(w.message)]
    committed = ROOT / "docs" / "risk-map.png"
    assert committed.exists() and "docs/risk-map.png" in (ROOT / "README.md").read_text(encoding="utf-8")
    with Image.open(committed) as image:
        assert image.size[0] >= 2000  # a print-quality render of the demo


def test_a_font_without_chinese_glyphs_is_an_error_not_boxes(ws, tmp_path, monkeypatch):
    fonts.cjk_family.cache_clear()
    monkeypatch.setenv("PINGAN_CJK_FONT", "DejaVu Sans")  # installed with matplotlib, no Chinese
    try:
        with pytest.raises(fonts.MissingGlyphError, match="fonts-noto-cjk"):
            printed.print_map(source_as(ws), tmp_path / "r.png", dpi=50)
        assert not (tmp_path / "r.png").exists()
        fonts.cjk_family.cache_clear()
        monkeypatch.setenv("PINGAN_CJK_FONT", "No Such Font SC")
        with pytest.raises(fonts.FontMissingError, match="not installed"):
            printed.print_map(source_as(ws), tmp_path / "r.png", dpi=50)
    finally:
        fonts.cjk_family.cache_clear()


def test_maps_refuse_bad_paper_and_missing_results(ws, tmp_path, tiny_path):
    with pytest.raises(ValueError, match="A4 or A3"):
        printed.print_map(source_as(ws), tmp_path / "r.png", paper="B5")
    tiny = store.open_workspace(tiny_path)
    with pytest.raises(ValueError, match="pingan risk"):
        printed.print_map(source_as(tiny), tmp_path / "r.png")


# ---- tables ------------------------------------------------------------------------------------
def test_xlsx_workbook_totals_match_the_workspace(ws, tmp_path):
    out = make(source_as(ws), ExportSpec(what="tables"), tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["汇总", "网格", "社区", "组格", "片格"]  # the demo has its 组格 and 片格
    grids = pd.DataFrame(list(wb["网格"].values)[1:], columns=next(wb["网格"].values))
    comms = pd.DataFrame(list(wb["社区"].values)[1:], columns=next(wb["社区"].values))
    assert len(grids) == len(ws.read("grids")) and len(comms) == len(ws.read("communities"))
    wanted = {"网格编码", "风险等级", "主要原因", "覆盖率-探测", "一类目标达标", "盲区数", "在用摄像机"}
    assert wanted <= set(grids.columns)
    assert set(grids["风险等级"]) <= {"红", "黄", "绿"}
    households = ws.read("households")
    assert pd.to_numeric(grids["户数"]).sum() == len(households) == pd.to_numeric(comms["户数"]).sum()
    active = int(ws.read("coverage_grids")["cameras_active"].sum())
    assert grids["在用摄像机"].sum() == comms["在用摄像机"].sum() == active
    assert comms["网格数"].sum() == len(grids) and comms["红色网格"].sum() == (grids["风险等级"] == "红").sum()
    summary = dict(list(wb["汇总"].values)[3:])
    assert summary["网格数"] == len(grids) and summary["户数"] == len(households)
    assert summary["导出人"] == "测试用户（planner）" and "水集街道" in summary["行政区域"]
    sheet = wb["网格"]
    assert sheet.freeze_panes == "C2" and sheet.auto_filter.ref
    assert sheet.column_dimensions["A"].width >= 15  # 15-digit codes fit
    share_col = list(grids.columns).index("覆盖率-探测") + 1
    assert sheet.cell(2, share_col).number_format == "0.0%"


def test_csv_has_a_bom_chinese_headers_and_percentages(ws, tmp_path):
    src = source_as(ws, lang="zh")
    out = make(src, ExportSpec(what="tables", format="csv", table="communities"), tmp_path / "c.csv")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads the BOM as UTF-8
    frame = pd.read_csv(out, encoding="utf-8-sig", dtype={"社区编码": str})
    assert list(frame["社区编码"]) == sorted(ws.read("communities")["code"])
    cov = ws.read("coverage_communities").set_index("community_code")
    expected = (100 * cov["seen_detect_m2"] / cov["public_m2"]).round(1)
    assert np.allclose(frame.set_index("社区编码")["覆盖率-探测 (%)"], expected.reindex(frame["社区编码"]), atol=0.051)
    english = make(source_as(ws, lang="en"), ExportSpec(what="tables", format="csv"), tmp_path / "g.csv")
    assert "Grid code" in english.read_text(encoding="utf-8-sig").splitlines()[0]


def test_a_grid_worker_gets_their_grid_only(secured, tmp_path):
    worker = secured["as"]("worker")
    r = worker.get("/api/reports/tables", params={"format": "xlsx"})
    assert r.status_code == 200, r.text
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    rows = list(wb["网格"].values)
    assert len(rows) == 2 and rows[1][0] == secured["mine"]["code"]
    assert "filename*=UTF-8''%E7%BD%91%E6%A0%BC%E7%BB%9F%E8%AE%A1_" in r.headers["content-disposition"]  # 网格统计


# ---- GIS files ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("fmt", "suffix"), [("gpkg", "gpkg"), ("geojson", "geojson"), ("shapefile", "zip"),
                                             ("kml", "kml")])
@pytest.mark.parametrize("coords", ["wgs84", "cgcs2000", "gcj02"])
def test_gis_exports_hold_the_features_in_the_asked_coordinates(ws, tmp_path, fmt, suffix, coords):
    spec = ExportSpec(what="layer", layer="risk", format=fmt, coords=coords)
    if fmt == "kml" and coords != "wgs84":  # KML is lon/lat WGS 84 by definition: nothing else is written
        with pytest.raises(ImportFormatError, match="KML is WGS 84"):
            make(source_as(ws), spec, tmp_path / f"risk.{suffix}")
        return
    out = make(source_as(ws), spec, tmp_path / f"risk.{suffix}")
    path = f"/vsizip/{out}" if fmt == "shapefile" else out
    got = pyogrio.read_dataframe(path)
    risk = ws.read("risk")
    assert len(got) == len(risk)
    names = got["name"] if "name" in got else got["Name"]
    assert set(names) == set(risk["name"])  # Chinese text survives every format
    epsg = got.crs.to_epsg() if got.crs is not None else None
    if coords == "gcj02":  # a custom CRS named for GCJ-02; GeoJSON can only name it (GDAL reads that as 4326)
        if fmt == "geojson":
            import json

            assert "GCJ-02" in json.loads(out.read_text(encoding="utf-8"))["crs"]["properties"]["name"]
        else:
            assert epsg is None and "GCJ-02" in got.crs.name
        got = got.set_crs(4326, allow_override=True)
    else:
        assert epsg == {"wgs84": 4326, "cgcs2000": 4549}[coords]  # cgcs2000: the demo's GK zone
        got = got.to_crs(4326)
    code = "code" if "code" in got else got.columns[0]
    got = got.set_index(got[code].astype(str)) if "code" in got else got
    first = risk.iloc[0]
    mine = got.geometry.iloc[list(got.index).index(first["code"])] if "code" in got else got.geometry.iloc[0]
    c0, c1 = first.geometry.centroid, mine.centroid
    if coords == "gcj02":
        x, y = wgs84_to_gcj02(np.array([c0.x]), np.array([c0.y]))
        assert abs(c1.x - x[0]) < 2e-5 and abs(c1.y - y[0]) < 2e-5
    else:
        assert abs(c1.x - c0.x) < 2e-6 and abs(c1.y - c0.y) < 2e-6


def test_shapefile_zip_is_utf8_and_kml_is_styled_by_level(ws, tmp_path):
    src = source_as(ws)
    shp = make(src, ExportSpec(what="layer", layer="grids", format="shapefile"), tmp_path / "g.zip")
    with zipfile.ZipFile(shp) as zf:
        names = zf.namelist()
        assert {"grids.shp", "grids.shx", "grids.dbf", "grids.prj", "grids.cpg"} <= set(names)
        assert zf.read("grids.cpg").decode().strip().upper() in ("UTF-8", "UTF8")
    kml = make(src, ExportSpec(what="layer", layer="risk", format="kml"), tmp_path / "r.kml")
    text = kml.read_text(encoding="utf-8")
    levels = ws.read("risk")["level"].value_counts()
    assert 'id="level_red"' in text and "<PolyStyle><color>993e3ae0</color>" in text  # #e03a3e as aabbggrr
    for level, n in levels.items():
        assert text.count(f"<styleUrl>#level_{level}</styleUrl>") == n


def test_tables_of_a_layer_import_back(ws, tmp_path):
    from layers import exchange

    out = make(source_as(ws), ExportSpec(what="layer", layer="cameras", format="xlsx", coords="gcj02"),
               tmp_path / "cams.xlsx")
    header = next(openpyxl.load_workbook(out).active.values)
    assert "设备编码" in header and "经度" in header and "纬度" in header
    raw = exchange.read_file(out, "cameras", coords="gcj02")
    back = exchange.check(None, raw, "cameras")
    cams = ws.read("cameras").set_index("id")
    back = back.set_index("id")
    assert len(back) == len(cams)
    d = shapely.distance(back.geometry.loc[cams.index].to_numpy(), cams.geometry.to_numpy())
    assert d.max() < 1e-5  # GCJ-02 out and back in again: the same places


def test_aspatial_results_refuse_vector_formats_with_the_fix(ws, tmp_path):
    with pytest.raises(Exception, match="csv, xlsx or gpkg"):
        make(source_as(ws), ExportSpec(what="layer", layer="coverage_communities", format="geojson"),
             tmp_path / "c.geojson")
    out = make(source_as(ws), ExportSpec(what="layer", layer="coverage_communities", format="gpkg"),
               tmp_path / "c.gpkg")
    assert len(pyogrio.read_dataframe(out, read_geometry=False)) == 4


# ---- household data ----------------------------------------------------------------------------
def test_complementary_suppression():
    frame = pd.DataFrame({"community_code": ["A", "A", "A", "B", "B", "C", "C", "C"],
                          "households": [3, 50, 20, 0, 7, 2, 4, 30]})
    mask = privacy.suppression_mask(frame, "community_code")["households"].tolist()
    # A: 3 is small, and 20 (the smallest other) goes with it; B: nothing small; C: two small cells already
    assert mask == [True, False, True, False, False, True, True, False]
    shown, n = privacy.suppress(frame.assign(rented=[1, 9, 9, 0, 0, 0, 0, 0], rented_share=0.1),
                                group="community_code", marker="<5")
    assert n == 6 and shown["households"].tolist()[:3] == ["<5", 50, "<5"]
    assert shown["rented"].iloc[0] == "<5" and pd.isna(shown["rented_share"].iloc[0])  # the share would give it back


def test_households_leave_as_grid_aggregates_with_small_counts_suppressed(tiny_path, tmp_path):
    tiny = store.open_workspace(tiny_path)  # grid 001 has 2 households, grid 002 none
    src = source_as(tiny)
    out = make(src, ExportSpec(what="layer", layer="households", format="gpkg"), tmp_path / "hh.gpkg")
    got = pyogrio.read_dataframe(out).set_index("code")
    assert list(got.index) == list(tiny.read("grids")["code"])
    assert pd.isna(got["households"].iloc[0]) and got["households"].iloc[1] == 0  # 2 is suppressed, 0 is not
    assert "unit" not in got and "building_id" not in got  # no household rows, no addresses
    csv = make(src, ExportSpec(what="layer", layer="households", format="csv"), tmp_path / "hh.csv")
    assert "<5" not in csv.read_text(encoding="utf-8-sig")  # GIS-style tables carry empty cells
    xlsx = make(src, ExportSpec(what="tables"), tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(xlsx)
    grid_rows = list(wb["网格"].values)
    col = grid_rows[0].index("户数")
    assert [r[col] for r in grid_rows[1:]] == ["<5", 0]
    summary = dict(list(wb["汇总"].values)[3:])
    assert summary["户数"] == "<5" and "<5" in summary["说明"]


def test_household_detail_needs_role_and_reason_and_is_watermarked_and_audited(secured):
    ws = secured["ws"]
    police = secured["as"]("police")
    assert police.get("/api/export/households", params={"format": "csv"}).status_code == 200  # aggregates: fine
    assert police.get("/api/export/households", params={"detail": True, "reason": "x"}).status_code == 403
    worker = secured["as"]("worker")
    assert worker.get("/api/export/households", params={"detail": True, "format": "csv"}).status_code == 422
    r = worker.get("/api/export/households", params={"detail": True, "format": "xlsx", "reason": "入户走访核对"})
    assert r.status_code == 200, r.text
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    sheet = wb.active
    rows = list(sheet.values)
    header = rows[0]
    assert {"户编号", "楼栋编号", "导出人", "导出时间", "导出原因"} <= set(header)
    inside = access.Scope.of(ws, access.named_user(ws, "worker")).filter(ws, "households", ws.read("households"))
    assert len(rows) - 1 == len(inside) > 0  # their grid's households only
    who = header.index("导出人")
    assert {row[who] for row in rows[1:]} == {"worker"}
    assert "worker" in sheet.oddFooter.left.text  # the watermark on every printed page too
    log = ws.audit_log()
    last = log[(log["action"] == "export") & (log["user"] == "worker")].iloc[-1]
    assert "入户走访核对" in last["detail"] and '"detail": true' in last["detail"]
    assert secured["as"]("viewer").get("/api/export/households").status_code == 403  # viewers do not export


# ---- API ---------------------------------------------------------------------------------------
def test_report_downloads_are_streamed_with_safe_names(secured):
    planner = secured["as"]("planner")
    r = planner.get("/api/reports/map", params={"kind": "risk", "format": "pdf", "name": "../月报/风险图.pdf"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    disposition = r.headers["content-disposition"]
    assert "filename*=UTF-8''%E9%A3%8E%E9%99%A9%E5%9B%BE.pdf" in disposition and ".." not in disposition
    assert "网格风险等级图" in PdfReader(io.BytesIO(r.content)).pages[0].extract_text()
    en = planner.get("/api/reports/map", params={"kind": "coverage", "format": "png", "dpi": 72, "lang": "en"})
    assert en.status_code == 200 and en.content.startswith(b"\x89PNG")
    assert planner.get("/api/reports/map", params={"paper": "B5"}).status_code == 422
    html = planner.get("/api/reports/offline", params={"kind": "coverage"})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "<script src=" not in html.text and 'rel="stylesheet" href=' not in html.text
    log = secured["ws"].audit_log()
    mine = log[(log["user"] == "planner") & (log["action"] == "export")]
    assert {"map:risk", "map:coverage", "offline:coverage"} <= set(mine["object"])


def test_export_jobs_report_progress_and_serve_the_file(secured):
    import time

    planner = secured["as"]("planner")
    r = planner.post("/api/export/jobs", json={"what": "map", "kind": "risk", "format": "png", "dpi": 100})
    assert r.status_code == 202, r.text
    job = r.json()
    for _ in range(300):
        job = planner.get(f"/api/export/jobs/{job['id']}").json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert job["status"] == "done", job
    assert job["progress"][:3] == ["reading layers", "drawing", "writing"]
    assert "dir" not in job["result"] and job["result"]["download"].endswith("/file")
    got = planner.get(job["result"]["download"])
    assert got.status_code == 200 and got.content.startswith(b"\x89PNG")
    assert secured["as"]("police").get(f"/api/export/jobs/{job['id']}").status_code == 404  # not theirs
    bad = planner.post("/api/export/jobs", json={"what": "map", "format": "xlsx"})
    assert bad.status_code == 422 and "png, pdf" in bad.text


def test_cli_exports(demo_copy, tmp_path):
    from typer.testing import CliRunner

    from api.cli import app

    def run(*args):
        return CliRunner().invoke(app, [str(a) for a in args])

    from api.workflows.coverage import compute_coverage
    from api.workflows.risk import compute_risk
    from api.workflows.views import compute_views

    ws = store.open_workspace(demo_copy)
    compute_views(ws)
    compute_coverage(ws)
    compute_risk(ws)
    for args, name in [(("map", demo_copy, tmp_path / "r.pdf", "--paper", "A3"), "r.pdf"),
                       (("tables", demo_copy, tmp_path / "t.xlsx"), "t.xlsx"),
                       (("html", demo_copy, tmp_path / "m.html", "--kind", "coverage"), "m.html"),
                       (("layer", demo_copy, "risk", tmp_path / "r.gpkg", "--coords", "gcj02"), "r.gpkg")]:
        result = run("export", *args)
        assert result.exit_code == 0, result.output
        assert f"wrote {tmp_path / name}" in result.output and (tmp_path / name).stat().st_size > 1000
    bad = run("export", "map", demo_copy, tmp_path / "r.pdf", "--paper", "B5")
    assert bad.exit_code == 2 and "Traceback" not in bad.output


# ---- offline HTML ------------------------------------------------------------------------------
def test_offline_html_refers_to_nothing_outside_itself(ws, tmp_path):
    out = make(source_as(ws), ExportSpec(what="offline", kind="risk"), tmp_path / "risk.html")
    text = out.read_text(encoding="utf-8")
    assert not re.findall(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="[^"]+"', text)
    assert f'"{STATIC_PREFIX}/' not in text and "L.map(" in text
    assert "离线导出：测试用户（planner）" in text and "户数" not in text  # no household figures on it
    with pytest.raises(OSError, match="not allowed offline"):
        inline_assets('<script src="https://cdn.example.com/leaflet.js"></script>')


@pytest.mark.browser
def test_offline_html_opens_with_no_network(ws, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    require(chromium is not None, "needs Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    out = make(source_as(ws), ExportSpec(what="offline", kind="coverage"), tmp_path / "coverage.html")
    usb = tmp_path / "usb"
    usb.mkdir()
    copy = usb / "视频覆盖图.html"
    shutil.copyfile(out, copy)  # a file on a stick, nothing beside it
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        context = browser.new_context(offline=True)
        requests: list[str] = []
        context.on("request", lambda req: requests.append(req.url))
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(copy.as_uri())
        page.wait_for_selector(".leaflet-container path.leaflet-interactive, .leaflet-container canvas", timeout=20000)
        drawn = page.evaluate("() => document.querySelectorAll('.leaflet-container path, canvas').length")
        legend = page.inner_text("body")
        page.fill("#pingan-search", ws.read("grids")["code"].iloc[0])
        page.press("#pingan-search", "Enter")
        page.wait_for_timeout(500)
        browser.close()
    assert drawn > 0 and "视频覆盖图" in legend
    assert [u for u in requests if not u.startswith(("file:", "data:", "blob:"))] == []
    assert errors == [], errors


def test_shares_that_would_give_a_small_count_back_are_emptied_too(tiny_path, tmp_path):
    from api.workflows.coverage import compute_coverage
    from api.workflows.risk import compute_risk
    from api.workflows.views import compute_views

    tiny = store.open_workspace(tiny_path)  # grid 001: 2 households, 1 needing care
    compute_views(tiny)
    compute_coverage(tiny)
    compute_risk(tiny)
    src = source_as(tiny, lang="en")
    for layer in ("risk", "risk_history"):  # risk_history carries the shares without the counts
        out = make(src, ExportSpec(what="layer", layer=layer, format="gpkg"), tmp_path / f"{layer}.gpkg")
        got = pyogrio.read_dataframe(out, read_geometry=False)
        first = got["code"] == tiny.read("grids")["code"].iloc[0]
        assert got.loc[first, "care_households"].isna().all(), layer  # 1 of 2 households = 50 per 100
        assert (got.loc[~first, "care_households"] == 0).all(), layer


def test_an_export_can_be_narrowed_to_part_of_the_users_area(secured):
    ws = secured["ws"]
    comm = ws.read("communities").iloc[1]
    n_grids = int((ws.read("grids")["community_code"] == comm["code"]).sum())
    planner = secured["as"]("planner")
    r = planner.get("/api/reports/map", params={"format": "pdf", "area": f"community:{comm['code']}"})
    assert r.status_code == 200, r.text
    text = PdfReader(io.BytesIO(r.content)).pages[0].extract_text()
    assert f"{comm['name']}：1 个社区/村，{n_grids} 个网格" in text
    r = planner.get("/api/reports/tables", params={"format": "csv", "area": f"community:{comm['code']}"})
    assert len(pd.read_csv(io.BytesIO(r.content), encoding="utf-8-sig")) == n_grids
    log = ws.audit_log()
    assert f"community:{comm['code']}" in log[log["user"] == "planner"]["detail"].iloc[-1]
    worker = secured["as"]("worker")  # one grid of the first community
    assert worker.get("/api/reports/tables", params={"area": f"community:{comm['code']}"}).status_code == 403
    assert worker.get("/api/reports/tables", params={"area": f"grid:{secured['mine']['code']}"}).status_code == 200
    assert planner.get("/api/reports/tables", params={"area": "grid:999"}).status_code == 422


def test_a_workspace_without_key_targets_still_maps_and_exports(tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings
    from api.workflows.coverage import compute_coverage
    from api.workflows.risk import compute_risk
    from api.workflows.views import compute_views
    from layers import validate
    from tests.conftest import tiny_layers

    ws = store.open_workspace(tmp_path / "t.gpkg", create=True, name="无目标")
    ws.write_many({n: validate.validate(f, n) for n, f in tiny_layers().items() if n != "targets"})
    compute_views(ws)
    compute_coverage(ws)
    compute_risk(ws)
    src = source_as(ws)
    for spec, suffix in ((ExportSpec(what="offline", kind="coverage"), "html"),
                         (ExportSpec(what="map", kind="coverage", format="pdf"), "pdf"), (ExportSpec(what="tables"),
                                                                                         "xlsx")):
        assert make(src, spec, tmp_path / f"out.{suffix}").stat().st_size > 1000
    page = TestClient(create_app(Settings(auth=False, workspace=tmp_path / "t.gpkg"))).get("/coverage")
    assert page.status_code == 200 and "pingan-export" in page.text


def test_a_chinese_table_speaks_chinese_and_imports_back(analysed_path, tmp_path):
    """Coded values (kinds, statuses, levels, indicators) are in Chinese in a Chinese CSV, and a camera
    CSV still validates as the cameras layer."""
    import csv
    import shutil

    from layers import exchange, validate

    shutil.copyfile(analysed_path, tmp_path / "ws.gpkg")
    source = Source.local(store.open_workspace(tmp_path / "ws.gpkg"))
    cams = make(source, ExportSpec(what="layer", layer="cameras", format="csv"), tmp_path / "cams.csv")
    with cams.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["摄像机类型"] for r in rows} <= {"枪机", "半球", "球机", "鱼眼"} and {r["状态"] for r in rows} <= {
        "在用", "故障", "规划", "拆除"}
    back = validate.validate(exchange.read_file(cams, "cameras").frame, "cameras")
    assert len(back) == len(rows) and set(back["status"]) <= {"active", "faulty", "planned", "removed"}
    risk_csv = make(source, ExportSpec(what="layer", layer="risk", format="csv"), tmp_path / "risk.csv")
    with risk_csv.open(encoding="utf-8-sig") as fh:
        graded = list(csv.DictReader(fh))
    level = next(k for k in graded[0] if k in ("风险等级", "level"))
    assert {r[level] for r in graded} <= {"红", "黄", "绿"}
    assert not any(re.fullmatch(r"[a-z_;]+", r.get("drivers", "") or "-") for r in graded)
