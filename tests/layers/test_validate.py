import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon, box

from layers import validate
from layers.errors import LayerValidationError
from tests.conftest import tiny_layers


def problems(frame, layer, **kw):
    with pytest.raises(LayerValidationError) as info:
        validate.validate(frame, layer, **kw)
    return info.value


def cams(**cols):
    n = len(next(iter(cols.values())))
    geoms = cols.pop("geometry", [Point(120.5 + i * 1e-3, 36.88) for i in range(n)])
    return gpd.GeoDataFrame(cols, geometry=geoms, crs=4326)


@pytest.mark.parametrize("layer", list(tiny_layers()))
def test_every_tiny_layer_is_valid(layer):
    out = validate.validate(tiny_layers()[layer], layer)
    assert len(out) == len(tiny_layers()[layer])


def test_chinese_headers_and_values_are_normalised():
    raw = cams(设备编码=["37028500001320000001"], 设备名称=["北门"], 朝向=["90度"], **{"安装高度(米)": ["6m"]},
               分辨率=["2560×1440"], 摄像机类型=["球机"], 状态=["在线"], 点位类别=["一类"],
               网格编码=["370285001001001"], 社区名称=["月湖社区"])
    out = validate.validate(raw, "cameras")
    row = out.iloc[0]
    assert (row["id"], row["kind"], row["status"], row["point_class"]) == ("37028500001320000001", "ptz", "active", "1")
    assert (row["heading_deg"], row["height_m"], row["resolution_px"], row["resolution_v_px"]) == (90, 6, 2560, 1440)


def test_all_problems_are_reported_at_once_with_rows_and_fixes():
    raw = cams(设备编码=["37028500001320000001", "37028500001320000001", "123", "37028500001180000009"],
               朝向=["400", "90", "abc", "10"], 安装高度=["6", "650", "5", "5"],
               摄像机类型=["枪机", "x光机", "枪机", "枪机"])
    err = problems(raw, "cameras")
    text = str(err)
    assert len(err.problems) == 7
    assert "row 2, 设备编码: 37028500001320000001 is used again (first at row 1)" in text
    assert "row 3, 设备编码: GB/T 28181 codes have 20 digits, this has 3" in text
    assert "row 4, 设备编码: device type 118 (NVR) is not a camera (131 or 132)" in text
    assert "row 1: 朝向 400 is out of range — allowed range is 0–360" in text
    assert "row 3, 朝向: 'abc' is not a number" in text
    assert "is this in centimetres?" in text
    assert "'x光机' is not a known 摄像机类型" in text
    assert "nothing was stored" in text


def test_swapped_lon_lat_is_named():
    raw = cams(id=["CAM-1"], geometry=[Point(36.88, 120.51)])
    err = problems(raw, "cameras", shown={"lon": "经度", "lat": "纬度"})
    assert "纬度 120.51 is out of range — are 经度 and 纬度 swapped?" in str(err)


def test_outside_china_and_far_outside_the_workspace():
    raw = cams(id=["A", "B"], geometry=[Point(2.35, 48.85), Point(116.4, 39.9)])
    err = problems(raw, "cameras", extent=(120.50, 36.87, 120.53, 36.90))
    msgs = [p.message for p in err.problems]
    assert msgs[0] == "coordinates are outside China"
    assert msgs[1] == "feature is 482 km outside the workspace"  # Beijing seen from Laixi
    assert len(validate.validate(raw.iloc[:1], "cameras", expect_china=False)) == 1


def test_admin_and_grid_codes():
    comm = gpd.GeoDataFrame({"code": ["37028500100", "990285001001"], "name": ["甲", "乙"],
                             "admin_code": ["3702850", "370285"]}, geometry=[box(120.5, 36.8, 120.6, 36.9)] * 2,
                            crs=4326)
    err = problems(comm, "communities")
    fields = sorted((p.row, p.field) for p in err.problems)
    assert fields == [(1, "admin_code"), (1, "code"), (2, "code")]
    grid = gpd.GeoDataFrame({"code": ["370285001002001"], "community_code": ["370285001001"]},
                            geometry=[box(120.5, 36.8, 120.6, 36.9)], crs=4326)
    assert "does not start with its community code" in str(problems(grid, "grids"))


def test_self_intersecting_grid_is_reported_and_can_be_repaired():
    bowtie = Polygon([(120.50, 36.88), (120.51, 36.89), (120.51, 36.88), (120.50, 36.89)])
    grid = gpd.GeoDataFrame({"网格编码": ["370285001001001"], "社区编码": ["370285001001"]},
                            geometry=[bowtie], crs=4326)
    err = problems(grid, "grids")
    assert "Self-intersection" in str(err) and "repair" in err.problems[0].fix
    fixed = validate.validate(grid, "grids", repair=True)
    assert fixed.geometry.iloc[0].is_valid
    assert fixed.geometry.iloc[0].area == pytest.approx(bowtie.buffer(0).area + Polygon(
        [(120.50, 36.88), (120.505, 36.885), (120.50, 36.89)]).area, rel=0.6)


def test_unknown_and_missing_columns():
    raw = cams(设备名称=["北门"], 安装高读=["5"])
    err = problems(raw, "cameras")
    text = str(err)
    assert "unknown column '安装高读'" in text and "did you mean" in text
    assert "required column 设备编码 is missing" in text
    kept = validate.validate(cams(id=["A"], 备注=["x"]), "cameras", extra="keep")
    assert kept["备注"].tolist() == ["x"]
    dropped = validate.validate(cams(id=["A"], 备注=["x"]), "cameras", extra="drop")
    assert "备注" not in dropped


def test_empty_and_wrong_geometry():
    assert "there are no rows" in str(problems(cams(id=[]), "cameras"))
    raw = cams(id=["A", "B"], geometry=[None, box(120.5, 36.8, 120.6, 36.9)])
    msgs = [p.message for p in problems(raw, "cameras").problems]
    assert msgs == ["geometry is empty", "geometry is Polygon, cameras need Point"]


def test_households_tags_and_members():
    hh = pd.DataFrame({"户编号": ["1", "2"], "楼栋编号": ["B1", "B1"], "户况": ["出租、流动人口", "独居老人;宠物"],
                       "人数": ["3", "2.5"]})
    err = problems(hh, "households")
    assert [p.row for p in err.problems] == [2, 2]
    ok = validate.validate(hh.iloc[:1], "households")
    assert ok["tags"].tolist() == ["出租;流动"]


def test_a_capture_needs_the_direction_people_move_in():
    raw = cams(目标编号=["T1", "T2", "T3"], 目标名称=["南门", "北门", "东门"], 类别=["出入口"] * 3,
               点位类别=["一类"] * 3, 抓拍要求=["人脸抓拍", "车牌", None], 通行方向=[180, None, None])
    err = problems(raw, "targets")
    assert len(err.problems) == 1
    assert "row 2, 通行方向: 抓拍要求 is given but 通行方向 is empty" in str(err)
    assert "captured from ahead" in str(err)
    raw = cams(目标编号=["T1"], 目标名称=["南门"], 类别=["出入口"], 点位类别=["一类"], 抓拍要求=["车牌识别"])
    assert "row 1, 通行方向: 抓拍要求 is given but 通行方向 is empty" in str(problems(raw, "targets"))
    ok = validate.validate(cams(目标编号=["T1"], 目标名称=["南门"], 类别=["出入口"], 点位类别=["一类"],
                                抓拍要求=["人脸"], 通行方向=["180"]), "targets")
    assert (ok["capture"].iat[0], ok["approach_deg"].iat[0]) == ("face", 180.0)
