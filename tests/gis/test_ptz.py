"""PTZ tours (gis.ptz): presets read from one field, a camera per preset, and what is seen for how
much of the time, against hand-worked areas and shares."""

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from gis import coverage, ptz
from gis.camera import DORI_LEVELS

A, B = box(0, 0, 40, 20), box(0, 10, 40, 40)  # two presets' views, overlapping in 0–40 × 10–20 (400 m²)


def test_presets_are_read_from_one_field_and_share_the_tour_by_dwell():
    tour = ptz.parse("0/15/58/30; 120/10/20/60")
    assert tour == [ptz.Preset(0.0, 15.0, 58.0, 30.0), ptz.Preset(120.0, 10.0, 20.0, 60.0)]
    assert ptz.shares(tour) == pytest.approx([1 / 3, 2 / 3])
    assert ptz.parse("370/0/30/5；-10/0/30/5") == [ptz.Preset(10.0, 0, 30, 5), ptz.Preset(350.0, 0, 30, 5)]
    assert ptz.parse(None) == ptz.parse("") == ptz.parse(float("nan")) == []
    with pytest.raises(ValueError, match=r"preset 2 '90/10/30' is not pan/tilt/hfov/dwell.*e\.g\. 0/15/58/30"):
        ptz.parse("0/15/58/30; 90/10/30")
    with pytest.raises(ValueError, match=r"preset 1 .*dwell be more than 0 s"):
        ptz.parse("0/15/58/0")


def test_a_tour_becomes_one_camera_per_preset():
    cams = pd.DataFrame({"id": ["F", "P"], "kind": ["bullet", "ptz"], "heading_deg": [30.0, None],
                         "focal_mm": [4.0, 4.7], "presets": [None, "0/15/58/30; 180/10/20/90"]})
    out = ptz.expand(cams)
    assert out["id"].tolist() == ["F", "P#1", "P#2"] and out["camera"].tolist() == ["F", "P", "P"]
    assert out["share"].tolist() == pytest.approx([1.0, 0.25, 0.75]) and out["preset"].tolist() == [0, 1, 2]
    p2 = out.iloc[2]
    assert (p2["heading_deg"], p2["tilt_deg"], p2["hfov_deg"], p2["kind"]) == (180.0, 10.0, 20.0, "bullet")
    assert pd.isna(p2["focal_mm"]) and out.iloc[0]["focal_mm"] == 4.0  # the zoom's field of view decides
    with pytest.raises(ValueError, match="camera P: preset 1"):
        ptz.expand(cams.assign(presets=[None, "zoom"]))


def _presets(rows):
    """A preset_views layer: (camera, preset, share, view) at every level."""
    return gpd.GeoDataFrame([{"camera": c, "preset": k, "share": s, "level": level, "geometry": g}
                             for c, k, s, g in rows for level in DORI_LEVELS], geometry="geometry")


def _model(views: dict, presets, targets=None):
    grids = gpd.GeoDataFrame({"code": ["g"], "community_code": ["c"]}, geometry=[box(-50, -50, 50, 50)])
    cams = pd.DataFrame({"id": list(views), "status": "active", "point_class": "1"})
    table = pd.DataFrame({level: list(views.values()) for level in DORI_LEVELS}, index=list(views))
    empty = gpd.GeoDataFrame({"id": [], "name": [], "category": [], "class": [], "required_level": []}, geometry=[])
    return coverage.CoverageModel(grids=grids, buildings=gpd.GeoSeries([]),
                                  roads=gpd.GeoDataFrame({"class": []}, geometry=[]),
                                  targets=empty if targets is None else targets, cameras=cams, views=table,
                                  presets=presets)


def _targets(*geoms):
    n = len(geoms)
    return gpd.GeoDataFrame({"id": [f"T{i + 1}" for i in range(n)], "name": ["t"] * n, "category": ["school"] * n,
                             "class": ["1"] * n, "required_level": ["detect"] * n}, geometry=list(geoms))


def test_two_presets_half_the_time_each_cover_the_union_and_the_time_weighted_area():
    targets = _targets(Point(20, 5), Point(20, 15), Point(20, 30), box(5, 2, 35, 8), Point(-20, -20))
    m = _model({"P": A.union(B)}, _presets([("P", 1, 0.5, A), ("P", 2, 0.5, B)]), targets)
    g = m.grid_figures().iloc[0]
    assert g["seen_detect_m2"] == pytest.approx(1600.0)  # the union of the presets
    # the overlap is seen all the time, each preset's own part half of it: 400 + 0.5·400 + 0.5·800
    assert g["seen_time_m2"] == pytest.approx(1000.0) and g["share_time"] == pytest.approx(1000.0 / 10_000)
    t = m.target_coverage()
    assert t["covered"].tolist() == [True, True, True, True, False]  # seen at some time
    assert t["time_share"].tolist() == pytest.approx([0.5, 1.0, 0.5, 0.5, 0.0])


def test_a_fixed_camera_is_always_on_and_independent_tours_combine():
    targets = _targets(Point(20, 5), Point(20, 30))
    fixed = box(0, 25, 40, 40)  # sees the second target all the time
    q1, q2 = box(0, 0, 40, 10), box(-40, -40, -10, -10)
    m = _model({"P": A.union(B), "F": fixed, "Q": q1.union(q2)},
               _presets([("P", 1, 0.5, A), ("P", 2, 0.5, B), ("Q", 1, 0.25, q1), ("Q", 2, 0.75, q2)]), targets)
    t = m.target_coverage()
    # the first target: P on A half the time, Q on q1 a quarter, unsynchronised: 1 − 0.5·0.75
    assert t["time_share"].tolist() == pytest.approx([1 - 0.5 * 0.75, 1.0])
    g = m.grid_figures().iloc[0]
    # by pieces: the fixed view's 600 m² always; 0–10 (A and q1): 1 − 0.5·0.75; 10–20 (A∩B: P looks there
    # whichever preset it is on): 1; 20–25 (B only): 0.5; q2 (900 m²): 0.75
    expected = 600 + 400 * 0.625 + 400 * 1.0 + 200 * 0.5 + 900 * 0.75
    assert g["seen_time_m2"] == pytest.approx(expected)


def test_moving_a_ptz_replaces_its_tour():
    targets = _targets(Point(20, 5))
    m = _model({"P": A.union(B)}, _presets([("P", 1, 0.5, A), ("P", 2, 0.5, B)]), targets)
    grids, hit = m.set_camera("P", dict.fromkeys(DORI_LEVELS, A), tour=None)  # now a fixed camera on A
    assert hit["time_share"].tolist() == [1.0] and grids["seen_time_m2"].iat[0] == pytest.approx(800.0)
    tour = {level: [(0.25, A), (0.75, B)] for level in DORI_LEVELS}
    _, hit = m.set_camera("P", dict.fromkeys(DORI_LEVELS, A.union(B)), tour=tour)
    assert hit["time_share"].tolist() == pytest.approx([0.25])
