import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from gis import lagrangian, solvers


def matrix(rows: list[list[int]], n: int) -> sp.csr_matrix:
    r = [i for i, cols in enumerate(rows) for _ in cols]
    c = [j for cols in rows for j in cols]
    return sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(rows), n))


def brute_mclp(A, w, k, costs=None, budget=None, groups=()):
    n = A.shape[1]
    best = 0.0
    dense = A.toarray() > 0
    for size in range((k or n) + 1):
        for combo in itertools.combinations(range(n), size):
            if budget is not None and sum(costs[j] for j in combo) > budget:
                continue
            if any(sum(1 for j in combo if ids[j] >= 0 and ids[j] == g) > limit
                   for ids, limit in groups for g in set(ids[list(combo)]) if g >= 0):
                continue
            covered = dense[:, list(combo)].any(axis=1) if combo else np.zeros(A.shape[0], bool)
            best = max(best, float(w[covered].sum()))
    return best


def brute_lscp(A, costs):
    n = A.shape[1]
    dense = A.toarray() > 0
    best = np.inf
    for size in range(1, n + 1):
        for combo in itertools.combinations(range(n), size):
            if dense[:, list(combo)].any(axis=1).all():
                best = min(best, sum(costs[j] for j in combo))
    return best


def test_mclp_known_optimum_where_greedy_is_not_optimal():
    # column 0 weighs 4, columns 1 and 2 weigh 3.5 each: greedy takes 0 then gains 1.5 (5.5);
    # the optimum with k = 2 is columns 1 and 2 (7)
    A = matrix([[0, 1], [0, 1], [0, 2], [0, 2], [1], [2]], 3)
    w = np.array([1, 1, 1, 1, 1.5, 1.5])
    g = solvers.celf(A, w, k=2)
    assert g.chosen[0] == 0 and g.objective == 5.5
    assert g.bound == pytest.approx(min(5.5 / solvers.GREEDY_FACTOR, w.sum()))
    exact = solvers.solve_mclp(A, w, k=2, seconds=10)
    assert exact.objective == 7.0 and sorted(exact.chosen) == [1, 2] and exact.gap == pytest.approx(0.0)
    assert exact.gains.sum() == pytest.approx(7.0)


def test_mclp_budget_and_groups():
    A = matrix([[0], [1], [2], [2, 3]], 4)
    w = np.array([5.0, 4.0, 3.0, 3.0])
    costs = np.array([10.0, 3.0, 3.0, 1.0])
    sol = solvers.solve_mclp(A, w, costs=costs, budget=7.0, seconds=10)
    assert sol.objective == brute_mclp(A, w, None, costs, 7.0) == 10.0  # columns 1, 2 (and 3)
    groups = [(np.array([0, 0, 1, 1]), 1)]  # at most one column from {0, 1} and one from {2, 3}
    sol = solvers.solve_mclp(A, w, k=4, groups=groups, seconds=10)
    assert sol.objective == brute_mclp(A, w, 4, groups=groups) == 11.0


@pytest.mark.parametrize("seed", range(6))
def test_mclp_milp_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    A = sp.csr_matrix((rng.random((12, 7)) < 0.3).astype(float))
    w = rng.integers(1, 10, 12).astype(float)
    sol = solvers.solve_mclp(A, w, k=3, seconds=10)
    assert sol.objective == pytest.approx(brute_mclp(A, w, 3))
    assert sol.status == "Optimal" and sol.gap == pytest.approx(0.0, abs=1e-9)
    assert solvers.celf(A, w, k=3).objective >= solvers.GREEDY_FACTOR * sol.objective - 1e-9


@pytest.mark.parametrize("seed", range(6))
def test_lscp_matches_brute_force_and_reports_uncoverable_rows(seed):
    rng = np.random.default_rng(seed)
    dense = rng.random((10, 8)) < 0.35
    dense[9] = False  # no column covers the last row
    A = sp.csr_matrix(dense.astype(float))
    costs = rng.integers(1, 20, 8).astype(float)
    sol = solvers.solve_lscp(A, costs, seconds=10)
    coverable = dense.any(axis=1)
    assert list(sol.uncoverable) == list(np.flatnonzero(~coverable)) and 9 in sol.uncoverable
    assert sol.objective == pytest.approx(brute_lscp(A[coverable], costs))
    assert sol.bound == pytest.approx(sol.objective) and sol.gap == pytest.approx(0.0)
    assert dense[coverable][:, sol.chosen].any(axis=1).all()


def test_lagrangian_bound_is_a_lower_bound():
    rng = np.random.default_rng(3)
    A = sp.csr_matrix((rng.random((40, 30)) < 0.15).astype(float))
    A = A[np.diff(A.indptr) > 0]
    costs = rng.integers(1, 30, 30).astype(float)
    x, ub, lb, _ = lagrangian.lagrangian_cover(A, costs, seconds=2)
    exact = solvers.solve_lscp(A, costs, seconds=10).objective
    assert lb <= exact + 1e-6 <= ub + 1e-6
    assert np.asarray(A[:, x].sum(axis=1)).ravel().min() >= 1


@pytest.mark.parametrize("seed", range(4))
def test_lagrangian_greedy_and_refinement_give_covers_never_worse(seed):
    rng = np.random.default_rng(seed)
    A = sp.csr_matrix((rng.random((60, 40)) < 0.12).astype(float))
    A = A[np.diff(A.indptr) > 0]
    costs = rng.integers(1, 50, 40).astype(float)
    A_csc = A.tocsc()
    _, _, _, u = lagrangian.lagrangian_cover(A, costs, seconds=2)
    for multipliers in (u, np.zeros(A.shape[0]), rng.random(A.shape[0]) * 10):
        y = lagrangian.lagrangian_greedy(A, A_csc, costs, multipliers)
        assert np.asarray(A[:, y].sum(axis=1)).ravel().min() >= 1  # a cover, whatever the multipliers
    start = lagrangian.greedy_cover(A, costs)
    refined = lagrangian.refine_cover(A, costs, start, u, seconds=0.5, seed=seed)
    assert np.asarray(A[:, refined].sum(axis=1)).ravel().min() >= 1
    exact = brute_lscp(A, costs) if A.shape[1] <= 20 else solvers.solve_lscp(A, costs, seconds=10).objective
    assert exact - 1e-9 <= costs[refined].sum() <= costs[start].sum() + 1e-9


def test_runs_with_different_thread_counts_in_one_process_all_solve():
    # HiGHS keeps its first thread pool for the whole process: a later run asking for more once
    # came back "Not Set" without solving anything
    rng = np.random.default_rng(11)
    A = sp.csr_matrix((rng.random((30, 20)) < 0.2).astype(float))
    A = A[np.diff(A.indptr) > 0]
    costs = rng.integers(1, 20, 20).astype(float)
    first = solvers.solve_lscp(A, costs, seconds=10, threads=1)
    second = solvers.solve_lscp(A, costs, seconds=10, threads=2)
    assert first.status == second.status == "Optimal" and first.objective == second.objective


@pytest.mark.parametrize("seed", range(4))
def test_local_search_reaches_the_optimum_from_a_poor_cover(seed):
    from gis.localsearch import local_search

    rng = np.random.default_rng(100 + seed)
    A = sp.csr_matrix((rng.random((40, 16)) < 0.2).astype(float))
    A = A[np.diff(A.indptr) > 0]
    costs = rng.integers(1, 30, 16).astype(float)
    start = np.ones(16, dtype=bool)  # everything: the dearest cover there is
    found = local_search(A, costs, start, seconds=0.3, seed=seed, chunk=2_000)
    assert np.asarray(A[:, found].sum(axis=1)).ravel().min() >= 1  # a cover
    assert costs[found].sum() == pytest.approx(brute_lscp(A, costs))
    with pytest.raises(ValueError, match="from a cover"):
        local_search(A, costs, np.zeros(16, dtype=bool), seconds=0.1)


def test_highs_says_nothing_on_stdout():
    """HiGHS's constructor prints a banner to file descriptor 1 (once per process, so a fresh one
    here): it would land in `pingan --json` and in pipes."""
    import subprocess
    import sys

    script = ("import numpy as np, scipy.sparse as sp\nfrom gis import solvers\n"
              "A = sp.random(40, 20, density=0.2, format='csr', random_state=3); A.data[:] = 1\n"
              "print(solvers.solve_mclp(A, np.ones(40), k=2, seconds=2).status)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "Optimal" and "HiGHS" not in done.stderr
