"""The street graph patrols move on: stretches, the share of each that cameras watch, travel times.

Roads are noded where they cross (:func:`gis.streets.noded`) and cut into stretches of at most
``stretch_m``. Each stretch is an edge between two nodes, and it has a middle node too, so a
patrol can stop on a stretch (its hot spot) and travel times are measured to the stretch itself.
Node ``k < n_nodes`` is a junction or end; node ``n_nodes + e`` is the middle of stretch ``e``.

Travel times are shortest paths (:func:`scipy.sparse.csgraph.dijkstra`) over length / speed of
the unit on each road class; a class the unit may not use (speed 0) has no edge.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
import shapely.ops
from scipy.sparse.csgraph import connected_components, dijkstra

from gis.crs import require_metric
from gis.patrol.routing import Instance, Unit
from gis.streets import noded, segment_ends


def _cut(segments: np.ndarray, max_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Stretches no longer than ``max_m`` (equal pieces), and the segment each came from."""
    lengths = shapely.length(segments)
    pieces = np.maximum(1, np.ceil(lengths / max_m - 1e-9)).astype(int)
    out, src = [], []
    for k, (seg, n) in enumerate(zip(segments, pieces, strict=True)):
        if n == 1:
            out.append(seg)
        else:
            step = 1.0 / n
            out.extend(shapely.ops.substring(seg, i * step, (i + 1) * step, normalized=True) for i in range(n))
        src.extend([k] * n)
    return np.asarray(out, dtype=object), np.asarray(src, dtype=int)


@dataclass
class StreetGraph:
    """Stretches (metric CRS) with their road's class and name, their end nodes and lengths."""

    stretches: gpd.GeoDataFrame  # road_class, name, u, v, length_m, geometry
    nodes: np.ndarray  # (n_nodes, 2) junctions and ends
    _halves: dict[int, tuple[shapely.Geometry, shapely.Geometry]] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, roads: gpd.GeoDataFrame, *, stretch_m: float = 200.0, snap_m: float = 20.0) -> StreetGraph:
        """The graph of a road layer (metric CRS; ``class`` and ``name`` columns used when present).

        A piece of the network that stops short of the rest (a compound's lane ending at its gate,
        a gap in surveyed data) is joined to it by a ``connector`` stretch when the gap is at most
        ``snap_m``; farther pieces stay apart, and what lies on them cannot be reached.
        """
        require_metric("the street graph", roads=roads)
        graph = cls._build(roads, stretch_m)
        links = graph.connectors(snap_m)
        if not links:
            return graph
        extra = gpd.GeoDataFrame({"class": ["connector"] * len(links), "name": [None] * len(links)},
                                 geometry=links, crs=roads.crs)
        keep = [c for c in ("class", "name") if c in roads]
        joined = pd.concat([roads[[*keep, "geometry"]], extra], ignore_index=True)
        return cls._build(gpd.GeoDataFrame(joined, geometry="geometry", crs=roads.crs), stretch_m)

    def connectors(self, snap_m: float) -> list[shapely.Geometry]:
        """Short links (≤ ``snap_m``) from each piece of the network to the largest piece."""
        if not len(self.stretches):
            return []
        s = self.stretches
        adj = sp.csr_matrix((np.ones(len(s)), (s["u"], s["v"])), shape=(self.n_nodes, self.n_nodes))
        _, label = connected_components(adj, directed=False)
        piece = label[s["u"].to_numpy()]
        main = np.bincount(piece).argmax()
        body = shapely.union_all(s.geometry.to_numpy()[piece == main])
        out: list[shapely.Geometry] = []
        for c in sorted(set(piece.tolist()) - {int(main)}):
            part = shapely.union_all(s.geometry.to_numpy()[piece == c])
            if shapely.distance(part, body) <= snap_m:
                out.append(shapely.shortest_line(part, body))
        return out

    @classmethod
    def _build(cls, roads: gpd.GeoDataFrame, stretch_m: float) -> StreetGraph:
        if len(roads) == 0:
            empty = gpd.GeoDataFrame({"road_class": [], "name": [], "u": [], "v": [], "length_m": []},
                                     geometry=[], crs=roads.crs)
            return cls(empty, np.empty((0, 2)))
        segments, owner = noded(roads)
        segments, src = _cut(segments, stretch_m)
        owner = owner[src]
        nodes, node_of, _ = segment_ends(segments)
        n = len(segments)
        cls_col = roads["class"].astype(object).fillna("other").to_numpy() if "class" in roads else np.full(
            len(roads), "other", dtype=object)
        names = roads["name"].astype(object).to_numpy() if "name" in roads else np.full(len(roads), None, dtype=object)
        frame = gpd.GeoDataFrame({"road_class": cls_col[owner], "name": names[owner], "u": node_of[:n],
                                  "v": node_of[n:], "length_m": shapely.length(segments)},
                                 geometry=segments, crs=roads.crs)
        frame = frame[frame["u"] != frame["v"]].reset_index(drop=True)  # a closed loop of one stretch: no travel
        return cls(frame, nodes)

    @property
    def n_nodes(self) -> int:
        """Junctions and ends (the middles of stretches come after them)."""
        return len(self.nodes)

    def middle(self, e: np.ndarray | Sequence[int]) -> np.ndarray:
        """The graph nodes of the middles of stretches ``e``."""
        return self.n_nodes + np.asarray(e, dtype=int)

    def adjacency(self) -> sp.csr_matrix:
        """Stretch × stretch: 1 where two stretches share a node."""
        n = len(self.stretches)
        inc = sp.csr_matrix((np.ones(2 * n), (np.r_[np.arange(n), np.arange(n)],
                                              np.r_[self.stretches["u"], self.stretches["v"]])),
                            shape=(n, self.n_nodes))
        adj = (inc @ inc.T).tocsr()
        adj.setdiag(0)
        adj.eliminate_zeros()
        return (adj > 0).astype(np.int8).tocsr()

    def travel(self, speed: Callable[[str], float]) -> sp.csr_matrix:
        """Seconds along each half stretch for a unit whose km/h on a road class is ``speed(class)``
        (a symmetric matrix over junctions and middles; no edge where the speed is 0)."""
        s = self.stretches
        kmh = np.array([speed(str(c)) for c in s["road_class"]], dtype=float)
        ok = kmh > 0
        half = (s["length_m"].to_numpy(dtype=float) / 2.0) / np.where(ok, kmh / 3.6, 1.0)
        half = np.maximum(half, 1e-3)  # csgraph reads an explicit 0 as no edge
        e = np.flatnonzero(ok)
        mid = self.n_nodes + e
        rows = np.r_[s["u"].to_numpy()[e], mid, s["v"].to_numpy()[e], mid]
        cols = np.r_[mid, s["u"].to_numpy()[e], mid, s["v"].to_numpy()[e]]
        size = self.n_nodes + len(s)
        return sp.csr_matrix((np.r_[half[e], half[e], half[e], half[e]], (rows, cols)), shape=(size, size))

    def shortest(self, graph: sp.csr_matrix, sources: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Seconds from each source to every node, and the predecessors to draw the paths."""
        if len(sources) == 0:
            return np.empty((0, graph.shape[0])), np.empty((0, graph.shape[0]), dtype=int)
        dist, pred = dijkstra(graph, directed=False, indices=np.asarray(sources, dtype=int), return_predecessors=True)
        return np.atleast_2d(dist), np.atleast_2d(pred)

    def nearest_node(self, points: np.ndarray) -> np.ndarray:
        """The junction or end nearest to each point (metric)."""
        tree = shapely.STRtree(np.asarray(shapely.points(self.nodes), dtype=object))
        return np.asarray(tree.nearest(points), dtype=int)

    def _half(self, e: int) -> tuple[shapely.Geometry, shapely.Geometry]:
        if e not in self._halves:
            g = self.stretches.geometry.iloc[e]
            self._halves[e] = (shapely.ops.substring(g, 0.0, 0.5, normalized=True),
                               shapely.ops.substring(g, 0.5, 1.0, normalized=True))
        return self._halves[e]

    def path(self, pred_row: np.ndarray, source: int, target: int) -> list[int]:
        """The nodes from ``source`` to ``target`` along ``pred_row`` (its predecessors; empty when unreachable)."""
        out = [int(target)]
        while out[-1] != source:
            prev = int(pred_row[out[-1]])
            if prev < 0:
                return []
            out.append(prev)
        return out[::-1]

    def path_line(self, nodes: Sequence[int]) -> list[np.ndarray]:
        """The coordinates along a node path, one array per graph edge, in the direction travelled."""
        u = self.stretches["u"].to_numpy()
        out = []
        for a, b in itertools.pairwise(nodes):
            mid, end = (a, b) if a >= self.n_nodes else (b, a)
            first, second = self._half(mid - self.n_nodes)
            if int(u[mid - self.n_nodes]) == end:  # the half u → middle
                xy, forward = shapely.get_coordinates(first), a == end
            else:  # the half middle → v
                xy, forward = shapely.get_coordinates(second), a == mid
            out.append(xy if forward else xy[::-1])
        return out

    def stretches_on(self, nodes: Sequence[int]) -> set[int]:
        """Stretches a node path passes the middle of."""
        return {int(k) - self.n_nodes for k in nodes if k >= self.n_nodes}

    def instance(self, weights: np.ndarray, station: int, units: Sequence[Unit],
                 speeds: Mapping[str, Callable[[str], float]], *, per_station: int = 60
                 ) -> tuple[Instance, np.ndarray, dict[str, np.ndarray], list[int]]:
        """The team orienteering instance of units leaving graph node ``station``.

        The stretches with weight > 0 are the stops: the hottest are offered to the solver (at
        least ``per_station``, and half again what the units could visit if they only dwelt, so they
        never run short); the rest enter the bound only. Travel is per unit kind (``speeds[kind]``
        gives km/h by road class). Returns the instance (depot 0 is the station), the offered
        stretches, the predecessors per kind (rows: the station, then the stops) and the graph
        nodes of those rows.
        """
        w = np.asarray(weights, dtype=float)
        positive = np.flatnonzero(w > 0)
        visits = sum(int(u.shift_s // max(u.dwell_s, 60.0)) for u in units)
        ranked = positive[np.argsort(-w[positive], kind="stable")]
        cut = max(per_station, int(1.5 * visits))
        stops, rest = ranked[:cut], ranked[cut:]
        sources = [int(station), *(int(x) for x in self.middle(stops))]
        travel, preds = {}, {}
        rest_reach = np.zeros((len(units), len(rest)), dtype=bool)
        for kind in sorted({u.kind for u in units}):
            dist, pred = self.shortest(self.travel(speeds[kind]), sources)
            travel[kind], preds[kind] = dist[:, sources], pred
            round_trip = 2.0 * dist[0, self.middle(rest)] if len(rest) else np.empty(0)  # the graph is undirected
            for k, u in enumerate(units):
                if u.kind == kind:
                    rest_reach[k] = round_trip + u.dwell_s <= u.shift_s
        inst = Instance(w[stops], travel, list(units), 1, outside=w[rest], outside_reach=rest_reach)
        return inst, stops, preds, sources


def watched_share(stretches: gpd.GeoSeries, views: Sequence[shapely.Geometry]) -> np.ndarray:
    """The share (0–1) of each stretch's length inside the union of ``views`` (polygons, metric)."""
    geoms = np.asarray(stretches, dtype=object)
    out = np.zeros(len(geoms))
    polys = np.asarray([v for v in views if v is not None and not shapely.is_empty(v)], dtype=object)
    if not len(polys) or not len(geoms):
        return out
    tree = shapely.STRtree(polys)
    s_idx, v_idx = tree.query(geoms, predicate="intersects")
    if not len(s_idx):
        return out
    order = np.argsort(s_idx, kind="stable")
    s_idx, v_idx = s_idx[order], v_idx[order]
    cuts = np.flatnonzero(np.r_[True, s_idx[1:] != s_idx[:-1], True])
    lengths = shapely.length(geoms)
    for a, b in itertools.pairwise(cuts):
        k = int(s_idx[a])
        seen = shapely.intersection(geoms[k], shapely.union_all(polys[v_idx[a:b]]))
        out[k] = min(1.0, shapely.length(seen) / lengths[k]) if lengths[k] > 0 else 0.0
    return out
