"""Checkpoints (卡口): the junctions that intercept the most risk-weighted traffic between grids.

A flow-capturing location model (FCLM, Hodgson 1990) solved as an MCLP by the project's own
solvers (:func:`gis.solvers.solve_mclp`): each flow is a car's shortest path between two grids,
weighted by a gravity model ``risk_o · risk_d / max(travel, 60 s)``; a checkpoint captures a flow
when the path passes it. Candidates are the junctions of the chosen road classes and the points
where those roads leave the area (roads entering it). The heaviest ``od_pairs`` flows are kept.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from gis.patrol.network import StreetGraph
from gis.solvers import solve_mclp


@dataclass(frozen=True)
class Checkpoints:
    """The chosen candidate nodes, the flow each captures first (marginal), the share of all flow
    captured, the solver's bound and status."""

    nodes: np.ndarray
    gains: np.ndarray
    captured: float
    total: float
    bound: float
    status: str


def candidates(graph: StreetGraph, road_classes: tuple[str, ...]) -> np.ndarray:
    """Junctions (≥ 3 stretches) and ends (1 stretch: a road leaving the area) on the given classes."""
    s = graph.stretches
    on = s["road_class"].astype(str).isin(road_classes).to_numpy()
    ends = np.r_[s["u"].to_numpy(), s["v"].to_numpy()]
    degree = np.bincount(ends, minlength=graph.n_nodes)
    main = np.zeros(graph.n_nodes, dtype=bool)
    main[np.r_[s["u"].to_numpy()[on], s["v"].to_numpy()[on]]] = True
    return np.flatnonzero(main & ((degree >= 3) | (degree == 1)))


def choose(graph: StreetGraph, travel: sp.csr_matrix, origins: np.ndarray, weights: np.ndarray, k: int,
           road_classes: tuple[str, ...], *, od_pairs: int = 2000, seconds: float = 30.0) -> Checkpoints:
    """Choose ``k`` checkpoints.

    Parameters
    ----------
    graph
        The street graph.
    travel
        Car travel times on it (:meth:`StreetGraph.travel`).
    origins
        One graph node per grid (its traffic comes and goes there).
    weights
        Each grid's risk (≥ 0).
    k
        How many checkpoints.
    road_classes
        Road classes whose junctions and ends are candidates.
    od_pairs
        The heaviest flows kept.
    seconds
        The MILP's time limit.

    Returns
    -------
    Checkpoints
        The chosen nodes and the flow they capture.
    """
    cand = candidates(graph, road_classes)
    empty = Checkpoints(np.empty(0, dtype=int), np.empty(0), 0.0, 0.0, 0.0, "no candidates")
    if not len(cand) or len(origins) < 2 or k < 1:
        return empty
    dist, pred = graph.shortest(travel, origins)
    pairs = []
    for a in range(len(origins)):
        for b in range(a + 1, len(origins)):
            t = dist[a, origins[b]]
            if np.isfinite(t) and origins[a] != origins[b]:
                pairs.append((float(weights[a] * weights[b] / max(t, 60.0)), a, b))
    pairs = sorted((p for p in pairs if p[0] > 0), reverse=True)[:od_pairs]
    if not pairs:
        return dataclasses.replace(empty, status="no flows")
    col = {int(c): q for q, c in enumerate(cand)}
    rows, cols = [], []
    for r, (_, a, b) in enumerate(pairs):
        for node in graph.path(pred[a], int(origins[a]), int(origins[b])):
            if node in col:
                rows.append(r)
                cols.append(col[node])
    flow = np.array([p[0] for p in pairs])
    A = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(pairs), len(cand)))
    A.sum_duplicates()
    A.data[:] = 1.0
    sol = solve_mclp(A, flow, k=min(k, len(cand)), seconds=seconds)
    return Checkpoints(cand[sol.chosen], np.asarray(sol.gains, dtype=float), float(sol.objective),
                       float(flow.sum()), float(sol.bound), sol.status)

