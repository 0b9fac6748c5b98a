"""The levels below a grid: 组格 (groups of a few buildings) and 片格 (patches) inside them, as in
Baotou's 网格—组格—片格 responsibility areas.

Each grid is cut into one cell per building (the Voronoi cells of the buildings' representative
points, clipped to the grid: they tile it exactly, streets and yards included), and the cells are
grown into contiguous 组格 within a household range by :func:`gis.gridding.grow`, the same growth
that plans grids; each 组格's cells are grown again into 片格 with a smaller range. Codes extend the
parent's by two digits (grid code + 2 for a 组格, + 2 more for a 片格), numbered west → east within
north → south bands. A grid without buildings is one 组格 holding one 片格.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from gis import gridding

#: the levels below a grid, top down, with their Chinese names
LEVELS = {"group": "组格", "patch": "片格"}


@dataclass(frozen=True)
class SubgridRules:
    """The household ranges of a 组格 and of a 片格, and the band (m) they are numbered in."""

    group_min: int = 60
    group_max: int = 150
    patch_min: int = 15
    patch_max: int = 50
    band_m: float = 60.0

    def __post_init__(self) -> None:
        if not (0 < self.patch_min <= self.patch_max and 0 < self.group_min <= self.group_max):
            raise ValueError(f"household ranges must satisfy 0 < min ≤ max: 组格 {self.group_min}–{self.group_max}, "
                             f"片格 {self.patch_min}–{self.patch_max}")


def building_cells(area: shapely.Geometry, points: np.ndarray) -> list[shapely.Geometry]:
    """One cell per point (buildings' representative points inside ``area``): the Voronoi cells, clipped
    to the area, so that they tile it; points at the same place share one cell (the first gets it)."""
    if not len(points):
        return []
    if len(points) == 1:
        return [area]
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points), extend_to=area))
    tree = shapely.STRtree(cells)
    p_idx, c_idx = tree.query(points, predicate="intersects")
    owner: dict[int, int] = {}
    for p, c in zip(p_idx.tolist(), c_idx.tolist(), strict=True):
        owner.setdefault(c, p)
    out: list[shapely.Geometry] = [shapely.Polygon()] * len(points)
    for c, p in owner.items():
        out[p] = shapely.intersection(cells[c], area)
    return out


def _numbered(parent: str, regions: list[dict[str, object]], band_m: float) -> list[tuple[str, dict[str, object]]]:
    if len(regions) > 99:
        raise ValueError(f"{parent}: {len(regions)} sub-areas do not fit two-digit codes: raise the household range")
    geoms = np.array([r["geometry"] for r in regions], dtype=object)
    top = float(shapely.bounds(geoms)[:, 3].max())
    c = shapely.centroid(geoms)
    order = sorted(range(len(regions)), key=lambda k: ((top - shapely.get_y(c[k])) // band_m, shapely.get_x(c[k])))
    return [(f"{parent}{n + 1:02d}", regions[k]) for n, k in enumerate(order)]


def _grow(cells: list[shapely.Geometry], points: np.ndarray, counts: np.ndarray, members: np.ndarray, lo: int,
          hi: int, band_m: float) -> list[dict[str, object]]:
    units = [{"geometry": cells[k], "households": float(counts[k]), "kind": "basic", "name": None}
             for k in members if not shapely.is_empty(cells[k])]
    if not units:
        return []
    regions = gridding.grow(units, gridding.Rules(lo, hi, band_m))
    # a building is in the region holding its point (inside its own cell, so inside one region only)
    taken = np.zeros(len(members), dtype=bool)
    for r in regions:
        geom: shapely.Geometry = r["geometry"]  # type: ignore[assignment]
        here = ~taken & shapely.intersects(geom, points[members])
        taken |= here
        r["_b"] = members[here].tolist()
    return regions


def plan(grid_code: str, grid: shapely.Geometry, points: np.ndarray, households: np.ndarray,
         rules: SubgridRules = SubgridRules()) -> gpd.GeoDataFrame:
    """组格 and 片格 of one grid (metric CRS): ``points`` are its buildings' representative points and
    ``households`` their household counts. Returns code, level, parent_code, grid_code, households,
    buildings, the row positions of the buildings (``members``), a note where a range is not met, and
    the geometry; the 片格 of each 组格 tile it and the 组格 tile the grid."""
    cells = building_cells(grid, points)
    counts = np.asarray(households, dtype=float)
    groups = _grow(cells, points, counts, np.arange(len(cells)), rules.group_min, rules.group_max, rules.band_m) or [
        {"geometry": grid, "households": 0.0, "note": "", "_b": []}]
    rows = []
    for code, g in _numbered(grid_code, groups, rules.band_m):
        members = np.array(g["_b"], dtype=int)
        rows.append({"code": code, "level": "group", "parent_code": grid_code, "grid_code": grid_code,
                     "households": float(counts[members].sum()), "buildings": len(members),
                     "members": members.tolist(), "note": g.get("note", ""), "geometry": g["geometry"]})
        patches = _grow(cells, points, counts, members, rules.patch_min, rules.patch_max, rules.band_m) or [
            {"geometry": g["geometry"], "households": 0.0, "note": "", "_b": []}]
        for pcode, pch in _numbered(code, patches, rules.band_m):
            inside = np.array(pch["_b"], dtype=int)
            rows.append({"code": pcode, "level": "patch", "parent_code": code, "grid_code": grid_code,
                         "households": float(counts[inside].sum()), "buildings": len(inside),
                         "members": inside.tolist(), "note": pch.get("note", ""), "geometry": pch["geometry"]})
    frame = gpd.GeoDataFrame(rows, geometry="geometry")
    frame["geometry"] = [shapely.normalize(g) for g in frame.geometry]
    return frame
