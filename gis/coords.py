"""Chinese offset coordinate systems: GCJ-02 (Gaode, Tencent) and BD-09 (Baidu).

GCJ-02 is WGS84 plus a smooth, deliberately undocumented offset of a few hundred
metres; the forward formula is public knowledge (the Krasovsky-ellipsoid form used by
every open implementation). There is no closed inverse. The usual one-step inverse
``wgs ≈ gcj − (f(gcj) − gcj)`` is off by up to ~5 m because the offset varies in
space; here the inverse is a fixed-point iteration that stops when the forward image
of the estimate matches the input to 1e-10 degree (about 0.01 mm), well inside the
1 cm this project promises.

All functions are vectorised: they take scalars or array-likes of longitudes and
latitudes (in that order, x before y) and return arrays of the same shape.
Points outside China's rough bounding box pass through unchanged, as GCJ-02 itself
leaves them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as used by the GCJ-02 formula
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0
_TOL_DEG = 1e-10
_MAX_ITER = 50

Array = NDArray[np.float64]


def in_gcj_area(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """True where GCJ-02 applies an offset (the conventional bounding box of China)."""
    x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return (x >= 72.004) & (x <= 137.8347) & (y >= 0.8293) & (y <= 55.8271)


def _offset(x: Array, y: Array) -> tuple[Array, Array]:
    """The GCJ-02 offset in degrees at WGS84 (x, y)."""
    dx, dy = x - 105.0, y - 35.0
    common = (20.0 * np.sin(6.0 * dx * np.pi) + 20.0 * np.sin(2.0 * dx * np.pi)) * 2.0 / 3.0
    t_lat = (-100.0 + 2.0 * dx + 3.0 * dy + 0.2 * dy * dy + 0.1 * dx * dy
             + 0.2 * np.sqrt(np.abs(dx)) + common)
    t_lat += (20.0 * np.sin(dy * np.pi) + 40.0 * np.sin(dy / 3.0 * np.pi)) * 2.0 / 3.0
    t_lat += (160.0 * np.sin(dy / 12.0 * np.pi) + 320.0 * np.sin(dy * np.pi / 30.0)) * 2.0 / 3.0
    t_lon = (300.0 + dx + 2.0 * dy + 0.1 * dx * dx + 0.1 * dx * dy
             + 0.1 * np.sqrt(np.abs(dx)) + common)
    t_lon += (20.0 * np.sin(dx * np.pi) + 40.0 * np.sin(dx / 3.0 * np.pi)) * 2.0 / 3.0
    t_lon += (150.0 * np.sin(dx / 12.0 * np.pi) + 300.0 * np.sin(dx / 30.0 * np.pi)) * 2.0 / 3.0
    rad = y / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (t_lat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = (t_lon * 180.0) / (_A / sqrt_magic * np.cos(rad) * np.pi)
    inside = in_gcj_area(x, y)
    return np.where(inside, d_lon, 0.0), np.where(inside, d_lat, 0.0)


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[Array, Array]:
    x, y = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return x.astype(float, copy=True), y.astype(float, copy=True)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Array, Array]:
    """Forward GCJ-02 offset: WGS84 lon/lat to GCJ-02 lon/lat (the shift of China's web maps).

    Points outside China are returned unchanged.

    Parameters
    ----------
    lon, lat
        WGS84 longitude and latitude (degrees), scalars or arrays of one shape.

    Returns
    -------
    lon, lat : numpy.ndarray
        GCJ-02 longitude and latitude (degrees).

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(120.5, 36.9)
    >>> round(float(lon - 120.5) * 1e5), round(float(lat - 36.9) * 1e5)  # about 440 m east, 55 m north
    (494, 49)
    """
    x, y = _as_arrays(lon, lat)
    dx, dy = _offset(x, y)
    return x + dx, y + dy


def _invert(forward: Callable[[Array, Array], tuple[Array, Array]], u: Array, v: Array) -> tuple[Array, Array]:
    """Solve forward(x, y) = (u, v) by fixed-point iteration (the Jacobian is ≈ identity)."""
    x, y = u.copy(), v.copy()
    for _ in range(_MAX_ITER):
        fx, fy = forward(x, y)
        ex, ey = fx - u, fy - v
        x -= ex
        y -= ey
        if np.nanmax(np.abs(np.concatenate([ex.ravel(), ey.ravel()])), initial=0.0) < _TOL_DEG:
            break
    return x, y


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Array, Array]:
    """Exact inverse of :func:`wgs84_to_gcj02` (to 1e-10 degree), by iteration."""
    return _invert(wgs84_to_gcj02, *_as_arrays(lon, lat))


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Array, Array]:
    """Baidu's BD-09 offset applied on top of GCJ-02."""
    x, y = _as_arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Array, Array]:
    """Exact inverse of :func:`gcj02_to_bd09`, by iteration."""
    return _invert(gcj02_to_bd09, *_as_arrays(lon, lat))


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Array, Array]:
    """WGS84 lon/lat (degrees) to Baidu's BD-09, through GCJ-02."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Array, Array]:
    """Baidu's BD-09 lon/lat (degrees) back to WGS84, through GCJ-02 (iterated inverse)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


#: Names accepted for the offset systems, mapped to (to_wgs84, from_wgs84).
OFFSET_SYSTEMS = {
    "gcj02": (gcj02_to_wgs84, wgs84_to_gcj02),
    "bd09": (bd09_to_wgs84, wgs84_to_bd09),
}


def offset_system(name: str) -> str | None:
    """Fold a user's spelling ('GCJ-02', 'gaode', '火星坐标', 'BD09', 'baidu') to a key."""
    key = name.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    if key in {"gcj02", "gcj", "gaode", "amap", "高德", "腾讯", "tencent", "火星坐标", "火星"}:
        return "gcj02"
    if key in {"bd09", "bd09ll", "baidu", "百度"}:
        return "bd09"
    return None
