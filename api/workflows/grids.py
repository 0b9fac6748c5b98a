"""Grid planning as a user runs it (`pingan grids plan`): contiguous grids of about the same
household count, grown from buildings by :mod:`gis.gridding`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd

from gis import gridding
from layers import validate
from layers.errors import WorkspaceError
from layers.store import Store


@dataclass(frozen=True)
class GridPlan:
    """What :func:`plan_grids` proposes."""

    #: the planned grids (metric CRS): code, name, community_code, kind, households, geometry
    grids: gpd.GeoDataFrame
    #: per community: what :func:`gis.gridding.check` found wrong with its plan (gaps, overlaps)
    problems: dict[str, Any]
    #: the household bounds the plan was made with
    rules: gridding.Rules


def plan_grids(store: Store, *, community: str | None = None, min_households: int = 300,
               max_households: int = 500, write: bool = False, replace: bool = False) -> GridPlan:
    """Plan contiguous grids of about the same household count for each community.

    Parameters
    ----------
    store
        The workspace; it needs ``communities``, ``roads`` and ``buildings``.
    community
        Plan only this community (its code); default every one.
    min_households, max_households
        The household range each planned grid must hold.
    write
        Store the plan as the ``planned_grids`` layer.
    replace
        Also replace the ``grids`` layer by the plan (validated first).

    Returns
    -------
    GridPlan
        The planned grids and what the checks found; see :class:`GridPlan`.
    """
    for layer in ("communities", "roads", "buildings"):
        if not store.has(layer):
            raise WorkspaceError(f"grid planning needs a {layer} layer")
    if not 0 < min_households <= max_households:
        raise ValueError(f"the household range {min_households}–{max_households} is not a range")
    metric = store.metric_crs()
    comms = store.features("communities").to_crs(metric)
    if community is not None:
        comms = comms[comms["code"] == community]
        if comms.empty:
            raise WorkspaceError(f"no community {community} in the workspace")
    roads = store.features("roads").to_crs(metric).geometry.to_numpy()
    b = store.features("buildings").to_crs(metric)
    per_building = store.read("households").groupby("building_id").size() if store.has("households") else (
        pd.Series(dtype=float))
    hh = pd.Series(b["id"].map(per_building).fillna(0).to_numpy(dtype=float), index=b.index)
    targets = store.features("targets").to_crs(metric) if store.has("targets") else gpd.GeoDataFrame(
        {"name": [], "category": []}, geometry=[], crs=metric)
    rules = gridding.Rules(min_households, max_households)
    planned, problems = [], {}
    for c in comms.itertuples():
        grids = gridding.plan(str(c.code), c.geometry, roads, b, hh, targets, rules)
        problems[str(c.code)] = gridding.check(c.geometry, gpd.GeoSeries(grids.geometry.to_numpy()))
        planned.append(grids)
    out = gpd.GeoDataFrame(pd.concat(planned, ignore_index=True), geometry="geometry", crs=metric)
    if write:
        layer = out.assign(worker_id=None).to_crs(4326)
        if replace:
            store.write("grids", validate.validate(layer[["code", "name", "community_code", "kind", "worker_id",
                                                          "geometry"]], "grids"), message="pingan grids plan")
        store.write("planned_grids", layer, message="pingan grids plan")
    return GridPlan(grids=out, problems=problems, rules=rules)
