"""The quirks real inventories (台账) have: each is read right or refused naming the row, the field and the
fix, and the workspace is left exactly as it was."""

from __future__ import annotations

import shutil

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point

from layers import exchange, store
from layers.errors import ImportFormatError, LayerValidationError
from tests.conftest import file_digest

HEADER = ["设备编码", "名称", "经度", "纬度", "类型"]


@pytest.fixture
def ws(demo_path, tmp_path):
    path = tmp_path / "ws.gpkg"
    shutil.copyfile(demo_path, path)
    return path


def _refused(ws_path, file, layer="cameras", **kwargs):
    before = file_digest(ws_path)
    with pytest.raises(LayerValidationError) as info:
        exchange.import_layer(store.open_workspace(ws_path), file, layer, **kwargs)
    assert file_digest(ws_path) == before  # nothing stored, nothing half-written
    return info.value.problems


def _xlsx(path, rows, header=HEADER):
    wb = openpyxl.Workbook()
    sheet = wb.active
    sheet.append(header)
    for r in rows:
        sheet.append(r)
    wb.save(path)
    return path


def test_a_blank_id_cell_is_reported_by_row_and_field(ws, tmp_path):
    csv_file = tmp_path / "cams.csv"
    csv_file.write_text("设备编码,名称,经度,纬度,类型\nCAM1,东门,120.5,36.87,枪机\n,西门,120.51,36.87,枪机\n",
                        encoding="utf-8")
    xlsx_file = _xlsx(tmp_path / "cams.xlsx", [["CAM1", "东门", 120.5, 36.87, "枪机"],
                                              [None, "西门", 120.51, 36.87, "枪机"]])
    for file in (csv_file, xlsx_file):
        problems = _refused(ws, file)
        assert [(p.row, p.field) for p in problems] == [(3, "设备编码")] and "empty" in problems[0].message


def test_a_two_row_merged_header_and_merged_data_cells_are_read(ws, tmp_path):
    wb = openpyxl.Workbook()
    sheet = wb.active
    sheet.append(["设备", None, "位置", None, "类型"])
    sheet.append(["设备编码", "名称", "经度", "纬度", None])
    sheet.merge_cells("A1:B1")
    sheet.merge_cells("C1:D1")
    sheet.merge_cells("E1:E2")  # a field name merged down over both header rows
    sheet.append(["CAM1", "东门", 120.5, 36.87, "枪机"])
    sheet.append(["CAM2", "西门", 120.51, 36.87, None])
    sheet.merge_cells("E3:E4")  # one type for both rows
    path = tmp_path / "two-row.xlsx"
    wb.save(path)
    raw = exchange.read_file(path, "cameras")
    assert "two-row header" in raw.note and raw.rows == [3, 4]
    frame = exchange.check(None, raw, "cameras")
    assert list(frame["id"]) == ["CAM1", "CAM2"] and list(frame["kind"]) == ["bullet", "bullet"]


def test_a_code_excel_turned_into_a_number_is_refused_with_the_fix(ws, tmp_path):
    path = _xlsx(tmp_path / "numbers.xlsx", [[37028500001320000001, "东门", 120.5, 36.87, "枪机"]])
    (problem,) = _refused(ws, path)
    assert problem.row == 2 and problem.field == "设备编码"
    assert "digits are already lost" in problem.message and "format it as text" in problem.fix
    # a short code as a number keeps its digits: accepted
    grid = _xlsx(tmp_path / "grid.xlsx", [[370285001001, "月湖社区"]], header=["社区编码", "名称"])
    assert exchange.read_file(grid, "communities").frame.iloc[0, 0] == 370285001001


def test_a_hidden_first_sheet_is_skipped_and_the_sheet_read_is_named(ws, tmp_path):
    wb = openpyxl.Workbook()
    hidden = wb.active
    hidden.title = "旧数据"
    hidden.sheet_state = "hidden"
    hidden.append(HEADER)
    hidden.append(["OLD1", "旧", 120.5, 36.87, "枪机"])
    shown = wb.create_sheet("摄像机")
    shown.append(HEADER)
    shown.append(["CAM1", "东门", 120.5, 36.87, "枪机"])
    path = tmp_path / "hidden.xlsx"
    wb.save(path)
    report: dict = {}
    exchange.import_layer(store.open_workspace(ws), path, "cameras", report=report)
    assert list(store.open_workspace(ws).read("cameras")["id"]) == ["CAM1"]
    assert report["source"] == "hidden.xlsx [摄像机]" and "旧数据" in report["note"]
    asked = exchange.read_file(path, "cameras", sheet="旧数据")
    assert list(asked.frame["设备编码"]) == ["OLD1"]
    with pytest.raises(ImportFormatError, match="no sheet 'x'"):
        exchange.read_file(path, "cameras", sheet="x")


@pytest.mark.parametrize("name", ["东门\x00卡口", "\t=1+1", "名称\u202e", "a\x1bb"])
def test_control_characters_are_refused(ws, tmp_path, name):
    path = tmp_path / "ctl.csv"
    path.write_text(f"设备编码,名称,经度,纬度,类型\nCAM1,\"{name}\",120.5,36.87,枪机\n", encoding="utf-8")
    (problem,) = _refused(ws, path)
    assert (problem.row, problem.field) == (2, "名称") and "control character" in problem.message


def _shapefile(tmp_path, encoding, *, cpg: bool, field="名称"):
    frame = gpd.GeoDataFrame({"id": ["T1"], field: ["月湖社区服务中心"], "category": ["school"], "class": ["1"]},
                             geometry=[Point(120.5, 36.87)], crs=4326)
    path = tmp_path / "targets.shp"
    pyogrio.write_dataframe(frame, path, encoding=encoding)
    if not cpg:
        path.with_suffix(".cpg").unlink(missing_ok=True)
    return path


@pytest.mark.parametrize("encoding", ["GBK", "UTF-8"])
def test_a_shapefile_without_cpg_is_read_in_its_encoding(ws, tmp_path, encoding):
    path = _shapefile(tmp_path, encoding, cpg=False)
    raw = exchange.read_file(path, "targets")
    assert raw.frame["名称"].iat[0] == "月湖社区服务中心"
    assert ("GB18030" if encoding == "GBK" else "UTF-8") in raw.note
    forced = exchange.read_file(path, "targets", encoding="GB18030" if encoding == "GBK" else "UTF-8")
    assert forced.frame["名称"].iat[0] == "月湖社区服务中心"


def test_gdal_truncated_field_names_map_back_to_the_schema(tmp_path):
    frame = gpd.GeoDataFrame({"code": ["370285001001001"], "name": ["一网格"], "community_": ["370285001001"]},
                             geometry=[Point(120.5, 36.87).buffer(0.001)], crs=4326)
    raw = exchange.RawTable(frame, "grids.shp", [1])
    checked = exchange.check(None, raw, "grids")
    assert checked["community_code"].iat[0] == "370285001001"


def test_validation_reports_what_the_cli_says(tmp_path):
    """The CSV and XLSX readers agree on rows (header = row 1) and keep blank cells blank."""
    path = _xlsx(tmp_path / "a.xlsx", [["CAM1", None, 120.5, 36.87, "枪机"]])
    raw = exchange.read_file(path, "cameras")
    assert raw.rows == [2] and pd.isna(raw.frame["名称"].iat[0])


def test_gcj02_points_declared_as_wgs84_get_a_hint(ws, tmp_path):
    from gis.coords import wgs84_to_gcj02

    cams = store.open_workspace(ws).read("cameras")
    gx, gy = wgs84_to_gcj02(cams.geometry.x.to_numpy(), cams.geometry.y.to_numpy())  # as Gaode shows them
    rows = "\n".join(f"G{i},点{i},{x:.7f},{y:.7f},枪机" for i, (x, y) in enumerate(zip(gx, gy, strict=True)))
    path = tmp_path / "gaode.csv"
    path.write_text("设备编码,名称,经度,纬度,类型\n" + rows + "\n", encoding="utf-8")
    report: dict = {}
    exchange.import_layer(store.open_workspace(ws), path, "cameras", report=report)
    assert "--coords gcj02" in report["note"]
    report = {}
    exchange.import_layer(store.open_workspace(ws), path, "cameras", coords="gcj02", report=report)
    assert "gcj02" not in report["note"]
