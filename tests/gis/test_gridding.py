import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import LineString, Point, box

from gis import gridding


def layout():
    """A 300 m × 200 m community cut by one north-south and one east-west street into 4 blocks."""
    community = box(0, 0, 300, 200)
    roads = [LineString([(150, -10), (150, 210)]), LineString([(-10, 100), (310, 100)])]
    xs, ys = [25, 75, 125, 175, 225, 275], [25, 75, 125, 175]
    buildings = gpd.GeoDataFrame(geometry=[box(x - 5, y - 5, x + 5, y + 5) for x in xs for y in ys])
    households = pd.Series(100.0, index=buildings.index)  # 6 buildings of 100 per block … 600 per block
    return community, roads, buildings, households


def test_blocks_partition_the_community():
    community, roads, _, _ = layout()
    faces = gridding.blocks(community, roads)
    assert len(faces) == 4 and sum(f.area for f in faces) == community.area


def test_big_blocks_are_split_and_grids_tile_the_community():
    community, roads, buildings, households = layout()
    targets = gpd.GeoDataFrame({"name": [], "category": []}, geometry=[])
    grids = gridding.plan("370285001001", community, roads, buildings, households, targets)
    assert gridding.check(community, grids.geometry) == []
    assert grids["households"].sum() == households.sum()
    assert grids["households"].between(300, 500).all()  # 600-household blocks cut in two
    assert grids["code"].tolist() == [f"370285001001{k:03d}" for k in range(1, len(grids) + 1)]
    first, last = grids.geometry.iloc[0].centroid, grids.geometry.iloc[-1].centroid
    assert first.y > last.y  # numbered north to south


def test_dedicated_grid_for_a_school_and_small_blocks_merged():
    community, roads, buildings, households = layout()
    households[:] = 40.0  # 240 per block: two blocks make one grid
    targets = gpd.GeoDataFrame({"name": ["月湖小学"], "category": ["school"]}, geometry=[Point(225, 150)])
    grids = gridding.plan("370285001001", community, roads, buildings, households, targets)
    assert gridding.check(community, grids.geometry) == []
    assert grids.loc[grids["kind"] == "dedicated", "name"].tolist() == ["月湖小学专属网格"]
    basic = grids[grids["kind"] == "basic"]
    assert len(basic) == 2
    assert sorted(basic["households"]) == [240.0, 480.0]
    assert basic.loc[basic["households"] == 240, "note"].iat[0] == "no adjacent grid has room: left below the minimum"


def test_check_finds_gaps_overlaps_and_pieces():
    community = box(0, 0, 10, 10)
    problems = gridding.check(community, gpd.GeoSeries([box(0, 0, 6, 10), box(5, 0, 9, 10)]))
    assert any("gaps" in p for p in problems) and any("overlaps" in p for p in problems)
    split = gpd.GeoSeries([shapely.union_all([box(0, 0, 5, 10), box(6, 0, 10, 10)]), box(5, 0, 6, 10)])
    assert any("several pieces" in p for p in gridding.check(community, split))
