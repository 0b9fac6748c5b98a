"""Row-weighting local search for weighted set covering (compiled with numba).

After Gao, Weise and Li's RWLS (2015), adapted to costs: the solution is kept cheaper than
the best cover found. From a cover, columns are dropped (least lost weight per yuan first)
until some row is uncovered; then each step takes a random uncovered row and adds the
column covering it with the most uncovered weight per yuan, if the solution stays cheaper
than the best cover, or else drops the solution column that loses least weight per yuan;
and every row still uncovered weighs one more, so rows that keep being left out pull
harder. Configuration checking keeps a dropped column out until one of its rows changes
state; ties go to the column unchanged longest. Every cover met is cheaper than the best
so far, and is kept.

The search runs in chunks of steps (numba code cannot read a clock); the state lives in
arrays the chunks mutate, so a caller stops it at a deadline.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from numba import njit

_EPS = 1e-9


@njit(cache=True)
def _add(j, x, cnt, w, score, conf, stamp, step, unc, pos, n_unc, r_ptr, r_idx, c_ptr, c_idx):
    x[j] = True
    score[j] = -score[j]
    stamp[j] = step
    for p in range(c_ptr[j], c_ptr[j + 1]):
        i = c_idx[p]
        cnt[i] += 1
        if cnt[i] == 1:  # was uncovered: j alone covers it now
            for q in range(r_ptr[i], r_ptr[i + 1]):
                k = r_idx[q]
                if k != j:
                    score[k] -= w[i]
                    conf[k] = True
            last = unc[n_unc - 1]  # take i out of the uncovered list
            unc[pos[i]] = last
            pos[last] = pos[i]
            pos[i] = -1
            n_unc -= 1
        elif cnt[i] == 2:  # the column that covered it alone is no longer critical for it
            for q in range(r_ptr[i], r_ptr[i + 1]):
                k = r_idx[q]
                if k != j and x[k]:
                    score[k] += w[i]
                    break
    return n_unc


@njit(cache=True)
def _remove(j, x, cnt, w, score, conf, stamp, step, unc, pos, n_unc, r_ptr, r_idx, c_ptr, c_idx):
    x[j] = False
    score[j] = -score[j]
    conf[j] = False
    stamp[j] = step
    for p in range(c_ptr[j], c_ptr[j + 1]):
        i = c_idx[p]
        cnt[i] -= 1
        if cnt[i] == 0:
            for q in range(r_ptr[i], r_ptr[i + 1]):
                k = r_idx[q]
                if k != j:
                    score[k] += w[i]
                    conf[k] = True
            unc[n_unc] = i
            pos[i] = n_unc
            n_unc += 1
        elif cnt[i] == 1:
            for q in range(r_ptr[i], r_ptr[i + 1]):
                k = r_idx[q]
                if x[k]:
                    score[k] -= w[i]
                    break
    return n_unc


@njit(cache=True)
def _take(sol, spos, n_sol, j):
    last = sol[n_sol - 1]
    sol[spos[j]] = last
    spos[last] = spos[j]
    spos[j] = -1
    return n_sol - 1


@njit(cache=True)
def _steps(n_steps, state_i, x, best_x, cnt, w, score, conf, stamp, unc, pos, cost,
           r_ptr, r_idx, c_ptr, c_idx, seed):
    """Run ``n_steps`` swaps; ``state_i`` = [step, n_unc, tabu]; returns (current cost, best cost)."""
    np.random.seed(seed)  # noqa: NPY002 (numba knows the legacy generator only)
    n = x.shape[0]
    step, n_unc, tabu = state_i[0], state_i[1], state_i[2]
    cur = 0.0
    best = 0.0
    sol = np.empty(n, dtype=np.int64)  # the solution's columns, for scans of the solution only
    spos = np.full(n, -1, dtype=np.int64)
    n_sol = 0
    for j in range(n):
        if x[j]:
            cur += cost[j]
            sol[n_sol] = j
            spos[j] = n_sol
            n_sol += 1
        if best_x[j]:
            best += cost[j]
    for _ in range(n_steps):
        # a cover: keep it if it is the best, then drop columns until it is one no more
        while n_unc == 0:
            if cur < best - _EPS:
                best = cur
                for j in range(n):
                    best_x[j] = x[j]
            pick, pick_val, pick_age = -1, -1e300, 0
            for t in range(n_sol):
                j = sol[t]
                v = score[j] / cost[j]
                if v > pick_val + _EPS or (abs(v - pick_val) <= _EPS and stamp[j] < pick_age):
                    pick, pick_val, pick_age = j, v, stamp[j]
            if pick < 0:
                break
            n_unc = _remove(pick, x, cnt, w, score, conf, stamp, step, unc, pos, n_unc, r_ptr, r_idx, c_ptr, c_idx)
            n_sol = _take(sol, spos, n_sol, pick)
            cur -= cost[pick]
        if n_unc == 0:
            break
        # cover a random uncovered row with the allowed column that covers most uncovered weight per yuan,
        # if the solution stays cheaper than the best cover; else drop the solution column that loses
        # least weight per yuan (not the one just added)
        i = unc[np.random.randint(n_unc)]  # noqa: NPY002
        add, add_val, add_age = -1, -1e300, 0
        for q in range(r_ptr[i], r_ptr[i + 1]):
            k = r_idx[q]
            if conf[k] and not x[k] and cur + cost[k] < best - _EPS:
                v = score[k] / cost[k]
                if v > add_val + _EPS or (abs(v - add_val) <= _EPS and stamp[k] < add_age):
                    add, add_val, add_age = k, v, stamp[k]
        if add >= 0:
            n_unc = _add(add, x, cnt, w, score, conf, stamp, step, unc, pos, n_unc, r_ptr, r_idx, c_ptr, c_idx)
            sol[n_sol] = add
            spos[add] = n_sol
            n_sol += 1
            cur += cost[add]
            tabu = add
        else:
            pick, pick_val, pick_age = -1, -1e300, 0
            for t in range(n_sol):
                j = sol[t]
                if j != tabu:
                    v = score[j] / cost[j]
                    if v > pick_val + _EPS or (abs(v - pick_val) <= _EPS and stamp[j] < pick_age):
                        pick, pick_val, pick_age = j, v, stamp[j]
            if pick < 0 and n_sol:
                pick = sol[0]
            if pick >= 0:
                n_unc = _remove(pick, x, cnt, w, score, conf, stamp, step, unc, pos, n_unc, r_ptr, r_idx, c_ptr,
                                c_idx)
                n_sol = _take(sol, spos, n_sol, pick)
                cur -= cost[pick]
                tabu = -1
        # rows still uncovered weigh more
        for t in range(n_unc):
            r = unc[t]
            w[r] += 1
            for q in range(r_ptr[r], r_ptr[r + 1]):
                score[r_idx[q]] += 1
        step += 1
    state_i[0], state_i[1], state_i[2] = step, n_unc, tabu
    return cur, best


def local_search(A: sp.csr_matrix, costs: np.ndarray, start: np.ndarray, *, seconds: float, seed: int = 0,
                 chunk: int = 20_000) -> np.ndarray:
    """The cheapest cover met by row-weighting local search from the cover ``start`` within ``seconds``."""
    t0 = time.perf_counter()
    A = sp.csr_matrix(A, dtype=np.float64)
    A_csc = A.tocsc()
    m, n = A.shape
    c = np.asarray(costs, dtype=np.float64)
    x = np.asarray(start, dtype=np.bool_).copy()
    cnt = np.asarray(A_csc[:, x].sum(axis=1)).ravel().astype(np.int64)
    if (cnt == 0).any():
        raise ValueError("local search starts from a cover")
    w = np.ones(m, dtype=np.float64)
    once = (cnt == 1).astype(np.float64)
    score = -(A_csc.T @ once)  # in the cover: the weight only it covers; outside: nothing uncovered yet
    score[~x] = 0.0
    conf = np.ones(n, dtype=np.bool_)
    stamp = np.zeros(n, dtype=np.int64)
    unc = np.zeros(m, dtype=np.int64)
    pos = np.full(m, -1, dtype=np.int64)
    state = np.array([1, 0, -1], dtype=np.int64)
    best_x = x.copy()
    r_ptr, r_idx = A.indptr.astype(np.int64), A.indices.astype(np.int64)
    c_ptr, c_idx = A_csc.indptr.astype(np.int64), A_csc.indices.astype(np.int64)
    rng = np.random.default_rng(seed)
    while time.perf_counter() - t0 < seconds:
        _steps(chunk, state, x, best_x, cnt, w, score, conf, stamp, unc, pos, c, r_ptr, r_idx, c_ptr, c_idx,
               int(rng.integers(2**31 - 1)))
    return best_x
