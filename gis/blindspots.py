"""Blind spots of a :class:`gis.coverage.CoverageModel`: every uncovered piece of a grid's public
space, carved into intersections, street stretches and the rest, with its priority
(:func:`gis.indicators.prioritise`). The pieces tile the uncovered space, so blind-spot area +
covered area = public area exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import geopandas as gpd
import numpy as np
import shapely

from gis import shapes
from gis.indicators import prioritise

#: a :class:`gis.coverage.CoverageModel` (which imports this module, so it is not imported here)
CoverageModel = Any

#: uncovered pieces smaller than this (m²: a square millimetre) are overlay noise, not space; a 1e-10 m²
#: sliver of the demo vanished in lon/lat and was stored as an empty polygon
SLIVER_M2 = 1e-6


def spot_pieces(model: CoverageModel, rows: Iterable[int] | None = None) -> gpd.GeoDataFrame:
    """The blind-spot pieces of the given grid rows with their priorities, not yet ranked.

    The uncovered space is carved into intersections, then street stretches, then the rest:
    each street unit owns the part of it no earlier unit holds (``gis.streets.exclusive_parts``),
    so a grid's pieces tile its uncovered space.
    """
    rows = range(len(model.grids)) if rows is None else list(rows)
    level = model.options.blind_spot_level
    found: list[tuple[shapely.Geometry, int, object, object]] = []
    units = cast(gpd.GeoDataFrame, model.units)
    unit_geoms = units.geometry.to_numpy()
    unit_kinds = units["kind"].to_numpy()
    unit_names = units["name"].to_numpy()
    for i in rows:
        grid = model.grids.geometry.iat[i]
        remaining = shapes.difference(model.public_of(i), model.level_unions(grid, [level])[level])
        near = np.sort(model.space.unit_tree.query(remaining, predicate="intersects"))  # intersections first
        pieces: list[tuple[shapely.Geometry, str, object]] = []
        if len(near):
            own = shapes.intersection(remaining, np.array([model.own_part(int(u)) for u in near], dtype=object))
            pieces.extend((g, unit_kinds[u], unit_names[u]) for g, u in zip(own, near, strict=True))
            remaining = shapes.difference(remaining, shapes.union_all(unit_geoms[near]))
        pieces.append((remaining, "off-street", None))
        for geom, kind, name in pieces:
            for piece in shapely.get_parts(geom):
                if piece.geom_type == "Polygon" and piece.area > SLIVER_M2:
                    found.append((piece, i, kind, name))
    parts, grid_rows, kinds, names = (list(col) for col in zip(*found, strict=True)) if found else ([], [], [], [])
    codes = model.grids["code"].to_numpy()[np.asarray(grid_rows, dtype=int)]
    spots = gpd.GeoDataFrame({"grid_code": codes, "kind": kinds, "name": names}, geometry=parts,
                             crs=model.grids.crs)
    return prioritise(spots, model.targets, min_area_m2=model.options.min_area_m2, near_m=model.options.near_m,
                      grid_weight=model.grid_weight)
