"""Risk by time slot: incidents by hour of day and weekday, and each grid's risk in a slot.

A grid's risk in slot *s* is its risk score (0–100, from the risk model) times the slot's
*intensity* in that grid: how busy an hour of the slot is against the grid's average hour.

    share(g, s)     = (n(g, s) + prior · P(s)) / (n(g) + prior)
    intensity(g, s) = share(g, s) / (week hours of s / 168)
    risk(g, s)      = score(g) / 100 · intensity(g, s)

``n(g, s)`` counts the grid's incidents in the slot, ``P(s)`` is the whole workspace's share in
the slot (so a grid with few incidents follows the workspace's hour profile), and ``prior`` is
the number of pseudo-incidents of that profile. A slot as busy per hour as the day has intensity
1. Every figure is kept, so each risk can be explained.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from gis.patrol.model import Slot


def in_slot(times: pd.Series, slot: Slot) -> np.ndarray:
    """Whether each time (local clock time) falls in ``slot``."""
    t = pd.to_datetime(times)
    return (t.dt.hour.isin(slot.hours) & t.dt.day_of_week.isin(slot.weekdays)).to_numpy(dtype=bool)


def slot_risk(scores: pd.Series, incident_grid: pd.Series, incident_time: pd.Series, slots: Sequence[Slot],
              *, prior: float = 5.0) -> pd.DataFrame:
    """Each grid's risk in each slot, with the counts that explain it.

    Parameters
    ----------
    scores
        Risk score (0–100) per grid code (the index).
    incident_grid
        The grid code of each incident in the window (missing: outside every grid).
    incident_time
        Each incident's local time, aligned with ``incident_grid``.
    slots
        The slots.
    prior
        Pseudo-incidents of the workspace's hour profile added to each grid.

    Returns
    -------
    pandas.DataFrame
        One row per (grid code, slot label): ``score``, ``incidents`` (the grid's, in the window),
        ``in_slot``, ``workspace_share``, ``expected_share`` (the slot's share of the week's hours),
        ``share``, ``intensity`` and ``risk``.
    """
    codes = pd.Index(scores.index.astype(str), name="code")
    grid = incident_grid.astype(object).where(incident_grid.notna(), None).to_numpy()
    known = np.array([g is not None for g in grid], dtype=bool)
    per_grid = pd.Series(grid[known]).value_counts().reindex(codes, fill_value=0).to_numpy(dtype=float)
    rows = []
    for slot in slots:
        hit = in_slot(incident_time, slot)
        total = max(len(hit), 0)
        workspace_share = float(hit.sum() / total) if total else slot.week_hours / 168.0
        n_slot = pd.Series(grid[known & hit]).value_counts().reindex(codes, fill_value=0).to_numpy(dtype=float)
        share = (n_slot + prior * workspace_share) / np.maximum(per_grid + prior, 1e-12)
        expected = slot.week_hours / 168.0
        intensity = share / expected
        rows.append(pd.DataFrame({
            "code": codes, "slot": slot.label, "score": scores.to_numpy(dtype=float),
            "incidents": per_grid, "in_slot": n_slot, "workspace_share": workspace_share,
            "expected_share": expected, "share": share, "intensity": intensity,
            "risk": scores.to_numpy(dtype=float) / 100.0 * intensity}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["code", "slot", "score", "incidents", "in_slot", "workspace_share", "expected_share", "share",
                 "intensity", "risk"])

