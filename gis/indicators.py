"""Figures from coverage results: blind spots ranked, grid figures summed per community, and the
雪亮工程-style indicators (key targets, class-1 targets, intersections, key public areas)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.camera import DORI_LEVELS

#: a blind spot's priority rises with the class weights of the targets near it, and with its kind
CLASS_WEIGHTS = {"1": 3.0, "2": 2.0, "3": 1.0}
KIND_WEIGHTS = {"intersection": 2.0, "street": 1.5, "off-street": 1.0}


def prioritise(spots: gpd.GeoDataFrame, targets: gpd.GeoDataFrame, *, min_area_m2: float, near_m: float,
               grid_weight: Mapping[str, float] | None = None) -> gpd.GeoDataFrame:
    """Blind-spot pieces (grid_code, kind, geometry; metric CRS) with their area, whether they are
    ranked (at least ``min_area_m2``), the targets within ``near_m`` metres, and their priority:
    log(1 + area/100 m²) × (1 + class weights of those targets) × kind weight × the grid's weight."""
    spots["area_m2"] = spots.area
    spots["ranked"] = spots["area_m2"] >= min_area_m2
    t_geoms = targets.geometry.to_numpy()
    t_tree = shapely.STRtree(t_geoms)
    near_names: list[str] = []
    target_weight = np.zeros(len(spots))
    if len(spots):
        s_idx, t_idx = t_tree.query(spots.geometry.to_numpy(), predicate="dwithin", distance=near_m)
        order = np.lexsort((t_idx, s_idx))  # targets in table order for each piece
        s_idx, t_idx = s_idx[order], t_idx[order]
        classes = targets["class"].astype(str).to_numpy()
        t_names = targets["name"].to_numpy()
        np.add.at(target_weight, s_idx, [CLASS_WEIGHTS.get(c, 1.0) for c in classes[t_idx]])
        cuts = np.searchsorted(s_idx, np.arange(len(spots) + 1))
        for k in range(len(spots)):
            near_names.append("、".join(dict.fromkeys(t_names[t_idx[cuts[k]:cuts[k + 1]]])))
    spots["near_targets"] = near_names
    weights = grid_weight or {}
    risk = spots["grid_code"].map(lambda c: weights.get(c, 1.0)).astype(float)
    kind_weight = spots["kind"].map(KIND_WEIGHTS).astype(float)
    spots["priority"] = np.log1p(spots["area_m2"] / 100.0) * (1.0 + target_weight) * kind_weight * risk
    return spots


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
    if "seen_time_m2" in sums:  # time-averaged (PTZ tours for their shares)
        sums["share_time"] = np.where(sums["public_m2"] > 0, sums["seen_time_m2"] / sums["public_m2"], 0.0)
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
