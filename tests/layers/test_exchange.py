import zipfile

import geopandas as gpd
import numpy as np
import openpyxl
import pyogrio
import pytest

from gis import coords
from layers import exchange, exporting, store
from layers.errors import ImportFormatError, LayerValidationError
from tests.conftest import file_digest, tiny_layers
from tests.gis.test_coords import GCJ_VECTORS, metres

CAMERA_CSV = "设备编码,设备名称,经度,纬度,朝向,安装高度,摄像机类型,网格编码,社区名称\n"


def write_csv(path, body, header=CAMERA_CSV, encoding="utf-8-sig"):
    path.write_text(header + body, encoding=encoding)
    return path


def test_csv_with_swapped_coordinates_fails_and_changes_nothing(tiny_path, tmp_path):
    csv = write_csv(tmp_path / "cams.csv",
                    "37028500001320000011,北门,120.5111,36.8811,90,6,枪机,370285001001001,月湖社区\n"
                    "37028500001320000012,南门,36.8812,120.5112,180,6,枪机,370285001001001,月湖社区\n")
    before = file_digest(tiny_path)
    with pytest.raises(LayerValidationError) as info:
        exchange.import_layer(store.open_workspace(tiny_path), csv, "cameras")
    assert str(info.value).splitlines()[1] == (
        "  - row 3: 纬度 120.5112 is out of range — are 经度 and 纬度 swapped?")
    assert file_digest(tiny_path) == before


def test_gcj02_inventory_lands_within_a_centimetre_of_wgs84(tiny_path, tmp_path):
    # the published vectors are in Shanghai, Shenzhen and Beijing: a workspace made for all of China
    ws = store.open_workspace(tmp_path / "china.gpkg", create=True)
    body = "".join(f"3702850000132000{k:04d},点{k},{glon},{glat},0,5,枪机,,\n"
                   for k, (_, _, glat, glon) in enumerate(GCJ_VECTORS))
    exchange.import_layer(ws, write_csv(tmp_path / "gcj.csv", body), "cameras", coords="GCJ-02")
    got = ws.read("cameras")
    for k, (lat, lon, _, _) in enumerate(GCJ_VECTORS):
        p = got.geometry.iloc[k]
        assert metres(p.x, p.y, lon, lat) < 0.01


def test_bd09_and_gauss_kruger_inputs(tiny_path, tmp_path):
    ws = store.open_workspace(tiny_path)
    lon, lat = 120.5112, 36.8812
    bx, by = coords.wgs84_to_bd09(lon, lat)
    exchange.import_layer(ws, write_csv(tmp_path / "bd.csv", f"CAM-1,北门,{bx:.10f},{by:.10f},0,5,枪机,,\n"),
                          "cameras", coords="baidu")
    p = ws.read("cameras").geometry.iloc[0]
    assert metres(p.x, p.y, lon, lat) < 0.01
    gk = gpd.GeoSeries.from_xy([lon], [lat], crs=4326).to_crs(4549).iloc[0]
    header = CAMERA_CSV.replace("经度", "x").replace("纬度", "y")
    exchange.import_layer(ws, write_csv(tmp_path / "gk.csv", f"CAM-2,北门,{gk.x},{gk.y},0,5,枪机,,\n", header),
                          "cameras", coords="EPSG:4549")
    p = ws.read("cameras").geometry.iloc[0]
    assert metres(p.x, p.y, lon, lat) < 0.01
    zoned = gpd.GeoSeries.from_xy([lon], [lat], crs=4326).to_crs(4528).iloc[0]  # zone 40, easting prefixed
    assert zoned.x > 40e6
    exchange.import_layer(ws, write_csv(tmp_path / "gk40.csv", f"CAM-3,北门,{zoned.x},{zoned.y},0,5,枪机,,\n",
                                        header), "cameras")
    p = ws.read("cameras").geometry.iloc[0]
    assert metres(p.x, p.y, lon, lat) < 0.01


def test_xlsx_inventory_with_chinese_headers(tiny_path, tmp_path):
    wb = openpyxl.Workbook()
    sheet = wb.active
    sheet.title = "摄像机台账"
    sheet.append(["设备编码", "设备名称", "经度", "纬度", "朝向", "安装高度(米)", "摄像机类型", "状态", "点位类别"])
    sheet.append(["37028500001320000021", "文化路口", 120.5121, 36.8821, 45, 7, "球机", "在线", "一类"])
    sheet.append(["37028500001320000022", "小学南门", 120.5122, 36.8822, 180, 4.5, "枪机", "故障", "二类"])
    wb.save(tmp_path / "台账.xlsx")
    ws = store.open_workspace(tiny_path)
    exchange.import_layer(ws, tmp_path / "台账.xlsx", "cameras", mode="append", sheet="摄像机台账")
    got = ws.read("cameras").set_index("id")
    assert got.loc["37028500001320000022", ["name", "kind", "status", "point_class"]].tolist() == [
        "小学南门", "bullet", "faulty", "2"]
    assert len(got) == 3
    with pytest.raises(LayerValidationError, match="already in the workspace"):
        exchange.import_layer(ws, tmp_path / "台账.xlsx", "cameras", mode="append")


def test_duplicate_codes_unknown_columns_and_empty_files(tiny_path, tmp_path):
    ws = store.open_workspace(tiny_path)
    before = file_digest(tiny_path)
    dup = write_csv(tmp_path / "dup.csv", "37028500001320000031,甲,120.51,36.88,0,5,枪机,,\n"
                                          "37028500001320000031,乙,120.51,36.88,0,5,枪机,,\n")
    with pytest.raises(LayerValidationError, match="row 3, 设备编码: 37028500001320000031 is used again"):
        exchange.import_layer(ws, dup, "cameras")
    unknown = write_csv(tmp_path / "unknown.csv", "CAM-9,甲,120.51,36.88,0,5,枪机,,,x\n",
                        header=CAMERA_CSV.strip() + ",维修记录\n")
    with pytest.raises(LayerValidationError, match="unknown column '维修记录'"):
        exchange.import_layer(ws, unknown, "cameras")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(ImportFormatError, match="empty"):
        exchange.import_layer(ws, tmp_path / "empty.csv", "cameras")
    with pytest.raises(LayerValidationError, match="there are no rows"):
        exchange.import_layer(ws, write_csv(tmp_path / "header-only.csv", ""), "cameras")
    assert file_digest(tiny_path) == before


def test_self_intersecting_grid_from_geojson(tiny_path, tmp_path):
    path = tmp_path / "grids.geojson"
    path.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
                    '{"网格编码":"370285001001009","社区编码":"370285001001","网格名称":"蝴蝶网格"},'
                    '"geometry":{"type":"Polygon","coordinates":[[[120.510,36.880],[120.512,36.882],'
                    '[120.512,36.880],[120.510,36.882],[120.510,36.880]]]}}]}', encoding="utf-8")
    ws = store.open_workspace(tiny_path)
    before = file_digest(tiny_path)
    with pytest.raises(LayerValidationError, match=r"row 1, geometry: invalid geometry \(Self-intersection"):
        exchange.import_layer(ws, path, "grids")
    assert file_digest(tiny_path) == before
    exchange.import_layer(ws, path, "grids", mode="append", repair=True)
    assert ws.read("grids", where="code = '370285001001009'").geometry.iloc[0].is_valid


def test_truncated_geopackage_import(tiny_path, tmp_path):
    bad = tmp_path / "cut.gpkg"
    bad.write_bytes(tiny_path.read_bytes()[:20_000])
    ws = store.open_workspace(tiny_path)
    before = file_digest(tiny_path)
    with pytest.raises(ImportFormatError, match="truncated or damaged"):
        exchange.import_layer(ws, bad, "cameras", source_layer="cameras")
    assert file_digest(tiny_path) == before


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "shapefile", "kml"])
@pytest.mark.parametrize("layer", [n for n in tiny_layers() if n != "households"])
def test_round_trip_through_formats_keeps_chinese_text(tiny_path, tmp_path, fmt, layer):
    ws = store.open_workspace(tiny_path)
    original = ws.read(layer)
    path = exporting.export_layer(ws, layer, tmp_path / f"out.{ {'shapefile': 'zip'}.get(fmt, fmt)}")
    if fmt == "shapefile":
        with zipfile.ZipFile(path) as zf:
            cpgs = [n for n in zf.namelist() if n.endswith(".cpg")]
            assert cpgs and all(zf.read(n).decode().strip().upper() in {"UTF-8", "UTF8"} for n in cpgs)
    fresh = store.open_workspace(tmp_path / "fresh.gpkg", create=True)
    exchange.import_layer(fresh, path, layer)
    back = fresh.read(layer)
    if fmt == "shapefile":  # one file per geometry family: restore the original order to compare
        back = back.set_index("id" if "id" in back else "code").loc[
            original["id" if "id" in original else "code"]].reset_index()
    # Shapefile rewrites ring orientation: compare normalised shapes
    assert back.geometry.normalize().geom_equals_exact(original.geometry.normalize(), tolerance=1e-7).all()
    for col in original.columns:
        if col != "geometry" and original[col].dtype == object:
            assert back[col].tolist() == original[col].tolist(), col


def test_export_in_gcj02_and_back(tiny_path, tmp_path):
    ws = store.open_workspace(tiny_path)
    path = exporting.export_layer(ws, "cameras", tmp_path / "gcj.geojson", coords="gcj02")
    shifted = pyogrio.read_dataframe(path).geometry.iloc[0]
    original = ws.read("cameras").geometry.iloc[0]
    assert 300 < metres(shifted.x, shifted.y, original.x, original.y) < 700  # GCJ-02 shifts by hundreds of m
    exchange.import_layer(ws, path, "cameras", coords="gcj02")
    back = ws.read("cameras").geometry.iloc[0]
    assert metres(back.x, back.y, original.x, original.y) < 0.01


def test_households_never_leave_through_the_raw_layer_export(tiny_path, tmp_path):
    ws = store.open_workspace(tiny_path)
    with pytest.raises(PermissionError, match="PIPL"):
        exporting.export_layer(ws, "households", tmp_path / "hh.gpkg")
    assert not (tmp_path / "hh.gpkg").exists()  # the privacy-aware path is api.exports (tests/api/test_exports.py)


def test_unknown_formats_and_coordinate_systems(tmp_path):
    (tmp_path / "x.dwg").write_text("x")
    with pytest.raises(ImportFormatError, match="cannot tell the format"):
        exchange.read_file(tmp_path / "x.dwg", "cameras")
    with pytest.raises(ImportFormatError, match="unknown coordinate system"):
        exchange.parse_coords("EPSG:999999")
    assert np.isclose(exchange.parse_coords("EPSG:4549")[1].to_epsg(), 4549)
