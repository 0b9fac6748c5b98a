"""Beasley's Lagrangian heuristic for the set covering problem (LSCP), and its parts.

Subgradient optimisation of the row multipliers, a greedy repair on reduced costs and removal of
redundant columns at every step (:func:`lagrangian_cover`): a good cover and a lower bound on the
optimum. :func:`refine_cover` improves a cover by fixing most of it and solving the residual rows
again. Matrices are ``scipy.sparse`` (demand rows × candidate columns).
"""

from __future__ import annotations

import heapq
import math
import multiprocessing as mp
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from gis.localsearch import local_search


def _prune(A: sp.csc_matrix, costs: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Drop redundant columns of a cover, costliest first."""
    cover = np.asarray(A[:, x].sum(axis=1)).ravel()
    for j in sorted(np.flatnonzero(x), key=lambda c: -costs[c]):
        rows = A.indices[A.indptr[j]:A.indptr[j + 1]]
        if np.all(cover[rows] >= 2):
            x[j] = False
            cover[rows] -= 1
    return x


def greedy_cover(A: sp.csr_matrix, costs: np.ndarray, score: np.ndarray | None = None) -> np.ndarray:
    """Chvátal's greedy for set covering (cost per newly covered row), then pruning."""
    A_csc = A.tocsc()
    m, n = A.shape
    score = np.asarray(costs if score is None else score, dtype=float)
    uncovered = np.ones(m, dtype=bool)
    x = np.zeros(n, dtype=bool)
    counts = np.asarray(A_csc.sum(axis=0)).ravel().astype(float)
    heap = [(score[j] / counts[j], j) for j in range(n) if counts[j] > 0]
    heapq.heapify(heap)
    while uncovered.any() and heap:
        _, j = heapq.heappop(heap)
        rows = A_csc.indices[A_csc.indptr[j]:A_csc.indptr[j + 1]]
        new = int(uncovered[rows].sum())
        if new == 0:
            continue
        fresh = score[j] / new
        if heap and fresh > heap[0][0] + 1e-12:
            heapq.heappush(heap, (fresh, j))
            continue
        x[j] = True
        uncovered[rows] = False
    return _prune(A_csc, np.asarray(costs, dtype=float), x)


def lagrangian_greedy(A_csr: sp.csr_matrix, A_csc: sp.csc_matrix, costs: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A cover built greedily on Lagrangian scores (Caprara, Fischetti & Toth 1999), then pruned.

    With ``μ_j`` the uncovered rows column j would cover and ``γ_j = c_j − Σ u_i`` over them, the
    next column minimises ``γ_j / μ_j`` when ``γ_j > 0`` and ``γ_j · μ_j`` otherwise; both are
    updated as rows get covered, so a column's appeal follows what is still open.
    """
    m, n = A_csr.shape
    uncovered = np.ones(m, dtype=bool)
    mu = np.diff(A_csc.indptr).astype(float)
    gamma = np.asarray(costs, dtype=float) - A_csc.T @ u
    x = np.zeros(n, dtype=bool)
    left = m
    while left:
        score = np.where(gamma > 0, gamma / np.maximum(mu, 1.0), gamma * mu)
        score[mu <= 0] = np.inf
        j = int(np.argmin(score))
        if not math.isfinite(score[j]):
            break  # rows no column covers: the caller reports them
        x[j] = True
        rows = A_csc.indices[A_csc.indptr[j]:A_csc.indptr[j + 1]]
        newly = rows[uncovered[rows]]
        uncovered[newly] = False
        left -= len(newly)
        starts, ends = A_csr.indptr[newly], A_csr.indptr[newly + 1]
        idx = np.concatenate([A_csr.indices[a:b] for a, b in zip(starts, ends, strict=True)]) if len(newly) else (
            np.empty(0, dtype=np.int64))
        mu -= np.bincount(idx, minlength=n)
        gamma += np.bincount(idx, weights=np.repeat(u[newly], ends - starts), minlength=n)
    return _prune(A_csc, np.asarray(costs, dtype=float), x)


@dataclass
class _Bound:
    """The best Lagrangian bound seen, its multipliers, and the step factor (halved after ``patience``
    steps without a better bound)."""

    f: float
    patience: int
    best_u: np.ndarray
    lb: float = -math.inf
    stall: int = 0

    def see(self, value: float, u: np.ndarray) -> None:
        if value > self.lb + 1e-9:
            self.lb, self.stall, self.best_u = value, 0, u.copy()
        else:
            self.stall += 1
            if self.stall >= self.patience:
                self.f, self.stall = self.f / 2, 0


def _lagrangian(A_csc: sp.csc_matrix, c: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Reduced costs at multipliers ``u``, the columns whose reduced cost is negative, and L(u)."""
    reduced = c - A_csc.T @ u
    neg = reduced < 0
    return reduced, neg, float(reduced[neg].sum() + u.sum())


def _moved(A_csc: sp.csc_matrix, u: np.ndarray, neg: np.ndarray, value: float, ub: float, f: float
           ) -> np.ndarray | None:
    """The subgradient step from ``u`` (Held-Karp step size towards 1.05 × the upper bound); None
    when the subgradient is zero (the Lagrangian solution covers every row exactly once)."""
    g = 1.0 - np.asarray(A_csc[:, neg].sum(axis=1)).ravel()
    norm = float(g @ g)
    if norm == 0:
        return None
    return np.maximum(0.0, u + f * (1.05 * ub - value) / norm * g)


def _subgradient(A: sp.csr_matrix, A_csc: sp.csc_matrix, c: np.ndarray, u: np.ndarray, best: np.ndarray,
                 *, seconds: float, step: float, iterations: int) -> tuple[np.ndarray, float, float, np.ndarray]:
    """Subgradient steps from ``u``; the Lagrangian greedy at every step. (best cover, its cost, LB, best u)."""
    t0 = time.perf_counter()
    ub = float(c[best].sum())
    bound = _Bound(step, 20, u.copy())
    for _ in range(iterations):
        if time.perf_counter() - t0 > seconds:
            break
        _, neg, value = _lagrangian(A_csc, c, u)
        bound.see(value, u)
        y = lagrangian_greedy(A, A_csc, c, u)
        cost = float(c[y].sum())
        if cost < ub - 1e-9:
            best, ub = y, cost
        if bound.f < 0.001:
            bound.f = step  # keep sampling multipliers near the optimum: each gives the greedy new scores
        moved = _moved(A_csc, u, neg, value, ub, bound.f)
        if moved is None:
            break
        u = moved
    return best, ub, bound.lb, bound.best_u


def refine_cover(A: sp.csr_matrix, costs: np.ndarray, best: np.ndarray, u: np.ndarray, *, seconds: float,
                 seed: int = 0) -> np.ndarray:
    """Fix part of the best cover and re-solve the rest (CFT's refinement), keeping improvements.

    The columns of the best cover that contribute least to its gap over the Lagrangian bound
    (reduced cost plus the multipliers of rows they cover twice) are fixed until they cover a
    share π of the rows; the residual rows get a short subgradient run with the Lagrangian greedy.
    π grows while nothing improves and starts over at 30%; a little noise varies the fixing.
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    A = A.tocsr()
    A_csc = A.tocsc()
    c = np.asarray(costs, dtype=float)
    m, n = A.shape
    best = best.copy()
    ub = float(c[best].sum())
    pi = 0.3
    while time.perf_counter() - t0 < seconds:
        cols = np.flatnonzero(best)
        cover = np.asarray(A_csc[:, best].sum(axis=1)).ravel()
        gamma = c[cols] - A_csc[:, cols].T @ u
        share = np.where(cover > 0, u * (cover - 1) / np.maximum(cover, 1), 0.0)
        delta = np.maximum(gamma, 0) + A_csc[:, cols].T @ share
        order = cols[np.argsort(delta * rng.uniform(0.5, 1.5, len(cols)))]
        fixed = np.zeros(n, dtype=bool)
        covered = np.zeros(m, dtype=bool)
        for j in order:
            if covered.sum() >= pi * m:
                break
            fixed[j] = True
            covered[A_csc.indices[A_csc.indptr[j]:A_csc.indptr[j + 1]]] = True
        rows = np.flatnonzero(~covered)
        if len(rows):
            sub = A[rows].tocsc()
            cand = np.flatnonzero(np.diff(sub.indptr) > 0)
            S_csc = sub[:, cand]
            left = seconds - (time.perf_counter() - t0)
            found, _, _, _ = _subgradient(S_csc.tocsr(), S_csc, c[cand], u[rows], best[cand], seconds=min(left, 3.0),
                                          step=0.1, iterations=300)
            fixed[cand[found]] = True
        new = _prune(A_csc, c, fixed)
        cost = float(c[new].sum())
        if cost < ub - 1e-9:
            best, ub, pi = new, cost, 0.3
        else:
            pi *= 1.1
            if pi > 0.9:
                pi = 0.3
    return best


def _refine_one(args: tuple[sp.csr_matrix, np.ndarray, np.ndarray, np.ndarray, float, int]) -> np.ndarray:
    """Odd seeds run the row-weighting local search, even ones CFT's fix-and-refine: two different
    neighbourhoods (measured on the OR-Library NR sets, each finds covers the other misses)."""
    A, c, x, u, seconds, seed = args
    if seed % 2:
        return local_search(A, c, x, seconds=seconds, seed=seed)
    return refine_cover(A, c, x, u, seconds=seconds, seed=seed)


def refine_parallel(A: sp.csr_matrix, c: np.ndarray, x: np.ndarray, u: np.ndarray, *, seconds: float,
                     workers: int) -> np.ndarray:
    """Fix-and-refine and local search from differently seeded starts on ``workers`` processes; the best
    cover. On one worker, fix-and-refine takes the first half and the local search goes on from its cover."""
    if workers <= 1:
        half = refine_cover(A, c, x, u, seconds=seconds / 2)
        return _refine_one((A, c, half, u, seconds / 2, 1))

    jobs = [(A, c, x, u, seconds, seed) for seed in range(workers)]
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork")) as pool:
            found = list(pool.map(_refine_one, jobs))
    except (OSError, RuntimeError):  # no processes to be had: do it here
        found = [refine_cover(A, c, x, u, seconds=seconds)]
    return min(found, key=lambda y: float(c[y].sum()))


def lagrangian_cover(A: sp.csr_matrix, costs: np.ndarray, *, seconds: float = 10.0,
                     iterations: int = 100_000) -> tuple[np.ndarray, float, float, np.ndarray]:
    """Beasley's Lagrangian heuristic for set covering: (best cover, its cost, lower bound, multipliers)."""
    start = time.perf_counter()
    A = A.tocsr()
    A_csc = A.tocsc()
    c = np.asarray(costs, dtype=float)
    m = A.shape[0]
    best = greedy_cover(A, c)
    ub = float(c[best].sum())
    # initial multipliers: the cheapest cost per row of any column covering it
    per_col = c / np.maximum(np.asarray(A_csc.sum(axis=0)).ravel(), 1)
    u = np.array([per_col[A.indices[A.indptr[i]:A.indptr[i + 1]]].min() for i in range(m)])
    bound = _Bound(2.0, 30, u.copy())
    for step in range(iterations):
        reduced, neg, value = _lagrangian(A_csc, c, u)
        bound.see(value, u)
        x = neg
        # primal: repair the Lagrangian solution greedily on reduced costs, then prune
        cover_count = np.asarray(A_csc[:, x].sum(axis=1)).ravel()
        if (cover_count == 0).any():
            missing = A[cover_count == 0]
            extra = greedy_cover(missing, c, score=np.maximum(reduced, 0) + 1e-9)
            x = x | extra
        x = _prune(A_csc, c, x.copy())
        # the Lagrangian-score greedy is the better cover but costs several subgradient steps: every
        # tenth step, so the bound still converges within the phase on mid-sized instances
        for y in (x, lagrangian_greedy(A, A_csc, c, u)) if step % 10 == 0 else (x,):
            cost = float(c[y].sum())
            if cost < ub - 1e-9:
                best, ub = y, cost
        if ub - bound.lb < 1 - 1e-9 and np.allclose(c, np.round(c)):
            break  # integer costs: the cover is optimal
        moved = _moved(A_csc, u, neg, value, ub, bound.f)
        if moved is None or bound.f < 0.005 or time.perf_counter() - start > seconds:
            break
        u = moved
    return best, ub, bound.lb, bound.best_u
