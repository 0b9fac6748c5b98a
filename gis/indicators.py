"""Figures from coverage results: blind spots ranked, grid figures summed per community, and the
雪亮工程-style indicators (key targets, class-1 targets, intersections, key public areas)."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.camera import DORI_LEVELS


def rank_spots(pieces: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rank blind-spot pieces (in grid order) by priority: rank 1 first; pieces under the minimum
    area keep no rank and come last."""
    spots = pieces.reset_index(drop=True)
    spots["rank"] = spots["priority"].where(spots["ranked"]).rank(ascending=False, method="first")
    return spots.sort_values(["ranked", "priority"], ascending=[False, False], kind="stable").reset_index(drop=True)


def community_figures(grid_figures: pd.DataFrame) -> pd.DataFrame:
    """Community totals: sums of the grid figures, shares recomputed from the sums."""
    sums = grid_figures.drop(columns=[c for c in grid_figures if str(c).startswith("share_")] + ["code"]).groupby(
        "community_code").sum(numeric_only=True)
    for level in DORI_LEVELS:
        sums[f"share_{level}"] = np.where(sums["public_m2"] > 0, sums[f"seen_{level}_m2"] / sums["public_m2"], 0.0)
    sums["share_redundant"] = np.where(sums["public_m2"] > 0, sums["redundant_m2"] / sums["public_m2"], 0.0)
    sums["grids"] = grid_figures.groupby("community_code").size()
    return sums.reset_index()


def indicators(targets: pd.DataFrame, target_shares: pd.Series | None = None) -> dict[str, float | bool | int]:
    """雪亮工程-style indicators from the target coverage table.

    - 重点公共区域覆盖率: seen share of the key public areas (polygon targets of class 1–2) at
      their required level, area-weighted when ``target_shares`` carries the areas;
    - 重点目标覆盖率 and whether every class-1 target is covered (the 100% target);
    - 路口覆盖率: share of intersections covered.

    The keys are the same whatever is given: a share with nothing to count (no class-1 target,
    no intersection, no target areas) is NaN.
    """
    out: dict[str, float | bool | int] = {}
    needed = ["id", "class", "category", "covered", "share_required"]
    targets = targets.reindex(columns=list(dict.fromkeys([*targets.columns, *needed])))  # none at all: zeros
    cls1 = targets[targets["class"].astype(str) == "1"]
    out["class1_targets"] = len(cls1)
    out["class1_covered"] = int(cls1["covered"].sum())
    out["class1_share"] = float(cls1["covered"].mean()) if len(cls1) else math.nan
    out["class1_all_covered"] = bool(len(cls1) and cls1["covered"].all())
    inter = targets[targets["category"] == "intersection"]
    out["intersections"] = len(inter)
    out["intersection_share"] = float(inter["covered"].mean()) if len(inter) else math.nan
    out["key_public_area_share"] = math.nan
    if target_shares is not None and len(target_shares):
        areas = target_shares
        key = targets.set_index("id").loc[areas.index]
        mask = key["class"].astype(str).isin(["1", "2"]).to_numpy()
        total = float(areas[mask].sum())
        seen = float((areas[mask] * key.loc[mask, "share_required"].to_numpy()).sum())
        out["key_public_area_share"] = seen / total if total else math.nan
    return out
