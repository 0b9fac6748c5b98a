"""Face and plate capture against hand-worked geometry (gis.capture)."""

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, box

from gis import camera, capture, coverage, visibility
from gis import footprint as fp

PPM = camera.profile("iec62676-4:2014")


def cams(rows: list[dict]) -> gpd.GeoDataFrame:
    base = {"status": "active", "point_class": "1", "kind": "bullet"}
    return gpd.GeoDataFrame([{**base, **r} for r in rows], geometry=[Point(r.pop("x", 0.0), r.pop("y", 0.0))
                                                                      for r in rows])


def model(cameras: gpd.GeoDataFrame, targets: gpd.GeoDataFrame, *, outer_m: float | None = None,
          **options) -> coverage.CoverageModel:
    params = fp.resolve(cameras)
    ranges = fp.level_ranges(params, PPM, target_height=1.6)
    if outer_m is not None:  # a lamp's reach at night, say: every level's view stops there
        ranges = ranges.clip(upper=outer_m)
    views = visibility.visible(params, ranges, visibility.Obstacles.build(np.array([], dtype=object)),
                               target_height=1.6, mode="2d")
    views.index = cameras["id"].to_numpy()
    grids = gpd.GeoDataFrame({"code": ["370285001001001"], "community_code": ["370285001001"]},
                             geometry=[box(-60, -60, 60, 60)])
    return coverage.CoverageModel(
        grids=grids, buildings=gpd.GeoSeries([]), roads=gpd.GeoDataFrame({"class": []}, geometry=[]),
        targets=targets, cameras=pd.concat([cameras[["id", "status", "point_class", "geometry"]],
                                            capture.optics(params)], axis=1),
        views=views, options=coverage.Options(**options))


def door(approach: float, y: float, kind: str = "face", geom=None) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": ["D"], "name": ["单元门"], "category": ["entrance"], "class": ["1"],
                             "required_level": ["detect"], "capture": [kind], "approach_deg": [approach]},
                            geometry=[geom if geom is not None else Point(0, y)])


def test_the_face_angle_cuts_a_camera_mounted_high_and_close_to_the_door():
    high = cams([{"id": "HIGH", "heading_deg": 0.0, "hfov_deg": 30.0, "resolution_px": 2560, "height_m": 6.0,
                  "tilt_deg": 45.0}])
    t = model(high, door(180.0, 4.0)).target_coverage().iloc[0]
    # it sees the door well enough to identify (4.4 m down, 4 m out: 5.9 m of 19.6 m) …
    assert t["best_level"] == "identify"
    # … but looks down onto the faces at atan(4.4 / 4) = 47.7°, beyond 15°: a face needs r ≥ 4.4 / tan 15°
    r_min, _ = capture.windows(capture.optics(fp.resolve(high)), capture.RULES["face"])
    assert r_min[0] == pytest.approx(4.4 / math.tan(math.radians(15.0)))  # 16.42 m
    assert not t["captured"] and t["capture_share"] == 0.0 and not t["covered"]
    low = cams([{"id": "LOW", "heading_deg": 0.0, "hfov_deg": 30.0, "resolution_px": 2560, "height_m": 3.0,
                 "tilt_deg": 8.0}])
    # 1.4 m above the faces: from 1.4 / tan 15° = 5.22 m to √(9.78² − 1.4²) = 9.68 m (2560 px over 30° at 500 px/m)
    r_min, r_max = capture.windows(capture.optics(fp.resolve(low)), capture.RULES["face"])
    slant = 2560 / (math.radians(30.0) * 500.0)
    assert (r_min[0], r_max[0]) == pytest.approx((1.4 / math.tan(math.radians(15)), math.sqrt(slant**2 - 1.4**2)))
    got = {y: bool(model(low, door(180.0, y)).target_coverage()["captured"].iat[0]) for y in (5.1, 5.4, 9.6, 9.8)}
    assert got == {5.1: False, 5.4: True, 9.6: True, 9.8: False}
    # people walking away from the camera show it the backs of their heads; 25° aside is within 30°, 35° is not
    assert not model(low, door(0.0, 8.0)).target_coverage()["captured"].iat[0]
    assert model(low, door(205.0, 8.0)).target_coverage()["captured"].iat[0]
    assert not model(low, door(215.0, 8.0)).target_coverage()["captured"].iat[0]


def test_the_plate_pixel_rule_on_a_4mm_1080p_camera():
    # 1/2.8" (6.46 mm diagonal) at 16:9: 5.630 mm wide; 4 mm lens: 70.26° across, 43.18° up
    width = 6.46 * 16 / math.hypot(16, 9)
    hfov = 2 * math.degrees(math.atan(width / 8.0))
    vfov = 2 * math.atan(math.tan(math.radians(hfov) / 2) * 1080 / 1920)
    slant = 1080 / (vfov * 16 / 0.090)  # 16 px up a 90 mm character: 8.06 m
    drop = 3.0 - 0.5
    r_min, r_max = drop / math.tan(math.radians(30.0)), math.sqrt(slant**2 - drop**2)  # 4.33 m, 7.66 m
    lpr = cams([{"id": "LPR", "heading_deg": 0.0, "focal_mm": 4.0, "sensor": '1/2.8"', "resolution_px": 1920,
                 "height_m": 3.0, "tilt_deg": 24.0}])
    got_min, got_max = capture.windows(capture.optics(fp.resolve(lpr)), capture.RULES["plate"])
    assert (got_min[0], got_max[0]) == pytest.approx((r_min, r_max), rel=1e-9)
    assert slant == pytest.approx(8.06, abs=0.01)
    for y, ok in ((r_min - 0.05, False), (r_min + 0.05, True), (r_max - 0.05, True), (r_max + 0.05, False)):
        t = model(lpr, door(180.0, y, "plate")).target_coverage().iloc[0]
        assert bool(t["captured"]) is ok, y
    # vehicles approaching 15° off the camera's line are read, 25° off (beyond 20°) are not
    assert model(lpr, door(195.0, 6.0, "plate")).target_coverage()["captured"].iat[0]
    assert not model(lpr, door(205.0, 6.0, "plate")).target_coverage()["captured"].iat[0]


def test_a_capture_polygon_is_the_annular_sector_within_the_view():
    cam = cams([{"id": "C", "heading_deg": 0.0, "hfov_deg": 70.0, "resolution_px": 3840, "height_m": 3.0,
                 "tilt_deg": 5.0}])
    optics = capture.optics(fp.resolve(cam))
    rule = capture.RULES["face"]
    r_min, r_max = (float(v[0]) for v in capture.windows(optics, rule))
    outer = model(cam, door(180.0, 8.0)).view("C", "detect")
    part = capture.view(outer, optics.iloc[0], rule, 180.0)
    # the sector of ±30° within the 70° view (people walking south, the camera south of them): (π/6)(R² − r²)
    assert shapely.area(part) == pytest.approx(math.pi / 6 * (r_max**2 - r_min**2), rel=1e-4)
    assert shapely.is_valid(part)
    # a square door-front held by the sector for its middle: the captured share is its area inside
    square = box(-0.5, r_min + 0.2, 0.5, r_max - 0.2)
    t = model(cam, door(180.0, 0.0, geom=square)).target_coverage().iloc[0]
    assert t["capture_share"] == pytest.approx(1.0) and t["captured"] and t["capture_cameras"] == 1


def test_at_night_a_short_lamp_shortens_the_capture():
    low = cams([{"id": "LOW", "heading_deg": 0.0, "hfov_deg": 30.0, "resolution_px": 2560, "height_m": 3.0,
                 "tilt_deg": 8.0}])
    assert model(low, door(180.0, 8.0)).target_coverage()["captured"].iat[0]
    assert not model(low, door(180.0, 8.0), outer_m=7.0).target_coverage()["captured"].iat[0]
    assert model(low, door(180.0, 6.5), outer_m=7.0).target_coverage()["captured"].iat[0]


def test_capture_rules_from_settings():
    r = capture.rules({"face": {"ppm": 250}, "plate": {"char_px": 20}})
    assert r["face"].ppm == 250 and r["plate"].ppm == pytest.approx(20 / 0.09)
    assert capture.rules({"face": {"face_px": 60, "face_width_m": 0.15}})["face"].ppm == pytest.approx(400)
    with pytest.raises(ValueError, match=r"unknown capture\.face setting"):
        capture.rules({"face": {"pixels": 80}})
    with pytest.raises(ValueError, match="below 90"):
        capture.rules({"plate": {"max_vertical_deg": 95}})
    with pytest.raises(ValueError, match="unknown capture kind"):
        capture.rules({"iris": {}})


def test_placement_counts_a_capture_only_from_ahead():
    from gis import placement

    rows = [{"id": "SOUTH", "y": 0.0, "heading_deg": 0.0}, {"id": "NORTH", "y": 16.0, "heading_deg": 180.0}]
    cands = cams([{**r, "hfov_deg": 30.0, "resolution_px": 2560, "height_m": 3.0, "tilt_deg": 8.0} for r in rows])
    params = fp.resolve(cands)
    views = visibility.visible(params, fp.level_ranges(params, PPM, target_height=1.6),
                               visibility.Obstacles.build(np.array([], dtype=object)), target_height=1.6, mode="2d")
    point = {"kind": "target", "target_id": "D", "level": "detect", "weight": 1.0, "geometry": Point(0, 8)}
    plain = gpd.GeoDataFrame([point])
    assert placement.coverage_matrix(views, plain).toarray().tolist() == [[1, 1]]  # both see the door
    faces = gpd.GeoDataFrame([{**point, "capture": "face", "approach_deg": 180.0}])
    # people leave southwards: only the camera south of the door sees their faces
    assert placement.coverage_matrix(views, faces, capture.optics(params)).toarray().tolist() == [[1, 0]]
    with pytest.raises(ValueError, match="optics"):
        placement.coverage_matrix(views, faces)
