import numpy as np
import pytest

from gis import coords

# Published reference pairs (eviltransform's test vectors): wgs lat, lon -> gcj lat, lon
GCJ_VECTORS = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]


def metres(lon1, lat1, lon2, lat2):
    lat = np.radians(lat1)
    return np.hypot((np.asarray(lon1) - lon2) * 111_320 * np.cos(lat), (np.asarray(lat1) - lat2) * 110_574)


@pytest.mark.parametrize(("lat", "lon", "glat", "glon"), GCJ_VECTORS)
def test_forward_matches_published_vectors(lat, lon, glat, glon):
    x, y = coords.wgs84_to_gcj02(lon, lat)
    assert metres(x, y, glon, glat) < 0.001


@pytest.mark.parametrize(("lat", "lon", "glat", "glon"), GCJ_VECTORS)
def test_inverse_recovers_wgs84_to_a_centimetre(lat, lon, glat, glon):
    x, y = coords.gcj02_to_wgs84(glon, glat)
    assert metres(x, y, lon, lat) < 0.01


def test_inverse_is_exact_across_china_where_one_step_is_not():
    lon, lat = np.meshgrid(np.linspace(75, 134, 60), np.linspace(19, 53, 40))
    gx, gy = coords.wgs84_to_gcj02(lon, lat)
    wx, wy = coords.gcj02_to_wgs84(gx, gy)
    assert metres(wx, wy, lon, lat).max() < 0.01
    fx, fy = coords.wgs84_to_gcj02(gx, gy)  # the common one-step inverse, for comparison
    assert metres(gx - (fx - gx), gy - (fy - gy), lon, lat).max() > 1.0


def test_bd09_forward_reference_and_round_trip():
    # gcj2bd(39.915, 116.404) from a published reference implementation
    x, y = coords.gcj02_to_bd09(116.404, 39.915)
    assert x == pytest.approx(116.41036949371029, abs=1e-9)
    assert y == pytest.approx(39.92133699351021, abs=1e-9)
    lon, lat = np.array([120.51, 113.9, 87.6]), np.array([36.88, 22.5, 43.8])
    bx, by = coords.wgs84_to_bd09(lon, lat)
    wx, wy = coords.bd09_to_wgs84(bx, by)
    assert metres(wx, wy, lon, lat).max() < 0.01


def test_outside_china_is_unchanged():
    x, y = coords.wgs84_to_gcj02([24.94, -0.1], [60.17, 51.5])
    np.testing.assert_array_equal(x, [24.94, -0.1])
    np.testing.assert_array_equal(y, [60.17, 51.5])


@pytest.mark.parametrize(("name", "key"), [("GCJ-02", "gcj02"), ("高德", "gcj02"), ("bd09", "bd09"),
                                           ("Baidu", "bd09"), ("wgs84", None)])
def test_offset_system_names(name, key):
    assert coords.offset_system(name) == key
