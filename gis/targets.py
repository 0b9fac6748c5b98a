"""Key targets' coverage on a :class:`gis.coverage.CoverageModel`: the DORI level each reaches, the
cameras that see it, its face or plate capture (:mod:`gis.capture`) and, where PTZ tours look at it,
the share of the time it is seen (:mod:`gis.ptz`).

A point target is seen at a level when it lies in the union of the views of that level; a polygon
target when at least ``polygon_share`` of its public part (buildings removed) is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import shapely

from gis import capture, ptz, shapes
from gis.camera import DORI_LEVELS

#: a :class:`gis.coverage.CoverageModel` (which imports this module, so it is not imported here)
CoverageModel = Any


def seen_share(geom: shapely.Geometry, seen: shapely.Geometry) -> float:
    """The share of target ``geom`` that ``seen`` covers: 1 or 0 for a point, the area share of a polygon."""
    if shapely.get_type_id(geom) == 0:  # a point
        return 1.0 if shapely.intersects(seen, geom) else 0.0
    area = float(shapely.area(geom))
    return float(shapely.area(shapes.intersection(seen, geom))) / area if area else 0.0


def target_coverage(model: CoverageModel, rows: Iterable[int] | None = None) -> pd.DataFrame:
    """The coverage of ``model``'s targets at ``rows`` (positions; all when None): see
    :meth:`gis.coverage.CoverageModel.target_coverage` for the columns."""
    rows = range(len(model.targets)) if rows is None else list(rows)
    rank = {level: i for i, level in enumerate(DORI_LEVELS)}
    need = model.options.polygon_share
    records = []
    for i in rows:
        t = model.targets.iloc[i]
        geom = model.target_areas[i]
        required = t.get("required_level") or model.options.default_required_level
        unions = model.level_unions(geom.buffer(0.01) if geom.geom_type == "Point" else geom, DORI_LEVELS)
        best, share_req = None, 0.0
        for level in DORI_LEVELS:
            share = seen_share(geom, unions[level])
            ok = share > 0 if geom.geom_type == "Point" else share >= need
            best = level if ok else best
            share_req = share if level == required else share_req
        near = model.cameras_near(geom)
        cams = sum(1 for c in near if shapely.intersects(model.view(c, required), geom))
        kind = t.get("capture") if isinstance(t.get("capture"), str) else None
        cap = captured(model, geom, near, kind, t.get("approach_deg")) if kind else (0.0, 0, False)
        reached = best is not None and rank[best] >= rank[required]
        records.append({"id": t["id"], "name": t["name"], "category": t["category"], "class": t["class"],
                        "required_level": required, "best_level": best, "share_required": share_req,
                        "cameras": cams, "time_share": time_share(model, geom, near, required) if reached else 0.0,
                        "capture": kind, "capture_share": cap[0], "capture_cameras": cap[1],
                        "captured": cap[2] if kind else None, "covered": reached and (cap[2] or not kind)})
    return pd.DataFrame.from_records(records, index=model.target_index[list(rows)])


def time_share(model: CoverageModel, geom: shapely.Geometry, near: list[str], level: str) -> float:
    """The share of the time target ``geom`` is seen at ``level``: 1 when fixed cameras see it,
    else what the PTZ tours near it give (:func:`gis.ptz.share_of_time`)."""
    covering = [c for c in near if model.is_covering(c)]
    tours = [model.tours[c][level] for c in covering if c in model.tours]
    always = [model.view(c, level) for c in covering if c not in model.tours]
    need = model.options.polygon_share

    def seen(views: list[shapely.Geometry]) -> bool:
        share = seen_share(geom, shapes.union(views)) if views else 0.0
        return share > 0 if shapely.get_type_id(geom) == 0 else share >= need

    return ptz.share_of_time(always, tours, seen)


def captured(model: CoverageModel, geom: shapely.Geometry, near: list[str], kind: str,
             approach: object) -> tuple[float, int, bool]:
    """A target's face or plate capture by the covering cameras ``near`` it (:func:`gis.capture.of_target`).

    Raises
    ------
    ValueError
        When the target names no approach direction or an unknown capture, or the cameras carry no optics.
    """
    rule = model.options.capture_rules.get(kind)
    if rule is None or not isinstance(approach, float | int) or not np.isfinite(approach):
        raise ValueError(f"a target needs {kind} capture: give it approach_deg and a known capture kind")
    if not set(capture.OPTICS) <= set(model.cameras.columns):
        raise ValueError("targets need face/plate capture: give the cameras their optics (gis.capture.OPTICS)")
    cams = [c for c in near if model.is_covering(c)]
    optics = model.cameras.set_index("id").loc[cams, list(capture.OPTICS)]
    return capture.of_target(geom, optics, [model.outer_view(c) for c in cams], rule, float(approach),
                             model.options.polygon_share)
