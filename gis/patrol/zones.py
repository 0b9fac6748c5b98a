"""Patrol zones (巡区): a station's streets cut into contiguous, balanced, compact zones.

Balanced contiguous growth on the stretch graph (the project's own, like grid planning's growth in
:mod:`gis.gridding`, and for the same reason: the load to balance is given per unit and zones must
stay connected along streets; spopt's region models either fix a floor and not the count (max-p)
or minimise dissimilarity without balancing a load (SKATER, region k-means)):

1. Seeds: the stretch nearest the station, then each next seed the stretch farthest by street
   travel from the seeds so far (k-centre), so zones spread over the area.
2. Growth: the zone with the least load so far takes the unassigned stretch next to it that is
   nearest its seed by street travel; so every zone stays connected and compact, and the loads
   even out as they grow.
3. Stretches no seed reaches along the streets join the nearest zone, and are counted.

The load of a stretch is its uncovered risk × length plus a small share of its length, so
streets without risk are still divided evenly.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra


@dataclass(frozen=True)
class Zoning:
    """Per stretch its zone (0 … n − 1), each zone's seed stretch and load, and how many stretches
    joined a zone without a street connection."""

    zone: np.ndarray
    seeds: np.ndarray
    loads: np.ndarray
    unconnected: int

    @property
    def balance(self) -> float:
        """The heaviest zone's load over the mean (1.0: perfectly even)."""
        return float(self.loads.max() / self.loads.mean()) if len(self.loads) and self.loads.mean() > 0 else 1.0


def grow(adjacency: sp.csr_matrix, lengths: np.ndarray, load: np.ndarray, n_zones: int, first: int,
         midpoints: np.ndarray) -> Zoning:
    """Partition stretches into ``n_zones`` contiguous zones of even load.

    Parameters
    ----------
    adjacency
        Stretch × stretch, non-zero where two stretches meet.
    lengths
        Each stretch's length (m): the street distance between neighbours is half of each.
    load
        What to balance per stretch (≥ 0).
    n_zones
        How many zones (at most one per stretch).
    first
        The stretch nearest the station: the first zone's seed.
    midpoints
        Each stretch's middle (x, y), to place a stretch no street reaches.

    Returns
    -------
    Zoning
        The zone of each stretch, the seeds and the loads.
    """
    n = len(lengths)
    k = max(1, min(int(n_zones), n))
    coo = sp.coo_matrix(adjacency)
    w = (lengths[coo.row] + lengths[coo.col]) / 2.0 + 1e-3
    graph = sp.csr_matrix((w, (coo.row, coo.col)), shape=(n, n))
    seeds = [int(first)]
    dist = [dijkstra(graph, directed=False, indices=first)]
    while len(seeds) < k:
        nearest = np.min(np.vstack(dist), axis=0)
        finite = np.where(np.isfinite(nearest), nearest, -1.0)
        nxt = int(np.argmax(finite))
        if finite[nxt] <= 0:  # the rest is unreachable: seed there anyway, the farthest by straight line
            d = np.min(np.linalg.norm(midpoints[:, None, :] - midpoints[seeds][None], axis=2), axis=1)
            d[seeds] = -1
            nxt = int(np.argmax(d))
        seeds.append(nxt)
        dist.append(dijkstra(graph, directed=False, indices=nxt))
    d_seed = np.vstack(dist)
    zone = np.full(n, -1)
    loads = np.zeros(k)
    frontiers: list[list[tuple[float, int]]] = [[] for _ in range(k)]
    indptr, indices = graph.indptr, graph.indices
    for z, s in enumerate(seeds):
        zone[s] = z
        loads[z] += load[s]
    for z, s in enumerate(seeds):
        for j in indices[indptr[s]:indptr[s + 1]]:
            if zone[j] < 0:
                heapq.heappush(frontiers[z], (float(d_seed[z, j]), int(j)))
    active = set(range(k))
    while active:
        z = min(active, key=lambda q: (loads[q], q))
        front = frontiers[z]
        while front and zone[front[0][1]] >= 0:
            heapq.heappop(front)
        if not front:
            active.discard(z)
            continue
        _, j = heapq.heappop(front)
        zone[j] = z
        loads[z] += load[j]
        for nb in indices[indptr[j]:indptr[j + 1]]:
            if zone[nb] < 0:
                heapq.heappush(front, (float(d_seed[z, nb]), int(nb)))
    rest = np.flatnonzero(zone < 0)
    if len(rest):
        placed = np.flatnonzero(zone >= 0)
        tree = shapely.STRtree(np.asarray(shapely.points(midpoints[placed]), dtype=object))
        near = placed[np.asarray(tree.nearest(shapely.points(midpoints[rest])), dtype=int)]
        zone[rest] = zone[near]
        np.add.at(loads, zone[rest], load[rest])
    return Zoning(zone, np.asarray(seeds), loads, len(rest))


def zone_shapes(area: shapely.Geometry, stretches: np.ndarray, zone: np.ndarray, n_zones: int,
                spacing_m: float = 25.0) -> list[shapely.Geometry]:
    """Each zone as a polygon: the area cut by the Voronoi cells of points along its stretches,
    so the zones tile the station's area without gaps or overlaps."""
    pts, owner = [], []
    for g, z in zip(stretches, zone, strict=True):
        L = shapely.length(g)
        for d in np.arange(0.0, L + 1e-9, spacing_m) if L > 0 else [0.0]:
            pts.append(shapely.line_interpolate_point(g, min(d, L) if L else 0.0))
            owner.append(z)
    if not pts:
        return [shapely.Polygon()] * n_zones
    points = np.asarray(pts, dtype=object)
    xy = shapely.get_coordinates(points).round(3)
    _, first = np.unique(xy, axis=0, return_index=True)
    points, owner_arr = points[np.sort(first)], np.asarray(owner)[np.sort(first)]
    if len(points) < 2:
        return [area if z == owner_arr[0] else shapely.Polygon() for z in range(n_zones)]
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points), extend_to=area, ordered=True))
    out: list[shapely.Geometry] = []
    for z in range(n_zones):
        mine = cells[owner_arr == z]
        out.append(shapely.make_valid(shapely.intersection(shapely.union_all(mine), area)) if len(mine)
                   else shapely.Polygon())
    return out
