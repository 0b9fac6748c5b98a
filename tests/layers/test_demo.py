import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from layers import demo, gb28181, store, validate


@pytest.fixture(scope="module")
def ws(demo_path):
    return store.open_workspace(demo_path)


def test_same_seed_same_town():
    a, b = demo.generate(7), demo.generate(7)
    for name in a:
        pd.testing.assert_frame_equal(pd.DataFrame(a[name]), pd.DataFrame(b[name]))
    assert not demo.generate(8)["buildings"].geometry.equals(a["buildings"].geometry)


def test_sizes_and_place(ws):
    rows = {i.name: i.rows for i in ws.layers()}
    assert 2 <= rows["communities"] <= 4
    assert 2000 <= rows["buildings"] <= 6000
    assert rows["households"] > 10_000 and rows["incidents"] > 300 and rows["sites"] > 300
    assert ws.metric_crs().to_epsg() == 4549
    assert ws.get_meta("place") == "山东省青岛市莱西市水集街道"
    w, s, e, n = ws.extent()
    assert 120.4 < w < e < 120.6 and 36.8 < s < n < 36.95


def test_grids_tile_communities_and_are_coded(ws):
    grids = ws.read("grids").to_crs(4549)
    comms = ws.read("communities").to_crs(4549)
    for comm in comms.itertuples():
        mine = grids[grids["community_code"] == comm.code]
        assert mine.geometry.area.sum() == pytest.approx(comm.geometry.area, rel=1e-4)  # no overlaps
        gaps = shapely.union_all(mine.geometry.values).symmetric_difference(comm.geometry)
        assert gaps.area < 1e-4 * comm.geometry.area
        assert (shapely.get_num_geometries(mine.geometry.to_numpy()) == 1).all()  # each grid is contiguous
        serials = mine["code"].str[12:].astype(int).tolist()
        assert mine["code"].str.startswith(comm.code).all() and sorted(serials) == list(range(1, len(mine) + 1))
    assert grids["code"].is_unique
    assert {"basic", "dedicated"} == set(grids["kind"])


def test_grids_hold_300_to_500_households_mostly(ws):
    grids = ws.read("grids").to_crs(4549)
    buildings = ws.read("buildings").to_crs(4549)
    per_building = ws.read("households").groupby("building_id").size()
    pts = gpd.GeoDataFrame({"n": buildings["id"].map(per_building).fillna(0).to_numpy()},
                           geometry=buildings.centroid, crs=4549)
    joined = gpd.sjoin(pts, grids[["code", "kind", "geometry"]], predicate="within")
    per_grid = joined.groupby("code")["n"].sum()
    basic = per_grid[grids.set_index("code").loc[per_grid.index, "kind"] == "basic"]
    inside = basic.between(250, 550).mean()
    assert inside > 0.9, basic.describe()


def test_layers_are_valid_and_realistic(ws):
    for name in ("cameras", "targets", "buildings", "incidents"):
        validate.validate(ws.read(name), name)  # raises if anything is off
    cams = ws.read("cameras")
    assert cams["id"].map(gb28181.check_camera_code).isna().all()
    assert set(cams["status"]) == {"active", "faulty", "planned"}
    assert set(cams["point_class"]) == {"1", "2", "3"}
    targets = ws.read("targets")
    assert {"school", "hospital", "bank", "market", "station", "government", "entrance", "intersection"} <= set(
        targets["category"])
    assert targets["name"].str.contains("[\u4e00-\u9fff]").all()  # Chinese names throughout
    hh = ws.read("households")
    tags = hh["tags"].str.split(";").explode().value_counts()
    assert {"常住", "出租", "空置", "流动", "独居老人"} <= set(tags.index)
    heights = ws.read("buildings")["height_m"].dropna()
    assert heights.min() > 2.5 and heights.max() < 70


def test_cameras_and_entrances_stand_outside_buildings(ws):
    metric = ws.metric_crs()
    buildings = ws.read("buildings").to_crs(metric)
    tree = shapely.STRtree(buildings.geometry.to_numpy())
    cams = ws.read("cameras").to_crs(metric)
    assert len(tree.query(cams.geometry.buffer(0.5).to_numpy(), predicate="intersects")[0]) == 0
    points = ws.read("targets").to_crs(metric)
    points = points[points.geom_type == "Point"]
    assert len(tree.query(points.geometry.to_numpy(), predicate="within")[0]) == 0


def test_the_urban_village_is_a_camera_gap(ws):
    # boundary roads carry intersection cameras; inside (30 m off them) the village has almost none
    comms = ws.read("communities").to_crs(4549).set_index("name")
    cams = ws.read("cameras").to_crs(4549)
    per_km2 = {}
    for name, geom in comms.geometry.items():
        inner = geom.buffer(-30)
        per_km2[name] = cams.within(inner).sum() / (inner.area / 1e6)
    assert per_km2["望城村"] < np.mean([v for k, v in per_km2.items() if k != "望城村"]) / 3, per_km2
