"""Public space: a grid minus its building footprints, the road pieces in it, and the street units
cut so they tile the street space. Worked out when first asked for, since a partition's model
answers for its own grids only (:class:`gis.coverage.CoverageModel` holds one).
"""

from __future__ import annotations

import itertools
from typing import cast

import geopandas as gpd
import numpy as np
import shapely
import shapely.ops

from gis import shapes
from gis.streets import street_units

#: lines within this distance (m) of a grid edge count as on it
EDGE_TOLERANCE_M = 0.01


class PublicSpace:
    """The public space, road pieces and street-unit parts of ``grids`` (metric CRS, row positions).

    ``units`` are :func:`gis.streets.street_units` of the whole network when given, else built from
    ``roads``.
    """

    def __init__(self, grids: gpd.GeoDataFrame, buildings: gpd.GeoSeries, roads: gpd.GeoDataFrame,
                 units: gpd.GeoDataFrame | None = None):
        self.grids = grids.reset_index(drop=True)
        self.grid_tree = shapely.STRtree(self.grids.geometry.to_numpy())
        self.building_geoms = np.asarray(buildings.to_numpy(), dtype=object)
        self.building_tree = shapely.STRtree(self.building_geoms)
        self.road_geoms = roads.geometry.to_numpy() if len(roads) else np.empty(0, dtype=object)
        self.road_tree = shapely.STRtree(self.road_geoms)
        self.units = street_units(roads) if units is None else units.reset_index(drop=True)
        self.unit_geoms = self.units.geometry.to_numpy()
        self.unit_tree = shapely.STRtree(self.unit_geoms)
        self._public_cache: dict[int, shapely.Geometry] = {}
        self._road_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._own_cache: dict[int, shapely.Geometry] = {}

    def public_of(self, i: int) -> shapely.Geometry:
        """Grid row ``i`` minus the building footprints in it."""
        if i not in self._public_cache:
            grid = self.grids.geometry.iat[i]
            blds = self.building_geoms[np.sort(self.building_tree.query(grid, predicate="intersects"))]
            self._public_cache[i] = shapes.difference(grid, shapes.union_all(blds)) if len(blds) else grid
        return self._public_cache[i]

    @property
    def public(self) -> gpd.GeoSeries:
        """Every grid's public space (aligned to ``grids``)."""
        return gpd.GeoSeries([self.public_of(i) for i in range(len(self.grids))], index=self.grids.index,
                             crs=self.grids.crs)

    def roads_of(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """The road pieces of grid row ``i`` and their weights (see :meth:`_road_pieces`)."""
        if i not in self._road_cache:
            near = np.sort(self.road_tree.query(self.grids.geometry.iat[i], predicate="dwithin",
                                                 distance=EDGE_TOLERANCE_M))
            self._road_cache[i] = self._road_pieces(i, self.road_geoms[near])
        return self._road_cache[i]

    def own_part(self, k: int) -> shapely.Geometry:
        """Street unit ``k`` minus every earlier unit meeting it (intersections come first), so the
        parts tile the street space: where two corridors overlap, the earlier one owns it."""
        if k not in self._own_cache:
            near = self.unit_tree.query(self.unit_geoms[k], predicate="intersects")
            earlier = np.sort(near[near < k])
            self._own_cache[k] = (shapes.difference(self.unit_geoms[k], shapes.union_all(self.unit_geoms[earlier]))
                            if len(earlier) else self.unit_geoms[k])
        return self._own_cache[k]

    def _road_pieces(self, i: int, roads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Road lines in grid ``i`` with weights: 1 inside, 1/n along a boundary shared by n grids.

        Grid boundaries often follow road centre lines; the weights keep such a road from being
        counted twice, so community totals stay the sums of their grids. Lines within
        ``EDGE_TOLERANCE_M`` of a grid edge count as on it (data that went through lon/lat
        and back is off by ~1e-10 m, which exact overlay would turn into a wobble).
        """
        grid = self.grids.geometry.iat[i]
        near_grid = shapely.buffer(grid, EDGE_TOLERANCE_M)
        edge_zone = shapely.buffer(shapely.boundary(grid), EDGE_TOLERANCE_M)
        pieces: list[shapely.Geometry] = []
        weights: list[float] = []
        for road in roads:
            inside = shapes.lines(shapes.intersection(road, near_grid))
            for part in shapely.get_parts(shapes.lines(shapes.difference(inside, edge_zone))):
                pieces.append(part)
                weights.append(1.0)
            for part in shapely.get_parts(shapes.lines(shapes.intersection(inside, edge_zone))):
                for sub_part in self._split_at_grid_vertices(part):
                    mid = cast(shapely.LineString, sub_part).interpolate(0.5, normalized=True)
                    sharing = self.grid_tree.query(mid, predicate="dwithin", distance=EDGE_TOLERANCE_M)
                    pieces.append(sub_part)
                    weights.append(1.0 / max(len(sharing), 1))
        return np.array(pieces, dtype=object), np.array(weights, dtype=float)

    def _split_at_grid_vertices(self, line: shapely.Geometry) -> list[shapely.Geometry]:
        """Cut a boundary line where any grid corner lies on it, so each piece has one set of neighbours."""
        near = np.sort(self.grid_tree.query(line, predicate="dwithin", distance=EDGE_TOLERANCE_M))
        corners = np.asarray(shapely.points(shapely.get_coordinates(
            shapely.boundary(self.grids.geometry.to_numpy()[near]))), dtype=object)
        on = corners[shapely.dwithin(line, corners, EDGE_TOLERANCE_M)]
        ring = cast(shapely.LineString, line)
        along = np.array(shapely.line_locate_point(ring, list(on)), dtype=float)
        cuts = np.unique(np.concatenate([[0.0, float(shapely.length(line))], along]))
        return [shapely.ops.substring(ring, a, b) for a, b in itertools.pairwise(cuts) if b - a > 1e-9]
