"""Spatially partitioned visibility (tiles with a halo, run through dask.distributed) gives exactly
the single-process answer: on buildings straddling tile borders, the demo and a 10,000-camera city."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from api.workflows.coverage import CoverageResult
from gis import footprint as fp
from gis import partition, visibility

pytest.importorskip("distributed")


def identical(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    assert list(a.index) == list(b.index) and list(a.columns) == list(b.columns)
    return all(shapely.equals_exact(a[c].to_numpy(), b[c].to_numpy(), tolerance=0).all() for c in a.columns)


def test_a_building_on_a_tile_border_belongs_to_every_tile_whose_halo_it_meets():
    xy = np.array([[90.0, 50.0], [110.0, 50.0], [400.0, 50.0]])  # tiles of 100 m: x 90 | 110 | 400
    reach = np.array([30.0, 30.0, 30.0])
    bounds = np.array([[95.0, 40.0, 105.0, 60.0],    # straddles the 100 m border
                       [200.0, 40.0, 210.0, 60.0],   # beyond every halo
                       [365.0, 40.0, 372.0, 60.0]])  # inside the third camera's halo only
    got = {t.key: (t.cameras.tolist(), t.buildings.tolist()) for t in partition.tiles(xy, reach, bounds, 100.0)}
    assert got == {(0, 0): ([0], [0]), (1, 0): ([1], [0]), (4, 0): ([2], [2])}
    with pytest.raises(ValueError, match="positive"):
        partition.tiles(xy, reach, bounds, 0)


def _city(n_buildings: int, n_cameras: int, size_m: float, seed: int = 3):
    from benchmarks import synthetic

    buildings, heights, cams = synthetic.city(n_buildings, n_cameras, size_m=size_m, seed=seed)
    params = fp.resolve(gpd.GeoDataFrame(cams, geometry=shapely.points(cams["x"], cams["y"])))
    ranges = pd.DataFrame({"detect": np.full(len(params), 80.0), "identify": np.full(len(params), 20.0)},
                          index=params.index)
    return buildings, heights, params, ranges


def test_straddling_buildings_hide_the_same_across_tile_borders():
    """Small tiles (60 m) in a dense city: most views cross a border, many buildings straddle one."""
    from api.workflows.parallel import visible_partitioned

    buildings, heights, params, ranges = _city(2_000, 400, 1_500.0)
    single = visibility.visible(params, ranges, visibility.Obstacles.build(buildings, heights), mode="2.5d")
    tiled = visible_partitioned(params, ranges, buildings, heights, mode="2.5d", tile_m=60.0, workers=2)
    tiles = tiled.attrs["tiles"]
    assert len(tiles) > 50 and sum(t["cameras"] for t in tiles) == len(params)
    assert sum(t["buildings"] for t in tiles) > len(buildings)  # straddlers are in several tiles
    assert identical(single, tiled)


@pytest.mark.slow
def test_a_10000_camera_city_is_the_same_partitioned():
    from api.workflows.parallel import visible_partitioned

    buildings, heights, params, ranges = _city(20_000, 10_000, 6_000.0, seed=11)
    single = visibility.visible(params, ranges, visibility.Obstacles.build(buildings, heights), mode="2.5d")
    tiled = visible_partitioned(params, ranges, buildings, heights, mode="2.5d", tile_m=1_000.0, workers=2)
    assert identical(single, tiled)


@pytest.fixture
def demo_ws(analysed_path, tmp_path):
    """A copy of the analysed demo workspace."""
    import shutil

    from layers import store

    path = tmp_path / "demo.gpkg"
    shutil.copyfile(analysed_path, path)
    return store.open_workspace(path)


def test_the_demo_views_are_the_same_through_dask(demo_ws):
    from api.workflows.views import compute_views

    ws = demo_ws
    single = compute_views(ws, write=False)
    tiled = compute_views(ws, write=False, parallel=True, workers=2, tile_m=300.0)
    assert list(single["camera"]) == list(tiled["camera"]) and list(single["level"]) == list(tiled["level"])
    assert shapely.equals_exact(single.geometry.to_numpy(), tiled.geometry.to_numpy(), tolerance=0).all()


# ---- coverage ----------------------------------------------------------------------------------------
def assert_same_coverage(single: CoverageResult, tiled: CoverageResult) -> None:
    """Every table equal to the last bit, rows in the same order; blind-spot polygons identical."""
    for name in ("grids", "communities", "targets", "blind_spots"):
        a = pd.DataFrame(getattr(single, name)).drop(columns="geometry", errors="ignore").reset_index(drop=True)
        b = pd.DataFrame(getattr(tiled, name)).drop(columns="geometry", errors="ignore").reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=name)
    assert shapely.equals_exact(single.blind_spots.geometry.to_numpy(), tiled.blind_spots.geometry.to_numpy(),
                                tolerance=0).all()
    assert pd.Series(single.indicators).equals(pd.Series(tiled.indicators))  # NaN equals NaN here


def test_the_demo_coverage_is_the_same_through_dask(demo_ws):
    """Tiles of 300 m: views, roads and street stretches cross tile borders everywhere in the demo."""
    from api.workflows.coverage import compute_coverage

    ws = demo_ws
    single = compute_coverage(ws, write=False)
    tiled = compute_coverage(ws, write=False, parallel=True, workers=2, tile_m=300.0)
    assert len(tiled.tiles) > 4 and sum(t["grids"] for t in tiled.tiles) == len(single.grids)
    assert len(single.blind_spots) > 100 and single.targets["covered"].any()
    assert_same_coverage(single, tiled)


@pytest.mark.slow
def test_a_10000_camera_city_has_the_same_coverage_partitioned(tmp_path):
    from api.workflows.coverage import compute_coverage
    from api.workflows.views import compute_views
    from benchmarks import synthetic_city
    from layers import store

    path = tmp_path / "city.gpkg"
    counts = synthetic_city.build(path, scale=0.1, seed=7)
    assert counts["cameras"] >= 10_000
    ws = store.open_workspace(path)
    compute_views(ws)
    single = compute_coverage(ws, write=False)
    tiled = compute_coverage(ws, write=False, parallel=True, workers=2, tile_m=1_000.0)
    assert len(tiled.tiles) > 50
    assert_same_coverage(single, tiled)


def test_the_demo_candidates_are_the_same_through_dask(demo_ws):
    """Placement's candidate views in 300 m tiles: the same views, so the same proposals."""
    from api.workflows.placement import place

    ws = demo_ws
    kw = {"k": 8, "method": "greedy", "heading_step_deg": 90.0, "models": ("bullet-4mm",), "write": False}
    single = place(ws, **kw)
    tiled = place(ws, **kw, parallel=True, workers=2, tile_m=300.0, reuse_views=False)
    assert single.candidates > 1000
    assert list(single.views.index) == list(tiled.views.index)
    assert identical(single.views, tiled.views)
    pd.testing.assert_frame_equal(single.proposals.drop(columns="geometry", errors="ignore"),
                                  tiled.proposals.drop(columns="geometry", errors="ignore"), check_exact=True)
