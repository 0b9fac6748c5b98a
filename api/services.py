"""Analyses as a user runs them: read the workspace, compute with :mod:`gis`, write the result.

The CLI and the HTTP routes call these functions; they hold no maths of their own.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis import camera, coverage, indicators, mounting, visibility
from gis import footprint as fp
from layers.errors import WorkspaceError
from layers.store import Store, now_iso

log = logging.getLogger(__name__)

VIEW_INPUTS = ("cameras", "buildings")


def assumptions(settings: dict[str, Any]) -> fp.Assumptions:
    """Camera defaults from the workspace settings (``camera_defaults``), else the built-in ones."""
    given = dict(settings.get("camera_defaults") or {})
    allowed = set(fp.Assumptions.__dataclass_fields__)
    unknown = set(given) - allowed
    if unknown:
        raise WorkspaceError(f"unknown camera_defaults setting(s) {sorted(unknown)}: known are {sorted(allowed)}")
    return fp.Assumptions(**given)


#: settings that take a table (JSON object) rather than one value
TABLE_SETTINGS = ("camera_defaults", "coverage", "dori_profiles")


def change_settings(store: Store, values: dict[str, Any], *, user: str) -> dict[str, Any]:
    """Check and store analysis settings (results computed before become stale); audited.

    Checks what a value means in this workspace: a DORI profile must exist (built in or under
    ``dori_profiles``), ``camera_defaults`` and ``coverage`` must name known fields.
    """
    merged = {**store.settings(), **values}
    profiles = set(camera.DORI_PROFILES) | set(merged.get("dori_profiles") or {})
    if "dori_profile" in values and values["dori_profile"] not in profiles:
        raise ValueError(f"unknown DORI profile '{values['dori_profile']}': "
                         f"choose one of {', '.join(sorted(profiles))}")
    for key in TABLE_SETTINGS:
        if key in values and not isinstance(values[key], dict):
            raise ValueError(f"{key} takes a table, e.g. {key}='{{\"…\": …}}' (JSON)")
    try:
        assumptions(merged)
        coverage_options(merged)
    except WorkspaceError as exc:  # a bad value given now, not a damaged workspace
        raise ValueError(str(exc)) from exc
    camera.profile(str(merged["dori_profile"]), merged.get("dori_profiles"))
    before = store.settings()
    out = store.update_settings(**values)
    store.audit("settings", "workspace", {k: {"from": before.get(k), "to": v} for k, v in values.items()}, user=user)
    return out


def compute_views(store: Store, *, mode: str | None = None, target_height: float | None = None,
                  statuses: tuple[str, ...] = ("active", "faulty", "planned"), workers: int = 1,
                  progress: Callable[[int, int], None] | None = None, write: bool = True,
                  parallel: bool = False, scheduler: str | None = None, tile_m: float = 1000.0) -> gpd.GeoDataFrame:
    """What every camera sees at each DORI level; stored as the ``views`` layer (lon/lat).

    Settings used: ``dori_profile`` (+ ``dori_profiles``), ``dori_form`` (arc/flat),
    ``storey_height_m``, ``target_height_m`` (1.6, a face), ``occlusion`` (2.5d/2d) and
    ``camera_defaults``. The layer records the versions of its inputs, so a stale result
    can be told from a current one (:func:`views_are_current`).
    """
    settings = store.settings()
    for layer in VIEW_INPUTS:
        if not store.has(layer):
            raise WorkspaceError(f"the workspace has no {layer} layer: import one first (pingan import)")
    metric = store.metric_crs()
    cams = store.features("cameras")
    cams = cams[cams["status"].fillna("active").isin(statuses)].to_crs(metric)
    blds = store.features("buildings").to_crs(metric)
    target = float(target_height if target_height is not None else settings["target_height_m"])
    occlusion = mode or str(settings["occlusion"])
    ppm = camera.profile(str(settings["dori_profile"]), settings.get("dori_profiles"))
    assume = assumptions(settings)
    params = mounting.mount(fp.resolve(cams, assume), blds.geometry.to_numpy())  # on their walls, or indoors
    ranges = fp.level_ranges(params, ppm, target, form=str(settings["dori_form"]))
    heights = visibility.building_heights(blds["height_m"], blds["floors"], float(settings["storey_height_m"]))
    if parallel or scheduler:  # tiles with a halo on a dask cluster (a LocalCluster unless one is named)
        from api import parallel as dask_run

        seen = dask_run.visible_partitioned(params, ranges, blds.geometry.to_numpy(), heights, target_height=target,
                                            mode=occlusion, presets=tuple(assume.ptz_presets_deg), tile_m=tile_m,
                                            scheduler=scheduler, workers=workers if workers > 1 else None,
                                            progress=progress)
    else:
        obstacles = visibility.Obstacles.build(blds.geometry.to_numpy(), heights)
        seen = visibility.visible(params, ranges, obstacles, target_height=target, mode=occlusion,
                                  presets=tuple(assume.ptz_presets_deg), workers=workers, progress=progress)
    seen.index = cams["id"].to_numpy()
    out = visibility.long_form(seen, crs=metric)
    out["range_m"] = np.concatenate([ranges[level].to_numpy() for level in seen.columns])
    out["assumed"] = np.tile(params["assumed"].to_numpy(), len(seen.columns))
    out = out[~out.geometry.is_empty].to_crs(4326)
    stamp = {"inputs": {name: store.version(name) for name in VIEW_INPUTS}, "computed_at": now_iso(),
             "target_height_m": target, "occlusion": occlusion, "dori": ppm,
             "indoor_cameras": [str(c) for c in cams["id"].to_numpy()[params["indoor"].to_numpy(dtype=bool)]],
             "mounted_cameras": int(params["assumed"].str.contains("mounted on the wall", regex=False).sum())}
    log.info("views of %d cameras: %d polygons over %d levels", len(cams), len(out), len(seen.columns))
    if write:
        store.write("views", out, message="pingan views")
        store.set_meta({"views": stamp})
    out.attrs["stamp"] = stamp
    if "tiles" in seen.attrs:
        out.attrs["tiles"] = seen.attrs["tiles"]  # per-tile times and worker memory of a partitioned run
    return out


def views_are_current(store: Store) -> bool:
    """True when the stored views were computed from the current cameras and buildings."""
    stamp = store.get_meta("views") or {}
    return bool(stamp) and store.has("views") and stamp.get("inputs") == {
        name: store.version(name) for name in VIEW_INPUTS}


def summarise_views(views: pd.DataFrame) -> pd.DataFrame:
    """Cameras and seen area (m², union not counted twice is for the coverage analysis) per level."""
    return views.groupby("level", sort=False).agg(cameras=("camera", "nunique"), area_m2=("area_m2", "sum"))


# ---- coverage ------------------------------------------------------------------------------------------
COVERAGE_INPUTS = ("cameras", "buildings", "grids", "roads", "targets", "views")
RISK_WEIGHTS = {"red": 3.0, "yellow": 2.0, "green": 1.0}


def coverage_options(settings: dict[str, Any], *, include_planned: bool = False) -> coverage.Options:
    given = dict(settings.get("coverage") or {})
    allowed = set(coverage.Options.__dataclass_fields__)
    unknown = set(given) - allowed
    if unknown:
        raise WorkspaceError(f"unknown coverage setting(s) {sorted(unknown)}: known are {sorted(allowed)}")
    if "covering_statuses" in given:
        given["covering_statuses"] = tuple(given["covering_statuses"])
    opts = coverage.Options(**given)
    if include_planned and "planned" not in opts.covering_statuses:
        opts = dataclasses.replace(opts, covering_statuses=(*opts.covering_statuses, "planned"))
    return opts


def _wide_views(views: gpd.GeoDataFrame, cameras: pd.Series) -> pd.DataFrame:
    wide = views.pivot_table(index="camera", columns="level", values="geometry", aggfunc="first")
    wide = wide.reindex(index=cameras, columns=list(camera.DORI_LEVELS))
    return wide.map(lambda g: shapely.Polygon() if g is None or (isinstance(g, float) and np.isnan(g)) else g)


def coverage_inputs(store: Store, *, include_planned: bool = False) -> dict[str, Any]:
    """The inputs of :class:`gis.coverage.CoverageModel` read from a workspace (metric CRS; views
    recomputed first when they are stale)."""
    for layer in ("grids", "cameras", "buildings"):
        if not store.has(layer):
            raise WorkspaceError(f"the workspace has no {layer} layer: import one first (pingan import)")
    if not views_are_current(store):
        compute_views(store)
    metric = store.metric_crs()
    settings = store.settings()
    cams = store.features("cameras").to_crs(metric)
    views = store.features("views").to_crs(metric)
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
    return {"grids": grids.reset_index(drop=True),
            "buildings": store.features("buildings").to_crs(metric).geometry.reset_index(drop=True),
            "roads": roads.reset_index(drop=True), "targets": targets.reset_index(drop=True),
            "cameras": cams[["id", "status", "point_class", "geometry"]].reset_index(drop=True),
            "views": _wide_views(views, cams["id"]),
            "options": coverage_options(settings, include_planned=include_planned), "grid_weight": weights}


def coverage_model(store: Store, *, include_planned: bool = False) -> coverage.CoverageModel:
    """The coverage model of a workspace (views recomputed first when they are stale)."""
    return coverage.CoverageModel(**coverage_inputs(store, include_planned=include_planned))


def compute_coverage(store: Store, *, include_planned: bool = False, write: bool = True,
                     progress: Callable[[str], None] | None = None, parallel: bool = False,
                     scheduler: str | None = None, workers: int | None = None,
                     tile_m: float = 2000.0) -> dict[str, Any]:
    """Coverage per grid and community, target coverage, blind spots and the 雪亮 indicators.

    Writes ``coverage_grids``, ``coverage_communities``, ``coverage_targets`` and ``blind_spots``
    in one atomic step, stamped (``coverage`` metadata) with the versions of their inputs.
    ``parallel``/``scheduler``: grids in tiles on a dask cluster (:func:`api.parallel.coverage_partitioned`),
    the same figures as the single process.
    """
    step = progress or (lambda _name: None)
    step("views")
    if (parallel or scheduler) and not views_are_current(store):
        compute_views(store, parallel=True, scheduler=scheduler, workers=workers or 1, tile_m=tile_m)
    inputs = coverage_inputs(store, include_planned=include_planned)
    options = inputs["options"]
    tiles: list[dict[str, Any]] = []
    prepare_s = 0.0
    if parallel or scheduler:
        from api import parallel as dask_run

        step("grids, targets and blind spots in tiles")
        shown = [0]

        def tick(done: int, total: int) -> None:  # every tenth of the grids, not every tile
            if total and done * 10 // total > shown[0]:
                shown[0] = done * 10 // total
                step(f"{done:,}/{total:,} grids")

        result = dask_run.coverage_partitioned(inputs, tile_m=tile_m, scheduler=scheduler, workers=workers,
                                               progress=tick)
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
    stamp: dict[str, Any] = {"inputs": {name: store.version(name) for name in COVERAGE_INPUTS if store.has(name)},
             "computed_at": now_iso(), "options": dataclasses.asdict(options), "indicators": ind}
    log.info("coverage of %d grids: %d blind spots", len(grids), len(spots))
    if write:
        step("writing")
        store.write_many({"coverage_grids": grid_layer, "coverage_communities": communities,
                          "coverage_targets": target_layer, "blind_spots": spot_layer}, message="pingan coverage")
        stamp["inputs"]["views"] = store.version("views")
        store.set_meta({"coverage": stamp})
    return {"grids": grids, "communities": communities, "targets": targets, "blind_spots": spots,
            "indicators": ind, "stamp": stamp, "tiles": tiles, "prepare_s": prepare_s}


def coverage_is_current(store: Store) -> bool:
    """True when the stored coverage results were computed from the current inputs."""
    stamp = store.get_meta("coverage") or {}
    inputs = {name: store.version(name) for name in COVERAGE_INPUTS if store.has(name)}
    return bool(stamp) and stamp.get("inputs") == inputs and views_are_current(store)


class WhatIf:
    """An interactive session: add, move or delete cameras and get the changed figures at once."""

    #: the grid figures the session started from, kept up to date by the what-if routes
    figures: pd.DataFrame

    def __init__(self, store: Store, *, include_planned: bool = True):
        settings = store.settings()
        self.metric = store.metric_crs()
        self.model = coverage_model(store, include_planned=include_planned)
        blds = store.features("buildings").to_crs(self.metric)
        heights = visibility.building_heights(blds["height_m"], blds["floors"], float(settings["storey_height_m"]))
        self.obstacles = visibility.Obstacles.build(blds.geometry.to_numpy(), heights)
        self.assume = assumptions(settings)
        self.ppm = camera.profile(str(settings["dori_profile"]), settings.get("dori_profiles"))
        self.target = float(settings["target_height_m"])
        self.form = str(settings["dori_form"])
        self.occlusion = str(settings["occlusion"])

    def camera_views(self, cam: gpd.GeoDataFrame) -> dict[str, shapely.Geometry]:
        """Views of one camera given as a one-row frame of camera fields in the metric CRS."""
        params = fp.resolve(cam, self.assume)
        ranges = fp.level_ranges(params, self.ppm, self.target, form=self.form)
        seen = visibility.visible(params, ranges, self.obstacles, target_height=self.target, mode=self.occlusion,
                                  presets=tuple(self.assume.ptz_presets_deg))
        return dict(seen.iloc[0])

    def set_camera(self, cam_id: str, fields: dict[str, Any] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Place or move ``cam_id`` (``fields`` with lon/lat or x/y and camera fields), or delete it (None)."""
        if fields is None:
            return self.model.set_camera(cam_id, None)
        data = dict(fields)
        if "lon" in data and "lat" in data:
            point = gpd.GeoSeries.from_xy([data.pop("lon")], [data.pop("lat")], crs=4326).to_crs(self.metric).iat[0]
        else:
            point = shapely.Point(data.pop("x"), data.pop("y"))
        frame = gpd.GeoDataFrame({k: [v] for k, v in data.items()}, geometry=[point], crs=self.metric)
        placed = mounting.mount(fp.resolve(frame, self.assume), self.obstacles.geoms, self.obstacles.tree)
        if bool(placed["indoor"].iat[0]):
            raise ValueError(f"camera {cam_id} would stand inside a building ({placed['assumed'].iat[0]}): "
                             "place it on a street, or on a wall (within 0.5 m of it)")
        views = self.camera_views(frame)
        return self.model.set_camera(cam_id, views, status=data.get("status"), point_class=data.get("point_class"),
                                     location=point)
