"""Geometry that is valid by construction: the one repair every stored layer passes through.

Overlays, unions and differences of many polygons can leave self-touching rings or
bow-ties that GEOS reports as invalid (and that GDAL's KML and Shapefile drivers, or
QGIS, then refuse). :func:`repaired` makes each geometry valid with GEOS' structure-aware
``make_valid`` and keeps only the parts of its own dimension, so a polygon stays a
(multi)polygon and its area is unchanged, and a line stays a line.
"""

from __future__ import annotations

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
