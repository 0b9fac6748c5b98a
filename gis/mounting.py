"""Cameras surveyed inside a building footprint: mounted on its wall when they are at it, indoor when
they are deep inside (no outdoor view). Every view computation (:mod:`gis.visibility`) mounts first."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import shapely

#: a camera inside a footprint no deeper than this hangs on its wall (the position is that of the wall,
#: give or take a survey's error): it is moved MOUNT_OFFSET_M out through the nearest wall and sees from
#: there, its building still blocking what lies behind it. A camera deeper inside is indoors: it sees no
#: outdoor space (its views are empty) and it is listed. Cameras outside are never moved.
MOUNT_TOLERANCE_M = 0.5
MOUNT_OFFSET_M = 0.05


def mount(params: pd.DataFrame, geoms: np.ndarray, tree: shapely.STRtree | None = None) -> pd.DataFrame:
    """``params`` (from :func:`gis.footprint.resolve`) with cameras inside a footprint mounted on its wall.

    Adds ``indoor`` (True: deeper inside than :data:`MOUNT_TOLERANCE_M`, no outdoor view) and
    notes the move or the indoor verdict in ``assumed``. Idempotent: a mounted camera is outside.
    """
    out = params.copy()
    indoor = out["indoor"].to_numpy(dtype=bool).copy() if "indoor" in out else np.zeros(len(out), dtype=bool)
    points = np.asarray(shapely.points(out["x"].to_numpy(dtype=float), out["y"].to_numpy(dtype=float)),
                        dtype=object)
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms):
        cam, bld = (tree or shapely.STRtree(geoms)).query(points, predicate="intersects")
    else:
        cam, bld = np.empty(0, dtype=int), np.empty(0, dtype=int)
    notes = out["assumed"].astype(str).to_numpy(dtype=object).copy() if "assumed" in out else \
        np.array([""] * len(out), dtype=object)
    xs, ys = out["x"].to_numpy(dtype=float).copy(), out["y"].to_numpy(dtype=float).copy()
    # candidates repeat a site's position for every heading and model: work out each position once
    done: dict[tuple[float, float], tuple[float, float, bool, str]] = {}
    for i in np.unique(cam):
        if indoor[i]:
            continue
        key = (xs[i], ys[i])
        if key in done:
            xs[i], ys[i], indoor[i], note = done[key]
            notes[i] = "; ".join(filter(None, [notes[i], note]))
            continue
        before = notes[i]
        mine = bld[cam == i]
        walls = np.asarray(shapely.boundary(geoms[mine]), dtype=object)
        depth = np.asarray(shapely.distance(points[i], walls), dtype=float)
        j = int(np.argmin(depth))
        if depth[j] > MOUNT_TOLERANCE_M:
            indoor[i] = True
            note = f"inside a building ({depth[j]:.1f} m from its walls): indoor, no outdoor view"
            notes[i] = "; ".join(filter(None, [before, note]))
            done[key] = (xs[i], ys[i], True, note)
            continue
        wall = shapely.shortest_line(points[i], walls[j])
        (px, py), (wx, wy) = shapely.get_coordinates(wall)
        dx, dy = wx - px, wy - py
        norm = math.hypot(dx, dy)
        if norm < 1e-9:  # on the wall itself: out along the wall's outward normal, from its nearest edge
            nx, ny = _outward_normal(geoms[mine[j]], wx, wy)
        else:
            nx, ny = dx / norm, dy / norm
        xs[i], ys[i] = wx + nx * MOUNT_OFFSET_M, wy + ny * MOUNT_OFFSET_M
        note = f"inside its building by {depth[j]:.2f} m: mounted on the wall"
        notes[i] = "; ".join(filter(None, [before, note]))
        done[key] = (xs[i], ys[i], False, note)
    out["x"], out["y"], out["indoor"], out["assumed"] = xs, ys, indoor, notes
    return out


def _outward_normal(building: shapely.Geometry, x: float, y: float) -> tuple[float, float]:
    ring = shapely.get_exterior_ring(shapely.orient_polygons(shapely.get_parts(building)[0], exterior_cw=False))
    coords = shapely.get_coordinates(ring)
    seg = np.column_stack([coords[:-1], coords[1:]])
    lines = shapely.linestrings(seg.reshape(-1, 2, 2))
    k = int(np.argmin(shapely.distance(shapely.Point(x, y), lines)))
    ex, ey = seg[k, 2] - seg[k, 0], seg[k, 3] - seg[k, 1]
    norm = math.hypot(ex, ey) or 1.0
    return ey / norm, -ex / norm  # interior on the left of a counter-clockwise ring: outward is to the right
