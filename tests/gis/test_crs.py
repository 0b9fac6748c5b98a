import pytest

from gis import crs


@pytest.mark.parametrize(("lon", "lat", "epsg"), [
    (120.52, 36.89, 4549),   # Laixi: CM 120E
    (75.0, 39.5, 4534),      # Kashgar: CM 75E, the first zone
    (134.9, 48.0, 4554),     # Fuyuan: CM 135E, the last zone
    (116.4, 39.9, 4548),     # Beijing: CM 117E
    (24.94, 60.17, 32635),   # Helsinki: UTM 35N
    (-43.2, -22.9, 32723),   # Rio: UTM 23S
])
def test_metric_crs(lon, lat, epsg):
    assert crs.metric_crs(lon, lat).to_epsg() == epsg


def test_metric_crs_rejects_metres():
    with pytest.raises(ValueError, match="EPSG:4326"):
        crs.metric_crs(40_512_345.0, 4_083_000.0)


def test_zone_prefixed_easting_is_recognised():
    assert crs.gk_crs_from_easting([40_512_345.0, 40_498_000.0]).to_epsg() == 4528
    assert crs.gk_crs_from_easting([512_345.0]) is None  # no zone prefix
    assert crs.gk_crs_from_easting([39_500_000.0, 40_500_000.0]) is None  # mixed zones


@pytest.mark.parametrize(("code", "expected"), [(4513, True), (4549, True), (4554, True), (4512, False),
                                                (4326, False), (32650, False)])
def test_cgcs2000_gk_range(code, expected):
    assert crs.is_cgcs2000_gk(code) is expected


def test_computation_refuses_degrees_and_mixed_crs():
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import Point, box

    from gis import coverage, placement

    grids = gpd.GeoDataFrame({"code": ["370285001001001"], "community_code": ["370285001001"]},
                             geometry=[box(120.50, 36.87, 120.51, 36.88)], crs=4326)
    empty = gpd.GeoDataFrame({"id": [], "name": [], "category": [], "class": [], "required_level": []},
                             geometry=[], crs=4326)
    kwargs = {"buildings": gpd.GeoSeries([], crs=4326), "roads": gpd.GeoDataFrame({"class": []}, geometry=[]),
              "targets": empty, "cameras": pd.DataFrame({"id": [], "status": [], "point_class": []}),
              "views": pd.DataFrame()}
    with pytest.raises(ValueError, match=r"grids are in EPSG:4326, lon/lat in degrees"):
        coverage.CoverageModel(grids=grids, **kwargs)  # a lon/lat frame is never computed in degrees
    with pytest.raises(ValueError, match=r"grids are in EPSG:4549 but buildings in EPSG:32651"):
        coverage.CoverageModel(grids=grids.to_crs(4549), **kwargs | {"buildings": gpd.GeoSeries([], crs=32651)})
    sites = gpd.GeoDataFrame({"id": ["S1"], "kind": ["pole"]}, geometry=[Point(120.5, 36.9)], crs=4326)
    with pytest.raises(ValueError, match="candidates: sites are in EPSG:4326"):
        placement.candidates(sites, [])
    crs.require_metric("no CRS to tell", grids=gpd.GeoSeries([Point(0, 0)]))  # units unknown: taken as given
