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

from gis import camera

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


def resolve(cameras: pd.DataFrame, assume: Assumptions | None = None) -> pd.DataFrame:
    """Every camera's parameters, with defaults filled in and listed in ``assumed``.

    ``cameras`` has the camera layer's fields and a metric geometry; the result is
    aligned to its index with columns x, y, kind, mode, heading_deg, hfov_deg, vfov_deg,
    res_h, res_v, height_m, tilt_deg, range_factor, assumed.
    """
    a = assume or Assumptions()
    n = len(cameras)
    col = lambda name: cameras[name] if name in cameras else pd.Series([None] * n, index=cameras.index)  # noqa: E731
    kind = col("kind").fillna("bullet").astype(str)
    assumed: list[list[str]] = [[] for _ in range(n)]

    def fill(values: pd.Series, default: object, label: str) -> pd.Series:
        missing = values.isna().to_numpy()
        for i in np.flatnonzero(missing):
            assumed[i].append(label)
        return values.astype(float).where(~missing, default)  # type: ignore[arg-type]

    res_h = fill(pd.to_numeric(col("resolution_px"), errors="coerce"), a.resolution_px, "resolution")
    res_v = pd.to_numeric(col("resolution_v_px"), errors="coerce").astype(float)
    res_v = res_v.where(res_v.notna(), (res_h / a.aspect).round())
    hfov = pd.to_numeric(col("hfov_deg"), errors="coerce").astype(float)
    focal = pd.to_numeric(col("focal_mm"), errors="coerce").astype(float)
    sensor = col("sensor")
    for i in np.flatnonzero(hfov.isna().to_numpy() & focal.notna().to_numpy() & sensor.notna().to_numpy()):
        width = camera.sensor_width_mm(sensor.iat[i], aspect=float(res_h.iat[i] / res_v.iat[i]))
        hfov.iat[i] = float(camera.hfov_from_lens(focal.iat[i], width))
    for i in np.flatnonzero(hfov.isna().to_numpy()):
        hfov.iat[i] = a.hfov_deg.get(kind.iat[i], a.hfov_deg["bullet"])
        assumed[i].append("field of view")
    height = fill(pd.to_numeric(col("height_m"), errors="coerce"), a.height_m, "height")
    tilt = fill(pd.to_numeric(col("tilt_deg"), errors="coerce"), a.tilt_deg, "tilt")
    heading = pd.to_numeric(col("heading_deg"), errors="coerce").astype(float)
    mode = np.where(kind == "fisheye", "circle", np.where(kind == "ptz", a.ptz_mode, "frustum")).astype(object)
    factor = np.where((kind == "ptz") & (mode == "circle"), a.ptz_circle_factor, 1.0)
    no_heading = heading.isna().to_numpy() & (mode != "circle")
    for i in np.flatnonzero(no_heading):
        assumed[i].append("heading (full circle at reduced range)")
    mode[no_heading] = "circle"
    factor = np.where(no_heading, a.unknown_heading_factor, factor)
    wide = (hfov >= 170.0).to_numpy()
    mode[wide] = "circle"
    geoms = cameras.geometry.array if hasattr(cameras, "geometry") else None
    return pd.DataFrame({
        "x": shapely.get_x(geoms), "y": shapely.get_y(geoms), "kind": kind, "mode": mode,
        "heading_deg": heading.fillna(0.0), "hfov_deg": hfov,
        "vfov_deg": np.where(wide, 180.0, camera.vfov(hfov, res_h, res_v)),
        "res_h": np.where(kind == "fisheye", math.pi * res_v, res_h),  # a fisheye's pixels around the horizon
        "res_v": res_v, "height_m": height, "tilt_deg": np.where(kind == "fisheye", 90.0, tilt),
        "range_factor": factor, "assumed": ["; ".join(x) for x in assumed],
    }, index=cameras.index)


def level_ranges(params: pd.DataFrame, ppm: Mapping[str, float], target_height: float,
                 form: str = "arc") -> pd.DataFrame:
    """Ground range (m) of each DORI level for each camera (0 where a level is out of reach)."""
    drop = params["height_m"].to_numpy() - target_height
    out = {}
    for level, density in ppm.items():
        slant = camera.dori_distance(params["res_h"], params["hfov_deg"], density, form) * params["range_factor"]
        out[level] = camera.ground_range(slant, drop)
    return pd.DataFrame(out, index=params.index)


def _half_planes(heading: float, hfov: float, vfov: float, tilt: float, drop: float) -> list[tuple[float, float, float]]:
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
    """Sutherland–Hodgman: keep the part of a convex ring where a·x + b·y ≥ c."""
    if len(poly) == 0:
        return poly
    side = poly[:, 0] * a + poly[:, 1] * b - c
    nxt = np.roll(poly, -1, axis=0)
    side_n = np.roll(side, -1)
    out = []
    for p, q, sp, sq in zip(poly, nxt, side, side_n, strict=True):
        if sp >= 0:
            out.append(p)
        if (sp >= 0) != (sq >= 0):
            out.append(p + (q - p) * (sp / (sp - sq)))
    return np.array(out) if out else np.empty((0, 2))


def view(x: float, y: float, radius: float, *, mode: str, heading_deg: float, hfov_deg: float,
         vfov_deg: float, tilt_deg: float, drop_m: float,
         presets: Sequence[float] = ()) -> shapely.Polygon:
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
    for row, rng in zip(params.itertuples(), ranges.itertuples(index=False), strict=True):
        for level, radius in zip(ranges.columns, rng, strict=True):
            out[level].append(view(row.x, row.y, float(radius), mode=row.mode, heading_deg=row.heading_deg,
                                   hfov_deg=row.hfov_deg, vfov_deg=row.vfov_deg, tilt_deg=row.tilt_deg,
                                   drop_m=row.height_m - target_height, presets=a.ptz_presets_deg))
    return pd.DataFrame(out, index=params.index)
