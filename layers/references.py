"""Checks of one layer's rows against the rest of the workspace, run by every import and every
edit after the layer's own validation (:mod:`layers.validate`): a household on a floor its building
does not have is refused, naming the row, the field and the fix."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from layers.errors import Problem
from layers.store import Store


def problems(store: Store | None, layer: str, frame: pd.DataFrame, rows: Sequence[int] | None = None,
             shown: dict[str, str] | None = None) -> list[Problem]:
    """What is wrong with ``frame`` (validated rows of ``layer``) given the workspace's other layers;
    ``rows`` are the row numbers as the user counts them, ``shown`` the user's column names."""
    if store is None or layer != "households" or "floor" not in frame or not store.has("buildings"):
        return []
    rows = list(rows) if rows is not None else list(range(1, len(frame) + 1))
    shown = shown or {}
    blds = store.read("buildings")
    floors = pd.to_numeric(blds.set_index(blds["id"].astype(str))["floors"], errors="coerce")
    floors = floors[~floors.index.duplicated()]
    ids = frame["building_id"].astype(str).to_numpy()
    have = pd.Series(ids).map(floors).to_numpy(dtype=float)
    given = pd.to_numeric(frame["floor"], errors="coerce").to_numpy(dtype=float)
    out = []
    for pos in (given > have).nonzero()[0].tolist():
        out.append(Problem(rows[pos], shown.get("floor", "floor"), int(given[pos]),
                           f"floor {int(given[pos])} is above the {int(have[pos])} floors of building {ids[pos]}",
                           "check the floor (楼层), or correct the building's 层数 first"))
    return out
