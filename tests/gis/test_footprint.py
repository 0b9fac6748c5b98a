import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point

from gis import camera
from gis import footprint as fp

FLAT = {"vfov_deg": 50.0, "tilt_deg": 0.0, "drop_m": 0.0}


@pytest.mark.parametrize("heading", [0.0, 37.0, 180.0, 301.5])
def test_unobstructed_90_degree_sector(heading):
    v = fp.view(100.0, 200.0, 50.0, mode="frustum", heading_deg=heading, hfov_deg=90.0, **FLAT)
    assert v.area == pytest.approx(math.pi * 50**2 / 4, rel=1e-4)
    axis = (100 + 10 * math.sin(math.radians(heading)), 200 + 10 * math.cos(math.radians(heading)))
    assert v.contains(Point(axis))
    assert not v.contains(Point(200 - axis[0], 400 - axis[1]))


def test_circle_and_presets():
    assert fp.view(0, 0, 30, mode="circle", heading_deg=0, hfov_deg=360, **FLAT).area == pytest.approx(
        math.pi * 900, rel=1e-9)
    four = fp.view(0, 0, 30, mode="presets", heading_deg=45, hfov_deg=90, presets=(0, 90, 180, 270), **FLAT)
    assert four.area == pytest.approx(math.pi * 900, rel=1e-4)
    assert fp.view(0, 0, 0, mode="circle", heading_deg=0, hfov_deg=360, **FLAT).is_empty


def test_blind_zone_and_far_edge_along_the_axis():
    height, target, tilt, vfov = 6.0, 1.6, 30.0, 20.0
    v = fp.view(0, 0, 500, mode="frustum", heading_deg=0, hfov_deg=60, vfov_deg=vfov, tilt_deg=tilt,
                drop_m=height - target)
    near, far = LineString([(0, 0), (0, 500)]).intersection(v).bounds[1::2]
    assert near == pytest.approx(camera.blind_zone(height - target, tilt, vfov), abs=1e-9)
    assert far == pytest.approx(camera.far_edge(height - target, tilt, vfov), abs=1e-9)


def test_resolve_fills_and_records_assumptions():
    cams = gpd.GeoDataFrame({
        "kind": ["bullet", "ptz", "fisheye", None],
        "heading_deg": [90.0, 0.0, None, None],
        "focal_mm": [4.0, None, None, None], "sensor": ['1/2.8"', None, None, None],
        "hfov_deg": [None, 58.0, 360.0, None], "resolution_px": [2560, 1920, 3000, None],
        "resolution_v_px": [1440, 1080, 3000, None], "height_m": [6.0, 8.0, 4.0, None],
        "tilt_deg": [20.0, 10.0, None, None]}, geometry=[Point(i, 0) for i in range(4)])
    p = fp.resolve(cams)
    w = camera.sensor_width_mm('1/2.8"', aspect=2560 / 1440)
    assert p.loc[0, "hfov_deg"] == pytest.approx(float(camera.hfov_from_lens(4.0, w)))
    assert list(p["mode"]) == ["frustum", "circle", "circle", "circle"]
    assert list(p["range_factor"]) == [1.0, 0.5, 1.0, 0.5]
    assert p.loc[2, "res_h"] == pytest.approx(math.pi * 3000)  # pixels around the fisheye's horizon
    assert p.loc[0, "assumed"] == ""
    assert p.loc[3, "assumed"] == "resolution; field of view; height; tilt; heading (full circle at reduced range)"


def test_level_ranges_are_nested_and_cut_by_height():
    cams = gpd.GeoDataFrame({"kind": ["bullet"], "heading_deg": [0.0], "hfov_deg": [90.0], "resolution_px": [1920],
                             "height_m": [8.0], "tilt_deg": [10.0]}, geometry=[Point(0, 0)])
    p = fp.resolve(cams)
    r = fp.level_ranges(p, camera.profile("iec62676-4:2014"), target_height=1.6).iloc[0]
    # identify is reached 4.89 m from the lens, less than the 6.4 m drop to a face: never on the target plane
    assert r["detect"] > r["observe"] > r["recognise"] > r["identify"] == 0.0
    assert r["recognise"] == pytest.approx(math.sqrt(camera.dori_distance(1920, 90, 125) ** 2 - 6.4**2))


def test_views_frame():
    cams = gpd.GeoDataFrame({"kind": ["dome"], "heading_deg": [0.0], "height_m": [1.6], "tilt_deg": [0.0]},
                            geometry=[Point(0, 0)], index=["cam-a"])
    p = fp.resolve(cams)
    r = fp.level_ranges(p, camera.profile("iec62676-4:2014"), target_height=1.6)
    v = fp.views(p, r, target_height=1.6)
    assert list(v.index) == ["cam-a"] and list(v.columns) == list(camera.DORI_LEVELS)
    areas = shapely.area(v.iloc[0].to_numpy())
    assert np.all(np.diff(areas) < 0)
    assert isinstance(v, pd.DataFrame)
