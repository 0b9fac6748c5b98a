"""A dense synthetic city for benchmarks: blocks of buildings on a street grid, cameras in the streets.

Deterministic by seed. Coordinates are metres in a local plane (0 … size).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely


def city(n_buildings: int = 50_000, n_cameras: int = 10_000, size_m: float = 10_000.0, street_m: float = 20.0,
         seed: int = 7) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Buildings (polygons, heights in m) and cameras (a frame of camera-layer fields with x, y)."""
    rng = np.random.default_rng(seed)
    per_block = 6  # 2 × 3 lots, most of them built
    blocks_needed = int(np.ceil(n_buildings / (per_block * 0.9)))
    n_side = int(np.ceil(np.sqrt(blocks_needed)))
    pitch = size_m / n_side
    lot_w, lot_h = (pitch - street_m) / 3, (pitch - street_m) / 2
    bi, bj, li, lj = np.meshgrid(np.arange(n_side), np.arange(n_side), np.arange(3), np.arange(2), indexing="ij")
    x0 = bi.ravel() * pitch + street_m / 2 + li.ravel() * lot_w
    y0 = bj.ravel() * pitch + street_m / 2 + lj.ravel() * lot_h
    keep = rng.permutation(len(x0))[:n_buildings]
    x0, y0 = x0[keep], y0[keep]
    w = lot_w * rng.uniform(0.45, 0.9, len(x0))
    h = lot_h * rng.uniform(0.45, 0.9, len(x0))
    dx = rng.uniform(0, lot_w - w)
    dy = rng.uniform(0, lot_h - h)
    buildings = shapely.box(x0 + dx, y0 + dy, x0 + dx + w, y0 + dy + h)
    heights = rng.choice([3.0, 6.0, 9.0, 18.0, 30.0, 54.0], len(buildings), p=[0.15, 0.15, 0.2, 0.3, 0.15, 0.05])
    # cameras on street centre lines, looking along or across the street
    along_x = rng.random(n_cameras) < 0.5
    line = rng.integers(0, n_side, n_cameras) * pitch
    pos = rng.uniform(0, size_m, n_cameras)
    cx = np.where(along_x, pos, line) + rng.uniform(-3, 3, n_cameras)
    cy = np.where(along_x, line, pos) + rng.uniform(-3, 3, n_cameras)
    cams = pd.DataFrame({
        "x": cx, "y": cy, "kind": "bullet", "heading_deg": rng.uniform(0, 360, n_cameras),
        "hfov_deg": rng.uniform(50, 100, n_cameras), "resolution_px": 1920,
        "height_m": rng.uniform(4, 8, n_cameras), "tilt_deg": rng.uniform(5, 20, n_cameras),
    })
    return buildings, heights, cams


def streets(n_buildings: int = 50_000, size_m: float = 10_000.0, street_m: float = 20.0) -> pd.DataFrame:
    """The street centre lines of :func:`city` (same block pitch), as a frame with class and width."""
    blocks_needed = int(np.ceil(n_buildings / (6 * 0.9)))
    n_side = int(np.ceil(np.sqrt(blocks_needed)))
    pitch = size_m / n_side
    lines = [shapely.LineString([(k * pitch, 0), (k * pitch, size_m)]) for k in range(n_side + 1)]
    lines += [shapely.LineString([(0, k * pitch), (size_m, k * pitch)]) for k in range(n_side + 1)]
    cls = ["primary" if k % 5 == 0 else "secondary" for k in range(n_side + 1)] * 2
    return pd.DataFrame({"class": cls, "width_m": street_m, "name": [f"路{k}" for k in range(len(lines))],
                         "geometry": lines})


def grids(size_m: float = 10_000.0, cell_m: float = 500.0) -> pd.DataFrame:
    """Square grids coded like real ones: 20 communities of 20 grids on a 10 km city."""
    n = round(size_m / cell_m)
    rows = []
    for i in range(n):
        for j in range(n):
            community = "370285001" + f"{(j // 5) * (n // 5) + i // 5 + 1:03d}"
            rows.append({"code": f"{community}{(j % 5) * 5 + i % 5 + 1:03d}", "community_code": community,
                         "geometry": shapely.box(i * cell_m, j * cell_m, (i + 1) * cell_m, (j + 1) * cell_m)})
    return pd.DataFrame(rows)
