"""Occlusion by buildings, exact in plan, for one camera or many.

**The shadow of a building.** A target at height ``t`` seen from a lens at height ``H`` is
hidden by a building of height ``h`` when the building meets the plan ray from the camera
to the target at a distance greater than ``r / k``, with ``r`` the target's distance and
``k = (H − t) / (H − h)`` (similar triangles: the sight line clears the roof beyond
that). The hidden set is therefore the union of the building's homotheties about the
camera with factors λ ∈ [1, k]: the building, its ``k``-scaled copy and, for every
edge ``ab``, the trapezoid ``a, b, k·b, k·a``. A building as tall as the lens or taller
(``k = ∞``, and every building in 2D mode) hides everything behind it; one no taller
than the target hides only the ground under its own roof.

**Fast path.** Buildings that hide everything behind them within range are handled by
an exact angular sweep: between consecutive endpoint angles the nearest edge along the
ray does not change, so one ray per interval (all intervals and edges at once in
numpy) gives the visibility polygon. Only the finite 2.5D shadows of low buildings
need polygon unions. :func:`naive_visible` is the straightforward reference
(``sector.difference(union_all(shadows))``) used by the tests and the benchmark.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.affinity

from gis import footprint as fp
from gis import shapes
from gis.mounting import mount

_SAMPLE_STEP = math.radians(15.0)  # extra sweep angles, so an empty interval's chord stays beyond range
_FAR_FACTOR = 1.05  # 1 / cos(7.5°) = 1.0086: rays are drawn out this far past the range

Progress = Callable[[int, int], None]


def building_heights(height_m: pd.Series, floors: pd.Series, storey_height_m: float) -> np.ndarray:
    """Heights in metres: ``height_m``, else ``floors × storey height``, else NaN (treated as tall)."""
    h = pd.to_numeric(height_m, errors="coerce").astype(float)
    f = pd.to_numeric(floors, errors="coerce").astype(float) * storey_height_m
    return h.where(h.notna(), f).to_numpy(dtype=float)


@dataclass
class Obstacles:
    """Buildings prepared once for many cameras: polygons, heights, edges by building, an STRtree."""

    geoms: np.ndarray
    heights: np.ndarray
    seg: np.ndarray  # (E, 4): ax, ay, bx, by, grouped by building
    offsets: np.ndarray  # building i owns seg[offsets[i]:offsets[i + 1]]
    tree: shapely.STRtree
    overlapping: bool
    bounds: np.ndarray

    @classmethod
    def build(cls, geoms: np.ndarray, heights: np.ndarray | None = None, *,
              overlapping: bool | None = None) -> Obstacles:
        """``overlapping``: whether any buildings overlap, when known for a larger set this is part of
        (a partition uses the whole city's answer, so it takes the same path)."""
        # a self-intersecting footprint blocks with all its lobes, a zero-area one not at all (it is no
        # building): both made valid in their own dimension first, as every stored layer is
        geoms = shapes.repaired(np.asarray(geoms, dtype=object))
        # interiors on the left of every edge, so an edge faces a camera when the camera is on its right
        geoms = shapely.orient_polygons(geoms, exterior_cw=False)
        parts, part_of = shapely.get_parts(geoms, return_index=True)
        rings, ring_of = shapely.get_rings(parts, return_index=True)
        coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
        same = coord_ring[:-1] == coord_ring[1:]
        seg = np.column_stack([coords[:-1][same], coords[1:][same]])
        owner = part_of[ring_of[coord_ring[:-1][same]]]
        order = np.argsort(owner, kind="stable")
        seg, owner = seg[order], owner[order]
        offsets = np.searchsorted(owner, np.arange(len(geoms) + 1))
        tree = shapely.STRtree(geoms)
        if overlapping is None:
            left, right = tree.query(geoms, predicate="overlaps")
            overlapping = bool(np.any(left != right))
        h = np.full(len(geoms), np.nan) if heights is None else np.asarray(heights, dtype=float)
        return cls(geoms, h, seg, offsets, tree, overlapping, shapely.bounds(geoms))

    def segments(self, buildings: np.ndarray) -> np.ndarray:
        """The wall segments (x0, y0, x1, y1 per row, metres) of the buildings at these positions."""
        starts, ends = self.offsets[buildings], self.offsets[buildings + 1]
        counts = ends - starts
        if counts.sum() == 0:
            return np.empty((0, 4))
        idx = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        return self.seg[idx]


def _crossing_angles(rel: np.ndarray) -> np.ndarray:
    """Angles (seen from the origin) of points where two segments cross."""
    a, d = rel[:, :2], rel[:, 2:] - rel[:, :2]
    cross = d[:, None, 0] * d[None, :, 1] - d[:, None, 1] * d[None, :, 0]
    diff = a[None, :, :] - a[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (diff[..., 0] * d[None, :, 1] - diff[..., 1] * d[None, :, 0]) / cross
        u = (diff[..., 0] * d[:, None, 1] - diff[..., 1] * d[:, None, 0]) / cross
    hit = np.isfinite(s) & (s > 0) & (s < 1) & (u > 0) & (u < 1)
    i, j = np.nonzero(hit)
    pts = a[i] + s[i, j, None] * d[i]
    return np.arctan2(pts[:, 1], pts[:, 0])


def visibility_polygon(x: float, y: float, seg: np.ndarray, far: float, *,
                       crossings: bool = False) -> shapely.Geometry:
    """The region seen from (x, y) among opaque segments, out to ``far`` (an exact star polygon)."""
    n_samples = math.ceil(2 * math.pi / _SAMPLE_STEP)
    samples = np.linspace(-math.pi, math.pi, n_samples, endpoint=False)
    rel = seg - np.array([x, y, x, y])
    # a ray enters a building through an edge that faces the camera (camera on its right): the
    # others can never be nearest, so they go (rings are oriented in Obstacles.build)
    facing = rel[:, 0] * (rel[:, 3] - rel[:, 1]) - rel[:, 1] * (rel[:, 2] - rel[:, 0]) < 0
    rel = rel[facing]
    if len(rel) == 0:
        angles = samples
    else:
        angles = np.concatenate([np.arctan2(rel[:, 1], rel[:, 0]), np.arctan2(rel[:, 3], rel[:, 2]), samples])
        if crossings:
            angles = np.concatenate([angles, _crossing_angles(rel)])
    start = np.unique(angles)
    end = np.append(start[1:], start[0] + 2 * math.pi)
    keep = end - start > 1e-12
    start, end = start[keep], end[keep]
    far_pts = lambda t: np.column_stack([np.cos(t), np.sin(t)]) * far  # noqa: E731
    if len(rel) == 0:
        return _ring_polygon(np.stack([far_pts(start), far_pts(end)], axis=1).reshape(-1, 2) + (x, y))
    a, d = rel[:, :2], rel[:, 2:] - rel[:, :2]
    a_x_d = a[:, 0] * d[:, 1] - a[:, 1] * d[:, 0]
    mid = (start + end) / 2
    ux, uy = np.cos(mid)[:, None], np.sin(mid)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = ux * d[None, :, 1] - uy * d[None, :, 0]
        t = a_x_d[None, :] / denom
        s = (a[None, :, 0] * uy - a[None, :, 1] * ux) / denom
    t = np.where((t > 0) & (s >= 0) & (s <= 1) & np.isfinite(t), t, np.inf)
    nearest = np.argmin(t, axis=1)
    # any hit counts, however far: an edge can recede past the range at an interval's midpoint yet come
    # within it at the interval's end; beyond the range it does no harm (the view is clipped after)
    blocked = np.isfinite(t[np.arange(len(mid)), nearest])

    def along(theta: np.ndarray) -> np.ndarray:
        cx, cy = np.cos(theta), np.sin(theta)
        dd = d[nearest]
        with np.errstate(divide="ignore", invalid="ignore"):
            dist = a_x_d[nearest] / (cx * dd[:, 1] - cy * dd[:, 0])
        # no clipping to `far`: the nearest edge spans its whole interval, so both points lie on
        # the edge itself, and the chord between them is exactly the edge
        dist = np.where(blocked & np.isfinite(dist) & (dist > 0), dist, far)
        return np.column_stack([cx * dist, cy * dist])

    pts = np.stack([along(start), along(end)], axis=1).reshape(-1, 2) + (x, y)
    return _ring_polygon(pts)


def _ring_polygon(pts: np.ndarray) -> shapely.Geometry:
    """A polygon from sweep vertices: the same corner reached from two edges' lines differs by
    ~1e-14 m, and such micro-zigzags make GEOS reject the ring, so near-duplicates go first."""
    step = np.hypot(*np.diff(pts, axis=0, append=pts[:1]).T)
    pts = pts[step > 1e-9]
    poly = shapely.Polygon(pts) if len(pts) >= 3 else shapely.Polygon()
    if poly.is_valid:
        return poly
    fixed = shapely.make_valid(poly, method="structure", keep_collapsed=False)
    return shapely.union_all([g for g in shapely.get_parts(fixed) if g.geom_type in ("Polygon", "MultiPolygon")])


def shadow(x: float, y: float, building: shapely.Geometry, k: float, far: float) -> shapely.Geometry:
    """What ``building`` hides from a camera at (x, y): homotheties λ ∈ [1, k] (k = inf: to ``far``)."""
    if k <= 1.0:
        return building
    rings = shapely.get_rings(shapely.get_parts(building))
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[:-1] == ring[1:]
    a, b = coords[:-1][same] - (x, y), coords[1:][same] - (x, y)
    if math.isinf(k):  # project each edge out to `far`, through its bisector so no chord cuts in
        unit = lambda v: v / np.maximum(np.hypot(v[:, 0], v[:, 1]), 1e-12)[:, None]  # noqa: E731
        fa, fb = unit(a) * far * 1.5, unit(b) * far * 1.5
        fm = unit(unit(a) + unit(b)) * far * 1.5
        quads = np.stack([a, b, fb, fm, fa, a], axis=1)
        extra = []
    else:
        quads = np.stack([a, b, b * k, a * k, a], axis=1)
        extra = [shapely.affinity.scale(building, k, k, origin=(x, y))]
    polys = np.asarray(shapely.polygons(quads + (x, y)), dtype=object)
    polys = polys[shapely.area(polys) > 0]
    return shapely.union_all([building, *extra, *shapely.make_valid(polys)])


def _camera_view(obs: Obstacles, cand: np.ndarray, row: tuple, radii: np.ndarray, outer: shapely.Geometry,
                 target_height: float, mode_25d: bool, presets: tuple[float, ...]) -> list[shapely.Geometry]:
    x, y, mode, heading, hfov, vfov, tilt, height = row
    drop = height - target_height
    outer_r = float(radii.max(initial=0.0))
    if outer_r <= 0 or shapely.is_empty(outer):
        return [shapely.Polygon() for _ in radii]
    kw: dict[str, Any] = {"mode": mode, "heading_deg": heading, "hfov_deg": hfov, "vfov_deg": vfov,
                          "tilt_deg": tilt, "drop_m": drop, "presets": presets}
    # every building blocks, the camera's own too (it was mounted outside its wall by `mount`); the box
    # distance is a lower bound of the true one
    b = obs.bounds[cand]
    dist = np.hypot(np.maximum(np.maximum(b[:, 0] - x, x - b[:, 2]), 0),
                    np.maximum(np.maximum(b[:, 1] - y, y - b[:, 3]), 0))
    h = obs.heights[cand]
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(h >= height, np.inf, drop / (height - h))
    # a building whose shadow reaches past the range hides all behind it: the sweep handles it (the box
    # distance is a lower bound, so doubtful cases go to the shadow path, which is exact as well)
    with np.errstate(invalid="ignore"):  # inf · 0 (a tall building at box distance 0) is decided by isinf
        full = np.isnan(h) | np.isinf(k) | (k * dist >= outer_r) if mode_25d else np.ones(len(cand), dtype=bool)
    far = outer_r * _FAR_FACTOR
    vis = visibility_polygon(x, y, obs.segments(cand[full]), far, crossings=obs.overlapping)
    seen = shapely.intersection(outer, vis)
    low = cand[~full]
    if len(low):
        shadows = [shadow(x, y, obs.geoms[i], float(ki), far) for i, ki in zip(low, k[~full], strict=True)]
        seen = shapely.difference(seen, shapely.union_all(shadows))
    out: list[shapely.Geometry] = []
    for r in radii:
        if r <= 0:
            out.append(shapely.Polygon())
        elif r >= outer_r:
            out.append(seen)
        else:
            out.append(shapely.intersection(seen, fp.view(x, y, float(r), **kw)))
    return out


_WORKER: dict[str, object] = {}


def _init_worker(obs: Obstacles) -> None:
    _WORKER["obs"] = obs


def _run_chunk(args: tuple) -> list[list[shapely.Geometry]]:
    rows, cands, radii, outers, target_height, mode_25d, presets = args
    obs = _WORKER["obs"]
    assert isinstance(obs, Obstacles)
    return [_camera_view(obs, c, r, rad, o, target_height, mode_25d, presets)
            for r, c, rad, o in zip(rows, cands, radii, outers, strict=True)]


def visible(params: pd.DataFrame, ranges: pd.DataFrame, obstacles: Obstacles, *, target_height: float = 1.6,
            mode: str = "2.5d", presets: tuple[float, ...] = (0.0, 90.0, 180.0, 270.0), workers: int = 1,
            chunk: int = 256, progress: Progress | None = None) -> pd.DataFrame:
    """What every camera sees at each DORI level, occlusion included.

    Parameters
    ----------
    params
        Camera parameters from :func:`gis.footprint.resolve` (metric CRS).
    ranges
        Ground range (m) per level from :func:`gis.footprint.level_ranges`, same index.
    obstacles
        The buildings that can hide what a camera would see.
    target_height
        Height (m) of what is looked at: a wall hides it where the sight line passes below the
        wall's top (2.5d).
    mode
        ``"2.5d"`` (by building height) or ``"2d"`` (every building hides).
    presets
        Headings (degrees) a PTZ camera without a heading is taken to look along.
    workers
        Processes (the cameras are cut into chunks).
    chunk
        Cameras per chunk.
    progress
        Called with (cameras done, cameras in all).

    Returns
    -------
    pandas.DataFrame
        Aligned to ``params``: one polygon column per DORI level, nested from the first to the last.
    """
    if mode not in {"2d", "2.5d"}:
        raise ValueError(f"mode must be '2d' or '2.5d', not {mode!r}")
    params = mount(params, obstacles.geoms, obstacles.tree)
    radii = np.nan_to_num(ranges.to_numpy(dtype=float))
    radii[params["indoor"].to_numpy(dtype=bool)] = 0.0  # indoors: no outdoor view
    rows = list(params[["x", "y", "mode", "heading_deg", "hfov_deg", "vfov_deg", "tilt_deg", "height_m"]]
                .itertuples(index=False, name=None))
    # shared work: every outer view, then one bulk STRtree query for the buildings that can hide part
    # of it (those meeting the hull of the camera and its view; the blind zone under the camera included)
    outers = np.array([fp.view(r[0], r[1], float(rad.max(initial=0.0)), mode=r[2], heading_deg=r[3],
                               hfov_deg=r[4], vfov_deg=r[5], tilt_deg=r[6], drop_m=r[7] - target_height,
                               presets=presets) for r, rad in zip(rows, radii, strict=True)], dtype=object)
    hulls = shapely.convex_hull(shapely.union(outers, shapely.points(params["x"], params["y"])))
    cam_idx, bld_idx = obstacles.tree.query(hulls, predicate="intersects")
    # candidates in building order, not the tree's: the same buildings in another tree (a partition of
    # the city, a subset in the same order) give the very same computation, bit for bit
    order = np.lexsort((bld_idx, cam_idx))
    cam_idx, bld_idx = cam_idx[order], bld_idx[order]
    bounds = np.searchsorted(cam_idx, np.arange(len(params) + 1))
    cands = [bld_idx[bounds[i]:bounds[i + 1]] for i in range(len(params))]
    mode_25d = mode == "2.5d"
    results: list[list[shapely.Geometry]] = []
    total = len(rows)
    if workers > 1 and total > chunk:
        jobs = [(rows[i:i + chunk], cands[i:i + chunk], radii[i:i + chunk], outers[i:i + chunk], target_height,
                 mode_25d, presets) for i in range(0, total, chunk)]
        with ProcessPoolExecutor(max_workers=min(workers, os.cpu_count() or 1), initializer=_init_worker,
                                 initargs=(obstacles,)) as pool:
            for part in pool.map(_run_chunk, jobs):
                results.extend(part)
                if progress:
                    progress(len(results), total)
    else:
        for i, (row, cand, rad, out) in enumerate(zip(rows, cands, radii, outers, strict=True)):
            results.append(_camera_view(obstacles, cand, row, rad, out, target_height, mode_25d, presets))
            if progress and (i + 1) % chunk == 0:
                progress(i + 1, total)
    if progress:
        progress(total, total)
    return pd.DataFrame(results, columns=list(ranges.columns), index=params.index)


def naive_visible(params: pd.DataFrame, ranges: pd.DataFrame, obstacles: Obstacles, level: str,
                  *, target_height: float = 1.6) -> list[shapely.Geometry]:
    """The reference: per camera ``view.difference(union_all(2D shadows))`` over STRtree candidates
    (cameras mounted on their walls first, as :func:`visible` does)."""
    out: list[shapely.Geometry] = []
    params = mount(params, obstacles.geoms, obstacles.tree)
    radii = np.where(params["indoor"].to_numpy(dtype=bool), 0.0, ranges[level].to_numpy(dtype=float))
    cols = ["x", "y", "mode", "heading_deg", "hfov_deg", "vfov_deg", "tilt_deg", "height_m"]
    for (x, y, mode, heading, hfov, vfov, tilt, height), radius in zip(
            params[cols].itertuples(index=False, name=None), radii, strict=True):
        view = fp.view(float(x), float(y), float(radius), mode=str(mode), heading_deg=float(heading),
                       hfov_deg=float(hfov), vfov_deg=float(vfov), tilt_deg=float(tilt),
                       drop_m=float(height) - target_height)
        if shapely.is_empty(view):
            out.append(view)
            continue
        # every occluder of a point in view lies between it and the camera: the hull of both
        # (querying the view alone would miss buildings in the blind zone under the camera)
        cand = obstacles.tree.query(shapely.convex_hull(shapely.union(view, shapely.Point(x, y))))
        shadows = [shadow(float(x), float(y), obstacles.geoms[b], math.inf, radius * _FAR_FACTOR) for b in cand]
        out.append(shapely.difference(view, shapely.union_all(shadows)) if shadows else view)
    return out


def long_form(views: pd.DataFrame, crs: object = None) -> pd.DataFrame:
    """One row per camera and level (camera, level, area_m2, geometry) for storage and maps."""
    frames = []
    for level in views.columns:
        geoms = views[level].to_numpy()
        frames.append(pd.DataFrame({"camera": views.index, "level": level, "area_m2": shapely.area(geoms),
                                    "geometry": geoms}))
    out = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=crs)
