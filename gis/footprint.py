"""Unobstructed camera footprints in plan: one polygon per DORI level.

A pinhole camera's view is a pyramid; its intersection with the target plane (height
``t``) is bounded by four straight lines, one per image edge, because each image edge
is a plane through the lens. The footprint of level ``L`` is that convex region clipped
by the disc of the level's ground range ``√(d_L² − (H−t)²)`` (see :mod:`gis.camera`).
With the camera at target height and no tilt it reduces to a circular sector of the
horizontal field of view. Fisheye cameras and PTZ cameras modelled as a full circle
cover a disc; PTZ cameras with presets cover the union of their preset views.

Discs are drawn as regular polygons whose area equals the circle's (the circumradius is
enlarged by √(2π / (n·sin(2π/n)))), so areas are exact and edges are off by < 1 cm at
150 m.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from gis import camera, catalogue
from gis.crs import require_metric

DISC_VERTICES = 360
_DISC_SCALE = math.sqrt(2 * math.pi / (DISC_VERTICES * math.sin(2 * math.pi / DISC_VERTICES)))
_ANGLES = np.linspace(0.0, 2 * math.pi, DISC_VERTICES, endpoint=False)
_UNIT_DISC = np.column_stack([np.cos(_ANGLES), np.sin(_ANGLES)]) * _DISC_SCALE


@dataclass(frozen=True)
class Assumptions:
    """What to assume where the camera layer is silent (recorded per camera in ``assumed``)."""

    height_m: float = 4.0
    tilt_deg: float = 15.0
    resolution_px: int = 1920
    aspect: float = 16 / 9
    hfov_deg: Mapping[str, float] = field(default_factory=lambda: {
        "bullet": 80.0, "dome": 100.0, "ptz": 58.0, "fisheye": 360.0})
    #: PTZ: "circle" (full circle, ranges × ptz_circle_factor) or "presets" (ptz_presets_deg
    #: relative to the heading, each a fixed view).
    ptz_mode: str = "circle"
    ptz_circle_factor: float = 0.5
    ptz_presets_deg: Sequence[float] = (0.0, 90.0, 180.0, 270.0)
    #: A camera without a heading is credited as a full circle at this fraction of its ranges.
    unknown_heading_factor: float = 0.5
    #: the camera models a camera may name in ``model`` (:mod:`gis.catalogue`), by id
    models: Mapping[str, catalogue.CameraModel] = field(default_factory=dict)


class CameraParameterError(ValueError):
    """Cameras whose parameters no view can be computed from, each named with what is wrong."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        shown = "; ".join(self.problems[:20]) + (f"; … {len(self.problems) - 20} more" if len(problems) > 20 else "")
        super().__init__(f"{len(self.problems)} camera(s) cannot be computed: {shown}")


def _check_inputs(names: np.ndarray, cameras: pd.DataFrame, hfov: np.ndarray, focal: np.ndarray,
                  res_h: np.ndarray, height: np.ndarray) -> list[str]:
    """What is wrong with each camera's given parameters (missing ones are filled by assumptions)."""
    geoms = cameras.geometry.array if hasattr(cameras, "geometry") else None
    no_xy = np.zeros(len(cameras), dtype=bool)
    if geoms is not None:
        no_xy = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        no_xy[~no_xy] |= ~(np.isfinite(shapely.get_x(geoms[~no_xy])) & np.isfinite(shapely.get_y(geoms[~no_xy])))
    with np.errstate(invalid="ignore"):
        checks = [
            (no_xy, lambda i: "no position (empty or NaN coordinates)"),
            (~np.isnan(hfov) & ~((hfov > 0) & (hfov <= 360)),
             lambda i: f"hfov_deg {hfov[i]:g} is outside (0, 360] (170° and more is a full circle)"),
            (~np.isnan(focal) & (focal <= 0), lambda i: f"focal_mm {focal[i]:g} must be positive"),
            (~(res_h > 0), lambda i: f"resolution_px {res_h[i]:g} must be positive"),
            (~np.isnan(height) & (height <= 0), lambda i: f"height_m {height[i]:g} must be above the ground"),
        ]
    bad = np.zeros(len(cameras), dtype=bool)
    for mask, _ in checks:
        bad |= mask
    return [f"camera {names[i]}: {say(i)}" for i in np.flatnonzero(bad) for mask, say in checks if mask[i]]


def resolve(cameras: pd.DataFrame, assume: Assumptions | None = None) -> pd.DataFrame:
    """Every camera's parameters, with defaults filled in and listed in ``assumed``.

    Parameters
    ----------
    cameras
        The camera layer's fields and a metric geometry.
    assume
        The defaults for missing fields (``camera_defaults`` of the settings); built-in ones if None.

    Returns
    -------
    pandas.DataFrame
        Aligned to ``cameras``: x, y, kind, mode, heading_deg, hfov_deg, vfov_deg, res_h, res_v,
        height_m, tilt_deg, range_factor, assumed, name (the id, for messages).

    Raises
    ------
    CameraParameterError
        Naming every camera whose given parameters cannot work: no position, a field of view
        outside (0, 360], a lens or resolution ≤ 0, a height ≤ 0.
    """
    require_metric("camera parameters", cameras=cameras)
    a = assume or Assumptions()
    cameras, from_models, model_problems = catalogue.fill(cameras, a.models)  # a model's facts, the camera's own first
    n = len(cameras)

    def col(name: str) -> pd.Series:
        if name in cameras:
            return pd.Series(cameras[name])
        return pd.Series([None] * n, index=cameras.index, dtype=object)

    kind = col("kind").fillna("bullet").astype(str)
    assumed: list[list[str]] = [[note] if note else [] for note in from_models]

    def number(name: str) -> np.ndarray:
        return np.array(pd.to_numeric(col(name), errors="coerce"), dtype=float)  # a writable copy

    def fill(values: np.ndarray, default: float, label: str) -> np.ndarray:
        missing = np.isnan(values)
        for i in np.flatnonzero(missing):
            assumed[i].append(label)
        return np.where(missing, default, values)

    kinds = kind.to_numpy(dtype=object)
    res_h = fill(number("resolution_px"), float(a.resolution_px), "resolution")
    res_v = number("resolution_v_px")
    res_v = np.where(np.isnan(res_v), np.round(res_h / a.aspect), res_v)
    hfov, focal = number("hfov_deg"), number("focal_mm")
    sensor = col("sensor").to_numpy(dtype=object)
    names = col("id").astype(object).where(col("id").notna(), pd.Series(cameras.index, index=cameras.index))
    problems = model_problems + _check_inputs(names.to_numpy(), cameras, hfov, focal, res_h, number("height_m"))
    for i in np.flatnonzero(np.isnan(hfov) & (focal > 0) & pd.notna(sensor)):
        try:
            width = camera.sensor_width_mm(str(sensor[i]), aspect=float(res_h[i] / res_v[i]))
        except ValueError as exc:
            problems.append(f"camera {names.iat[int(i)]}: {exc}")
            continue
        hfov[i] = float(camera.hfov_from_lens(focal[i], width))
    if problems:
        raise CameraParameterError(problems)
    for i in np.flatnonzero(np.isnan(hfov)):
        hfov[i] = a.hfov_deg.get(str(kinds[i]), a.hfov_deg["bullet"])
        assumed[i].append("field of view")
    height = fill(number("height_m"), a.height_m, "height")
    tilt = fill(number("tilt_deg"), a.tilt_deg, "tilt")
    heading = pd.Series(number("heading_deg"), index=cameras.index)
    mode = np.where(kind == "fisheye", "circle", np.where(kind == "ptz", a.ptz_mode, "frustum")).astype(object)
    factor = np.where((kind == "ptz") & (mode == "circle"), a.ptz_circle_factor, 1.0)
    no_heading = heading.isna().to_numpy() & (mode != "circle")
    for i in np.flatnonzero(no_heading):
        assumed[i].append("heading (full circle at reduced range)")
    mode[no_heading] = "circle"
    factor = np.where(no_heading, a.unknown_heading_factor, factor)
    wide = hfov >= 170.0
    mode[wide] = "circle"
    geoms = cameras.geometry.array if hasattr(cameras, "geometry") else None
    return pd.DataFrame({
        "x": shapely.get_x(geoms), "y": shapely.get_y(geoms), "kind": kind, "mode": mode,
        "heading_deg": heading.fillna(0.0), "hfov_deg": hfov,
        "vfov_deg": np.where(wide, 180.0, camera.vfov(hfov, res_h, res_v)),
        "res_h": np.where(kind == "fisheye", math.pi * res_v, res_h),  # a fisheye's pixels around the horizon
        "res_v": res_v, "height_m": height, "tilt_deg": np.where(kind == "fisheye", 90.0, tilt),
        "range_factor": factor, "assumed": ["; ".join(x) for x in assumed], "name": names.astype(str).to_numpy(),
    }, index=cameras.index)


def level_ranges(params: pd.DataFrame, ppm: Mapping[str, float], target_height: float,
                 form: str = "arc") -> pd.DataFrame:
    """Ground range (m) of each DORI level for each camera.

    Parameters
    ----------
    params
        Camera parameters from :func:`resolve`.
    ppm
        Pixels per metre each level needs (a DORI profile, :func:`gis.camera.profile`).
    target_height
        Height (m) of what is looked at.
    form
        ``"arc"`` (range measured along the ground from the camera) or ``"flat"`` (to the plane at
        the target's height).

    Returns
    -------
    pandas.DataFrame
        Aligned to ``params``, one column per level: the range (m), 0 where a level is out of reach.
    """
    drop = params["height_m"].to_numpy() - target_height
    low = np.flatnonzero(drop < 0)
    if len(low):
        names = params["name"] if "name" in params else pd.Series(params.index, index=params.index)
        heights = params["height_m"].to_numpy(dtype=float)
        raise CameraParameterError([f"camera {names.iat[int(i)]}: mounted at {heights[i]:g} m, below the target "
                                    f"height {target_height:g} m (raise it, or lower target_height_m)" for i in low])
    out = {}
    for level, density in ppm.items():
        slant = camera.dori_distance(params["res_h"], params["hfov_deg"], density, form) * params["range_factor"]
        out[level] = camera.ground_range(slant, drop)
    return pd.DataFrame(out, index=params.index)


def _half_planes(heading: float, hfov: float, vfov: float, tilt: float,
                 drop: float) -> list[tuple[float, float, float]]:
    """The image edges as plan half-planes ``A·dx + B·dy ≥ C`` (dx, dy from the camera)."""
    psi, tau = math.radians(heading), math.radians(tilt)
    f = np.array([math.cos(tau) * math.sin(psi), math.cos(tau) * math.cos(psi), -math.sin(tau)])
    up = np.array([math.sin(tau) * math.sin(psi), math.sin(tau) * math.cos(psi), math.cos(tau)])
    right = np.array([math.cos(psi), -math.sin(psi), 0.0])
    th, tv = math.tan(math.radians(hfov) / 2), math.tan(math.radians(min(vfov, 179.0)) / 2)
    planes = []
    for n in (th * f - right, th * f + right, tv * f - up, tv * f + up):
        planes.append((float(n[0]), float(n[1]), float(n[2] * drop)))  # n·(dx, dy, -drop) ≥ 0
    return planes


def _clip(poly: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    """Sutherland–Hodgman: keep the part of a convex ring where a·x + b·y ≥ c (vectorised)."""
    if len(poly) == 0:
        return poly
    side = poly[:, 0] * a + poly[:, 1] * b - c
    inside = side >= 0
    if inside.all():
        return poly
    nxt = np.concatenate([poly[1:], poly[:1]])
    side_n = np.concatenate([side[1:], side[:1]])
    crossing = inside != (side_n >= 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        cut = poly + (nxt - poly) * (side / (side - side_n))[:, None]
    # for each vertex: itself if inside, then the crossing point on its outgoing edge
    pts = np.stack([poly, cut], axis=1).reshape(-1, 2)
    keep = np.stack([inside, crossing], axis=1).reshape(-1)
    return pts[keep]


def view(x: float, y: float, radius: float, *, mode: str, heading_deg: float, hfov_deg: float,
         vfov_deg: float, tilt_deg: float, drop_m: float,
         presets: Sequence[float] = ()) -> shapely.Geometry:
    """The unobstructed plan footprint within ``radius`` (an empty polygon if there is none)."""
    if radius <= 0:
        return shapely.Polygon()
    disc = _UNIT_DISC * radius
    if mode == "circle":
        return shapely.Polygon(disc + (x, y))
    headings = [heading_deg + p for p in presets] if mode == "presets" else [heading_deg]
    parts = []
    for h in headings:
        ring = disc
        for a, b, c in _half_planes(h, hfov_deg, vfov_deg, tilt_deg, drop_m):
            ring = _clip(ring, a, b, c)
        if len(ring) >= 3:
            parts.append(shapely.Polygon(ring + (x, y)))
    if not parts:
        return shapely.Polygon()
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)


def views(params: pd.DataFrame, ranges: pd.DataFrame, target_height: float,
          assume: Assumptions | None = None) -> pd.DataFrame:
    """Unobstructed footprints: a frame aligned to ``params`` with one polygon column per level."""
    a = assume or Assumptions()
    out: dict[str, list[shapely.Geometry]] = {level: [] for level in ranges.columns}
    cols = ["x", "y", "mode", "heading_deg", "hfov_deg", "vfov_deg", "tilt_deg", "height_m"]
    for (x, y, mode, heading, hfov, vfov, tilt, height), rng in zip(
            params[cols].itertuples(index=False, name=None), ranges.to_numpy(dtype=float), strict=True):
        for level, radius in zip(ranges.columns, rng, strict=True):
            out[level].append(view(float(x), float(y), float(radius), mode=str(mode), heading_deg=float(heading),
                                   hfov_deg=float(hfov), vfov_deg=float(vfov), tilt_deg=float(tilt),
                                   drop_m=float(height) - target_height, presets=a.ptz_presets_deg))
    return pd.DataFrame(out, index=params.index)
