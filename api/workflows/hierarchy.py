"""The grid hierarchy as a user runs it: plan the 组格 and 片格 of every grid (``pingan grids plan
--subgrids``) and roll every figure up through 片格 → 组格 → 网格 → 社区 → 街镇.

One rule places everything, the same at every level: a building (and its households) counts in the
grid holding its centroid (:func:`api.workflows.risk.building_grids`, as risk and the exports count
it) and in the 片格 of that grid holding it; an incident in the grid and then the 片格 holding its
point; coverage is the grid's public space seen at each DORI level, cut by the 片格 (which tile the
grid). So the sums of each level equal the level above.
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from api.workflows.coverage import coverage_model
from api.workflows.progress import Step
from api.workflows.risk import building_grids
from gis import partition, shapes, subgrids
from gis.camera import DORI_LEVELS
from layers import validate
from layers.errors import WorkspaceError
from layers.store import Store

#: household tags counted at every level, by column
TAGS = {"rented": "出租", "vacant": "空置", "floating": "流动", "elderly_alone": "独居老人"}
#: the figures rolled up (sums), in order
FIGURES = ("buildings", "households", "residents", *TAGS, "incidents", "public_m2",
           *(f"seen_{lv}_m2" for lv in DORI_LEVELS))
NOTES = {"a single strip exceeds the maximum": "one building holds more households than the maximum"}


def _grid_frame(store: Store) -> gpd.GeoDataFrame:
    if not store.has("grids") or not len(store.read("grids")):
        raise WorkspaceError("the grid hierarchy needs grids: import or plan them first (pingan grids plan)")
    return store.features("grids").to_crs(store.metric_crs()).reset_index(drop=True)


def _buildings(store: Store, grids: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Buildings (metric) and the grid row of each (−1: none), by the one rule."""
    if not store.has("buildings"):
        return gpd.GeoDataFrame({"id": []}, geometry=[], crs=grids.crs), np.empty(0, dtype=int)
    b = store.features("buildings").to_crs(grids.crs).reset_index(drop=True)
    home = building_grids(store, grids).reindex(b["id"].to_numpy()).fillna(-1).to_numpy(dtype=int)
    return b, home


def plan_subgrids(store: Store, *, rules: subgrids.SubgridRules | None = None, write: bool = True,
                  progress: Step | None = None) -> gpd.GeoDataFrame:
    """Plan the 组格 and 片格 of every grid (see :mod:`gis.subgrids`) and store them as ``subgrids``.

    Parameters
    ----------
    store
        The workspace; it needs grids (buildings and households decide the ranges).
    rules
        The household ranges of a 组格 and a 片格.
    write
        Store the ``subgrids`` layer (validated; it replaces the one before).
    progress
        Called with (step, grids done, grids in all).

    Returns
    -------
    geopandas.GeoDataFrame
        Both levels (metric CRS): code, level, parent_code, grid_code, name, households, buildings,
        note and the geometry.
    """
    rules = rules or subgrids.SubgridRules()
    grids = _grid_frame(store)
    b, home = _buildings(store, grids)
    per_building = store.read("households").groupby("building_id").size() if store.has("households") else (
        pd.Series(dtype=float))
    counts = b["id"].map(per_building).fillna(0).to_numpy(dtype=float) if len(b) else np.empty(0)
    centres = b.geometry.centroid.to_numpy() if len(b) else np.empty(0, dtype=object)
    planned = []
    for i, g in enumerate(grids.itertuples()):
        mine = np.flatnonzero(home == i)
        pts = centres[mine]
        outside = ~shapely.contains(g.geometry, pts) if len(pts) else np.zeros(0, dtype=bool)
        pts[outside] = shapely.point_on_surface(g.geometry)  # a centroid just outside: the grid's own point
        part = subgrids.plan(str(g.code), g.geometry, pts, counts[mine], rules)
        part["members"] = [[str(b["id"].iat[mine[k]]) for k in m] for m in part["members"]]
        planned.append(part)
        if progress:
            progress("组格 and 片格", i + 1, len(grids))
    out = gpd.GeoDataFrame(pd.concat(planned, ignore_index=True), geometry="geometry", crs=grids.crs)
    out["note"] = out["note"].map(lambda n: NOTES.get(str(n), n) or None)
    out["name"] = [f"{'组格' if lv == 'group' else '片格'}{c[-2:]}" for lv, c in zip(out["level"], out["code"],
                                                                                     strict=True)]
    out["worker_id"] = None
    if write:
        layer = validate.validate(out.drop(columns=["members", "households"]).to_crs(4326), "subgrids",
                                  source="pingan grids plan --subgrids")
        store.write("subgrids", layer, message="pingan grids plan --subgrids")
    return out


def rollup(store: Store, *, grid_codes: Iterable[str] | None = None) -> dict[str, pd.DataFrame]:
    """Every figure per 片格, and summed up per 组格, 网格, 社区 and 街镇.

    Parameters
    ----------
    store
        The workspace with its ``subgrids`` (plan them first).
    grid_codes
        Only these grids (and the levels above them hold only their sums); default all.

    Returns
    -------
    dict
        ``patch``, ``group``, ``grid``, ``community`` and ``township``: one frame each, indexed by
        code (the township by its name), with the columns of :data:`FIGURES`.
    """
    if not store.has("subgrids"):
        raise WorkspaceError("no 组格/片格 yet: plan them first (pingan grids plan WS --subgrids)")
    grids = _grid_frame(store)
    wanted = set(grids["code"].astype(str)) if grid_codes is None else set(grid_codes)
    subs = store.features("subgrids").to_crs(grids.crs)
    patches = subs[(subs["level"] == "patch") & subs["grid_code"].astype(str).isin(wanted)].reset_index(drop=True)
    fig = pd.DataFrame(0.0, index=pd.Index(patches["code"].astype(str), name="code"), columns=list(FIGURES))
    by_grid = {code: np.flatnonzero(patches["grid_code"].astype(str).to_numpy() == code) for code in wanted}

    codes = grids["code"].astype(str).to_numpy()
    patch_grid = patches["grid_code"].astype(str).to_numpy()
    tree = shapely.STRtree(patches.geometry.to_numpy())

    def patch_of(grid_rows: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Per point (grid row given), the position in ``patches`` of its 片格 (−1: none): the first
        片格 of its own grid it meets (one spatial query for all points), else the nearest in that grid."""
        out = np.full(len(points), -1)
        ok = grid_rows >= 0
        if not len(patches) or not ok.any():
            return out
        want = np.where(ok, codes[np.maximum(grid_rows, 0)], "")
        p_idx, t_idx = tree.query(points, predicate="intersects")
        match = patch_grid[t_idx] == want[p_idx]
        p_idx, t_idx = p_idx[match], t_idx[match]
        order = np.lexsort((t_idx, p_idx))  # per point, its lowest 片格 first
        p_idx, t_idx = p_idx[order], t_idx[order]
        points_hit, first = np.unique(p_idx, return_index=True)
        out[points_hit] = t_idx[first]
        for i in np.flatnonzero(ok & (out < 0)).tolist():  # on an edge, off by rounding: the nearest
            mine = by_grid.get(str(want[i]))
            if mine is not None and len(mine):
                out[i] = mine[int(np.argmin(shapely.distance(patches.geometry.to_numpy()[mine], points[i])))]
        return out

    b, home = _buildings(store, grids)
    if len(b):
        where = patch_of(home, b.geometry.centroid.to_numpy())
        b_patch = pd.Series(where, index=b["id"].astype(str).to_numpy())
        ok = where >= 0
        acc = np.zeros(len(fig))
        np.add.at(acc, where[ok], 1.0)
        fig["buildings"] = acc
        if store.has("households"):
            hh = store.read("households")
            at = hh["building_id"].astype(str).map(b_patch).fillna(-1).astype(int).to_numpy()
            keep = at >= 0
            tags = hh["tags"].fillna("").astype(str).to_numpy()
            cols = {"households": np.ones(len(hh)), "residents": hh["members"].fillna(0).to_numpy(dtype=float),
                    **{c: np.char.find(tags.astype(str), tag) >= 0 for c, tag in TAGS.items()}}
            for c, values in cols.items():
                acc = np.zeros(len(fig))
                np.add.at(acc, at[keep], np.asarray(values, dtype=float)[keep])
                fig[c] = acc
    if store.has("incidents"):
        inc = store.features("incidents").to_crs(grids.crs)
        pts = inc.geometry.to_numpy()
        where = patch_of(partition.grid_index(grids, pts), pts)
        acc = np.zeros(len(fig))
        np.add.at(acc, where[where >= 0], 1.0)
        fig["incidents"] = acc
    if store.has("cameras") and store.has("buildings"):
        model = coverage_model(store)
        index = {c: k for k, c in enumerate(model.grids["code"].astype(str))}
        area = {c: np.zeros(len(fig)) for c in ("public_m2", *(f"seen_{lv}_m2" for lv in DORI_LEVELS))}
        for code, mine in by_grid.items():
            if not len(mine) or code not in index:
                continue
            i = index[code]
            public, unions = model.public_of(i), model.level_unions(model.grids.geometry.iat[i], DORI_LEVELS)
            for k in mine.tolist():
                part = shapes.intersection(public, patches.geometry.iat[k])
                area["public_m2"][k] = float(shapely.area(part))
                for lv in DORI_LEVELS:
                    area[f"seen_{lv}_m2"][k] = float(shapely.area(shapes.intersection(part, unions[lv])))
        for c, values in area.items():
            fig[c] = values
    parent = subs.set_index(subs["code"].astype(str))
    group = fig.groupby(fig.index.map(parent["parent_code"].astype(str))).sum()
    group.index.name = "code"
    grid = group.groupby(group.index.map(parent["grid_code"].astype(str))).sum()
    grid.index.name = "code"
    g_comm = grids.set_index(grids["code"].astype(str))["community_code"].astype(str)
    community = grid.groupby(grid.index.map(g_comm)).sum()
    community.index.name = "code"
    comms = store.read("communities") if store.has("communities") else pd.DataFrame({"code": [], "township": []})
    township_of = comms.set_index(comms["code"].astype(str))["township"].fillna("").astype(str)
    township = community.groupby(community.index.map(lambda c: township_of.get(c, ""))).sum()
    township.index.name = "township"
    return {"patch": fig, "group": group, "grid": grid, "community": community, "township": township}
