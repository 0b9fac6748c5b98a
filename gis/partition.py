"""Spatial partitions for work spread over many processes or machines.

Cameras are grouped by the square tile their position falls in. A tile's work needs every
building that can hide part of one of its cameras' views: those meeting the box around its
cameras widened by the longest reach among them (the halo). A building straddling a tile
border therefore belongs to every tile whose halo it meets, and no occluder is missed.
Buildings keep their global order inside a tile, so a tile computes exactly what the whole
city would (see :func:`gis.visibility.visible`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: metres added to a tile's halo beyond the longest reach, against rounding at the edge
HALO_MARGIN_M = 1.0


@dataclass(frozen=True)
class Tile:
    key: tuple[int, int]
    cameras: np.ndarray  # positions in the camera table
    buildings: np.ndarray  # positions in the building table, ascending
    halo_m: float


def tiles(xy: np.ndarray, reach: np.ndarray, building_bounds: np.ndarray, tile_m: float) -> list[Tile]:
    """Tiles of ``tile_m`` metres holding cameras at ``xy`` (metric), each with the buildings
    (by ``building_bounds``: minx, miny, maxx, maxy) within its cameras' ``reach`` (metres)."""
    if tile_m <= 0:
        raise ValueError(f"tile size must be positive, not {tile_m}")
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    reach = np.nan_to_num(np.asarray(reach, dtype=float))
    if len(xy) == 0:
        return []
    cells = np.floor(xy / tile_m).astype(np.int64)  # a fixed grid: the same camera, the same tile
    order = np.lexsort((cells[:, 1], cells[:, 0]))
    keys = cells[order]
    starts = np.flatnonzero(np.r_[True, np.any(keys[1:] != keys[:-1], axis=1)])
    ends = np.r_[starts[1:], len(order)]
    b = np.asarray(building_bounds, dtype=float).reshape(-1, 4)
    out = []
    for s, e in zip(starts, ends, strict=True):
        cams = np.sort(order[s:e])
        halo = float(reach[cams].max(initial=0.0)) + HALO_MARGIN_M
        x0, y0 = xy[cams].min(axis=0) - halo
        x1, y1 = xy[cams].max(axis=0) + halo
        near = np.flatnonzero((b[:, 0] <= x1) & (b[:, 2] >= x0) & (b[:, 1] <= y1) & (b[:, 3] >= y0))
        out.append(Tile((int(keys[s, 0]), int(keys[s, 1])), cams, near, halo))
    return out
