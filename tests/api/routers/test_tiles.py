"""Vector tiles of the heavy layers: the features meeting the tile, clipped, in its 4096-unit grid,
simplified to its resolution; empty below the layer's minimum zoom; bad addresses refused."""

import mapbox_vector_tile
import mercantile
import numpy as np
import pytest
import shapely

from api.maps import tiles


def _tile(http, key, t):
    r = http.get(f"/api/tiles/{key}/{t.z}/{t.x}/{t.y}.pbf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == tiles.MEDIA_TYPE
    return mapbox_vector_tile.decode(r.content)[tiles.LAYER]["features"] if r.content else []


def _lonlat(geometry, t):
    west, south, east, north = mercantile.bounds(t)
    shape = shapely.geometry.shape(geometry)
    return shapely.transform(shape, lambda xy: np.column_stack(
        [west + xy[:, 0] / 4096 * (east - west), south + xy[:, 1] / 4096 * (north - south)]))


def test_a_tile_holds_the_buildings_meeting_it(small_limit):
    http, ws = small_limit
    buildings = ws.read("buildings")
    lon, lat = buildings.geometry.iloc[0].representative_point().coords[0]
    t = mercantile.tile(lon, lat, 17)
    got = _tile(http, "buildings", t)
    west, south, east, north = mercantile.bounds(t)
    pad_x, pad_y = (east - west) * tiles.BUFFER / 4096, (north - south) * tiles.BUFFER / 4096
    expected = buildings.intersects(shapely.box(west - pad_x, south - pad_y, east + pad_x, north + pad_y)).sum()
    assert len(got) == expected > 0
    assert {"name", "floors", "use"} <= set().union(*(f["properties"] for f in got))
    for feature in got:  # each clipped to the tile and its buffer, and each part of a stored building
        shape = _lonlat(feature["geometry"], t)
        assert shapely.box(west - 2 * pad_x, south - 2 * pad_y, east + 2 * pad_x, north + 2 * pad_y).covers(shape)
        assert buildings.geometry.buffer(2e-5).covers(shapely.point_on_surface(shape)).any()


def test_views_are_simplified_to_the_tile(small_limit):
    http, ws = small_limit
    views = ws.read("views")
    lon, lat = views.geometry.iloc[0].representative_point().coords[0]

    def vertices(zoom):
        t = mercantile.tile(lon, lat, zoom)
        return sum(len(shapely.get_coordinates(shapely.geometry.shape(f["geometry"])))
                   for f in _tile(http, "views:detect", t))

    assert vertices(15) > 0 and vertices(19) > 0


def test_below_the_minimum_zoom_a_tile_is_empty(small_limit):
    http, ws = small_limit
    lon, lat = ws.read("buildings").geometry.iloc[0].representative_point().coords[0]
    t = mercantile.tile(lon, lat, 12)
    r = http.get(f"/api/tiles/buildings/{t.z}/{t.x}/{t.y}.pbf")
    assert r.status_code == 200 and r.content == b""


@pytest.mark.parametrize(("path", "status"), [
    ("/api/tiles/buildings/3/8/0.pbf", 422),  # x past the pyramid
    ("/api/tiles/buildings/23/0/0.pbf", 422),
    ("/api/tiles/cameras/16/0/0.pbf", 404),  # points stay GeoJSON
    ("/api/tiles/households/16/0/0.pbf", 404),
    ("/api/tiles/views:blurry/16/0/0.pbf", 404),
    ("/api/tiles/buildings/16/-1/0.pbf", 422),
])
def test_bad_tile_requests(small_limit, path, status):
    http, _ = small_limit
    r = http.get(path)
    assert r.status_code == status and r.headers["content-type"] == "application/problem+json", r.text


@pytest.mark.parametrize("key", tiles.TILED)
def test_every_tile_over_the_town_answers(small_limit, key):
    http, ws = small_limit
    west, south, east, north = ws.read("buildings").total_bounds
    path = f"{key}:detect" if key.startswith("views") else key
    if not ws.has(key):  # a night twin not computed here: a clear not-found, never an empty or broken tile
        r = http.get(f"/api/tiles/{path}/15/0/0.pbf")
        assert r.status_code == 404 and f"no layer '{key}'" in r.text, r.text[:200]
        return
    for zoom in (15, 17):
        for t in mercantile.tiles(west, south, east, north, zoom):
            r = http.get(f"/api/tiles/{path}/{t.z}/{t.x}/{t.y}.pbf")
            assert r.status_code == 200, (t, r.text[:200])


def test_map_data_is_compressed(small_limit):
    http, ws = small_limit
    r = http.get("/api/features/cameras", params={"bbox": ",".join(map(str, ws.read("cameras").total_bounds)),
                                                   "zoom": 15}, headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
