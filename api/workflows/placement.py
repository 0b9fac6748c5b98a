"""Camera placement as a user runs it (`pingan place`, the placement page): candidates and their
views, the solve in :mod:`gis.placement`, each pick explained, accepted picks written as planned cameras."""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from api.workflows import parallel as dask_run
from api.workflows.coverage import COVERAGE_INPUTS
from api.workflows.progress import Step, as_step, counter
from api.workflows.settings import assumptions, cost_options
from api.workflows.views import after_dark
from api.workflows.whatif import WhatIf
from gis import camera, capture, mounting, phasing, placement, solvers, visibility
from gis import catalogue as gis_catalogue
from gis import footprint as fp
from layers import validate
from layers.errors import UnknownLayerError
from layers.store import Store, now_iso

PER_SITE_LIMIT = 2


@dataclass(frozen=True)
class PlacementResult:
    """What :func:`place` proposes, and how sure the solver is of it."""

    #: "MCLP" (the most demand for k cameras or a budget) or "LSCP" (every target of the classes)
    problem: str
    #: the demand weight covered (MCLP) or the cameras used (LSCP)
    objective: float
    #: the solver's proven bound on the optimum, and the gap between the two
    bound: float
    gap: float
    status: str
    seconds: float
    candidates: int
    demand: int
    #: demand points the existing cameras already cover
    already_covered: int
    #: the proposed cameras ranked by marginal gain (metric CRS), with what each covers
    proposals: gpd.GeoDataFrame
    #: their total unit cost (yuan)
    cost: float
    #: targets no candidate can cover, by name
    uncoverable: list[str]
    #: the proposals' views, one column per DORI level, in rank order
    views: pd.DataFrame
    #: a phased plan (``phases``): per phase its name, budget, cameras, gain, cost, gain per yuan, bound, gap
    phases: list[dict[str, Any]] = field(default_factory=list)


def _sites(store: Store, model: Any, metric: Any) -> gpd.GeoDataFrame:
    own = store.features("sites").to_crs(metric) if store.has("sites") else gpd.GeoDataFrame(
        {"id": [], "kind": []}, geometry=[], crs=metric)
    own = own.assign(source="sites")
    gen = placement.generated_sites(model.roads, model.targets)
    if len(own) and len(gen):  # a generated site next to a listed one adds nothing but work
        near = shapely.STRtree(own.geometry.to_numpy()).query(gen.geometry.to_numpy(), predicate="dwithin",
                                                             distance=10.0)[0]
        gen = gen.drop(index=gen.index[np.unique(near)])
    cols = ["id", "kind", "height_m", "cost", "name", "source", "geometry"]
    both = pd.concat([own.reindex(columns=cols), gen.reindex(columns=cols)], ignore_index=True)
    return gpd.GeoDataFrame(both, geometry="geometry", crs=metric)


#: candidate views of the last placement runs, by a digest of everything they are computed from
#: (candidates with their resolved parameters, pixel-density ranges, buildings and their heights,
#: target height, occlusion mode, presets): a second run on unchanged inputs skips the views,
#: which are most of a run's time; any change to any input makes a new digest
_VIEWS: collections.OrderedDict[str, Any] = collections.OrderedDict()


_KEEP_VIEWS = 2


_CACHE_CANDIDATES = 100_000  # a city's run keeps no views in memory


def _fingerprint(*parts: Any) -> str:
    digest = hashlib.blake2b(digest_size=20)
    for part in parts:
        if isinstance(part, pd.DataFrame):
            for col in part.columns:
                digest.update(str(col).encode())
                values = part[col]
                if isinstance(values.dtype, gpd.array.GeometryDtype) or (values.dtype == object and len(values) \
                        and isinstance(values.iloc[0], shapely.Geometry)):
                    digest.update(b"".join(w or b"" for w in shapely.to_wkb(values.to_numpy())))
                else:
                    digest.update(pd.util.hash_pandas_object(values, index=True).to_numpy().tobytes())
        elif isinstance(part, np.ndarray) and part.dtype == object:
            digest.update(b"".join(w or b"" for w in shapely.to_wkb(part)))
        elif isinstance(part, np.ndarray):
            digest.update(np.ascontiguousarray(part).tobytes())
        else:
            digest.update(repr(part).encode())
    return digest.hexdigest()


def place(store: Store, *, k: int | None = None, budget: float | None = None,
          cover_classes: Sequence[str] | None = None, seconds: float = 30.0, heading_step_deg: float = 30.0,
          models: Sequence[str] = placement.DEFAULT_MODELS, spacing_m: float = 20.0, method: str = "milp",
          workers: int = 1, write: bool = True, progress: Step | None = None,
          parallel: bool = False, scheduler: str | None = None, tile_m: float = 1000.0,
          reuse_views: bool = True, phases: Sequence[tuple[str, float]] | None = None,
          light: str = "day") -> PlacementResult:
    """Propose new cameras: MCLP for ``k`` cameras or a ``budget``, or LSCP for target classes.

    Existing active and planned cameras are kept and count as covering. The proposals are
    stored as the layers ``proposals`` and ``proposal_views`` (one scenario), and returned
    ranked by marginal gain with what each covers. The candidates' views are kept for the next
    run (``reuse_views``): on unchanged inputs it skips them, most of a run's time.

    Parameters
    ----------
    store
        The workspace; it needs ``sites`` (candidate positions), ``cameras``, ``buildings`` and
        ``grids``.
    k
        How many cameras to add (MCLP).
    budget
        How much to spend (yuan) on cameras (MCLP by cost).
    cover_classes
        Cover every target of these point classes with as few cameras as possible (LSCP).
    seconds
        The solver's time limit (s).
    heading_step_deg
        The step (degrees) between candidate headings at a site.
    models
        The camera models a site may take (names in :data:`gis.placement.MODELS`).
    spacing_m
        Spacing (m) of the demand points sampled over public space.
    method
        ``"milp"`` (HiGHS, with a proven gap) or ``"greedy"`` (CELF).
    workers
        Processes for the candidates' views.
    write
        Store the proposals and their views as the scenario.
    progress
        Called with a short description of each step.
    parallel
        Compute the candidates' views in tiles on a dask LocalCluster.
    scheduler
        The address of a running dask scheduler, instead of a LocalCluster.
    tile_m
        Tile size (m) of a partitioned run.
    reuse_views
        Reuse the candidates' views of the previous run when its inputs are unchanged.
    phases
        A multi-year plan, (name, budget in yuan) in order (:mod:`gis.phasing`): each phase keeps the
        cameras of the earlier ones and covers the most within its own budget (MCLP; not with ``k``).
    light
        ``"day"``, or ``"night"``: what the existing cameras cover after dark (the night views) and
        the candidates' night ranges (their lamps, else the night setting's; :mod:`gis.night`).

    Returns
    -------
    PlacementResult
        The proposals, ranked, and the solver's objective, bound and gap; see :class:`PlacementResult`.
    """
    step = as_step(progress)
    if cover_classes is None and k is None and budget is None and not phases:
        raise ValueError("say how many cameras (k), a budget in yuan, phases, or which target classes to cover")
    if phases and (k is not None or budget is not None or cover_classes is not None):
        raise ValueError("phases carry their own budgets: give them without k, budget or cover classes")
    specs = [planning_model(m, assumptions(store.settings())) for m in models]
    step("existing coverage")
    if light not in ("day", "night"):
        raise ValueError(f"unknown light '{light}': use day or night")
    session = WhatIf(store, include_planned=True, light=light)
    model, metric = session.model, session.metric
    step("candidate sites")
    sites = _sites(store, model, metric)
    cand = placement.candidates(sites, specs, heading_step_deg,
                                costs=cost_options(store.settings()))
    seeing = f"views of {len(cand):,} candidates"
    step(seeing)
    params = fp.resolve(cand, session.assume)
    ranges = fp.level_ranges(params, session.ppm, session.target, form=session.form)
    if light == "night":
        params, ranges = after_dark(cand, params, ranges, session.target, session.settings)
    presets = tuple(session.assume.ptz_presets_deg)
    key = _fingerprint(params, ranges, session.obstacles.geoms, session.obstacles.heights,
                       (session.target, session.occlusion, presets))
    views = _VIEWS.get(key) if reuse_views else None
    if views is not None:
        _VIEWS.move_to_end(key)
        step(f"views of {len(cand):,} candidates: unchanged since the last run, reused")
    elif parallel or scheduler:  # candidates in tiles with a halo on a dask cluster: the same views

        views = dask_run.visible_partitioned(
            params, ranges, session.obstacles.geoms, session.obstacles.heights, target_height=session.target,
            mode=session.occlusion, presets=presets, tile_m=tile_m,
            scheduler=scheduler, workers=workers if workers > 1 else None, progress=counter(step, seeing))
    else:
        views = visibility.visible(params, ranges, session.obstacles, target_height=session.target,
                                   mode=session.occlusion, presets=presets, workers=workers,
                                   progress=counter(step, seeing))
    if len(cand) <= _CACHE_CANDIDATES:
        _VIEWS[key] = views
    while len(_VIEWS) > _KEEP_VIEWS:
        _VIEWS.popitem(last=False)
    step("demand")
    target_areas = model.target_areas
    existing = model.views.loc[[c for c in model.views.index if model.is_covering(c)]]
    t0 = dt.datetime.now()
    if cover_classes is not None:
        wanted = model.targets["class"].astype(str).isin([str(c) for c in cover_classes]).to_numpy()
        targets = model.targets[wanted]
        areas = [a if a.geom_type == "Point" else shapely.point_on_surface(a)
                 for a, keep in zip(target_areas, wanted, strict=True) if keep]
        points = placement.demand(model.public.iloc[:0], [], targets, areas)
    else:
        points = placement.demand(model.public, model.grids["code"].tolist(), model.targets, target_areas,
                                  spacing_m=spacing_m, grid_weight=model.grid_weight)
    rules, optics, existing_optics = model.options.capture_rules, None, None
    if "capture" in points and points["capture"].notna().any():  # faces and plates: where each camera stands
        optics = capture.optics(mounting.mount(params, session.obstacles.geoms, session.obstacles.tree))
        existing_optics = model.cameras.set_index("id").loc[existing.index, list(capture.OPTICS)]
    covered = placement.already_covered(existing, points, existing_optics, rules)
    points = points[~covered].reset_index(drop=True)
    A = placement.coverage_matrix(views, points, optics, rules)
    step(f"solving ({A.shape[0]:,} demand points × {A.shape[1]:,} candidates, {A.nnz:,} links)")
    costs = cand["cost"].to_numpy(dtype=float)
    planned: list[dict[str, Any]] = []
    if phases:
        weights = points["weight"].to_numpy(dtype=float)
        done = phasing.solve_phases(A, weights, costs, cand["heading_group"].to_numpy(), cand["site"].to_numpy(),
                                    phases, per_site=PER_SITE_LIMIT, seconds=seconds)
        gained, bounded = sum(p.gain for p in done), sum(p.bound for p in done)  # each phase given the earlier
        sol = solvers.Solution(np.concatenate([p.chosen for p in done]), gained, bounded,
                               abs(bounded - gained) / gained if gained else 0.0,
                               "; ".join(f"{p.name}: {p.status}" for p in done), sum(p.seconds for p in done))
        planned = [{"phase": p.name, "budget": p.budget, "cameras": len(p.chosen), "gain": p.gain, "cost": p.cost,
                    "gain_per_yuan": p.gain_per_yuan, "bound": p.bound, "gap": p.gap, "status": p.status,
                    "seconds": p.seconds} for p in done]
        problem = "MCLP (phased)"
    elif cover_classes is not None:
        sol = solvers.solve_lscp(A, costs, seconds=seconds, threads=max(1, workers))
        problem = "LSCP"
        weights = points["weight"].to_numpy(dtype=float)
    else:
        weights = points["weight"].to_numpy(dtype=float)
        groups = [(cand["heading_group"].to_numpy(), 1), (cand["site"].to_numpy(), PER_SITE_LIMIT)]
        if method == "greedy":
            sol = solvers.celf(A, weights, k=k, costs=costs if budget is not None else None, budget=budget,
                               groups=groups)
        else:
            sol = solvers.solve_mclp(A, weights, k=k, costs=costs, budget=budget, groups=groups, seconds=seconds)
        problem = "MCLP"
    if phases:  # phase by phase, each ranked within itself (phasing gives them so)
        order = np.asarray(sol.chosen, dtype=int)
        gains = np.concatenate([p.gains for p in done])
    else:
        order, gains = solvers.rank_by_gain(A, weights, sol.chosen)
    proposals = _explain(order, gains, cand, sites, views, points, A, model)
    if phases:
        proposals["phase"] = np.repeat([p.name for p in done], [len(p.chosen) for p in done])
    uncoverable = sorted(set(points.loc[sol.uncoverable, "target_id"].dropna())) if len(sol.uncoverable) else []
    names = dict(zip(model.targets["id"], model.targets["name"], strict=True))
    result = PlacementResult(
        problem=problem, objective=sol.objective, bound=sol.bound, gap=sol.gap, status=sol.status,
        seconds=(dt.datetime.now() - t0).total_seconds(), candidates=len(cand), demand=len(points),
        already_covered=int(covered.sum()), proposals=proposals, cost=float(proposals["cost"].sum()),
        uncoverable=[names.get(t, t) for t in uncoverable], views=views.iloc[order], phases=planned)
    if write:
        step("writing the scenario")
        _write(store, result, k=k, budget=budget if not phases else sum(b for _, b in phases),
               cover_classes=cover_classes, models=models, metric=metric, light=light)
    return result


def _explain(order: np.ndarray, gains: np.ndarray, cand: gpd.GeoDataFrame, sites: gpd.GeoDataFrame,
             views: pd.DataFrame, points: gpd.GeoDataFrame, A: sp.csr_matrix, model: Any) -> gpd.GeoDataFrame:
    A = A.tocsc()
    names = dict(zip(model.targets["id"], model.targets["name"], strict=True))
    spots = model.blind_spots()
    spots = spots[spots["ranked"]]
    spot_tree = shapely.STRtree(spots.geometry.to_numpy())
    grid_tree = shapely.STRtree(model.grids.geometry.to_numpy())
    seen_before = np.zeros(A.shape[0], dtype=bool)
    rows = []
    for rank, (j, gain) in enumerate(zip(order, gains, strict=True), start=1):
        c = cand.iloc[j]
        pts = A.indices[A.indptr[j]:A.indptr[j + 1]]
        new = pts[~seen_before[pts]]
        seen_before[pts] = True
        tids = points.loc[new, "target_id"].dropna().unique()
        detect = views.iloc[j][camera.DORI_LEVELS[0]]
        grids = model.grids["code"].to_numpy()[grid_tree.query(detect, predicate="intersects")]
        near = spot_tree.query(detect, predicate="intersects")
        closed = [i for i in near if shapely.area(shapely.intersection(spots.geometry.iat[i], detect))
                  >= 0.5 * spots["area_m2"].iat[i]]
        site = sites.iloc[int(c["site"])]
        rows.append({
            "rank": rank, "site_id": c["site_id"], "site": site.get("name") or site["kind"], "model": c["model"],
            "heading_deg": float(c["heading_deg"]), "height_m": float(c["height_m"]), "tilt_deg": float(c["tilt_deg"]),
            "gain": float(gain), "targets": "、".join(names.get(t, str(t)) for t in tids),
            "grids": ",".join(sorted(set(grids))), "blind_spots_closed": len(closed),
            "blind_spot_m2_closed": float(spots["area_m2"].to_numpy()[closed].sum()) if closed else 0.0,
            "site_kind": site["kind"], "price": float(c["price"]), "site_cost": float(c["site_cost"]),
            "install": float(c["install"]), "network": float(c["network"]), "cost": float(c["cost"]),
            "geometry": c.geometry})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=cand.crs)


def _write(store: Store, result: PlacementResult, *, k: int | None, budget: float | None,
           cover_classes: Sequence[str] | None, models: Sequence[str], metric: Any, light: str = "day") -> None:
    scenario = dt.datetime.now(dt.UTC).strftime("S%Y%m%d%H%M%S")
    props = result.proposals.assign(scenario=scenario).to_crs(4326)
    views = gpd.GeoDataFrame({"scenario": scenario, "rank": props["rank"].to_numpy()},
                             geometry=result.views[camera.DORI_LEVELS[0]].to_numpy(), crs=metric).to_crs(4326)
    store.write_many({"proposals": props, "proposal_views": views}, message=f"pingan place {scenario}")
    store.set_meta({"placement": {
        "scenario": scenario, "computed_at": now_iso(), "problem": result.problem, "k": k, "budget": budget,
        "cover_classes": list(cover_classes) if cover_classes else None, "models": list(models),
        "objective": result.objective, "bound": result.bound, "gap": result.gap, "status": result.status,
        "phases": result.phases, "light": light,
        "inputs": {name: store.version(name) for name in COVERAGE_INPUTS if store.has(name)}}})


def planning_model(key: str, assume: fp.Assumptions) -> placement.Model:
    """The model a candidate may take: a typical one of :data:`gis.placement.CATALOGUE` by name, or one
    of the workspace's catalogue (:mod:`gis.catalogue`, by id or model code) at its datasheet's field of
    view (a zoom lens at its wide end) and its unit price."""
    if key in placement.CATALOGUE:
        return placement.CATALOGUE[key]
    m = gis_catalogue.lookup(assume.models, key)
    if m is None:
        known = sorted({*placement.CATALOGUE, *(k for k in assume.models if k not in placement.CATALOGUE)})
        raise ValueError(f"unknown camera model '{key}': the planning models and the catalogue have {', '.join(known)}")
    if m.price_yuan is None:
        raise ValueError(f"model {m.model} has no unit price in the catalogue: give it 单价 (pingan catalogue "
                         "--import) to plan with it")
    return placement.Model(m.id, m.kind, m.resolution_px, float(m.price_yuan),
                           focal_mm=None if m.hfov_max_deg is not None else m.focal_min_mm, sensor=m.sensor,
                           hfov_deg=m.hfov_max_deg)


def accept(store: Store, ranks: Sequence[int], *, user: str = "cli") -> list[str]:
    """Turn proposals of the stored scenario into planned cameras (validated, audited).

    Parameters
    ----------
    store
        The workspace holding the ``proposals`` of a :func:`place` run.
    ranks
        The ranks (1 = the largest gain) of the proposals to accept.
    user
        Who accepts them, for the audit log.

    Returns
    -------
    list of str
        The new cameras' ids, in the order of ``ranks``.
    """
    if not store.has("proposals"):
        # nothing to accept (a 404, not a workspace fault: the workspace is fine)
        raise UnknownLayerError("there are no proposals: run a placement first (pingan place, or the placement page)")
    props = store.read("proposals")
    chosen = props[props["rank"].isin([int(r) for r in ranks])]
    missing = sorted({int(r) for r in ranks} - set(chosen["rank"].astype(int)))
    if missing:
        raise ValueError(f"no proposal ranked {missing} in scenario {props['scenario'].iat[0]}")
    cams = store.read("cameras")
    base = len(cams)
    assume = assumptions(store.settings())
    specs = [planning_model(str(m), assume) for m in chosen["model"]]
    new = gpd.GeoDataFrame({
        "id": [f"PLAN-{props['scenario'].iat[0]}-{int(r):03d}" for r in chosen["rank"]],
        "name": [f"规划点位 {s}" for s in chosen["site"]], "model": chosen["model"].astype(str).to_numpy(),
        "kind": [m.kind for m in specs],
        "heading_deg": chosen["heading_deg"].to_numpy(),
        "hfov_deg": [m.hfov_deg for m in specs], "focal_mm": [m.focal_mm for m in specs],
        "sensor": [m.sensor for m in specs], "resolution_px": [m.resolution_px for m in specs],
        "height_m": chosen["height_m"].to_numpy(), "tilt_deg": chosen["tilt_deg"].to_numpy(),
        "status": "planned", "point_class": "1"}, geometry=chosen.geometry.to_numpy(), crs=4326)

    merged = pd.concat([cams, validate.validate(new, "cameras")], ignore_index=True)
    store.write("cameras", gpd.GeoDataFrame(merged, geometry="geometry", crs=4326),
                message=f"accepted {len(new)} proposals")
    store.audit("accept", "proposals", {"ranks": [int(r) for r in chosen["rank"]], "cameras_before": base},
                user=user)
    return new["id"].tolist()
