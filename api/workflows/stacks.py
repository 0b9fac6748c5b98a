"""A building's stack (单元 × 楼层), "看房知人" within the personal-information rules: per floor of each
unit the households and their situations as counts, counts from 1 to 4 suppressed (with one more cell
where a total would give a suppressed one back); the households themselves only for a role allowed
household detail, with a stated reason, and on record in the audit log."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from api.access import ForbiddenError, Scope
from api.exports.privacy import TAG_COLUMNS, suppress
from layers.errors import UnknownLayerError
from layers.store import Store

#: the counts of each cell, in order
COUNTS = ("households", "residents", *TAG_COLUMNS.values())


def building_row(store: Store, scope: Scope, building_id: str) -> pd.Series:
    """The stored building, if it lies in the user's area (else: not found, as if it did not exist)."""
    scope.allow_read("buildings")
    if not store.has("buildings"):
        raise UnknownLayerError("the workspace has no buildings")
    b = store.read("buildings")
    hit = b[b["id"].astype(str) == building_id]
    if hit.empty or not scope.shows(store, "buildings", hit.iloc[0].to_dict()):
        raise UnknownLayerError(f"no building '{building_id}' in your area")
    return hit.iloc[0]


def stack(store: Store, scope: Scope, building_id: str, *, reason: str | None = None) -> dict[str, Any]:
    """The building's stack for ``scope``: cells per (unit, floor), suppressed; with ``reason`` and a
    role allowed household detail, its households one by one as well (audited either way)."""
    row = building_row(store, scope, building_id)
    hh = store.read("households") if store.has("households") else pd.DataFrame(
        {"building_id": [], "unit": [], "floor": [], "room": [], "members": [], "tags": []})
    mine = hh[hh["building_id"].astype(str) == building_id].copy()
    for col in ("unit", "floor", "room"):
        if col not in mine:
            mine[col] = None
    tags = mine["tags"].fillna("").astype(str)
    cells = pd.DataFrame({"unit": mine["unit"].fillna("").astype(str).to_numpy(),
                          "floor": pd.to_numeric(mine["floor"], errors="coerce").to_numpy(),
                          "households": 1, "residents": mine["members"].fillna(0).astype(int).to_numpy(),
                          **{col: tags.str.contains(tag, regex=False).astype(int).to_numpy()
                             for tag, col in TAG_COLUMNS.items()}})
    floors_known = float(pd.to_numeric(pd.Series([row.get("floors")]), errors="coerce").to_numpy(dtype=float)[0])
    grouped = cells.groupby(["unit", "floor"], dropna=False, sort=True)[list(COUNTS)].sum().reset_index()
    shown, hidden = suppress(grouped, marker="<5")
    total = len(mine)
    out: dict[str, Any] = {
        "building": {"id": building_id, "name": None if pd.isna(row.get("name")) else str(row.get("name")),
                     "address": None if pd.isna(row.get("address")) else str(row.get("address")),
                     "floors": None if np.isnan(floors_known) else int(floors_known),
                     "households": "<5" if 0 < total < 5 else total},
        "units": sorted({str(u) for u in grouped["unit"]}),
        "cells": [{"unit": str(r["unit"]), "floor": None if pd.isna(r["floor"]) else int(r["floor"]),
                   **{c: (r[c] if isinstance(r[c], str) else int(r[c])) for c in COUNTS}}
                  for r in shown.to_dict("records")],
        "suppressed": hidden, "detail": None}
    store.audit("view", "households", {"page": "3d", "building": building_id, "detail": reason is not None,
                                       "reason": reason}, user=scope.user.username)
    if reason is not None:
        if not scope.user.role.household_detail:
            raise ForbiddenError(f"role '{scope.user.role.name}' sees households as aggregates only")
        if not reason.strip():
            raise ValueError("household detail is personal information: say why in 'reason' (it is audited)")
        cols = [c for c in ("id", "unit", "floor", "room", "members", "tags") if c in mine]
        detail = mine[cols].sort_values([c for c in ("unit", "floor", "room") if c in cols])
        out["detail"] = [{k: (None if (not isinstance(v, str) and pd.isna(v)) else
                              int(v) if isinstance(v, (int, np.integer)) else v) for k, v in r.items()}
                         for r in detail.astype(object).to_dict("records")]
    return out


def subgrid_card(store: Store, scope: Scope, code: str, *, lang: str = "zh") -> dict[str, Any]:
    """One 组格's or 片格's card for the 2D map's drill-down: its rolled-up figures (households, tags,
    incidents, public space seen) as the report tables give them, counts 1–4 as "<5", and its children."""
    from api.exports import Source
    from api.exports.tables import level_table

    scope.allow_read("subgrids")
    subs = store.read("subgrids") if store.has("subgrids") else pd.DataFrame({"code": []})
    hit = subs[subs["code"].astype(str) == code]
    if hit.empty or not scope.shows(store, "subgrids", hit.iloc[0].to_dict()):
        raise UnknownLayerError(f"no 组格 or 片格 '{code}' in your area")
    row = hit.iloc[0]
    level = str(row["level"])
    table, _ = level_table(Source(store, scope, lang), "groups" if level == "group" else "patches",
                           grids={str(row["grid_code"])})
    figures = table[table["subgrid_code"].astype(str) == code].iloc[0].to_dict() if len(table) else {}
    children = subs[subs["parent_code"].astype(str) == code]["code"].astype(str).sort_values().tolist()
    out = {str(k): (None if not isinstance(v, str) and pd.isna(v) else v.item() if isinstance(v, np.generic) else v)
           for k, v in figures.items()}
    return {**out, "code": code, "level": level, "name": None if pd.isna(row.get("name")) else str(row["name"]),
            "parent_code": str(row["parent_code"]), "grid_code": str(row["grid_code"]), "children": children}
