"""Geometry that is valid by construction: the one repair every stored layer passes through.

Overlays, unions and differences of many polygons can leave self-touching rings or
bow-ties that GEOS reports as invalid (and that GDAL's KML and Shapefile drivers, or
QGIS, then refuse). :func:`repaired` makes each geometry valid with GEOS' structure-aware
``make_valid`` and keeps only the parts of its own dimension, so a polygon stays a
(multi)polygon and its area is unchanged, and a line stays a line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import shapely

_DIMENSION = {"Point": 0, "MultiPoint": 0, "LineString": 1, "LinearRing": 1, "MultiLineString": 1, "Polygon": 2,
              "MultiPolygon": 2}


def _same_dimension(geom: Any, dim: int) -> Any:
    if _DIMENSION.get(geom.geom_type, -1) == dim:
        return geom
    parts = [p for p in shapely.get_parts(geom) if _DIMENSION.get(p.geom_type, -1) == dim]
    parts = [q for p in parts for q in shapely.get_parts(p)]
    if not parts:
        return {0: shapely.MultiPoint(), 1: shapely.MultiLineString(), 2: shapely.MultiPolygon()}[dim]
    if dim == 2:
        return shapely.MultiPolygon(parts) if len(parts) > 1 else parts[0]
    if dim == 1:
        return shapely.MultiLineString(parts) if len(parts) > 1 else parts[0]
    return shapely.MultiPoint(parts) if len(parts) > 1 else parts[0]


def repaired(geoms: np.ndarray) -> np.ndarray:
    """``geoms`` with every invalid geometry made valid in its own dimension (valid ones untouched)."""
    geoms = np.asarray(geoms, dtype=object)
    out = geoms.copy()
    present = ~shapely.is_missing(geoms)
    filled = geoms.copy()
    filled[~present] = shapely.Point()
    bad = np.flatnonzero(present & ~shapely.is_valid(filled))
    for i in bad:
        dim = _DIMENSION.get(geoms[i].geom_type, 2)
        out[i] = _same_dimension(shapely.make_valid(geoms[i], method="structure", keep_collapsed=False), dim)
    return out


# ---- overlays that do not fail: the coverage analysis's unions and intersections ----------
#: the precision (metres) an overlay falls back to when GEOS's floating overlay fails on a pair
SNAP_M = 1e-6


def robust(op: Callable[..., Any]) -> Callable[[Any, Any], Any]:
    """``op`` (a shapely overlay), retried pair by pair on a GEOS robustness failure, and a failing
    pair snap-rounded to ``SNAP_M`` (GEOS 3.14 can raise "Unable to determine overlay result
    geometry dimension" on a line grazing a polygon vertex; seen once in the 100,000-camera city).
    The same inputs fail the same way, so a partition gets the same answer as the whole city."""

    def run(a: Any, b: Any) -> Any:
        try:
            return op(a, b)
        except shapely.errors.GEOSException:
            if np.ndim(a) == 0 and np.ndim(b) == 0:
                return op(a, b, grid_size=SNAP_M)
            pairs = np.broadcast_arrays(np.asarray(a, dtype=object), np.asarray(b, dtype=object))
            return np.array([run(x, y) for x, y in zip(pairs[0].ravel(), pairs[1].ravel(), strict=True)],
                            dtype=object).reshape(pairs[0].shape)

    run.__name__ = getattr(op, "__name__", "overlay")
    run.__doc__ = (f"``shapely.{run.__name__}(a, b)``, element-wise, that does not fail on a GEOS robustness "
                   "error (see :func:`robust`).")
    return run


intersection = robust(shapely.intersection)
difference = robust(shapely.difference)
union2 = robust(shapely.union)


def union_all(geoms: Any) -> shapely.Geometry:
    """``shapely.union_all``, snap-rounded to ``SNAP_M`` where GEOS's floating overlay fails."""
    try:
        return shapely.union_all(geoms)
    except shapely.errors.GEOSException:
        return shapely.union_all(geoms, grid_size=SNAP_M)


def union(geoms: Iterable[shapely.Geometry]) -> shapely.Geometry:
    """The union of the non-empty geometries (an empty polygon for none)."""
    arr = np.array([g for g in geoms if g is not None and not shapely.is_empty(g)], dtype=object)
    return union_all(arr) if len(arr) else shapely.Polygon()


def lines(geom: shapely.Geometry) -> shapely.Geometry:
    """Keep only the linear parts (intersections of lines can add stray points)."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("LineString", "MultiLineString")]
    return union_all(parts) if parts else shapely.LineString()


def lines_each(geoms: np.ndarray) -> np.ndarray:
    """:func:`lines` of each geometry."""
    return np.array([lines(g) for g in geoms], dtype=object)


#: a single geometry type → its Multi form
MULTI = {"Point": "MultiPoint", "LineString": "MultiLineString", "Polygon": "MultiPolygon"}
_MAKERS: dict[str, Callable[..., Any]] = {"MultiPoint": shapely.multipoints,
                                          "MultiLineString": shapely.multilinestrings,
                                          "MultiPolygon": shapely.multipolygons}


def one_type(kinds: Iterable[str]) -> str | None:
    """The one geometry type that holds all of ``kinds`` (a single type, or its Multi form when any
    kind is Multi), or None when they are of different families (points and polygons, say).

    >>> one_type(["Polygon", "MultiPolygon"]), one_type(["LineString"]), one_type(["Point", "Polygon"])
    ('MultiPolygon', 'LineString', None)
    """
    kinds = set(kinds)
    families = {k.removeprefix("Multi") for k in kinds}
    if len(families) != 1 or (family := families.pop()) not in MULTI:
        return None
    return MULTI[family] if MULTI[family] in kinds else family


def promoted(geoms: np.ndarray, kind: str) -> np.ndarray:
    """``geoms`` with every single geometry of ``kind``'s family made its Multi form (one part), so a
    layer declared ``kind`` holds only that type; others (and missing ones) are left as they are."""
    geoms = np.asarray(geoms, dtype=object)
    single = kind.removeprefix("Multi")
    if kind not in _MAKERS or not len(geoms):
        return geoms
    names = shapely.get_type_id(geoms)
    mask = names == {"Point": 0, "LineString": 1, "Polygon": 3}[single]
    if not mask.any():
        return geoms
    out = geoms.copy()
    full = mask & ~shapely.is_empty(geoms)
    if full.any():
        out[full] = _MAKERS[kind](geoms[full], indices=np.arange(int(full.sum())))
    empty = mask & ~full
    if empty.any():
        out[empty] = [shapely.from_wkt(f"{kind.upper()} EMPTY") for _ in range(int(empty.sum()))]
    return out
