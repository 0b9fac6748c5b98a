"""PTZ cameras on a tour of presets: what they see, and for how much of the time.

A PTZ camera (球机) may carry a list of presets (预置位), each a pan (compass heading, degrees), a
tilt (degrees down), a horizontal field of view (the zoom, degrees) and a dwell time (seconds) on
its tour. Written in one field as ``pan/tilt/hfov/dwell`` per preset, separated by ``;``::

    0/15/58/30; 120/10/20/60

Each preset looks like a fixed camera with that heading, tilt and field of view (its ranges follow
from the zoomed field of view), so its view is computed as any other camera's is. The camera's view
is the union of its presets' (it sees there *at some time*), and preset ``k`` is on for the time
share ``dwell_k / Σ dwell``.

What is seen for how much of the time: a place is seen at a time when some camera looking at it
then sees it. A fixed camera always looks; a PTZ camera looks through one preset at a time, so it
sees a point ``x`` for the share ``f(x) = Σ`` of the shares of its presets that see ``x``. Tours of
different cameras are taken as unsynchronised (independent), so ``x`` is seen for the share
``1 − Π (1 − f_c(x))`` over the cameras. :func:`expected_area` integrates that over a region
exactly, on the pieces the preset views cut it into; :func:`share_of_time` enumerates the presets
the cameras near a target may be on for a target that must be seen as a whole.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from gis import shapes

#: between presets, and between the four numbers of one
_BETWEEN = re.compile(r"\s*[;；\n]\s*")
_WITHIN = re.compile(r"\s*[/／]\s*")
#: the most preset combinations :func:`share_of_time` enumerates; beyond, cameras count one by one
MAX_STATES = 4096


@dataclass(frozen=True)
class Preset:
    """One stop of a PTZ tour: pan (compass degrees), tilt (degrees down), field of view (degrees)
    and dwell (seconds)."""

    pan_deg: float
    tilt_deg: float
    hfov_deg: float
    dwell_s: float


def parse(text: object) -> list[Preset]:
    """The presets written in one field (``pan/tilt/hfov/dwell; …``); [] for an empty one.

    Raises
    ------
    ValueError
        Naming the preset that cannot be read and how to write it.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)) or not str(text).strip():
        return []
    out = []
    for k, part in enumerate(p for p in _BETWEEN.split(str(text).strip()) if p):
        try:
            pan, tilt, hfov, dwell = (float(v) for v in _WITHIN.split(part))
        except ValueError:
            raise ValueError(f"preset {k + 1} '{part}' is not pan/tilt/hfov/dwell: write four numbers, "
                             "e.g. 0/15/58/30 (heading°, tilt° down, field of view°, seconds)") from None
        if not (-90 <= tilt <= 90 and 1 <= hfov <= 170 and dwell > 0 and math.isfinite(pan)):
            raise ValueError(f"preset {k + 1} '{part}': the tilt must lie in −90…90°, the field of view in "
                             "1…170° and the dwell be more than 0 s")
        out.append(Preset(pan % 360.0, tilt, hfov, dwell))
    return out


def text(presets: Sequence[Preset]) -> str:
    """The presets written as :func:`parse` reads them (``pan/tilt/hfov/dwell; …``)."""
    return "; ".join("/".join(f"{v:g}" for v in (p.pan_deg, p.tilt_deg, p.hfov_deg, p.dwell_s)) for p in presets)


def shares(presets: Sequence[Preset]) -> list[float]:
    """Each preset's share of the tour's time (its dwell over the tour's)."""
    total = sum(p.dwell_s for p in presets)
    return [p.dwell_s / total for p in presets]


def expand(cameras: pd.DataFrame, field: str = "presets") -> pd.DataFrame:
    """The cameras with every PTZ on a tour replaced by one row per preset.

    Returns
    -------
    pandas.DataFrame
        The camera rows with ``camera`` (the camera's id), ``preset`` (0 for a camera without
        presets, else 1, 2, …) and ``share`` (its time share, 1 without presets); a preset's row
        is its camera's with ``id`` ``<id>#<k>``, the preset's heading, tilt and field of view,
        no focal length (the zoom's field of view decides) and kind bullet (a frustum).

    Raises
    ------
    ValueError
        Naming the camera whose presets cannot be read.
    """
    rows, kept = [], []
    for i, (cam, text) in enumerate(zip(cameras["id"], cameras[field] if field in cameras else
                                        [None] * len(cameras), strict=True)):
        try:
            presets = parse(text)
        except ValueError as exc:
            raise ValueError(f"camera {cam}: {exc}") from None
        if not presets:
            kept.append(i)
            continue
        for k, (p, share) in enumerate(zip(presets, shares(presets), strict=True), start=1):
            rows.append((i, f"{cam}#{k}", cam, k, share, p))
    out = cameras.iloc[kept].assign(camera=cameras["id"].iloc[kept].to_numpy(), preset=0, share=1.0)
    if not rows:
        return out
    tours = cameras.iloc[[r[0] for r in rows]].assign(
        id=[r[1] for r in rows], camera=[r[2] for r in rows], preset=[r[3] for r in rows],
        share=[r[4] for r in rows], heading_deg=[r[5].pan_deg for r in rows],
        tilt_deg=[r[5].tilt_deg for r in rows], hfov_deg=[r[5].hfov_deg for r in rows], kind="bullet")
    if "focal_mm" in tours:
        tours["focal_mm"] = np.nan
    return pd.concat([out, tours]).sort_index(kind="stable")


def _union(views: pd.Series) -> shapely.Geometry:
    return shapes.union(views.to_numpy())


def combine(seen: pd.DataFrame, expanded: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Views computed per row of :func:`expand` (``seen``: one polygon column per level, aligned to
    ``expanded``) back per camera.

    Returns
    -------
    views : pandas.DataFrame
        Indexed by camera id, one column per level: a camera's view, the union of its presets' for a PTZ.
    presets : pandas.DataFrame
        The presets' own views in long form: camera, preset, share, level, geometry (empty ones left out).
    """
    levels = list(seen.columns)
    cams = expanded["camera"].to_numpy()
    toured = expanded["preset"].to_numpy() > 0
    views = pd.DataFrame(seen.to_numpy()[~toured], index=cams[~toured], columns=levels)
    if toured.any():
        rows = seen[toured].assign(camera=cams[toured])
        unions = rows.groupby("camera", sort=False)[levels].agg(_union)
        views = pd.concat([views, unions])
        views = views.loc[pd.unique(cams)]  # the cameras' own order
    long = [(c, int(k), float(sh), level, g)
            for c, k, sh, row in zip(cams[toured], expanded["preset"].to_numpy()[toured],
                                     expanded["share"].to_numpy()[toured], seen.to_numpy()[toured], strict=True)
            for level, g in zip(levels, row, strict=True) if g is not None and not shapely.is_empty(g)]
    presets = pd.DataFrame(long, columns=["camera", "preset", "share", "level", "geometry"])
    return views, presets


#: one camera's tour as the coverage model holds it: (time share, the preset's view) per preset
Tour = Sequence[tuple[float, shapely.Geometry]]


def expected_area(region: shapely.Geometry, fixed: shapely.Geometry, tours: Sequence[Tour]) -> float:
    """The time-averaged seen area (m²) of ``region``: all that ``fixed`` (always-on views) sees of
    it, plus each piece the tours' preset views cut the rest into times the share of time it is seen."""
    seen = float(shapely.area(shapes.intersection(region, fixed)))
    rest = shapes.difference(region, fixed)
    if shapely.is_empty(rest) or not tours:
        return seen
    pieces: list[tuple[shapely.Geometry, dict[int, float]]] = [(rest, {})]
    for c, tour in enumerate(tours):
        for share, view in tour:
            if view is None or shapely.is_empty(view):
                continue
            cut: list[tuple[shapely.Geometry, dict[int, float]]] = []
            for geom, on in pieces:
                inside = shapes.intersection(geom, view)
                if shapely.is_empty(inside) or shapely.area(inside) <= 0:
                    cut.append((geom, on))
                    continue
                cut.append((inside, {**on, c: on.get(c, 0.0) + share}))
                outside = shapes.difference(geom, view)
                if not shapely.is_empty(outside):
                    cut.append((outside, on))
            pieces = cut
    return seen + sum(float(shapely.area(g)) * (1.0 - math.prod(1.0 - min(f, 1.0) for f in on.values()))
                      for g, on in pieces if on)


def share_of_time(always: Sequence[shapely.Geometry], tours: Sequence[Tour],
                  seen: Callable[[list[shapely.Geometry]], bool]) -> float:
    """The share of time (0–1) that ``seen`` holds of the views on at a time: the always-on views
    and, of each tour, the preset it is on (or none of them where its presets' shares leave time).

    The combinations of presets are enumerated (tours independent) up to :data:`MAX_STATES`;
    beyond, each tour counts on its own with the always-on views, combined as independent."""
    if seen(list(always)):
        return 1.0
    if not tours:
        return 0.0
    options = [[*((s, v) for s, v in tour), (max(0.0, 1.0 - sum(s for s, _ in tour)), None)] for tour in tours]
    if math.prod(len(o) for o in options) > MAX_STATES:
        miss = 1.0
        for tour in tours:
            miss *= 1.0 - sum(s for s, v in tour if seen([*always, v]))
        return 1.0 - max(miss, 0.0)
    total = 0.0
    for state in itertools.product(*options):
        weight = math.prod(s for s, _ in state)
        if weight > 0 and seen([*always, *(v for _, v in state if v is not None)]):
            total += weight
    return min(total, 1.0)


def tours_of(presets: pd.DataFrame | None, levels: Sequence[str]) -> dict[str, dict[str, Tour]]:
    """The tours of a ``preset_views`` layer (camera, preset, share, level, geometry; metric CRS):
    per camera and level, (share, view) per preset in preset order. A preset that sees nothing at a
    level has no row there and an empty view; one that sees nothing at all is time the camera sees
    nothing (:func:`share_of_time` counts the shares' shortfall so)."""
    out: dict[str, dict[str, Tour]] = {}
    if presets is None or not len(presets):
        return out
    for cam, rows in presets.groupby("camera", sort=False):
        numbers = rows.drop_duplicates("preset").sort_values("preset")
        by = {(int(k), str(lv)): g for k, lv, g in zip(rows["preset"], rows["level"], rows.geometry, strict=True)}
        out[str(cam)] = {level: [(float(s), by.get((int(k), level), shapely.Polygon()))
                                 for k, s in zip(numbers["preset"], numbers["share"], strict=True)]
                         for level in levels}
    return out
