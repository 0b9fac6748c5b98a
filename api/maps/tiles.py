"""Mapbox Vector Tiles of the heavy display layers (buildings, camera views, ranked blind spots).

A page draws a large one of these tile by tile (``/api/tiles/{key}/{z}/{x}/{y}.pbf``, Leaflet
.VectorGrid on the page): each tile holds the layer's features meeting it, in the user's area,
clipped to the tile with a small buffer (so strokes join across tile edges), simplified to the
tile's resolution and quantised to its 4096-unit grid by ``mapbox-vector-tile``. Small layers,
and the interactive points (cameras) and households' buildings, stay GeoJSON (:mod:`api.maps.layers`).
"""

from __future__ import annotations

import mapbox_vector_tile
import mercantile
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from api.maps.displays import Display
from gis import shapes

#: the display layers a page draws as vector tiles when they are too large to inline
TILED = ("buildings", "views", "blind_spots", "views_night", "blind_spots_night")
#: the one layer name inside every tile (the page styles it)
LAYER = "features"
EXTENT = 4096
BUFFER = 64  # tile units beyond each edge
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
_TO_MERCATOR = Transformer.from_crs(4326, 3857, always_xy=True)


def check_tile(z: int, x: int, y: int) -> None:
    """Refuse a tile address outside the pyramid (ValueError naming it)."""
    if not 0 <= z <= 22:
        raise ValueError(f"zoom {z} is outside 0–22")
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        raise ValueError(f"tile {z}/{x}/{y} does not exist: x and y run from 0 to {2**z - 1} at zoom {z}")


def _mercator(geoms: np.ndarray) -> np.ndarray:
    def move(xy: np.ndarray) -> np.ndarray:
        a, b = _TO_MERCATOR.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([a, b])

    return np.asarray(shapely.transform(geoms, move))


def _in_tile(geoms: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Web Mercator metres → the tile's own units (0…4096, y up; the encoder flips y), in one pass."""
    west, south, east, north = box
    scale = np.array([EXTENT / (east - west), EXTENT / (north - south)])
    return np.asarray(shapely.transform(geoms, lambda xy: (xy - np.array([west, south])) * scale))


def _value(v: object) -> object:
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        return None if np.isnan(v) else float(v)
    return None if v is None or v is pd.NA or v is pd.NaT else str(v)


def tile(shown: Display, z: int, x: int, y: int, allowed: np.ndarray | None = None) -> bytes:
    """Tile ``z/x/y`` of ``shown`` (the rows ``allowed``, when given) as an MVT; empty below the layer's
    minimum zoom or where it has nothing."""
    check_tile(z, x, y)
    if z < shown.min_zoom or not len(shown.frame):
        return b""
    west, south, east, north = mercator_box = mercantile.xy_bounds(x, y, z)
    pad = (east - west) * BUFFER / EXTENT
    lon_w, lat_s, lon_e, lat_n = mercantile.bounds(x, y, z)
    lon_pad, lat_pad = (lon_e - lon_w) * BUFFER / EXTENT, (lat_n - lat_s) * BUFFER / EXTENT
    hits = np.sort(shown.tree.query(shapely.box(lon_w - lon_pad, lat_s - lat_pad, lon_e + lon_pad, lat_n + lat_pad)))
    if allowed is not None:
        hits = hits[allowed[hits]]
    if not len(hits):
        return b""
    geoms = _mercator(np.asarray(shown.frame.geometry.array[hits]))
    if not shown.points:  # a display copy is rounded point-wise: made valid again before clipping
        geoms = shapes.repaired(geoms)
        geoms = shapely.clip_by_rect(geoms, west - pad, south - pad, east + pad, north + pad)
        geoms = shapely.simplify(geoms, (east - west) / EXTENT, preserve_topology=True)
        keep = ~shapely.is_empty(geoms)
        hits, geoms = hits[keep], geoms[keep]
    geoms = _in_tile(geoms, tuple(mercator_box))
    columns = shown.fields + [c for c in shown.frame.columns if c.startswith("_")]
    records = shown.frame.iloc[hits][columns].to_dict("records")
    features = [{"geometry": g, "id": int(i) + 1,
                 "properties": {k: w for k, v in r.items() if (w := _value(v)) is not None}}
                for g, i, r in zip(geoms, hits, records, strict=True)]
    return bytes(mapbox_vector_tile.encode([{"name": LAYER, "features": features}],
                                           default_options={"extents": EXTENT}))
