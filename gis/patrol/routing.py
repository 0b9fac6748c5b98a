"""Patrol routes as a team orienteering problem: each unit leaves its station, visits hot spots,
dwells at each, and returns within its shift; together the units collect the most prize
(uncovered risk), each hot spot counted once.

- :func:`solve` uses PyVRP (prize-collecting VRP: optional clients with prizes, one routing profile
  per unit kind, the shift as the vehicle's shift duration). Its travel times are rounded *up* to
  whole seconds, so every route it returns fits its shift on the real times too.
- :func:`upper_bound` is an LP relaxation (HiGHS): each visit costs at least its dwell plus the
  fastest way into the stop, within each unit's shift, each stop at most once.
- :func:`gis.patrol.exact.solve_exact` is the MILP (HiGHS) for small instances.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from gis.solvers import run_highs

#: the reasons a plan gives, by code (the words people read are ``patrol.reason_<code>`` in :mod:`api.i18n`):
#: no units; no uncovered risk anywhere; the shift too short to reach any stop; units of different dwell
#: (the solver used the longest); no feasible plan found in time; a unit left without a stop ("idle")
REASONS = ("no_units", "no_prize", "unreachable", "mixed_dwell", "infeasible", "idle")


@dataclass(frozen=True)
class Unit:
    """One patrol unit: its name, kind (a profile of ``Instance.travel``), station (a depot location),
    shift and dwell at each stop (seconds)."""

    name: str
    kind: str
    depot: int
    shift_s: float
    dwell_s: float


@dataclass(frozen=True)
class Instance:
    """Locations ``0 … n_depots − 1`` are stations, ``n_depots + i`` is stop ``i``; ``travel[kind]`` is
    the seconds between locations for that unit kind (``inf``: unreachable)."""

    prizes: np.ndarray
    travel: Mapping[str, np.ndarray]
    units: Sequence[Unit]
    n_depots: int = 1
    #: prizes of the stops left out of the routing (the cooler ones), and unit × those stops: whether the
    #: unit reaches it, dwells and is back in its shift; the bound counts them, so it holds for all stops
    outside: np.ndarray = field(default_factory=lambda: np.empty(0))
    outside_reach: np.ndarray = field(default_factory=lambda: np.empty((0, 0), dtype=bool))

    @property
    def n_stops(self) -> int:
        """How many stops (hot spots) there are."""
        return len(self.prizes)


@dataclass
class Route:
    """A unit's route: the stops in order, the arrival at each (s from the shift start), the return."""

    unit: Unit
    stops: list[int]
    arrivals: list[float]
    end_s: float
    prize: float


@dataclass
class Plan:
    """The routes, the prize they collect, an upper bound on the best possible and how it was proven."""

    routes: list[Route]
    objective: float
    bound: float
    bound_method: str
    seconds: float
    status: str
    #: why a route is empty or the plan is limited: (code, unit name or ""), codes in :data:`REASONS`
    reasons: list[tuple[str, str]] = field(default_factory=list)

    @property
    def gap(self) -> float:
        """(bound − objective) / bound: 0 when the plan is proven best."""
        return 0.0 if self.bound <= 0 else max(0.0, (self.bound - self.objective) / self.bound)


def timeline(inst: Instance, unit: Unit, stops: Sequence[int]) -> tuple[list[float], float]:
    """Arrival at each stop and back at the station (s), travelling then dwelling at each stop."""
    t = inst.travel[unit.kind]
    here, clock, arrivals = unit.depot, 0.0, []
    for s in stops:
        clock += float(t[here, inst.n_depots + s])
        arrivals.append(clock)
        clock += unit.dwell_s
        here = inst.n_depots + s
    return arrivals, clock + float(t[here, unit.depot])


def classes(units: Sequence[Unit]) -> dict[tuple[str, int, float, float], list[Unit]]:
    """Units that are interchangeable: the same kind, station, shift and dwell."""
    out: dict[tuple[str, int, float, float], list[Unit]] = {}
    for u in units:
        out.setdefault((u.kind, u.depot, u.shift_s, u.dwell_s), []).append(u)
    return out


def reachable(inst: Instance) -> np.ndarray:
    """Unit × stop: whether the unit can go there, dwell and be back within its shift."""
    out = np.zeros((len(inst.units), inst.n_stops), dtype=bool)
    for k, u in enumerate(inst.units):
        t = inst.travel[u.kind]
        go = t[u.depot, inst.n_depots:]
        back = t[inst.n_depots:, u.depot]
        out[k] = np.isfinite(go) & np.isfinite(back) & (go + u.dwell_s + back <= u.shift_s + 1e-6)
    return out & (np.asarray(inst.prizes) > 0)


def cheapest_way_in(inst: Instance, k: int) -> np.ndarray:
    """Per stop, unit k's fastest way in: from its station or from another stop (s)."""
    u = inst.units[k]
    t = inst.travel[u.kind]
    into = t[:, inst.n_depots:].copy()
    into[inst.n_depots + np.arange(inst.n_stops), np.arange(inst.n_stops)] = np.inf
    other = np.ones(len(t), dtype=bool)
    other[:inst.n_depots] = False
    other[u.depot] = True
    return np.min(into[other], axis=0)


def upper_bound(inst: Instance) -> tuple[float, str]:
    """An upper bound on the prize any plan collects, and how it was found.

    The LP ``max Σ p_i x_ki`` s.t. ``Σ_i (dwell_k + a_ki) x_ki ≤ shift_k`` per unit, ``Σ_k x_ki ≤ 1``
    per stop, ``0 ≤ x ≤ 1`` and ``x_ki = 0`` where unit k cannot reach stop i, with ``a_ki`` the
    fastest way into stop i from its station or another stop: every route pays at least that for
    each of its visits, so no route can do better than the LP.
    """
    reach = reachable(inst)
    K = len(inst.units)
    extra = np.asarray(inst.outside, dtype=float)
    extra_reach = inst.outside_reach.reshape(K, len(extra)) & (extra > 0) if len(extra) else np.zeros((K, 0), bool)
    p = np.r_[np.asarray(inst.prizes, dtype=float), extra]
    reach = np.hstack([reach, extra_reach])
    if not reach.any():
        return 0.0, "nothing reachable"
    n = reach.shape[1]
    cols = [(k, i) for k in range(K) for i in np.flatnonzero(reach[k])]
    # a stop left out is charged its dwell only (its way in is not known): the bound stays valid
    weights = {k: np.r_[cheapest_way_in(inst, k), np.zeros(len(extra))] + inst.units[k].dwell_s for k in range(K)}
    m = len(cols)
    rows, data, cidx = [], [], []
    for c, (k, i) in enumerate(cols):
        rows += [k, K + int(i)]
        data += [float(weights[k][i]), 1.0]
        cidx += [c, c]
    A = sp.csc_matrix((data, (rows, cidx)), shape=(K + n, m))
    _, value, _, status = run_highs(
        m, np.array([p[i] for _, i in cols]), np.zeros(m), np.ones(m), np.zeros(m, dtype=bool), A,
        np.full(K + n, -np.inf), np.r_[[u.shift_s for u in inst.units], np.ones(n)], True, 60.0, None, 1)
    reachable_total = float(p[reach.any(axis=0)].sum())
    if status != "Optimal":
        return reachable_total, "sum of the prizes within reach of a unit"
    return min(value, reachable_total), "LP relaxation (dwell + fastest way in, per unit shift)"


def route_of(inst: Instance, unit: Unit, stops: list[int]) -> Route:
    """The route of a unit through the given stops, with its times and prize."""
    arrivals, end = timeline(inst, unit, stops)
    return Route(unit, stops, arrivals, end, float(np.asarray(inst.prizes, dtype=float)[stops].sum()))


def _scale(prizes: np.ndarray) -> float:
    """The factor that makes the prizes PyVRP's integers: the largest becomes 10⁶, against travel at 1
    per second. Prize outweighs travel (a detour of 100 s must bring 10⁻⁴ of the largest prize);
    scaling the smallest prize above all travel instead made the prizes ~10¹² on the city, and PyVRP
    struggled to find feasible routes. PyVRP's default cap on its shift penalty (10⁵ per second late)
    is kept: raising it to 10⁸ silenced its occasional PenaltyBoundWarning but routed 2 % less risk on
    the city (``benchmarks/patrol.py``), and the routes returned are feasible either way."""
    positive = prizes[prizes > 0]
    return 1e6 / float(positive.max()) if len(positive) else 1.0


def solve(inst: Instance, *, seconds: float = 5.0, seed: int = 0) -> Plan:
    """Routes for every unit with PyVRP (iterated local search), and the LP bound beside them.

    Parameters
    ----------
    inst
        The stops, prizes, travel times and units.
    seconds
        PyVRP's time limit; it stops earlier after 3,000 iterations without improvement.
    seed
        PyVRP's random seed (the same seed gives the same routes).

    Returns
    -------
    Plan
        One route per unit (possibly empty, with the reason), the objective and an upper bound.
    """
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime, MultipleCriteria, NoImprovement

    t0 = time.perf_counter()
    bound, method = upper_bound(inst)
    reach = reachable(inst)
    reasons: list[tuple[str, str]] = []
    if not len(inst.units):
        return Plan([], 0.0, 0.0, method, 0.0, "no units", [("no_units", "")])
    prizes = np.asarray(inst.prizes, dtype=float)
    if not (prizes > 0).any():
        return Plan([route_of(inst, u, []) for u in inst.units], 0.0, 0.0, "no prize", time.perf_counter() - t0,
                    "no prize", [("no_prize", "")])
    if not reach.any():
        return Plan([route_of(inst, u, []) for u in inst.units], 0.0, 0.0, method, time.perf_counter() - t0,
                    "unreachable", [("unreachable", "")])
    scale = _scale(prizes)
    m = Model()
    useful = np.flatnonzero(reach.any(axis=0))
    index = np.r_[np.arange(inst.n_depots), inst.n_depots + useful]  # the locations the model holds
    locs = [m.add_location(0.0, 0.0) for _ in index]
    depots = [m.add_depot(locs[d]) for d in range(inst.n_depots)]
    dwell = math.ceil(max(u.dwell_s for u in inst.units))
    client_of = {}
    for q, i in enumerate(useful):
        client = m.add_client(locs[inst.n_depots + q], service_duration=dwell,
                              prize=round(prizes[i] * scale), required=False)
        client_of[id(client)] = int(i)
    kinds = sorted({u.kind for u in inst.units})
    profiles = {k: m.add_profile(name=k) for k in kinds}
    for kind in kinds:
        t = inst.travel[kind][np.ix_(index, index)]
        a_idx, b_idx = np.nonzero(np.isfinite(t) & ~np.eye(len(index), dtype=bool))
        for a, b in zip(a_idx.tolist(), b_idx.tolist(), strict=True):
            d = math.ceil(t[a, b])
            m.add_edge(locs[a], locs[b], distance=d, duration=d, profile=profiles[kind])
    types = []
    for (kind, depot, shift, _), members in classes(inst.units).items():
        types.append(members)
        m.add_vehicle_type(len(members), start_depot=depots[depot], end_depot=depots[depot],
                           shift_duration=int(shift), unit_distance_cost=1, profile=profiles[kind])
    if len({u.dwell_s for u in inst.units}) > 1:
        reasons.append(("mixed_dwell", ""))
    result = m.solve(MultipleCriteria([MaxRuntime(seconds), NoImprovement(3000)]), seed=seed, display=False)
    best = result.best
    routes: list[Route] = []
    used = {id(u): False for u in inst.units}
    if best.is_feasible():
        for found in best.routes():
            members = types[found.vehicle_type()]
            unit = next(u for u in members if not used[id(u)])
            used[id(unit)] = True
            stops = [int(useful[a.idx]) for a in found.schedule() if a.is_client()]  # a client's idx: its client number
            routes.append(route_of(inst, unit, stops))
    else:
        reasons.append(("infeasible", ""))
    routes += [route_of(inst, u, []) for u in inst.units if not used[id(u)]]
    routes.sort(key=lambda r: inst.units.index(r.unit))
    for r in routes:
        if not r.stops:
            reasons.append(("idle", r.unit.name))
    objective = float(sum(r.prize for r in routes))
    return Plan(routes, objective, max(bound, objective), method, time.perf_counter() - t0,
                "feasible" if best.is_feasible() else "infeasible", reasons)
