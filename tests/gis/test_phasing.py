"""A phased plan: each phase is the exact optimum given the phases before it (brute force on a small
instance), keeps within its own budget, and a site keeps only what is left of its allowance."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from gis import phasing


def _best(A, w, costs, budget, allowed, hg, site, taken, per_site):
    """Brute force: the most weight newly covered by a feasible set of allowed columns within budget."""
    covered = A[:, taken].sum(axis=1) > 0 if taken else np.zeros(A.shape[0], dtype=bool)
    best = 0.0
    for r in range(len(allowed) + 1):
        for pick in itertools.combinations(allowed, r):
            cols = list(taken) + list(pick)
            if costs[list(pick)].sum() > budget + 1e-9:
                continue
            if len({hg[j] for j in cols}) < len(cols):
                continue
            if max(np.bincount(site[cols]), default=0) > per_site:
                continue
            new = (A[:, list(pick)].sum(axis=1) > 0) & ~covered
            best = max(best, float(w[new].sum()))
    return best


def test_each_phase_is_the_optimum_given_the_ones_before():
    rng = np.random.default_rng(7)
    m, n = 40, 12
    A = (rng.random((m, n)) < 0.18).astype(float)
    w = rng.integers(1, 10, m).astype(float)
    costs = rng.integers(1, 4, n).astype(float) * 1000
    site = np.repeat(np.arange(4), 3)  # 4 sites × 3 headings
    hg = np.arange(n)
    hg[1] = hg[0]  # two candidates share a heading group
    plan = phasing.solve_phases(sp.csr_matrix(A), w, costs, hg, site, [("2027", 4000), ("2028", 3000)],
                                per_site=2, seconds=10)
    taken: list[int] = []
    for phase in plan:
        assert phase.cost <= phase.budget
        allowed = [j for j in range(n) if j not in taken]
        assert phase.gain == pytest.approx(_best(A, w, costs, phase.budget, allowed, hg, site, taken, 2))
        assert not set(phase.chosen) & set(taken)
        taken += [int(j) for j in phase.chosen]
    cols = np.array(taken)
    assert np.bincount(site[cols]).max() <= 2 and len(set(hg[cols])) == len(cols)
    assert plan[0].gain_per_yuan >= plan[1].gain_per_yuan  # the best buys come first


def test_a_site_used_once_may_take_one_more_later_and_no_more():
    # one site, three headings: each covers its own demand; phase 1 affords one, phase 2 one more
    A = sp.identity(3, format="csr")
    plan = phasing.solve_phases(A, np.array([5.0, 4.0, 3.0]), np.full(3, 100.0), np.arange(3), np.zeros(3, int),
                                [("a", 100), ("b", 300)], per_site=2, seconds=5)
    assert [list(p.chosen) for p in plan] == [[0], [1]]
    assert plan[1].gain == 4.0


def test_phases_are_parsed_and_bad_ones_named():
    assert phasing.parse_phases("2027:3000000,2028:2000000") == [("2027", 3e6), ("2028", 2e6)]
    for bad in ("2027", "2027:-5", "2027:abc", "2027:1,2027:2", ""):
        with pytest.raises(ValueError, match="phase"):
            phasing.parse_phases(bad)
