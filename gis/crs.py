"""The coordinate reference system policy, in one place.

Layers are stored in EPSG:4326 lon/lat. Computation happens in metres, in the
workspace's *metric CRS*: the CGCS2000 3-degree Gauss-Krüger zone whose central
meridian is nearest the workspace centroid (EPSG:4534–4554, central meridians
75°E … 135°E, false easting 500 km without zone prefix), and UTM outside China.
On import we also accept CGCS2000 GK metres with the zone number prefixed to the
easting (EPSG:4513–4533, zones 25–45) and recognise it from the coordinates.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from pyproj import CRS

WGS84 = CRS.from_epsg(4326)
CGCS2000 = CRS.from_epsg(4490)

#: China's extent (rough bounding box, lon/lat) used to choose GK over UTM and to
#: sanity-check coordinates. Border areas are a few tens of km generous on purpose.
CHINA_BBOX = (73.4, 17.9, 135.2, 53.7)

GK_CM_EPSG_FIRST, GK_CM_EPSG_LAST = 4534, 4554  # CM 75E … 135E
GK_ZONE_EPSG_FIRST, GK_ZONE_EPSG_LAST = 4513, 4533  # zones 25 … 45, easting prefixed


def in_china(lon: ArrayLike, lat: ArrayLike) -> np.ndarray:
    """Whether each lon/lat (degrees, WGS84) lies in the box around China where the GCJ-02 shift applies."""
    x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    w, s, e, n = CHINA_BBOX
    return (x >= w) & (x <= e) & (y >= s) & (y <= n)


def gk_epsg(lon: float) -> int:
    """EPSG code of the CGCS2000 3° GK zone (no prefix) whose central meridian is nearest ``lon``."""
    cm = min(max(3 * round(lon / 3.0), 75), 135)
    return GK_CM_EPSG_FIRST + (cm - 75) // 3


def utm_epsg(lon: float, lat: float) -> int:
    """The EPSG code of the WGS84 UTM zone holding lon/lat (degrees): 326xx north, 327xx south."""
    zone = math.floor((lon + 180.0) / 6.0) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


def metric_crs(lon: float, lat: float) -> CRS:
    """The metric CRS for a workspace centred at ``(lon, lat)``.

    >>> metric_crs(120.52, 36.89).to_epsg()  # Laixi, Qingdao: CM 120E
    4549
    >>> metric_crs(24.94, 60.17).to_epsg()   # Helsinki: UTM 35N
    32635
    """
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise ValueError(f"centroid ({lon}, {lat}) is not lon/lat in degrees; reproject to EPSG:4326 first")
    if bool(in_china(lon, lat)):
        return CRS.from_epsg(gk_epsg(lon))
    return CRS.from_epsg(utm_epsg(lon, lat))


def metric_crs_for_bounds(bounds: ArrayLike) -> CRS:
    """The metric CRS for the centre of lon/lat bounds ``(west, south, east, north)``."""
    w, s, e, n = (float(v) for v in np.asarray(bounds, dtype=float))
    if not all(math.isfinite(v) for v in (w, s, e, n)):
        raise ValueError("cannot choose a metric CRS for empty bounds: the workspace has no features")
    return metric_crs((w + e) / 2.0, (s + n) / 2.0)


def is_cgcs2000_gk(crs: CRS | int | str) -> bool:
    """True for the CGCS2000 3° Gauss-Krüger systems EPSG:4513–4554."""
    epsg = CRS.from_user_input(crs).to_epsg()
    return epsg is not None and GK_ZONE_EPSG_FIRST <= epsg <= GK_CM_EPSG_LAST


def gk_crs_from_easting(x: ArrayLike) -> CRS | None:
    """Recognise zone-prefixed GK eastings (e.g. 40 512 345 m → zone 40, EPSG:4528).

    Returns ``None`` when the eastings do not carry one consistent zone prefix 25–45.
    """
    arr = np.asarray(x, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return None
    zones = np.floor(arr / 1e6).astype(int)
    if zones.min() != zones.max() or not 25 <= zones[0] <= 45:
        return None
    return CRS.from_epsg(GK_ZONE_EPSG_FIRST + int(zones[0]) - 25)


def describe(crs: CRS | None) -> str:
    """A short human name for messages: 'EPSG:4549 (CGCS2000 / 3-degree Gauss-Kruger CM 120E)'."""
    if crs is None:
        return "no CRS"
    epsg = crs.to_epsg()
    return f"EPSG:{epsg} ({crs.name})" if epsg else crs.name


def require_metric(what: str, **frames: object) -> None:
    """Refuse inputs that are not in one metric CRS: every computation in :mod:`gis` is in metres.

    A frame without a CRS is taken as it is: its units cannot be told.

    Parameters
    ----------
    what
        The computation, named in the message.
    **frames
        Each input's name and value; GeoDataFrames and GeoSeries are checked, anything else is
        passed over.

    Raises
    ------
    ValueError
        For a geographic CRS (lon/lat in degrees) or two different CRSs, naming them and the fix,
        as spopt does.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> pts = gpd.GeoSeries([shapely.Point(120.5, 36.9)], crs=4326)
    >>> require_metric("coverage", grids=pts)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: coverage: grids are in EPSG:4326, lon/lat in degrees; computing needs metres: ...
    >>> require_metric("coverage", grids=pts.to_crs(4549), targets=pts.to_crs(32651))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: coverage: grids are in EPSG:4549 but targets in EPSG:32651: reproject them to one metric CRS ...
    """
    seen: dict[str, CRS] = {}
    for name, frame in frames.items():
        crs = getattr(frame, "crs", None)
        if crs is None:
            continue
        crs = CRS.from_user_input(crs)
        label = f"EPSG:{crs.to_epsg()}" if crs.to_epsg() else crs.name
        if crs.is_geographic:
            raise ValueError(f"{what}: {name} are in {label}, lon/lat in degrees; computing needs metres: "
                             "reproject them first (frame.to_crs(metric_crs(lon, lat)))")
        for other, other_crs in seen.items():
            if other_crs != crs:
                theirs = f"EPSG:{other_crs.to_epsg()}" if other_crs.to_epsg() else other_crs.name
                raise ValueError(f"{what}: {other} are in {theirs} but {name} in {label}: reproject them to one "
                                 f"metric CRS ({name}.to_crs({other}.crs))")
        seen[name] = crs
