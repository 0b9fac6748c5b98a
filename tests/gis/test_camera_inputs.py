"""Camera inputs the engine cannot compute from are named; cameras inside footprints are mounted or indoors."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Point, Polygon, box

from gis import camera, mounting
from gis import footprint as fp
from gis import visibility as vis

PROFILE = camera.profile("iec62676-4:2014")


def cams(**fields):
    base = {"id": ["C1"], "heading_deg": [180.0], "hfov_deg": [90.0], "height_m": [4.0], "tilt_deg": [0.0]}
    geometry = fields.pop("geometry", [Point(10, -3)])
    return gpd.GeoDataFrame(base | {k: [v] for k, v in fields.items()}, geometry=geometry)


@pytest.mark.parametrize(("fields", "words"), [
    ({"hfov_deg": 0.0}, "hfov_deg 0 is outside (0, 360]"),
    ({"hfov_deg": 400.0}, "hfov_deg 400 is outside (0, 360]"),
    ({"hfov_deg": None, "focal_mm": -4.0, "sensor": '1/2.8"'}, "focal_mm -4 must be positive"),
    ({"height_m": 0.0}, "height_m 0 must be above the ground"),
    ({"resolution_px": -1920}, "resolution_px -1920 must be positive"),
    ({"geometry": [Point(float("nan"), float("nan"))]}, "no position"),
    ({"hfov_deg": None, "focal_mm": 4.0, "sensor": "huge"}, "sensor 'huge'"),
])
def test_impossible_parameters_name_the_camera(fields, words):
    with pytest.raises(fp.CameraParameterError) as info:
        fp.resolve(cams(**fields))
    assert "camera C1" in str(info.value) and words in str(info.value)


def test_a_lens_below_the_target_height_is_refused():
    params = fp.resolve(cams(height_m=1.2))
    with pytest.raises(fp.CameraParameterError, match=r"camera C1: mounted at 1.2 m, below the target height 1.6"):
        fp.level_ranges(params, PROFILE, 1.6)


@pytest.mark.parametrize(("text", "diagonal"), [('1"', 16.0), ('1/2.8"', 6.46), ("1 inch", 16.0), ('2/3"', 11.0)])
def test_sensor_formats(text, diagonal):
    width = camera.sensor_width_mm(text)
    assert width == pytest.approx(diagonal * 16 / 9 / math.hypot(16 / 9, 1))
    assert camera.sensor_width_mm("5.6") == 5.6  # a bare number is a width in mm


def _detect_area(y: float) -> float:
    """A camera at (10, y) looking south, a 20 × 10 m building north of it (y 0…10), a wall 35 m south."""
    frame = cams(geometry=[Point(10, y)])
    params = fp.resolve(frame)
    ranges = fp.level_ranges(params, PROFILE, 1.6)
    obs = vis.Obstacles.build(np.array([box(0, 0, 20, 10), box(0, -40, 20, -38)], dtype=object))
    return float(vis.visible(params, ranges, obs, mode="2d").iloc[0]["detect"].area)


def test_no_jump_at_half_a_metre_from_the_wall():
    # outside the building it always blocks what lies behind it: 0.49 m and 0.51 m see the same
    assert _detect_area(-0.49) == pytest.approx(_detect_area(-0.51), rel=0.002)


def test_a_camera_inside_its_building_by_less_than_the_tolerance_is_mounted_on_the_wall():
    inside = _detect_area(0.3)  # 0.3 m inside the south wall: moved out through it
    assert inside == pytest.approx(_detect_area(-mounting.MOUNT_OFFSET_M), rel=1e-6)
    params = mounting.mount(fp.resolve(cams(geometry=[Point(10, 0.3)])), np.array([box(0, 0, 20, 10)], dtype=object))
    assert params["y"].iat[0] == pytest.approx(-mounting.MOUNT_OFFSET_M) and not params["indoor"].iat[0]
    assert "mounted on the wall" in params["assumed"].iat[0]


def test_a_camera_deep_inside_a_building_is_indoors():
    assert _detect_area(5.0) == 0.0  # never computed through walls
    params = mounting.mount(fp.resolve(cams(geometry=[Point(10, 5.0)])), np.array([box(0, 0, 20, 10)], dtype=object))
    assert params["indoor"].iat[0] and "indoor" in params["assumed"].iat[0]


def test_compute_views_lists_indoor_cameras(demo_path, tmp_path):
    import shutil

    from api.workflows.views import compute_views
    from layers import store

    path = tmp_path / "ws.gpkg"
    shutil.copyfile(demo_path, path)
    ws = store.open_workspace(path)
    blds = ws.read("buildings")
    big = blds.to_crs(ws.metric_crs()).geometry.area.idxmax()
    centre = blds.geometry.iloc[big].representative_point()
    cams_frame = ws.read("cameras")
    cams_frame.loc[0, "geometry"] = centre  # a camera placed in the middle of a building
    ws.write("cameras", cams_frame)
    out = compute_views(ws, write=False)
    assert out.attrs["stamp"]["indoor_cameras"] == [str(cams_frame["id"].iat[0])]
    assert str(cams_frame["id"].iat[0]) not in set(out["camera"])


def test_raw_footprints_block_as_valid_buildings_would():
    bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])  # self-intersecting: two lobes
    flat = Polygon([(0, 20), (10, 20), (5, 20), (0, 20)])  # zero area: no building at all
    obs = vis.Obstacles.build(np.array([bowtie, flat], dtype=object))
    assert all(shapely.is_valid(obs.geoms))
    assert obs.geoms[0].area == pytest.approx(50.0) and obs.geoms[1].is_empty
    # a camera west of the bow-tie looking east: both lobes hide what lies behind them
    frame = cams(geometry=[Point(-5, 5)], heading_deg=90.0, hfov_deg=120.0)
    params = fp.resolve(frame)
    seen = vis.visible(params, fp.level_ranges(params, PROFILE, 1.6), obs, mode="2d").iloc[0]["detect"]
    assert not seen.contains(Point(12, 2)) and not seen.contains(Point(12, 8))
