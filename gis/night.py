"""What a camera sees at night: its day (DORI) ranges cut by its light.

- A camera with an infrared (or white-light) illuminator of range ``ir_range_m`` sees at night as
  far as the lamp reaches: each level's ground range is the smaller of its day range and the
  lamp's reach on the ground (the lamp's range is a slant distance from the camera, so on the
  ground it is ``√(ir² − drop²)``, the same conversion as the DORI ranges).
- A camera without a lamp sees by the street lights: its day ranges where the street-light
  illuminance (``street_lux``) is at least the camera's minimum illumination (``min_lux``), else
  nothing.
- A camera that says neither is assumed to have a lamp of ``default_ir_range_m`` (30 m, the IR
  range of common fixed IP cameras), and that is recorded as an assumption.

The street-light level defaults to 10 lx: CJJ 45-2015 (城市道路照明设计标准) asks a maintained
average of 8–10 lx on branch roads (支路), 10–15 lx on secondary and 20–30 lx on main roads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gis import camera

#: the defaults of the workspace setting ``night``
STREET_LUX = 10.0
DEFAULT_IR_RANGE_M = 30.0


@dataclass(frozen=True)
class NightOptions:
    """The street-light illuminance (lx), the lamp assumed for a camera that gives neither, and the
    hours of dusk and dawn (local time; the night views hold from dusk to dawn)."""

    street_lux: float = STREET_LUX
    default_ir_range_m: float = DEFAULT_IR_RANGE_M
    dusk_h: float = 19.0
    dawn_h: float = 6.0


def dark_share(hours: Sequence[int], options: NightOptions | None = None) -> float:
    """The share of the clock hours ``hours`` (0–23, each the hour from h to h + 1) that lie between dusk
    and dawn, counting the parts of the hours dusk and dawn fall in.

    >>> dark_share(range(18, 24))  # 18–24 with dusk at 19:00: five of six hours
    0.8333333333333334
    """
    o = options or NightOptions()
    if not len(hours):
        return 0.0

    def dark(h: int) -> float:  # the part of hour h after dusk or before dawn
        after = min(max(h + 1 - o.dusk_h, 0.0), 1.0)
        before = min(max(o.dawn_h - h, 0.0), 1.0)
        return min(after + before, 1.0)

    return sum(dark(int(h)) for h in hours) / len(hours)


def night_ranges(day: pd.DataFrame, drop_m: np.ndarray, ir_range_m: np.ndarray, min_lux: np.ndarray,
                 options: NightOptions | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Each camera's night ground range per DORI level, and what was assumed for each.

    Parameters
    ----------
    day
        Day ranges (:func:`gis.footprint.level_ranges`): one row per camera, one column per level.
    drop_m
        Camera height above the target, per camera.
    ir_range_m
        The illuminator's range (m), NaN where unknown, 0 for a camera without one.
    min_lux
        The camera's minimum illumination (lx), NaN where unknown.

    Returns
    -------
    (pandas.DataFrame, list of str)
        The night ranges (aligned to ``day``) and, per camera, the assumption made ('' when none).
    """
    opts = options or NightOptions()
    ir = np.asarray(ir_range_m, dtype=float)
    lux = np.asarray(min_lux, dtype=float)
    unknown = ~np.isfinite(ir) & ~np.isfinite(lux)
    lamp = np.where(unknown, opts.default_ir_range_m, np.where(np.isfinite(ir), ir, 0.0))
    reach = np.where(lamp > 0, camera.ground_range(lamp, drop_m), 0.0)
    lit = np.isfinite(lux) & (lux <= opts.street_lux)  # the street lights are enough without a lamp
    out = {}
    for level in day.columns:
        d = day[level].to_numpy(dtype=float)
        out[level] = np.where(lamp > 0, np.minimum(d, np.maximum(reach, np.where(lit, d, 0.0))),
                              np.where(lit, d, 0.0))
    notes = [f"night: IR {opts.default_ir_range_m:g} m assumed" if u else "" for u in unknown]
    return pd.DataFrame(out, index=day.index), notes
