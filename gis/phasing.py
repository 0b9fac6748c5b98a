"""A multi-year camera plan: each phase keeps the cameras of the phases before it and adds the ones
that cover the most remaining demand within its own budget (MCLP by cost, HiGHS with a proven gap).

A phase is solved exactly on what is left, which is the same problem as the whole one with the
earlier picks fixed: the demand they cover is dropped, they leave the candidates, a heading group
already used is closed, and a site keeps only its remaining allowance (a site limited to two
cameras that got one earlier may take one more). The gain per yuan of each phase says what its
money buys at the margin: it falls from phase to phase as the best sites are taken.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from gis import solvers


@dataclass(frozen=True)
class Phase:
    """One phase's answer: its cameras (columns of the full matrix, ranked by marginal gain)."""

    name: str
    budget: float
    chosen: np.ndarray
    gains: np.ndarray
    gain: float
    cost: float
    bound: float
    gap: float
    status: str
    seconds: float

    @property
    def gain_per_yuan(self) -> float:
        """Demand weight covered per yuan spent in this phase (0 when nothing was bought)."""
        return self.gain / self.cost if self.cost > 0 else 0.0


def parse_phases(text: str) -> list[tuple[str, float]]:
    """``"2027:3000000,2028:2000000"`` → [("2027", 3e6), ("2028", 2e6)], checked.

    >>> parse_phases("2027:3000000, 2028:2e6")
    [('2027', 3000000.0), ('2028', 2000000.0)]
    """
    out: list[tuple[str, float]] = []
    for part in (p.strip() for p in text.split(",")):
        name, sep, amount = part.partition(":")
        try:
            budget = float(amount)
        except ValueError:
            budget = -1.0
        if not sep or not name.strip() or budget <= 0:
            raise ValueError(f"phase '{part}': write NAME:BUDGET in yuan, e.g. 2027:3000000")
        if name.strip() in {n for n, _ in out}:
            raise ValueError(f"phase '{name.strip()}' is given twice")
        out.append((name.strip(), budget))
    if not out:
        raise ValueError("give at least one phase, e.g. --phases 2027:3000000,2028:2000000")
    return out


def solve_phases(A: sp.csr_matrix, weights: np.ndarray, costs: np.ndarray, heading_groups: np.ndarray,
                 sites: np.ndarray, phases: Sequence[tuple[str, float]], *, per_site: int = 2,
                 seconds: float = 30.0) -> list[Phase]:
    """Solve ``phases`` (name, budget) in order on demand ``A`` × candidates, each given the ones before.

    Parameters
    ----------
    A, weights
        Coverage matrix (demand rows × candidate columns) and the demand weights.
    costs
        Each candidate's cost (yuan).
    heading_groups, sites
        Per candidate: its heading group (one camera per site and heading) and its site (at most
        ``per_site`` cameras).
    phases
        (name, budget) in order.
    seconds
        HiGHS's time limit per phase.
    """
    A = sp.csr_matrix(A)
    w = np.asarray(weights, dtype=float)
    c = np.asarray(costs, dtype=float)
    hg, site = np.asarray(heading_groups), np.asarray(sites)
    covered = np.zeros(A.shape[0], dtype=bool)
    taken = np.zeros(A.shape[1], dtype=bool)
    out: list[Phase] = []
    for name, budget in phases:
        t0 = time.perf_counter()
        used_sites, used_count = np.unique(site[taken], return_counts=True)
        left = dict(zip(used_sites.tolist(), (per_site - used_count).tolist(), strict=True))
        open_cols = ~taken & ~np.isin(hg, hg[taken]) & np.array([left.get(s, per_site) > 0 for s in site.tolist()])
        cols = np.flatnonzero(open_cols)
        rows = np.flatnonzero(~covered)
        sub = A[rows][:, cols]
        remaining = np.array([left.get(s, per_site) for s in site[cols].tolist()])
        groups = [(hg[cols], 1), (site[cols], per_site)]
        for r in range(1, per_site):  # sites partly used earlier keep what is left of their allowance
            groups.append((np.where(remaining == r, site[cols], -1), r))
        if len(cols) == 0 or len(rows) == 0 or not w[rows].any():  # nothing left to buy or to cover
            out.append(Phase(name, float(budget), np.empty(0, dtype=int), np.empty(0), 0.0, 0.0, 0.0, 0.0,
                             "nothing left", time.perf_counter() - t0))
            continue
        sol = solvers.solve_mclp(sub, w[rows], costs=c[cols], budget=budget, groups=groups, seconds=seconds)
        chosen = cols[np.asarray(sol.chosen, dtype=int)]
        taken[chosen] = True
        covered |= np.asarray(A[:, chosen].sum(axis=1)).ravel() > 0
        out.append(Phase(name, float(budget), chosen, np.asarray(sol.gains, dtype=float), float(sol.objective),
                         float(c[chosen].sum()), float(sol.bound), float(sol.gap), sol.status,
                         time.perf_counter() - t0))
    return out
