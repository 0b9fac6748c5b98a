"""Analyses as a user runs them: read the workspace, compute with :mod:`gis`, write the result.

The CLI and the HTTP routes call these functions; they hold no maths of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gis import camera, visibility
from gis import footprint as fp
from layers.errors import WorkspaceError
from layers.store import Store, now_iso

VIEW_INPUTS = ("cameras", "buildings")


def assumptions(settings: dict[str, Any]) -> fp.Assumptions:
    """Camera defaults from the workspace settings (``camera_defaults``), else the built-in ones."""
    given = dict(settings.get("camera_defaults") or {})
    allowed = set(fp.Assumptions.__dataclass_fields__)
    unknown = set(given) - allowed
    if unknown:
        raise WorkspaceError(f"unknown camera_defaults setting(s) {sorted(unknown)}: known are {sorted(allowed)}")
    return fp.Assumptions(**given)


def compute_views(store: Store, *, mode: str | None = None, target_height: float | None = None,
                  statuses: tuple[str, ...] = ("active", "faulty", "planned"), workers: int = 1,
                  progress: Callable[[int, int], None] | None = None, write: bool = True) -> gpd.GeoDataFrame:
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
    cams = store.read("cameras")
    cams = cams[cams["status"].fillna("active").isin(statuses)].to_crs(metric)
    blds = store.read("buildings").to_crs(metric)
    target = float(target_height if target_height is not None else settings.get("target_height_m", 1.6))
    occlusion = mode or str(settings.get("occlusion", "2.5d"))
    ppm = camera.profile(str(settings.get("dori_profile", "iec62676-4:2014")), settings.get("dori_profiles"))
    assume = assumptions(settings)
    params = fp.resolve(cams, assume)
    ranges = fp.level_ranges(params, ppm, target, form=str(settings.get("dori_form", "arc")))
    heights = visibility.building_heights(blds["height_m"], blds["floors"], float(settings["storey_height_m"]))
    obstacles = visibility.Obstacles.build(blds.geometry.to_numpy(), heights)
    seen = visibility.visible(params, ranges, obstacles, target_height=target, mode=occlusion,
                              presets=tuple(assume.ptz_presets_deg), workers=workers, progress=progress)
    seen.index = cams["id"].to_numpy()
    out = visibility.long_form(seen, crs=metric)
    out["range_m"] = np.concatenate([ranges[level].to_numpy() for level in seen.columns])
    out["assumed"] = np.tile(params["assumed"].to_numpy(), len(seen.columns))
    out = out[~out.geometry.is_empty].to_crs(4326)
    stamp = {"inputs": {name: store.version(name) for name in VIEW_INPUTS}, "computed_at": now_iso(),
             "target_height_m": target, "occlusion": occlusion, "dori": ppm}
    if write:
        store.write("views", out, message="pingan views")
        store.set_meta({"views": stamp})
    out.attrs["stamp"] = stamp
    return out


def views_are_current(store: Store) -> bool:
    """True when the stored views were computed from the current cameras and buildings."""
    stamp = store.get_meta("views") or {}
    return bool(stamp) and store.has("views") and stamp.get("inputs") == {
        name: store.version(name) for name in VIEW_INPUTS}


def summarise_views(views: pd.DataFrame) -> pd.DataFrame:
    """Cameras and seen area (m², union not counted twice is for the coverage analysis) per level."""
    return views.groupby("level", sort=False).agg(cameras=("camera", "nunique"), area_m2=("area_m2", "sum"))
