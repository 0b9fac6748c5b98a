"""The team orienteering problem solved exactly (HiGHS), for small instances: the yardstick the
heuristic (:func:`gis.patrol.routing.solve`) is measured against in ``benchmarks/patrol.py``.

A route is a set of stops visited in the best order, and with shortest-path travel times a subset of
a feasible set is feasible too (dropping a stop never lengthens the tour). So a unit class's feasible
sets are enumerated level by level with the Held–Karp recursion ``f(S, j)`` (the quickest way from
the station through all of S ending at j, dwell included; a path that could not get back in time is
dropped, since no longer path can), vectorised with numpy. Two facts keep the model small:

- only the *maximal* feasible sets are columns, in a maximum-coverage model (a stop two chosen
  routes share is counted once, and dropping it from one of them leaves both feasible);
- when every set of up to ``k`` of a class's stops is feasible (a car whose shift only dwell
  limits), those sets are not columns at all: the class's free units pick up to ``k`` stops each.

The model is exact, so HiGHS's optimum is the problem's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from gis.patrol.routing import Instance, Plan, Route, classes, reachable, route_of
from gis.solvers import run_highs

#: the enumeration stops (and the exact solve refuses) beyond this many feasible sets of one class
MAX_SETS = 5_000_000


@dataclass
class Family:
    """The feasible sets of one unit class over its stops: every set of at most ``k`` stops is
    feasible, and ``masks`` (bit masks over ``stops``) are the maximal feasible sets larger than k."""

    stops: list[int]
    k: int
    masks: np.ndarray
    total: int


def family(t: np.ndarray, depot: int, stops: Sequence[int], locs: Sequence[int], dwell: float, shift: float,
           chunk: int = 4096) -> Family:
    """Enumerate the sets of ``stops`` (locations ``locs``) a unit can visit from ``depot`` within
    ``shift``, dwelling ``dwell`` at each; see :class:`Family`."""
    n = len(locs)
    if n > 62:
        raise ValueError(f"the exact solve takes at most 62 stops per unit class, not {n}")
    loc = np.asarray(locs, dtype=int)
    go, back, tt = t[depot, loc], t[loc, depot], t[np.ix_(loc, loc)]
    bits = np.left_shift(np.int64(1), np.arange(n, dtype=np.int64))
    first = np.flatnonzero(go + dwell + back <= shift + 1e-6)
    masks = bits[first]
    f = np.full((len(first), n), np.inf)
    f[np.arange(len(first)), first] = go[first] + dwell
    size, k, uniform, total = 1, 0, True, len(masks)
    maximal = []
    while len(masks):
        if uniform and len(masks) == math.comb(n, size):
            k = size
        else:
            uniform = False
        new_m, new_k, new_v = [], [], []
        for a in range(0, len(masks), chunk):
            reach = np.min(f[a:a + chunk, :, None] + tt[None], axis=1) + dwell  # f(S + j, j)
            inside = (masks[a:a + chunk, None] & bits[None]) != 0
            r, j = np.nonzero(~inside & (reach + back[None] <= shift + 1e-6))
            new_m.append(masks[a + r] | bits[j])
            new_k.append(j)
            new_v.append(reach[r, j])
        grown = np.concatenate(new_m)
        children, inv = np.unique(grown, return_inverse=True)
        g = np.full((len(children), n), np.inf)
        np.minimum.at(g, (inv, np.concatenate(new_k)), np.concatenate(new_v))
        member = (children[:, None] & bits[None]) != 0
        parents = np.unique((children[:, None] & ~bits[None])[member])
        if size > k:
            maximal.append(masks[~np.isin(masks, parents)])
        masks, f, size = children, g, size + 1
        total += len(masks)
        if total > MAX_SETS:
            raise ValueError(f"more than {MAX_SETS:,} feasible routes for one unit class: too large to solve exactly")
    return Family(list(stops), k, np.concatenate(maximal) if maximal else np.empty(0, dtype=np.int64), total)


def best_order(t: np.ndarray, depot: int, locs: Sequence[int], dwell: float) -> tuple[list[int], float]:
    """The quickest order (positions in ``locs``) to visit a few stops from the station and back, and its
    time with the dwells (Held–Karp; for a route's handful of stops)."""
    n = len(locs)
    if not n:
        return [], 0.0
    loc = np.asarray(locs, dtype=int)
    best: dict[tuple[int, int], tuple[float, int]] = {(1 << j, j): (float(t[depot, loc[j]]) + dwell, -1)
                                                       for j in range(n)}
    for mask in range(1, 1 << n):
        for j in range(n):
            here = best.get((mask, j))
            if here is None:
                continue
            for m in range(n):
                if not (mask >> m) & 1:
                    value = here[0] + float(t[loc[j], loc[m]]) + dwell
                    key = (mask | (1 << m), m)
                    if key not in best or value < best[key][0]:
                        best[key] = (value, j)
    full = (1 << n) - 1
    end = min(range(n), key=lambda j: best[(full, j)][0] + float(t[loc[j], depot]))
    total = best[(full, end)][0] + float(t[loc[end], depot])
    order, mask, j = [], full, end
    while j >= 0:
        order.append(j)
        prev = best[(mask, j)][1]
        mask ^= 1 << j
        j = prev
    return order[::-1], total


def _bits(mask: int) -> list[int]:
    return [b for b in range(int(mask).bit_length()) if (int(mask) >> b) & 1]


def solve_exact(inst: Instance, *, seconds: float = 60.0, start: Plan | None = None) -> Plan:
    """The team orienteering problem solved to optimality (HiGHS), for small instances.

    For each class c of interchangeable units (``m_c`` of them): ``x_cS`` binary for each maximal
    feasible set S larger than ``k_c``, ``w_c`` (integer, 0…m_c) units that pick freely, ``y_ci``
    binary the stops they pick; ``z_i`` ∈ [0, 1] whether stop i is visited:

    - max ``Σ p_i z_i`` with ``z_i ≤ Σ_c (Σ_{S∋i} x_cS + y_ci)``;
    - ``Σ_S x_cS + w_c ≤ m_c`` and ``Σ_i y_ci ≤ k_c w_c``.

    Parameters
    ----------
    inst
        The stops, prizes, travel times and units.
    seconds
        HiGHS's time limit (the enumeration comes before it).
    start
        A feasible plan (PyVRP's, say) HiGHS starts from.

    Returns
    -------
    Plan
        The best routes and the proven bound; the status is ``Optimal`` when they meet.
    """
    t0 = time.perf_counter()
    n, D = inst.n_stops, inst.n_depots
    p = np.asarray(inst.prizes, dtype=float)
    reach = reachable(inst)
    cost: list[float] = []
    upper: list[float] = []
    integer: list[bool] = []
    rows: list[tuple[dict[int, float], float]] = []  # Σ coef · col ≤ bound

    def col(c: float, hi: float = 1.0, whole: bool = True) -> int:
        cost.append(c)
        upper.append(hi)
        integer.append(whole)
        return len(cost) - 1

    z = [col(float(p[i]), whole=False) for i in range(n)]
    cover: list[dict[int, float]] = [{z[i]: 1.0} for i in range(n)]
    layout = []
    for (kind, depot, shift, dwell), members in classes(inst.units).items():
        stops = np.flatnonzero(reach[inst.units.index(members[0])]).tolist()
        fam = family(inst.travel[kind], depot, stops, [D + s for s in stops], dwell, shift)
        xs = [col(0.0) for _ in fam.masks]
        for c, mask in zip(xs, fam.masks.tolist(), strict=True):
            for b in _bits(mask):
                cover[stops[b]][c] = -1.0
        w = col(0.0, float(len(members))) if fam.k else None
        ys = {s: col(0.0) for s in stops} if fam.k else {}
        for s, c in ys.items():
            cover[s][c] = -1.0
        rows.append(({**dict.fromkeys(xs, 1.0), **({w: 1.0} if w is not None else {})}, float(len(members))))
        if w is not None:
            rows.append(({**dict.fromkeys(ys.values(), 1.0), w: -float(fam.k)}, 0.0))
        layout.append((members, fam, xs, w, ys))
    rows += [(cover[i], 0.0) for i in range(n)]
    r_idx = [r for r, (coefs, _) in enumerate(rows) for _ in coefs]
    c_idx = [c for coefs, _ in rows for c in coefs]
    vals = [v for coefs, _ in rows for v in coefs.values()]
    A = sp.csc_matrix((vals, (r_idx, c_idx)), shape=(len(rows), len(cost)))
    warm = _start_vector(len(cost), z, layout, start)
    values, _, bound, status = run_highs(len(cost), np.array(cost), np.zeros(len(cost)), np.array(upper),
                                         np.array(integer), A, np.full(len(rows), -np.inf),
                                         np.array([b for _, b in rows]), True, seconds, warm, 1)
    routes = _routes(inst, values, layout) if len(values) else [route_of(inst, u, []) for u in inst.units]
    objective = float(sum(r.prize for r in routes))
    if start is not None and start.objective > objective + 1e-9:
        routes, objective = list(start.routes), float(start.objective)
    routes.sort(key=lambda r: inst.units.index(r.unit))
    proven = objective if status == "Optimal" else max(bound, objective)
    return Plan(routes, objective, proven, "maximal routes, set cover (HiGHS)", time.perf_counter() - t0, status)


def _routes(inst: Instance, values: np.ndarray, layout: list) -> list[Route]:
    """Each unit's route in HiGHS's answer: its set's stops not already on an earlier route, in the
    quickest order."""
    taken: set[int] = set()
    routes = []
    for members, fam, xs, w, ys in layout:
        sets = [[fam.stops[b] for b in _bits(m)] for c, m in zip(xs, fam.masks.tolist(), strict=True)
                if values[c] > 0.5]
        if w is not None:
            free = [s for s, c in ys.items() if values[c] > 0.5 and s not in taken]
            sets += [free[q:q + fam.k] for q in range(0, len(free), fam.k)]
        for unit, chosen in zip(members, sets + [[]] * len(members), strict=False):
            mine = [s for s in chosen if s not in taken]
            taken.update(mine)
            order, _ = best_order(inst.travel[unit.kind], unit.depot, [inst.n_depots + s for s in mine],
                                  unit.dwell_s)
            routes.append(route_of(inst, unit, [mine[q] for q in order]))
    return routes


def _start_vector(m: int, z: list[int], layout: list, start: Plan | None) -> np.ndarray | None:
    """The model's columns for a feasible plan: each route in the free part when it is small enough,
    else in a maximal set that holds it."""
    if start is None:
        return None
    vec = np.zeros(m)
    by_unit: dict[int, Route] = {id(r.unit): r for r in start.routes}
    for members, fam, xs, w, ys in layout:
        where = {s: b for b, s in enumerate(fam.stops)}
        for unit in members:
            r = by_unit.get(id(unit))
            if r is None or not r.stops:
                continue
            for s in r.stops:
                vec[z[s]] = 1.0
            if w is not None and len(r.stops) <= fam.k:
                vec[w] += 1.0
                for s in r.stops:
                    vec[ys[s]] = 1.0
                continue
            mask = sum(1 << where[s] for s in r.stops)
            holds = np.flatnonzero((fam.masks & mask) == mask)
            if not len(holds):
                return None
            vec[xs[int(holds[0])]] = 1.0
    return vec


