"""The camera model: optics, image quality (DORI) and mounting geometry.

Formulas (angles in radians inside, degrees at the interface):

- Horizontal field of view from the lens: ``θ = 2·atan(w / 2f)`` with ``w`` the sensor
  width (mm) and ``f`` the focal length (mm). Sensor formats such as ``1/2.8"`` are
  converted with the conventional diagonals (table below) and the image's aspect ratio.
- Vertical field of view of a rectilinear lens: ``φ = 2·atan(tan(θ/2) · Nv / Nh)``.
- Pixel density at slant distance ``s`` (**arc-length form**, the default, as vendor
  calculators use): ``ppm = N / (θ · s)``; the distance at which a DORI level of
  ``L`` px/m is reached is ``d = N / (θ · L)``. 1920 px across 90° gives identify
  (250 px/m) at 4.89 m and detect (25 px/m) at 48.9 m.
- **Flat form**: ``ppm = N / (2 · s · tan(θ/2))``, i.e. ``d = N / (2 L tan(θ/2))``: the
  density at the image centre of a rectilinear lens. It gives shorter distances for wide
  lenses (90°: 3.84 m instead of 4.89 m for identify) and the two agree as θ → 0.
- Ground coverage: a target at height ``t`` (face 1.6 m, ground 0 m) seen from a camera
  at height ``H`` at horizontal distance ``r`` is at slant distance ``√(r² + (H−t)²)``, so
  the DORI level ``L`` reaches the ground range ``√(d_L² − (H−t)²)`` (none if
  ``d_L ≤ H − t``).
- Tilt ``τ`` (down from the horizon) and vertical field ``φ``: along the optical axis the
  view meets the target plane between the blind-zone edge ``(H−t) / tan(τ + φ/2)`` and the
  far edge ``(H−t) / tan(τ − φ/2)`` (unbounded when ``τ ≤ φ/2``).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray

DORI_LEVELS = ("detect", "observe", "recognise", "identify")

#: Pixel densities (px/m) of each level, by profile. Add profiles through the workspace
#: settings (``dori_profiles``); the name of the one in use is ``dori_profile``.
DORI_PROFILES: dict[str, dict[str, float]] = {
    "iec62676-4:2014": {"detect": 25.0, "observe": 62.5, "recognise": 125.0, "identify": 250.0},
    "iec62676-4:2014-rounded": {"detect": 25.0, "observe": 63.0, "recognise": 125.0, "identify": 250.0},
}

#: Conventional diagonals (mm) of "optical format" sensor sizes.
SENSOR_DIAGONALS_MM = {
    "1/4": 4.5, "1/3.6": 5.0, "1/3.2": 5.68, "1/3": 6.0, "1/2.9": 6.23, "1/2.8": 6.46, "1/2.7": 6.72,
    "1/2.5": 7.18, "1/2.3": 7.66, "1/2": 8.0, "1/1.8": 8.93, "1/1.7": 9.5, "2/3": 11.0, "1": 16.0,
}
_FORMAT = re.compile(r'^\s*(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*(?:"|″|inch|in|英寸)?\s*$')
#: a whole-inch format ('1"', '1.1 inch'): the inch mark is what tells it from a width in mm
_WHOLE_FORMAT = re.compile(r'^\s*(\d+(?:\.\d+)?)\s*(?:"|″|inch|in|英寸)\s*$')


def profile(name: str, extra: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, float]:
    """The px/m of each level in profile ``name`` (built-in or from ``extra``)."""
    table = {**DORI_PROFILES, **(extra or {})}
    if name not in table:
        raise ValueError(f"unknown DORI profile '{name}': known profiles are {', '.join(table)}")
    missing = [level for level in DORI_LEVELS if level not in table[name]]
    if missing:
        raise ValueError(f"DORI profile '{name}' lacks {', '.join(missing)}: give px/m for {', '.join(DORI_LEVELS)}")
    prof = {level: float(table[name][level]) for level in DORI_LEVELS}
    if not all(prof[a] < prof[b] for a, b in itertools.pairwise(DORI_LEVELS)):
        raise ValueError(f"DORI profile '{name}' must increase from detect to identify: {prof}")
    return prof


def sensor_width_mm(sensor: str | float, aspect: float = 16 / 9) -> float:
    """Sensor width in mm from a width in mm or an optical format ('1/2.8"', '2/3"')."""
    if isinstance(sensor, int | float):
        return float(sensor)
    text = str(sensor).strip()
    whole = _WHOLE_FORMAT.match(text)
    m = _FORMAT.match(text) or (_FORMAT.match(f"{whole.group(1)}/1") if whole else None)
    if m is None:
        try:
            return float(text.removesuffix("mm").strip())
        except ValueError:
            raise ValueError(f"sensor '{sensor}': give a width in mm or a format like 1/2.8\"") from None
    num, den = m.groups()
    key = f"{float(num):g}/{float(den):g}" if float(den) != 1 else f"{float(num):g}"
    diag = SENSOR_DIAGONALS_MM.get(key)
    if diag is None:  # the small-format convention: a 1/x" type is about 18/x mm across
        diag = 18.0 * float(num) / float(den)
    return diag * aspect / math.hypot(aspect, 1.0)


def hfov_from_lens(focal_mm: ArrayLike, sensor_mm: ArrayLike) -> NDArray[np.float64]:
    """Horizontal field of view (degrees) of a rectilinear lens."""
    f, w = np.asarray(focal_mm, dtype=float), np.asarray(sensor_mm, dtype=float)
    return np.degrees(2.0 * np.arctan(w / (2.0 * f)))


def vfov(hfov_deg: ArrayLike, res_h: ArrayLike, res_v: ArrayLike) -> NDArray[np.float64]:
    """Vertical field of view (degrees) from the horizontal one and the image aspect."""
    half = np.radians(np.asarray(hfov_deg, dtype=float)) / 2.0
    ratio = np.asarray(res_v, dtype=float) / np.asarray(res_h, dtype=float)
    return np.degrees(2.0 * np.arctan(np.tan(np.minimum(half, np.radians(89.0))) * ratio))


def dori_distance(res_px: ArrayLike, hfov_deg: ArrayLike, ppm: ArrayLike, form: str = "arc") -> NDArray[np.float64]:
    """Slant distance (m) at which the pixel density falls to ``ppm`` px/m."""
    n = np.asarray(res_px, dtype=float)
    theta = np.radians(np.asarray(hfov_deg, dtype=float))
    level = np.asarray(ppm, dtype=float)
    if form == "arc":
        return n / (theta * level)
    if form == "flat":
        return n / (2.0 * level * np.tan(np.minimum(theta, np.radians(179.0)) / 2.0))
    raise ValueError(f"form must be 'arc' or 'flat', not {form!r}")


def pixel_density(res_px: ArrayLike, hfov_deg: ArrayLike, slant_m: ArrayLike) -> NDArray[np.float64]:
    """Pixel density (px/m) at slant distance ``slant_m`` (arc-length form)."""
    return np.asarray(res_px, dtype=float) / (np.radians(np.asarray(hfov_deg, dtype=float))
                                              * np.asarray(slant_m, dtype=float))


def ground_range(slant_m: ArrayLike, drop_m: ArrayLike) -> NDArray[np.float64]:
    """Horizontal reach of a slant distance for a height difference; 0 where it cannot reach."""
    s, h = np.asarray(slant_m, dtype=float), np.asarray(drop_m, dtype=float)
    return np.sqrt(np.maximum(s * s - h * h, 0.0))


def blind_zone(drop_m: ArrayLike, tilt_deg: ArrayLike, vfov_deg: ArrayLike) -> NDArray[np.float64]:
    """Distance along the axis from the mast to the first target plane point in view."""
    lower = np.radians(np.asarray(tilt_deg, dtype=float) + np.asarray(vfov_deg, dtype=float) / 2.0)
    h = np.asarray(drop_m, dtype=float)
    with np.errstate(divide="ignore"):
        out = np.where(lower >= np.pi / 2, 0.0, h / np.tan(np.minimum(lower, np.pi / 2 - 1e-12)))
    return np.where(h <= 0, 0.0, out)


def far_edge(drop_m: ArrayLike, tilt_deg: ArrayLike, vfov_deg: ArrayLike) -> NDArray[np.float64]:
    """Distance along the axis to the far edge of the view (inf when the view reaches the horizon)."""
    upper = np.radians(np.asarray(tilt_deg, dtype=float) - np.asarray(vfov_deg, dtype=float) / 2.0)
    h = np.asarray(drop_m, dtype=float)
    with np.errstate(divide="ignore"):
        out = np.where(upper <= 0, np.inf, h / np.tan(np.maximum(upper, 1e-12)))
    return np.where(h <= 0, np.inf, out)
