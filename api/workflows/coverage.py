"""The coverage roll-up as a user runs it (`pingan coverage`): views, grids, roads and targets
read from the workspace, figures from :class:`gis.coverage.CoverageModel`, results written back."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from api.exports import qgis
from api.workflows import parallel as dask_run
from api.workflows.progress import Step, as_step, counter
from api.workflows.settings import assumptions, coverage_options
from api.workflows.views import LAYER as VIEW_LAYER
from api.workflows.views import PRESET_LAYER, compute_views, views_are_current
from gis import camera, capture, coverage, indicators, mounting
from gis import footprint as fp
from layers.errors import WorkspaceError
from layers.store import Store, now_iso

log = logging.getLogger(__name__)


# ---- coverage ------------------------------------------------------------------------------------------
COVERAGE_INPUTS = ("cameras", "buildings", "grids", "roads", "targets", "views")
#: the result layers by day, and their night twins (``pingan coverage --light night``)
RESULT_LAYERS = ("coverage_grids", "coverage_communities", "coverage_targets", "blind_spots", "capture_views")


def result_layer(name: str, light: str = "day") -> str:
    """The stored name of result layer ``name`` (or of the views) for ``light``: ``blind_spots_night`` …"""
    if light not in VIEW_LAYER:
        raise ValueError(f"unknown light '{light}': use day or night")
    return name if light == "day" else f"{name}_night"


def _inputs(light: str) -> tuple[str, ...]:
    return tuple(VIEW_LAYER[light] if n == "views" else n for n in COVERAGE_INPUTS)


RISK_WEIGHTS = {"red": 3.0, "yellow": 2.0, "green": 1.0}


@dataclass(frozen=True)
class CoverageResult:
    """What :func:`compute_coverage` works out (frames in the metric CRS, rows in the workspace's order)."""

    #: per grid: public area, seen area per DORI level, k-coverage, road lengths, blind-spot area
    grids: pd.DataFrame
    #: the same figures summed per community
    communities: pd.DataFrame
    #: per key target: covered or not at its required level, and its public area (``public_m2``)
    targets: pd.DataFrame
    #: every uncovered piece of public space, ranked by priority
    blind_spots: gpd.GeoDataFrame
    #: the 雪亮 indicators (:func:`gis.indicators.indicators`), plus ``cameras_outside_grids``
    indicators: dict[str, Any]
    #: the inputs' versions and the options the figures were computed from
    stamp: dict[str, Any]
    #: per tile (a run on a dask cluster only): size, seconds, worker peak memory
    tiles: list[dict[str, Any]] = field(default_factory=list)
    #: seconds spent cutting the tiles (a run on a dask cluster only)
    prepare_s: float = 0.0
    #: where each camera captures the faces or plates a target asks for (:func:`gis.capture.zones`)
    capture_views: pd.DataFrame | None = None


def _wide_views(views: gpd.GeoDataFrame, cameras: pd.Series) -> pd.DataFrame:
    wide = views.pivot_table(index="camera", columns="level", values="geometry", aggfunc="first")
    wide = wide.reindex(index=cameras, columns=list(camera.DORI_LEVELS))
    return wide.map(lambda g: shapely.Polygon() if g is None or (isinstance(g, float) and np.isnan(g)) else g)


def coverage_inputs(store: Store, *, include_planned: bool = False, light: str = "day") -> dict[str, Any]:
    """The inputs of :class:`gis.coverage.CoverageModel` read from a workspace (metric CRS; views,
    by day or by night, recomputed first when they are stale)."""
    for layer in ("grids", "cameras", "buildings"):
        if not store.has(layer):
            raise WorkspaceError(f"the workspace has no {layer} layer: import one first (pingan import)")
    if not views_are_current(store, light):
        compute_views(store, light=light)
    metric = store.metric_crs()
    settings = store.settings()
    cams = store.features("cameras").to_crs(metric)
    views = store.features(VIEW_LAYER[light]).to_crs(metric)
    tours = PRESET_LAYER[light]  # the PTZ presets' own views, for the time shares
    presets = store.features(tours).to_crs(metric) if store.has(tours) else None
    roads = store.features("roads").to_crs(metric) if store.has("roads") else gpd.GeoDataFrame(
        {"class": []}, geometry=[], crs=metric)
    targets = store.features("targets").to_crs(metric) if store.has("targets") else gpd.GeoDataFrame(
        {"id": [], "name": [], "category": [], "class": [], "required_level": []}, geometry=[], crs=metric)
    weights = None
    if store.has("risk"):
        risk = store.read("risk")
        weights = {str(c): RISK_WEIGHTS.get(str(level), 1.0) for c, level in zip(risk["code"], risk["level"],
                                                                                  strict=True)}
    grids = store.features("grids").to_crs(metric)[["code", "community_code", "geometry"]]
    buildings = store.features("buildings").to_crs(metric).geometry.reset_index(drop=True)
    # where each camera stands (mounted on its wall) and its image: what face and plate capture need
    optics = capture.optics(mounting.mount(fp.resolve(cams, assumptions(settings)), buildings.to_numpy()))
    return {"grids": grids.reset_index(drop=True), "buildings": buildings,
            "roads": roads.reset_index(drop=True), "targets": targets.reset_index(drop=True),
            "cameras": pd.concat([cams[["id", "status", "point_class", "geometry"]], optics],
                                 axis=1).reset_index(drop=True),
            "views": _wide_views(views, cams["id"]),
            "options": coverage_options(settings, include_planned=include_planned), "grid_weight": weights,
            "presets": presets}


def coverage_model(store: Store, *, include_planned: bool = False, light: str = "day") -> coverage.CoverageModel:
    """The coverage model of a workspace, for repeated and incremental queries.

    Parameters
    ----------
    store
        The workspace (views are recomputed first when they are stale).
    include_planned
        Count planned cameras as covering.
    light
        ``"day"``, or ``"night"`` (from the night views).

    Returns
    -------
    gis.coverage.CoverageModel
        Grids, targets and views in memory, in the workspace's metric CRS.
    """
    return coverage.CoverageModel(**coverage_inputs(store, include_planned=include_planned, light=light))


def compute_coverage(store: Store, *, include_planned: bool = False, write: bool = True,
                     progress: Step | None = None, parallel: bool = False,
                     scheduler: str | None = None, workers: int | None = None,
                     tile_m: float = 2000.0, light: str = "day") -> CoverageResult:
    """Coverage per grid and community, target coverage, blind spots and the 雪亮 indicators.

    Writes ``coverage_grids``, ``coverage_communities``, ``coverage_targets``, ``blind_spots`` and
    ``capture_views`` (where each camera captures the faces or plates a target asks for) in one atomic
    step, stamped (``coverage`` metadata) with the versions of their inputs. Views
    are recomputed first when they are stale.

    Parameters
    ----------
    store
        The workspace; it needs ``grids``, ``cameras`` and ``buildings`` (``roads`` and ``targets``
        when there are any).
    include_planned
        Count planned cameras as covering (a what-if of the plan).
    write
        Store the four result layers and the stamp.
    progress
        Called with a short description of each step.
    parallel
        Compute in tiles on a dask LocalCluster (:func:`api.workflows.parallel.coverage_partitioned`):
        the same figures as the single process.
    scheduler
        The address of a running dask scheduler, instead of a LocalCluster.
    workers
        Worker processes of the LocalCluster (default: one per core).
    tile_m
        Tile size (m) of a partitioned run.
    light
        ``"day"``, or ``"night"``: from the night views (``views_night``), written as the
        ``*_night`` twins of the four layers (``coverage_grids_night`` …), stamped ``coverage_night``.

    Returns
    -------
    CoverageResult
        The figures, in the metric CRS; see :class:`CoverageResult`.
    """
    step = as_step(progress)
    result_layer("views", light)  # a known light, before any work
    step("views")
    if (parallel or scheduler) and not views_are_current(store, light):
        compute_views(store, parallel=True, scheduler=scheduler, workers=workers or 1, tile_m=tile_m, light=light)
    inputs = coverage_inputs(store, include_planned=include_planned, light=light)
    options = inputs["options"]
    tiles: list[dict[str, Any]] = []
    prepare_s = 0.0
    if parallel or scheduler:
        result = dask_run.coverage_partitioned(inputs, tile_m=tile_m, scheduler=scheduler, workers=workers,
                                               progress=counter(step, "grids, targets and blind spots in tiles"))
        grids, targets, spots, outside = result["grids"], result["targets"], result["blind_spots"], result["outside"]
        tiles, prepare_s = result["tiles"], result["prepare_s"]
    else:
        model = coverage.CoverageModel(**inputs)
        step("grids")
        grids = model.grid_figures()
        step("targets")
        targets = model.target_coverage()
        targets["public_m2"] = [shapely.area(g) for g in model.target_areas]
        step("blind spots")
        spots = model.blind_spots()
        outside = model.cameras_outside()
    communities = indicators.community_figures(grids)
    names = dict(zip(*(store.read("communities")[c] for c in ("code", "name")), strict=True)) if store.has(
        "communities") else {}
    communities.insert(1, "name", communities["community_code"].map(names))
    areas = pd.Series(targets["public_m2"].to_numpy(dtype=float) if len(targets) else [],
                      index=targets["id"].to_numpy() if len(targets) else [], dtype=float)
    ind = indicators.indicators(targets, areas[areas > 0])
    ind["cameras_outside_grids"] = outside
    metric = store.metric_crs()
    grid_layer = gpd.GeoDataFrame(grids, geometry=inputs["grids"].geometry.to_numpy(), crs=metric).to_crs(4326)
    target_layer = gpd.GeoDataFrame(targets, geometry=inputs["targets"].geometry.to_numpy(), crs=metric).to_crs(4326)
    spot_layer = spots.to_crs(4326)
    step("face and plate capture")
    cams = inputs["cameras"]
    zones = capture.zones(inputs["targets"], cams, inputs["views"][camera.DORI_LEVELS[0]].to_numpy(),
                          cams["status"].fillna("active").isin(options.covering_statuses).to_numpy(),
                          options.capture_rules)
    zone_layer = gpd.GeoDataFrame(zones, geometry="geometry", crs=metric).to_crs(4326)
    stamp: dict[str, Any] = {"inputs": {name: store.version(name) for name in _inputs(light) if store.has(name)},
             "computed_at": now_iso(), "options": dataclasses.asdict(options), "indicators": ind, "light": light}
    log.info("coverage of %d grids: %d blind spots", len(grids), len(spots))
    if write:
        step("writing")
        frames = dict(zip(RESULT_LAYERS, (grid_layer, communities, target_layer, spot_layer, zone_layer),
                          strict=True))
        store.write_many({result_layer(n, light): f for n, f in frames.items()},
                         message=f"pingan coverage --light {light}")
        stamp["inputs"][VIEW_LAYER[light]] = store.version(VIEW_LAYER[light])
        store.set_meta({result_layer("coverage", light): stamp})
        if light == "day":
            qgis.style_workspace(store, ["coverage_grids", "blind_spots", "cameras"])  # opens styled in QGIS
    return CoverageResult(grids=grids, communities=communities, targets=targets, blind_spots=spots,
                          indicators=ind, stamp=stamp, tiles=tiles, prepare_s=prepare_s, capture_views=zones)


def coverage_is_current(store: Store, light: str = "day") -> bool:
    """True when the stored coverage results (by day, or by night) were computed from the current inputs."""
    stamp = store.get_meta(result_layer("coverage", light)) or {}
    inputs = {name: store.version(name) for name in _inputs(light) if store.has(name)}
    return bool(stamp) and stamp.get("inputs") == inputs and views_are_current(store, light)
