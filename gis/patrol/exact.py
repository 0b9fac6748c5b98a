"""The team orienteering problem solved exactly (HiGHS), for small instances: the yardstick the
heuristic (:func:`gis.patrol.routing.solve`) is measured against in ``benchmarks/patrol.py``.

The formulation is the *time-flow* one: instead of an arrival time per stop tied to the arcs by
big-M rows (Miller–Tucker–Zemlin), each arc carries the time at which a unit leaves along it. Time
is conserved at every stop (leaving = arriving + travel + dwell), which rules out subtours, and the
bounds on each arc's time are multiples of the arc's own variable, so the LP relaxation is much
tighter than MTZ's (measured in ``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import scipy.sparse as sp

from gis.patrol.routing import Instance, Plan, cheapest_way_in, classes, reachable, route_of
from gis.solvers import run_highs


class _Model:
    """Columns and rows of the MILP as it is built."""

    def __init__(self) -> None:
        self.cols: list[tuple[float, float, float, bool]] = []  # cost, lower, upper, integer
        self.rows: list[tuple[dict[int, float], float, float]] = []

    def col(self, cost: float, lower: float, upper: float, integer: bool) -> int:
        self.cols.append((cost, lower, upper, integer))
        return len(self.cols) - 1

    def row(self, coefs: dict[int, float], lower: float, upper: float) -> None:
        self.rows.append((coefs, lower, upper))

    def matrix(self) -> sp.csc_matrix:
        r_idx, c_idx, vals = [], [], []
        for r, (coefs, _, _) in enumerate(self.rows):
            for c, v in coefs.items():
                r_idx.append(r)
                c_idx.append(c)
                vals.append(v)
        return sp.csc_matrix((vals, (r_idx, c_idx)), shape=(len(self.rows), len(self.cols)))


def solve_exact(inst: Instance, *, seconds: float = 60.0, start: Plan | None = None) -> Plan:
    """The team orienteering MILP, solved by HiGHS (for small instances: a few dozen stops).

    Interchangeable units (same kind, station, shift, dwell) share one set of arc variables, so the
    model has no symmetry between them. For a class c with ``m_c`` units, node 0 its station:

    - ``x_cij`` binary: a unit of class c goes from i to j; ``y_cj`` binary: class c visits stop j;
    - ``z_cij ≥ 0``: the time (s from the shift start) a unit leaves i along arc ij, 0 if unused;
      leaving the station is at 0;
    - ``Σ_j x_c0j ≤ m_c`` units leave and as many return; in = out = ``y_cj`` at every stop;
    - time flow at every stop k: ``Σ_l z_ckl = Σ_i z_cik + Σ_i (t_ik + dwell) x_cik``;
    - ``(t_0i + dwell) x_cij ≤ z_cij ≤ (shift − t_ij − dwell − t_j0) x_cij`` (``− t_i0`` only, for the
      way back): travel times are shortest paths, so no detour is faster than going straight;
    - ``Σ_c y_cj ≤ 1``: each stop counted once; ``x_cij + x_cji ≤ y_ci``; each class's visits and time
      within what its shifts hold.

    Parameters
    ----------
    inst
        The stops, prizes, travel times and units.
    seconds
        HiGHS's time limit.
    start
        A feasible plan (PyVRP's, say) HiGHS starts from, so it prunes with its prize from the start.

    Returns
    -------
    Plan
        HiGHS's best routes and its proven bound (equal to the objective when the status is Optimal).
    """
    t0 = time.perf_counter()
    n, D = inst.n_stops, inst.n_depots
    p = np.asarray(inst.prizes, dtype=float)
    reach = reachable(inst)
    mdl = _Model()
    layout = []
    for (kind, depot, shift, dwell), members in classes(inst.units).items():
        t = inst.travel[kind]
        k0 = inst.units.index(members[0])
        loc = np.r_[depot, D + np.arange(n)]  # node → location
        ok = np.r_[True, reach[k0]]
        tt = t[np.ix_(loc, loc)]
        out0 = tt[0, :]  # station → node
        back = tt[:, 0]  # node → station
        x: dict[tuple[int, int], int] = {}
        z: dict[tuple[int, int], int] = {}
        for i in range(n + 1):
            for j in range(n + 1):
                if i == j or not (ok[i] and ok[j]) or not np.isfinite(tt[i, j]):
                    continue
                earliest = out0[i] + dwell if i else 0.0
                latest = shift - tt[i, j] - (dwell + back[j] if j else 0.0)
                if latest < earliest - 1e-6:
                    continue  # no route of the shift can take this arc
                x[(i, j)] = mdl.col(0.0, 0.0, 1.0, True)
                if i:
                    z[(i, j)] = mdl.col(0.0, 0.0, float(latest), False)
                    mdl.row({z[(i, j)]: 1.0, x[(i, j)]: -float(earliest)}, 0.0, np.inf)
                    mdl.row({z[(i, j)]: 1.0, x[(i, j)]: -float(latest)}, -np.inf, 0.0)
        y = {j: mdl.col(float(p[j - 1]) if ok[j] else 0.0, 0.0, 1.0 if ok[j] else 0.0, True) for j in range(1, n + 1)}
        layout.append((members, x, y, z))
        leave = {x[(0, j)]: 1.0 for j in range(1, n + 1) if (0, j) in x}
        mdl.row(leave, -np.inf, float(len(members)))
        mdl.row({**leave, **{x[(j, 0)]: -1.0 for j in range(1, n + 1) if (j, 0) in x}}, 0.0, 0.0)
        for k in range(1, n + 1):
            mdl.row({**{x[(i, k)]: 1.0 for i in range(n + 1) if (i, k) in x}, y[k]: -1.0}, 0.0, 0.0)
            mdl.row({**{x[(k, b)]: 1.0 for b in range(n + 1) if (k, b) in x}, y[k]: -1.0}, 0.0, 0.0)
            flow = {z[(k, b)]: 1.0 for b in range(n + 1) if (k, b) in z}
            for i in range(n + 1):
                if (i, k) in x:
                    flow[x[(i, k)]] = -float(tt[i, k] + dwell)
                    if (i, k) in z:
                        flow[z[(i, k)]] = -1.0
            mdl.row(flow, 0.0, 0.0)
        for (i, j), c in x.items():
            if i and j and i < j and (j, i) in x:
                mdl.row({c: 1.0, x[(j, i)]: 1.0, y[i]: -1.0}, -np.inf, 0.0)  # no 2-cycles
        way_in = np.sort((cheapest_way_in(inst, k0) + dwell)[reach[k0]])
        most = int(np.searchsorted(np.cumsum(way_in), shift + 1e-6, side="right"))  # visits one shift can hold
        mdl.row({y[j]: 1.0 for j in range(1, n + 1)}, -np.inf, float(most * len(members)))
        mdl.row({**{c: float(tt[i, j]) for (i, j), c in x.items()},  # all the class's time together
                 **{y[j]: float(dwell) for j in range(1, n + 1)}}, -np.inf, float(shift * len(members)))
    for j in range(1, n + 1):
        mdl.row({y[j]: 1.0 for _, _, y, _ in layout}, -np.inf, 1.0)
    c_arr = np.array(mdl.cols, dtype=float).reshape(-1, 4)
    warm = _start_vector(inst, layout, mdl, start) if start is not None else None
    values, _, bound, status = run_highs(len(mdl.cols), c_arr[:, 0], c_arr[:, 1], c_arr[:, 2], c_arr[:, 3] > 0,
                                         mdl.matrix(), np.array([r[1] for r in mdl.rows]),
                                         np.array([r[2] for r in mdl.rows]), True, seconds, warm, 1)
    routes = []
    for members, x, _, _ in layout:
        chosen = {a for a, c in x.items() if len(values) and values[c] > 0.5}
        starts = sorted(j for (i, j) in chosen if i == 0)
        nxt = {i: j for (i, j) in chosen if i}
        for unit, first in zip(members, starts + [0] * len(members), strict=False):
            stops: list[int] = []
            here = first
            while here and len(stops) <= n:
                stops.append(here - 1)
                here = nxt.get(here, 0)
            routes.append(route_of(inst, unit, stops))
    routes.sort(key=lambda r: inst.units.index(r.unit))
    objective = float(sum(r.prize for r in routes))
    if start is not None and start.objective > objective + 1e-9:
        routes, objective = start.routes, start.objective  # HiGHS found nothing better than its start
    proven = objective if status == "Optimal" else bound
    return Plan(routes, objective, max(proven, objective), "MILP (HiGHS, time flow)", time.perf_counter() - t0,
                status)


def _start_vector(inst: Instance, layout: list, mdl: _Model, start: Plan) -> np.ndarray | None:
    """The MILP's columns for a given plan (arcs, visits and the time leaving along each arc), or None
    if the plan uses an arc the model left out."""
    vec = np.zeros(len(mdl.cols))
    by_unit = {id(r.unit): r for r in start.routes}
    for members, x, y, z in layout:
        for unit in members:
            r = by_unit.get(id(unit))
            if r is None or not r.stops:
                continue
            leaving = [0.0] + [a + unit.dwell_s for a in r.arrivals]
            nodes = [0] + [s + 1 for s in r.stops] + [0]
            for q, (a, b) in enumerate(itertools.pairwise(nodes)):
                if (a, b) not in x:
                    return None
                vec[x[(a, b)]] = 1.0
                if a:
                    vec[z[(a, b)]] = leaving[q]
            for s in r.stops:
                vec[y[s + 1]] = 1.0
    return vec
