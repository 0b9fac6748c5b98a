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
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from gis import coverage, public, streets

#: metres added to a tile's halo beyond the longest reach, against rounding at the edge
HALO_MARGIN_M = 1.0


@dataclass(frozen=True)
class Tile:
    """One tile of a partitioned run: its key on the fixed grid of tiles, its cameras and the buildings
    within its halo (positions in the whole tables), and the halo width (m)."""

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


def _boxes(geoms: np.ndarray, pad: float = 0.0) -> np.ndarray:
    b = shapely.bounds(geoms)
    return shapely.box(b[:, 0] - pad, b[:, 1] - pad, b[:, 2] + pad, b[:, 3] + pad)


def _rows(*parts: np.ndarray) -> np.ndarray:
    return np.unique(np.concatenate([np.asarray(p, dtype=np.int64) for p in parts])) if parts else np.empty(0, int)


def coverage_tiles(inputs: dict[str, Any], tile_m: float) -> tuple[list[dict[str, Any]], gpd.GeoDataFrame]:
    """Cut the coverage work into tiles of ``tile_m`` metres.

    A grid (or a key target) belongs to the tile its representative point falls in. A tile's
    model holds, in the city's order, everything its answers depend on: its grids and their
    neighbours (road stretches on a shared edge are split between the grids sharing it; a camera
    on a boundary stands in the first grid), the buildings and roads on its own grids and targets,
    the cameras whose outer view's box meets them (or that stand in its grids), the targets within
    the blind-spot distance, and the street units meeting its grids with the units meeting those (a
    unit's own part is the unit minus the earlier units meeting it). The model works out public
    space, road pieces and own parts only for the grids it is asked about. Returns the tiles and
    the city's units.
    """
    grids = inputs["grids"]
    targets = inputs["targets"]
    options: coverage.Options = inputs["options"]
    g_geoms = grids.geometry.to_numpy()
    t_geoms = targets.geometry.to_numpy()
    units = streets.street_units(inputs["roads"])
    u_geoms = units.geometry.to_numpy()
    views = inputs["views"]
    outer = views[views.columns[0]].to_numpy() if len(views) else np.empty(0, dtype=object)
    has_view = ~(shapely.is_empty(outer) | shapely.is_missing(outer)) if len(outer) else np.empty(0, bool)
    view_idx = np.flatnonzero(has_view)
    view_tree = shapely.STRtree(_boxes(outer[view_idx]))
    cam_tree = shapely.STRtree(inputs["cameras"].geometry.to_numpy())
    grid_tree = shapely.STRtree(g_geoms)
    bld_tree = shapely.STRtree(inputs["buildings"].to_numpy())
    road_tree = shapely.STRtree(inputs["roads"].geometry.to_numpy())
    unit_tree = shapely.STRtree(u_geoms)
    target_tree = shapely.STRtree(t_geoms)

    def cell(geoms: np.ndarray) -> np.ndarray:
        if len(geoms) == 0:
            return np.empty((0, 2), dtype=np.int64)
        pts = shapely.get_coordinates(shapely.point_on_surface(geoms))
        return np.floor(pts / tile_m).astype(np.int64)

    g_cells, t_cells = cell(g_geoms), cell(t_geoms)
    keys = sorted({tuple(c) for c in g_cells.tolist()} | {tuple(c) for c in t_cells.tolist()})
    tiles = []
    for key in keys:
        own_g = np.flatnonzero((g_cells == key).all(axis=1)) if len(g_cells) else np.empty(0, int)
        own_t = np.flatnonzero((t_cells == key).all(axis=1)) if len(t_cells) else np.empty(0, int)
        gg, tt = g_geoms[own_g], t_geoms[own_t]
        sub_g = _rows(own_g, grid_tree.query(gg, predicate="dwithin", distance=public.EDGE_TOLERANCE_M)[1])
        sub_t = _rows(own_t, target_tree.query(gg, predicate="dwithin", distance=options.near_m)[1])
        region = np.concatenate([gg, _boxes(tt, 0.01)])  # a point target is looked at through a 0.01 m disc
        cams = _rows(view_idx[view_tree.query(_boxes(region), predicate="intersects")[1]],
                     cam_tree.query(gg, predicate="intersects")[1])
        blds = _rows(bld_tree.query(region, predicate="intersects")[1])
        roads = _rows(road_tree.query(gg, predicate="dwithin", distance=public.EDGE_TOLERANCE_M)[1])
        first = _rows(unit_tree.query(gg, predicate="intersects")[1])
        sub_u = _rows(first, unit_tree.query(u_geoms[first], predicate="intersects")[1])
        sub = {"grids": grids.iloc[sub_g].reset_index(drop=True),
               "buildings": inputs["buildings"].iloc[blds].reset_index(drop=True),
               "roads": inputs["roads"].iloc[roads].reset_index(drop=True),
               "targets": targets.iloc[sub_t].reset_index(drop=True),
               "cameras": inputs["cameras"].iloc[cams].reset_index(drop=True),
               "views": views.iloc[cams], "options": options, "grid_weight": inputs.get("grid_weight"),
               "units": units.iloc[sub_u].reset_index(drop=True)}
        if inputs.get("presets") is not None:  # the tours of the tile's PTZ cameras
            sub["presets"] = inputs["presets"][inputs["presets"]["camera"].isin(views.index[cams])]
        tiles.append({"key": key, "sub": sub, "grids": own_g, "targets": own_t,
                      "grid_rows": np.searchsorted(sub_g, own_g), "target_rows": np.searchsorted(sub_t, own_t)})
    return tiles, units


def grid_index(grids: gpd.GeoDataFrame, points: np.ndarray) -> np.ndarray:
    """The one grid each point falls in.

    Parameters
    ----------
    grids
        The grids (any CRS the points share).
    points
        Point geometries.

    Returns
    -------
    numpy.ndarray
        Per point, the position of its grid in ``grids`` (the first on a shared boundary), −1 outside
        every grid.
    """
    tree = shapely.STRtree(grids.geometry.to_numpy())
    p_idx, g_idx = tree.query(points, predicate="intersects")
    out = np.full(len(points), -1)
    order = np.lexsort((g_idx, p_idx))
    p_idx, g_idx = p_idx[order], g_idx[order]
    first = np.r_[True, p_idx[1:] != p_idx[:-1]] if len(p_idx) else np.empty(0, dtype=bool)
    out[p_idx[first]] = g_idx[first]
    return out
