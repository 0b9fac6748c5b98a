"""Camera views as a user computes them (`pingan views`): read cameras and buildings, compute
what each camera sees with :mod:`gis.visibility`, write the ``views`` layer."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from api.workflows import parallel as dask_run
from api.workflows.settings import assumptions, night_options
from gis import camera, catalogue, mounting, night, ptz, visibility
from gis import footprint as fp
from layers.errors import WorkspaceError
from layers.store import Store, now_iso

log = logging.getLogger(__name__)


VIEW_INPUTS = ("cameras", "buildings")
LIGHTS = ("day", "night")
#: where the views of each light are stored
LAYER = {"day": "views", "night": "views_night"}
#: where the views of each PTZ preset are stored (:mod:`gis.ptz`)
PRESET_LAYER = {"day": "preset_views", "night": "preset_views_night"}


def compute_views(store: Store, *, mode: str | None = None, target_height: float | None = None,
                  statuses: tuple[str, ...] = ("active", "faulty", "planned"), workers: int = 1,
                  progress: Callable[[int, int], None] | None = None, write: bool = True,
                  parallel: bool = False, scheduler: str | None = None, tile_m: float = 1000.0,
                  light: str = "day") -> gpd.GeoDataFrame:
    """What every camera sees at each DORI level, stored as the ``views`` layer (lon/lat); with
    ``light="night"`` what it sees after dark (:mod:`gis.night`), stored as ``views_night``.

    Settings used: ``dori_profile`` (+ ``dori_profiles``), ``dori_form`` (arc/flat),
    ``storey_height_m``, ``target_height_m`` (1.6, a face), ``occlusion`` (2.5d/2d) and
    ``camera_defaults``. The layer records the versions of its inputs, so a stale result
    can be told from a current one (:func:`views_are_current`).

    Parameters
    ----------
    store
        The workspace; it needs ``cameras`` and ``buildings``.
    mode
        Occlusion: ``"2.5d"`` (buildings by height) or ``"2d"`` (every building hides); default the
        ``occlusion`` setting.
    target_height
        Height (m) of what is looked at; default the ``target_height_m`` setting.
    statuses
        The camera statuses whose views are computed.
    workers
        Processes for the single-machine run.
    progress
        Called with (cameras done, cameras in all).
    write
        Store the result as the ``views`` layer.
    parallel
        Run in tiles on a dask LocalCluster (``scheduler`` names a running cluster instead).
    scheduler
        The address of a dask scheduler, e.g. ``tcp://host:8786``.
    tile_m
        Tile size (m) of a partitioned run.
    light
        ``"day"`` or ``"night"`` (the day ranges cut by each camera's lamp or the street lights;
        setting ``night``).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per camera and level: camera, level, area_m2, range_m, assumed and the view polygon
        (lon/lat; empty views left out); ``attrs["stamp"]`` holds the inputs' versions and the
        cameras put indoors.
    """
    if light not in LIGHTS:
        raise ValueError(f"unknown light '{light}': use day or night")
    settings = store.settings()
    for layer in VIEW_INPUTS:
        if not store.has(layer):
            raise WorkspaceError(f"the workspace has no {layer} layer: import one first (pingan import)")
    metric = store.metric_crs()
    cams = store.features("cameras")
    cams = cams[cams["status"].fillna("active").isin(statuses)].to_crs(metric)
    cams = ptz.expand(cams).reset_index(drop=True)  # a PTZ on a tour: one row per preset
    blds = store.features("buildings").to_crs(metric)
    target = float(target_height if target_height is not None else settings["target_height_m"])
    occlusion = mode or str(settings["occlusion"])
    ppm = camera.profile(str(settings["dori_profile"]), settings.get("dori_profiles"))
    assume = assumptions(settings)
    params = mounting.mount(fp.resolve(cams, assume), blds.geometry.to_numpy())  # on their walls, or indoors
    ranges = fp.level_ranges(params, ppm, target, form=str(settings["dori_form"]))
    if light == "night":
        params, ranges = after_dark(cams, params, ranges, target, settings)
    heights = visibility.building_heights(blds["height_m"], blds["floors"], float(settings["storey_height_m"]))
    if parallel or scheduler:  # tiles with a halo on a dask cluster (a LocalCluster unless one is named)

        seen = dask_run.visible_partitioned(params, ranges, blds.geometry.to_numpy(), heights, target_height=target,
                                            mode=occlusion, presets=tuple(assume.ptz_presets_deg), tile_m=tile_m,
                                            scheduler=scheduler, workers=workers if workers > 1 else None,
                                            progress=progress)
    else:
        obstacles = visibility.Obstacles.build(blds.geometry.to_numpy(), heights)
        seen = visibility.visible(params, ranges, obstacles, target_height=target, mode=occlusion,
                                  presets=tuple(assume.ptz_presets_deg), workers=workers, progress=progress)
    seen.index = cams["id"].to_numpy()
    by_camera, tours = ptz.combine(seen, cams)
    out = visibility.long_form(by_camera, crs=metric)
    levels = list(seen.columns)
    per = pd.DataFrame({"camera": cams["camera"].to_numpy(), "assumed": params["assumed"].to_numpy(),
                        **{level: ranges[level].to_numpy() for level in levels}})
    per = per.groupby("camera", sort=False).agg({**dict.fromkeys(levels, "max"), "assumed": "first"})
    per = per.loc[by_camera.index]
    out["range_m"] = np.concatenate([per[level].to_numpy() for level in levels])
    out["assumed"] = np.tile(per["assumed"].to_numpy(), len(levels))
    out = out[~out.geometry.is_empty].to_crs(4326)
    tours = gpd.GeoDataFrame(tours, geometry="geometry", crs=metric)
    tours.insert(4, "area_m2", tours.area)
    tours = tours.to_crs(4326)
    stamp = {"inputs": {name: store.version(name) for name in VIEW_INPUTS}, "computed_at": now_iso(),
             "target_height_m": target, "occlusion": occlusion, "dori": ppm,
             "indoor_cameras": list(dict.fromkeys(str(c) for c in cams["camera"].to_numpy()[
                 params["indoor"].to_numpy(dtype=bool)])),
             "mounted_cameras": int(per["assumed"].str.contains("mounted on the wall", regex=False).sum())}
    log.info("views of %d cameras: %d polygons over %d levels", len(by_camera), len(out), len(seen.columns))
    stamp["light"] = light
    if write:
        name = LAYER[light]
        store.write_many({name: out, PRESET_LAYER[light]: tours}, message=f"pingan views --light {light}")
        store.set_meta({name: stamp})
    out.attrs["stamp"] = stamp
    out.attrs["presets"] = tours
    if "tiles" in seen.attrs:
        out.attrs["tiles"] = seen.attrs["tiles"]  # per-tile times and worker memory of a partitioned run
    return out


def after_dark(cams: pd.DataFrame, params: pd.DataFrame, ranges: pd.DataFrame, target: float,
               settings: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cameras' (or candidates') parameters and DORI ranges after dark (:func:`gis.night.night_ranges`): their
    own lamp and minimum illumination, else their model's (:mod:`gis.catalogue`), else the night setting's;
    what was assumed is added to ``assumed``."""
    filled, _, _ = catalogue.fill(cams, assumptions(settings).models)

    def field(name: str) -> np.ndarray:
        return pd.to_numeric(filled[name], errors="coerce").to_numpy(dtype=float) if name in filled else (
            np.full(len(filled), np.nan))

    ranges, notes = night.night_ranges(ranges, params["height_m"].to_numpy(dtype=float) - target,
                                       field("ir_range_m"), field("min_lux"), night_options(settings))
    return params.assign(assumed=["; ".join(p for p in (a, n) if p) for a, n in zip(
        params["assumed"], notes, strict=True)]), ranges


def views_are_current(store: Store, light: str = "day") -> bool:
    """True when the stored views (by day, or by night) were computed from the current cameras and buildings."""
    name = LAYER[light]
    stamp = store.get_meta(name) or {}
    return bool(stamp) and store.has(name) and stamp.get("inputs") == {
        name: store.version(name) for name in VIEW_INPUTS}


def summarise_views(views: pd.DataFrame) -> pd.DataFrame:
    """Cameras and seen area (m², union not counted twice is for the coverage analysis) per level."""
    return views.groupby("level", sort=False).agg(cameras=("camera", "nunique"), area_m2=("area_m2", "sum"))
