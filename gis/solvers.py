"""Covering location solvers on a sparse coverage matrix (demand rows × candidate columns).

- :func:`celf` — lazy greedy (CELF) for the maximal covering problem (MCLP) with a
  cardinality limit ``k``, a budget, and at most ``limit`` picks per group (e.g. one camera per
  site and heading). With only the cardinality limit its answer is within (1 − 1/e) of the
  optimum (Nemhauser, Wolsey & Fisher 1978), so ``greedy / (1 − 1/e)`` bounds the optimum.
- :func:`gis.lagrangian.lagrangian_cover` — Beasley's Lagrangian heuristic for the set covering problem
  (LSCP): subgradient optimisation of the row multipliers, a greedy repair on reduced costs
  and removal of redundant columns at every step; it gives a good cover and a lower bound.
- :func:`solve_mclp` / :func:`solve_lscp` — the exact MILPs through HiGHS (``highspy``) with
  a time limit, seeded with the heuristic answer; they report the proven optimality gap.

Matrices are ``scipy.sparse`` (never dense demand × candidate arrays).
"""

from __future__ import annotations

import heapq
import math
import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp

from gis.lagrangian import lagrangian_cover, refine_parallel

GREEDY_FACTOR = 1.0 - 1.0 / math.e


@dataclass
class Solution:
    """A solver's answer: the chosen columns, the objective, the proven bound and the gap between them,
    the status, and the rows no column can cover."""

    chosen: np.ndarray  # column indices, in the order picked (greedy) or by marginal gain (MILP)
    objective: float
    bound: float  # the proven bound on the optimum (upper for MCLP, lower for LSCP)
    gap: float  # relative: |bound − objective| / |objective|
    status: str
    seconds: float
    gains: np.ndarray = field(default_factory=lambda: np.empty(0))
    uncoverable: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=int))


def _gap(objective: float, bound: float) -> float:
    return abs(bound - objective) / max(abs(objective), 1e-9)


Groups = Sequence[tuple[np.ndarray, int]]


def celf(A: sp.csr_matrix, weights: np.ndarray, *, k: int | None = None, costs: np.ndarray | None = None,
         budget: float | None = None, groups: Groups = ()) -> Solution:
    """Lazy greedy (CELF) for MCLP: pick columns of ``A`` maximising the covered weight of rows.

    With a budget the gain is taken per yuan (cost-benefit greedy), and the best affordable
    single column is kept if it beats the greedy answer.

    Parameters
    ----------
    A
        Coverage matrix: rows are demand, columns candidates, 1 where a candidate covers a row.
    weights
        The weight of each row.
    k
        How many columns to choose.
    costs
        The cost of each column (with ``budget``).
    budget
        The most the chosen columns may cost.
    groups
        (group id per column, −1 for none; limit) pairs: at most ``limit`` picks per group, e.g.
        one camera per site and heading, and two per site.

    Returns
    -------
    Solution
        The chosen columns in the order picked, the objective, and the (1 − 1/e) bound.
    """
    start = time.perf_counter()
    A = A.tocsc()
    w = np.asarray(weights, dtype=float)
    n = A.shape[1]
    costs = np.ones(n) if costs is None else np.asarray(costs, dtype=float)
    k = n if k is None else k
    budget = math.inf if budget is None else float(budget)
    covered = np.zeros(A.shape[0], dtype=bool)
    gains0 = np.asarray(A.T @ w).ravel()
    use_ratio = math.isfinite(budget)
    key = gains0 / np.maximum(costs, 1e-12) if use_ratio else gains0
    heap = [(-key[j], j, 0) for j in range(n) if gains0[j] > 0 and costs[j] <= budget]
    heapq.heapify(heap)
    group_count: list[dict[int, int]] = [{} for _ in groups]
    chosen: list[int] = []
    gains: list[float] = []
    spent, total, rnd = 0.0, 0.0, 0
    while heap and len(chosen) < k:
        _, j, stamp = heapq.heappop(heap)
        if costs[j] + spent > budget:
            continue
        if any(ids[j] >= 0 and group_count[f].get(int(ids[j]), 0) >= limit
               for f, (ids, limit) in enumerate(groups)):
            continue
        if stamp != rnd:  # stale: recompute the marginal gain and push back
            rows = A.indices[A.indptr[j]:A.indptr[j + 1]]
            gain = float(w[rows][~covered[rows]].sum())
            if gain > 0:
                heapq.heappush(heap, (-(gain / costs[j] if use_ratio else gain), j, rnd))
            continue
        rows = A.indices[A.indptr[j]:A.indptr[j + 1]]
        gain = float(w[rows][~covered[rows]].sum())
        covered[rows] = True
        chosen.append(j)
        gains.append(gain)
        total += gain
        spent += costs[j]
        for f, (ids, _) in enumerate(groups):
            if ids[j] >= 0:
                group_count[f][int(ids[j])] = group_count[f].get(int(ids[j]), 0) + 1
        rnd += 1
    if use_ratio:  # Khuller et al.: the best single affordable column may beat the ratio greedy
        affordable = np.flatnonzero(costs <= budget)
        if len(affordable):
            best = affordable[np.argmax(gains0[affordable])]
            if gains0[best] > total:
                chosen, gains, total = [int(best)], [float(gains0[best])], float(gains0[best])
    pure = not use_ratio and not groups
    bound = min(total / GREEDY_FACTOR, float(w.sum())) if pure else float(w.sum())
    return Solution(np.array(chosen, dtype=int), total, bound, _gap(total, bound), "greedy",
                    time.perf_counter() - start, np.array(gains))


_BANNER = threading.Lock()


def _quiet_highs() -> highspy.Highs:
    """A HiGHS instance that says nothing: its constructor prints a banner to the process's stdout
    (file descriptor 1, before any option can be set), which would land in a CLI's JSON or a pipe."""
    with _BANNER:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w", encoding="ascii") as null:
                os.dup2(null.fileno(), 1)
                h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    h.setOptionValue("output_flag", False)
    return h


def run_highs(n_cols: int, costs: np.ndarray, lower: np.ndarray, upper: np.ndarray, integer: np.ndarray,
           A: sp.csc_matrix, row_lower: np.ndarray, row_upper: np.ndarray, sense_max: bool, seconds: float,
           start: np.ndarray | None, threads: int) -> tuple[np.ndarray, float, float, str]:
    """Solve ``max/min costs·x`` s.t. ``row_lower ≤ A x ≤ row_upper``, ``lower ≤ x ≤ upper`` (``integer``
    marks the integer columns) with HiGHS, quietly, within ``seconds``; ``start`` is a feasible point to
    begin from. Returns the values, the objective, the proven (dual) bound of a MILP and the status."""
    h = _quiet_highs()
    h.setOptionValue("time_limit", float(seconds))
    # HiGHS fixes its thread pool at its first run in a process, and a later run asking for another
    # size does not run at all ("Not Set"); so every run uses one thread, and the parallelism is in
    # the heuristic's processes (``threads`` is kept for the callers' signature)
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_heuristic_effort", 0.3)  # measured: better covers on the OR-Library NR sets
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_cols, A.shape[0]
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = costs, lower, upper
    lp.row_lower_, lp.row_upper_ = row_lower, row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = A.indptr, A.indices, A.data
    lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous for i in integer]
    lp.sense_ = highspy.ObjSense.kMaximize if sense_max else highspy.ObjSense.kMinimize
    h.passModel(lp)
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = list(start)
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    info = h.getInfo()
    status = h.modelStatusToString(h.getModelStatus())
    values = np.asarray(h.getSolution().col_value, dtype=float)
    return values, float(info.objective_function_value), float(info.mip_dual_bound), status


def solve_lscp(A: sp.csr_matrix, costs: np.ndarray, *, seconds: float = 60.0, heuristic_seconds: float | None = None,
               threads: int = 1) -> Solution:
    """Least-cost set cover of every row; rows no column covers are reported, not solved."""
    start = time.perf_counter()
    A = sp.csr_matrix(A)
    counts = np.diff(A.indptr)
    uncoverable = np.flatnonzero(counts == 0)
    A = A[counts > 0]
    c = np.asarray(costs, dtype=float)
    if A.shape[0] == 0:
        return Solution(np.empty(0, dtype=int), 0.0, 0.0, 0.0, "Optimal", 0.0, uncoverable=uncoverable)
    phase = heuristic_seconds if heuristic_seconds is not None else max(1.0, seconds * 0.15)
    seed, ub, lb, u = lagrangian_cover(A, c, seconds=phase)
    A_csc = A.tocsc()
    n = A.shape[1]
    # Lagrangian reduced-cost fixing: a column with L(u) + reduced cost > UB only appears in covers
    # dearer than the incumbent, so the MILP runs on the rest (the incumbent's columns always stay);
    # min(UB, the core's bound) is then a valid lower bound of the whole problem
    reduced = c - A_csc.T @ u
    cols = np.flatnonzero((lb + np.maximum(reduced, 0) <= ub + 1e-9) | seed)
    core = A_csc[:, cols]

    def milp(incumbent: np.ndarray, limit: float) -> tuple[np.ndarray, float, str]:
        values, _, core_bound, status = run_highs(
            len(cols), c[cols], np.zeros(len(cols)), np.ones(len(cols)), np.ones(len(cols), dtype=bool), core,
            np.ones(A.shape[0]), np.full(A.shape[0], np.inf), False, limit, incumbent[cols].astype(float), threads)
        x = np.zeros(n, dtype=bool)
        if len(values) == len(cols):
            x[cols] = values > 0.5
        if not np.all(np.asarray(A_csc[:, x].sum(axis=1)).ravel() >= 1) or c[x].sum() > c[incumbent].sum():
            x = incumbent  # HiGHS stopped without a better cover than the one it was given
        return x, core_bound if math.isfinite(core_bound) else -math.inf, status

    # an easy instance is proven by the MILP; a hard one (a wide gap between the Lagrangian bound and
    # the cover) gets most of the time in the fix-and-refine heuristic, then a seeded MILP run
    # "hard": a wide Lagrangian gap on a big matrix (measured on the OR-Library: the MILP proves every
    # instance of sets 4–6 and A–E, up to 400 × 4,000 with 32,000 links, given the time; the NR sets,
    # 200,000 to 500,000 links with 10–30% gaps, it cannot, and the heuristic finds better covers)
    hard = ub - lb > 0.05 * ub and A.nnz > 100_000
    x, core_bound, status = milp(seed, max(0.1, seconds * (0.05 if hard else 0.25)))
    if status != "Optimal" and time.perf_counter() - start < seconds * 0.9:
        left = seconds - (time.perf_counter() - start)
        better = refine_parallel(A, c, x, u, seconds=max(0.5, left * (0.8 if hard else 0.4)), workers=threads)
        if c[better].sum() <= c[x].sum():
            x = better
        left = seconds - (time.perf_counter() - start)
        if left > 0.5:
            x, second_bound, status = milp(x, left)
            core_bound = max(core_bound, second_bound)
    ub = min(ub, float(c[x].sum()))
    obj = float(c[x].sum())
    bound = max(lb, min(ub, core_bound))
    if status == "Optimal":
        bound = max(bound, min(ub, obj))
    order = np.flatnonzero(x)[np.argsort(-np.asarray(A_csc[:, x].sum(axis=0)).ravel())]
    return Solution(order, obj, bound, _gap(obj, bound), status, time.perf_counter() - start,
                    uncoverable=uncoverable)


def solve_mclp(A: sp.csr_matrix, weights: np.ndarray, *, k: int | None = None, costs: np.ndarray | None = None,
               budget: float | None = None, groups: Groups = (), seconds: float = 60.0,
               threads: int = 1) -> Solution:
    """The maximal covering location problem as a MILP, solved by HiGHS with a proven gap.

    x is binary per column, y ≤ Σx per row; the MILP is seeded with the CELF answer
    (:func:`celf`), so it is never worse than the greedy one.

    Parameters
    ----------
    A, weights, k, costs, budget, groups
        As in :func:`celf`.
    seconds
        HiGHS's time limit (s).
    threads
        HiGHS's threads.

    Returns
    -------
    Solution
        The chosen columns, the objective, HiGHS's proven bound, the gap and the status.
    """
    t0 = time.perf_counter()
    A = sp.csr_matrix(A)
    m, n = A.shape
    w = np.asarray(weights, dtype=float)
    c = np.ones(n) if costs is None else np.asarray(costs, dtype=float)
    greedy = celf(A, w, k=k, costs=c if budget is not None else None, budget=budget, groups=groups)
    # columns x_0..x_{n-1}, then y_0..y_{m-1}; rows: y_i − Σ_j a_ij x_j ≤ 0, then the side constraints
    blocks = [sp.hstack([-A, sp.identity(m, format="csr")], format="csr")]
    lo, hi = [np.full(m, -np.inf)], [np.zeros(m)]
    if k is not None:
        blocks.append(sp.csr_matrix(np.r_[np.ones(n), np.zeros(m)][None, :]))
        lo.append(np.array([-np.inf]))
        hi.append(np.array([float(k)]))
    if budget is not None:
        blocks.append(sp.csr_matrix(np.r_[c, np.zeros(m)][None, :]))
        lo.append(np.array([-np.inf]))
        hi.append(np.array([float(budget)]))
    for ids_per_col, limit in groups:
        g = np.asarray(ids_per_col)
        ids, inv = np.unique(g[g >= 0], return_inverse=True)
        cols = np.flatnonzero(g >= 0)
        blocks.append(sp.csr_matrix((np.ones(len(cols)), (inv, cols)), shape=(len(ids), n + m)))
        lo.append(np.full(len(ids), -np.inf))
        hi.append(np.full(len(ids), float(limit)))
    M = sp.vstack(blocks, format="csc")
    start = np.zeros(n + m)
    start[greedy.chosen] = 1.0
    start[n:] = np.minimum(1.0, np.asarray(A[:, greedy.chosen].sum(axis=1)).ravel())
    left = max(0.1, seconds - (time.perf_counter() - t0))
    values, obj, bound, status = run_highs(n + m, np.r_[np.zeros(n), w], np.zeros(n + m), np.ones(n + m),
                                        np.r_[np.ones(n, dtype=bool), np.zeros(m, dtype=bool)], M,
                                        np.concatenate(lo), np.concatenate(hi), True, left, start, threads)
    x = values[:n] > 0.5 if len(values) == n + m else np.zeros(n, dtype=bool)
    covered = np.asarray(A[:, x].sum(axis=1)).ravel() > 0
    obj = float(w[covered].sum())
    if obj < greedy.objective:
        x = np.zeros(n, dtype=bool)
        x[greedy.chosen] = True
        obj = greedy.objective
    bound = min(bound if math.isfinite(bound) else math.inf, greedy.bound if k is not None and budget is None
                and not groups else math.inf, float(w.sum()))
    order, gains = rank_by_gain(A, w, np.flatnonzero(x))
    return Solution(order, obj, bound, _gap(obj, bound), status, time.perf_counter() - t0, gains)


def rank_by_gain(A: sp.csr_matrix, weights: np.ndarray,
                 chosen: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order chosen columns by marginal gain (largest first, each given those before it)."""
    A = A.tocsc()
    w = np.asarray(weights, dtype=float)
    covered = np.zeros(A.shape[0], dtype=bool)
    left = [int(j) for j in chosen]
    order, gains = [], []
    while left:
        best_j, best_g = left[0], -1.0
        for j in left:
            rows = A.indices[A.indptr[j]:A.indptr[j + 1]]
            g = float(w[rows][~covered[rows]].sum())
            if g > best_g:
                best_j, best_g = j, g
        rows = A.indices[A.indptr[best_j]:A.indptr[best_j + 1]]
        covered[rows] = True
        order.append(best_j)
        gains.append(best_g)
        left.remove(best_j)
    return np.array(order, dtype=int), np.array(gains)
