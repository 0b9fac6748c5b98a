"""Patrol zones' codes and their duty (勤务级别): the parts of a patrol plan that follow from the zones'
uncovered risk alone (:mod:`api.workflows.patrol`)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from api.i18n import t
from gis.patrol.model import PatrolModel


def zone_codes(station_id: str, shapes: list[shapely.Geometry], band_m: float = 250.0) -> list[str]:
    """Zone codes like grid codes: the station's id + a 2-digit serial, west → east in north → south bands."""
    c = shapely.centroid(np.asarray(shapes, dtype=object))
    top = np.nanmax(shapely.get_y(c)) if len(c) else 0.0
    order = sorted(range(len(shapes)), key=lambda k: ((top - shapely.get_y(c[k])) // band_m, shapely.get_x(c[k])))
    out = [""] * len(shapes)
    for serial, k in enumerate(order, start=1):
        out[k] = f"{station_id}{serial:02d}"
    return out



def duty(zones_frame: gpd.GeoDataFrame, model: PatrolModel, officers: int, lang: str = "zh") -> gpd.GeoDataFrame:
    """勤务级别 and officers per zone and slot (the zones of one station): the level by the zone's uncovered
    risk against the slot's mean over the zones; the station's ``officers`` shared in proportion to it
    (largest remainder), each zone at least the model's minimum."""
    out = zones_frame.copy()
    for s in model.slots:
        u = out[f"uncovered_{s.key}"].to_numpy(dtype=float) if len(out) else np.empty(0)
        ratio = u / u.mean() if len(u) and u.mean() > 0 else np.zeros(len(u))
        out[f"level_{s.key}"] = np.where(ratio >= model.duty["level1_ratio"], 1,
                                         np.where(ratio >= model.duty["level2_ratio"], 2, 3))
        floor = int(model.duty["min_officers"])
        share = max(officers - floor * len(u), 0)
        quota = share * u / u.sum() if len(u) and u.sum() > 0 else np.zeros(len(u))
        base = np.floor(quota).astype(int)
        extra = share - int(base.sum())
        if extra > 0 and len(u):
            base[np.argsort(-(quota - base), kind="stable")[:extra]] += 1
        out[f"officers_{s.key}"] = base + floor
        out[f"duty_{s.key}"] = [t(lang, f"patrol.level{int(v)}") for v in out[f"level_{s.key}"]]
    return out
