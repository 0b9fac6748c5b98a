import math

import numpy as np
import pytest

from gis import camera


def test_vendor_calculator_case_arc_form():
    # 1920 px across 90°: identify (250 px/m) at ≈ 4.9 m, detect (25 px/m) at ≈ 48.9 m
    assert camera.dori_distance(1920, 90, 250) == pytest.approx(4.889, abs=1e-3)
    assert camera.dori_distance(1920, 90, 25) == pytest.approx(48.892, abs=1e-3)


def test_flat_form_is_the_centre_density_and_agrees_for_narrow_lenses():
    assert camera.dori_distance(1920, 90, 250, form="flat") == pytest.approx(3.84)
    narrow = [camera.dori_distance(1920, 5, 250, form=f) for f in ("arc", "flat")]
    assert narrow[0] == pytest.approx(narrow[1], rel=1e-3)
    with pytest.raises(ValueError, match="form"):
        camera.dori_distance(1920, 90, 250, form="round")


def test_profiles_are_switchable_data():
    default = camera.profile("iec62676-4:2014")
    assert default == {"detect": 25.0, "observe": 62.5, "recognise": 125.0, "identify": 250.0}
    assert camera.profile("iec62676-4:2014-rounded")["observe"] == 63.0
    custom = camera.profile("local", {"local": {"detect": 20, "observe": 50, "recognise": 100, "identify": 200}})
    assert custom["identify"] == 200.0
    with pytest.raises(ValueError, match="unknown DORI profile"):
        camera.profile("nope")
    with pytest.raises(ValueError, match="must increase"):
        camera.profile("bad", {"bad": {"detect": 30, "observe": 20, "recognise": 100, "identify": 200}})


def test_lens_and_sensor():
    assert camera.sensor_width_mm('1/3"', aspect=4 / 3) == pytest.approx(4.8)  # 6.0 mm diagonal
    assert camera.sensor_width_mm("2/3 inch", aspect=4 / 3) == pytest.approx(8.8)
    assert camera.sensor_width_mm("5.6") == 5.6
    w = camera.sensor_width_mm('1/2.8"')
    assert camera.hfov_from_lens(4.0, w) == pytest.approx(math.degrees(2 * math.atan(w / 8)))
    assert camera.vfov(90, 1920, 1080) == pytest.approx(math.degrees(2 * math.atan(9 / 16)))
    with pytest.raises(ValueError, match="sensor"):
        camera.sensor_width_mm("big")


def test_mounting_geometry_closed_forms():
    drop, tilt, v = 4.4, 30.0, 20.0
    assert camera.blind_zone(drop, tilt, v) == pytest.approx(drop / math.tan(math.radians(40)))
    assert camera.far_edge(drop, tilt, v) == pytest.approx(drop / math.tan(math.radians(20)))
    assert math.isinf(camera.far_edge(drop, 10, 30))  # the top of the image is above the horizon
    assert camera.blind_zone(drop, 80, 30) == 0.0  # looking straight down past the vertical
    assert camera.ground_range(10.0, 6.0) == pytest.approx(8.0)
    assert camera.ground_range(5.0, 6.0) == 0.0  # the level cannot reach the target plane
    assert camera.pixel_density(1920, 90, camera.dori_distance(1920, 90, 125)) == pytest.approx(125)
    np.testing.assert_allclose(camera.ground_range([10, 13], [6, 5]), [8, 12])
