"""Household data leaving the system: aggregates per grid, small counts suppressed, detail on record.

Household detail is personal information (PIPL). By default it leaves only as counts per
grid; a count from 1 to 4 is suppressed (shown as "<5" in tables, empty in GIS files),
and so is the derived share or score contribution that would give it back. When a group
(a community) has exactly one suppressed cell in a column, the smallest other non-zero
cell is suppressed too, so the group's total cannot be used to subtract it back out.
Detail at household level needs a role that allows it and a stated reason; it carries a
watermark (who, when) on every row and is written to the audit log.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from api.access import ForbiddenError
from api.exports.source import Source
from api.i18n import t
from api.workflows.risk import CARE_TAGS, building_grids
from layers.schemas import HOUSEHOLD_TAGS

SMALL_COUNT = 5
#: household tags as column names
TAG_COLUMNS = {"常住": "resident", "出租": "rented", "空置": "vacant", "流动": "floating",
               "独居老人": "elderly_alone", "留守儿童": "left_behind_children", "残疾": "disabled",
               "低保": "low_income", "商户": "business"}
assert set(TAG_COLUMNS) == set(HOUSEHOLD_TAGS.values()), "a household tag without an export column"
#: columns computed from household counts, and what is derived from each (blanked with it)
DERIVED: dict[str, tuple[str, ...]] = {
    "households": (), "residents": (),
    "rented": ("rented_share", "contrib_rented_share"),
    "floating": ("floating_share", "contrib_floating_share"),
    "care": ("care_households", "contrib_care_households"),
    **{col: () for col in TAG_COLUMNS.values() if col not in ("rented", "floating")},
}


def suppression_mask(frame: pd.DataFrame, group: str | None = None) -> pd.DataFrame:
    """Which household-count cells to suppress: 1–4, plus one complement per group where needed."""
    cols = [c for c in DERIVED if c in frame]
    mask = pd.DataFrame(False, index=frame.index, columns=cols)
    keys = frame[group] if group and group in frame else pd.Series(0, index=frame.index)
    for col in cols:
        values = pd.to_numeric(frame[col], errors="coerce").fillna(0).round()
        small = (values > 0) & (values < SMALL_COUNT)
        for _, rows in values.groupby(keys, sort=False):
            hit = small.loc[rows.index]
            if hit.sum() == 1 and len(rows) > 1:
                others = rows[~hit & (rows > 0)]
                if len(others):
                    small = small.mask(small.index == others.idxmin(), True)  # the complement: no total gives it back
        mask[col] = small
    return mask


def suppress(frame: pd.DataFrame, *, group: str | None = None, marker: object = None) -> tuple[pd.DataFrame, int]:
    """``frame`` with suppressed counts replaced by ``marker`` and their derived columns emptied."""
    mask = suppression_mask(frame, group)
    out = frame.copy()
    for col in mask.columns:
        hit = mask[col].to_numpy()
        if not hit.any():
            continue
        if marker is None:  # empty cells, the column stays numeric (GIS formats keep their field types)
            out[col] = pd.to_numeric(out[col], errors="coerce").round().astype("Int64").mask(hit)
        else:
            out[col] = out[col].astype(object)
            out[col] = out[col].mask(hit, marker)
        for derived in DERIVED[col]:
            if derived in out:
                out[derived] = pd.to_numeric(out[derived], errors="coerce").mask(hit)
    return out, int(mask.to_numpy().sum())


def may_see_aggregates(source: Source) -> bool:
    return bool(source.user.role.reads & {"households", "buildings", "risk"})


def household_aggregates(source: Source) -> gpd.GeoDataFrame:
    """Per grid of the user's area: households, residents and households by tag (not suppressed yet)."""
    if not may_see_aggregates(source):
        raise ForbiddenError(f"role '{source.user.role.name}' does not see household figures")
    store = source.store
    grids_all = store.features("grids")
    mine = source.read("grids") if "grids" in source.user.role.reads else grids_all.iloc[0:0]
    metric = grids_all.to_crs(store.metric_crs())
    codes = grids_all["code"].astype(str).to_numpy()
    counts = pd.DataFrame(0, index=pd.Index(codes, name="code"),
                          columns=["households", "residents", "care", *TAG_COLUMNS.values()], dtype=np.int64)
    if store.has("households") and store.has("buildings"):
        home = building_grids(store, metric)
        hh = store.read("households")
        pos = hh["building_id"].map(home).fillna(-1).astype(int).to_numpy()
        hh = hh[pos >= 0].assign(grid=codes[pos[pos >= 0]])
        tags = hh["tags"].fillna("").astype(str)
        parts = {"households": np.ones(len(hh), dtype=np.int64),
                 "residents": hh["members"].fillna(0).astype(np.int64).to_numpy(),
                 "care": tags.apply(lambda t: any(c in t for c in CARE_TAGS)).astype(np.int64).to_numpy()}
        parts |= {col: tags.str.contains(tag, regex=False).astype(np.int64).to_numpy()
                  for tag, col in TAG_COLUMNS.items()}
        agg = pd.DataFrame(parts).assign(grid=hh["grid"].to_numpy()).groupby("grid").sum()
        counts.loc[agg.index] = agg.to_numpy()
    out = mine[["code", "name", "community_code", "geometry"]].copy()
    values = counts.reindex(out["code"].astype(str)).fillna(0).astype(np.int64)
    for col in values.columns:
        out[col] = values[col].to_numpy()
    return out


def household_detail(source: Source, reason: str | None) -> pd.DataFrame:
    """Households in the user's area, one row each, watermarked; refused without role and reason."""
    role = source.user.role
    if not role.household_detail or "households" not in role.reads:
        raise ForbiddenError(f"role '{role.name}' sees households as aggregates only: export the per-grid "
                             "aggregates instead (the default)")
    if not reason or not reason.strip():
        raise ValueError("household detail leaves the system only with a stated reason (--reason / "
                             "?reason=…); the export is written to the audit log")
    hh = source.read("households").copy()
    if source.store.has("buildings"):
        b = source.store.read("buildings").set_index("id")
        for col in ("name", "address"):
            if col in b:
                hh[f"building_{col}"] = hh["building_id"].map(b[col])
    by, at, why = (t(source.lang, f"watermark.{k}") for k in ("exported_by", "exported_at", "reason"))
    hh[by], hh[at], hh[why] = source.who, source.when, reason.strip()
    return hh
