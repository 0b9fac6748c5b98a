"""Face and plate capture: where a camera can take a usable face or number plate of people or
vehicles moving through a target in one direction.

A capture needs enough pixels *and* a view onto the face or plate that is not too steep nor too
oblique (a face seen from above, or a plate seen from the side, cannot be matched):

- **Pixels.** A face needs ``face_px`` (80) pixels across a face of ``face_width_m`` (0.16 m, an
  adult head's breadth): 500 px/m along the image's width; a workspace may give a figure instead
  (``ppm``, e.g. 250 px/m, the IEC 62676-4 identify level). A plate needs characters of at least
  ``char_px`` (16) pixels tall: Chinese plates (GA 36-2018) are 440 mm wide with characters
  45 × 90 mm, so 16 / 0.09 = 178 px/m along the image's *height*. With ``N`` pixels across a field
  of ``θ`` radians the density at slant distance ``s`` is ``N / (θ s)`` (:mod:`gis.camera`), so the
  capture reaches the slant distance ``s_max = N / (θ · ppm)``.
- **Vertical angle.** The camera looks down onto the face or plate at ``atan(drop / r)`` at ground
  distance ``r`` (``drop``: the camera's height above the face, 1.6 m, or the plate, 0.5 m); at most
  ``max_vertical_deg`` (face 15°, plate 30°) means ``r ≥ drop / tan(max_vertical)``.
- **Horizontal angle.** People and vehicles move through the target in the compass direction
  ``approach_deg`` (a target field), their faces and front plates pointing that way. The camera must
  stand ahead of them within ``max_horizontal_deg`` (face 30°, plate 20°) of that direction: seen
  from the camera, the target lies at a bearing within ``approach + 180° ± max_horizontal``.

So a camera captures in the sector of the annulus ``r_min ≤ r ≤ r_max`` (``r_max = √(s_max² −
drop²)``) around that bearing, within what it sees at all (its outer, occlusion-cut view, which
also carries the image edges and, at night, its lamp's reach). The pixel densities are those of
the image centre's arc form, as for the DORI levels; the image edges come from the stored views,
which are cut at the workspace's target height (1.6 m), also for plates. Vendor guidance for these
limits: face capture cameras are mounted 2.5–3.5 m high and look at faces 5–10 m away; LPR cameras
look at plates at most 30° down and 20° sideways.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import shapely

KINDS = ("face", "plate")

#: the optics a capture check needs, per camera: where it stands (mounted) and its image
OPTICS = ("mx", "my", "height_m", "res_h", "res_v", "hfov_deg", "vfov_deg", "range_factor")


@dataclass(frozen=True)
class CaptureRule:
    """What one kind of capture needs: pixels per metre along one image axis (``"h"`` across, ``"v"``
    up), the height of the face or plate (m), and the steepest and most oblique view (degrees)."""

    kind: str
    ppm: float
    axis: str
    height_m: float
    max_vertical_deg: float
    max_horizontal_deg: float


#: the built-in rules: 80 px across a 0.16 m face; 16 px up a 90 mm plate character
RULES: dict[str, CaptureRule] = {
    "face": CaptureRule("face", 80 / 0.16, "h", 1.6, 15.0, 30.0),
    "plate": CaptureRule("plate", 16 / 0.090, "v", 0.5, 30.0, 20.0),
}

#: the workspace setting ``capture`` and what each key may be set to
SETTING_KEYS = {"face": ("face_px", "face_width_m", "ppm", "height_m", "max_vertical_deg", "max_horizontal_deg"),
                "plate": ("char_px", "char_height_m", "height_m", "max_vertical_deg", "max_horizontal_deg")}


def rules(given: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, CaptureRule]:
    """The capture rules with a workspace's changes (setting ``capture``), checked.

    ``face``: ``face_px`` and ``face_width_m`` (the density is their ratio) or ``ppm`` directly;
    ``plate``: ``char_px`` and ``char_height_m``; both: ``height_m``, ``max_vertical_deg`` and
    ``max_horizontal_deg``. Raises ValueError naming an unknown key or a value out of range.
    """
    out = dict(RULES)
    for kind, values in (given or {}).items():
        if kind not in SETTING_KEYS:
            raise ValueError(f"unknown capture kind '{kind}': use {' or '.join(KINDS)}")
        unknown = set(values) - set(SETTING_KEYS[kind])
        if unknown:
            raise ValueError(f"unknown capture.{kind} setting(s) {sorted(unknown)}: "
                             f"known are {list(SETTING_KEYS[kind])}")
        v = {k: float(x) for k, x in values.items()}
        if any(not math.isfinite(x) or x <= 0 for x in v.values()):
            raise ValueError(f"capture.{kind} settings must be positive numbers: {values}")
        rule = out[kind]
        if kind == "face" and "ppm" in v:
            rule = replace(rule, ppm=v["ppm"])
        elif kind == "face" and ({"face_px", "face_width_m"} & set(v)):
            rule = replace(rule, ppm=v.get("face_px", 80.0) / v.get("face_width_m", 0.16))
        elif kind == "plate" and ({"char_px", "char_height_m"} & set(v)):
            rule = replace(rule, ppm=v.get("char_px", 16.0) / v.get("char_height_m", 0.090))
        rule = replace(rule, height_m=v.get("height_m", rule.height_m),
                       max_vertical_deg=v.get("max_vertical_deg", rule.max_vertical_deg),
                       max_horizontal_deg=v.get("max_horizontal_deg", rule.max_horizontal_deg))
        if not (rule.max_vertical_deg < 90 and rule.max_horizontal_deg < 90):
            raise ValueError(f"capture.{kind}: the angle limits must be below 90°")
        out[kind] = rule
    return out


def optics(params: pd.DataFrame) -> pd.DataFrame:
    """The columns of :data:`OPTICS` from mounted camera parameters (:func:`gis.mounting.mount`)."""
    return pd.DataFrame({"mx": params["x"].to_numpy(dtype=float), "my": params["y"].to_numpy(dtype=float),
                         **{c: params[c].to_numpy(dtype=float) for c in OPTICS[2:]}}, index=params.index)


def windows(cams: pd.DataFrame, rule: CaptureRule) -> tuple[np.ndarray, np.ndarray]:
    """Per camera (columns of :data:`OPTICS`): the ground distances ``(r_min, r_max)`` between which it
    captures under ``rule`` (``r_max ≤ r_min``: nowhere)."""
    res = cams["res_h" if rule.axis == "h" else "res_v"].to_numpy(dtype=float)
    fov = np.radians(cams["hfov_deg" if rule.axis == "h" else "vfov_deg"].to_numpy(dtype=float))
    slant = res / (fov * rule.ppm) * cams["range_factor"].to_numpy(dtype=float)
    drop = np.abs(cams["height_m"].to_numpy(dtype=float) - rule.height_m)
    r_min = drop / math.tan(math.radians(rule.max_vertical_deg))
    r_max = np.sqrt(np.maximum(slant * slant - drop * drop, 0.0))
    return r_min, r_max


def sees(cams: pd.DataFrame, rule: CaptureRule, px: np.ndarray, py: np.ndarray,
         approach_deg: np.ndarray) -> np.ndarray:
    """For pairs (camera row, point): whether the camera's window and angles allow a capture at the
    point of people or vehicles moving towards ``approach_deg`` (the outer view is checked apart)."""
    r_min, r_max = windows(cams, rule)
    dx, dy = cams["mx"].to_numpy(dtype=float) - px, cams["my"].to_numpy(dtype=float) - py
    r = np.hypot(dx, dy)
    bearing = np.degrees(np.arctan2(dx, dy))  # from the point to the camera, clockwise from north
    off = np.abs((bearing - np.asarray(approach_deg, dtype=float) + 180.0) % 360.0 - 180.0)
    return (r >= r_min - 1e-9) & (r <= r_max + 1e-9) & (off <= rule.max_horizontal_deg + 1e-9)


def sector(x: float, y: float, r_min: float, r_max: float, approach_deg: float, half_deg: float,
           step_deg: float = 0.25) -> shapely.Geometry:
    """The part of the annulus ``r_min ≤ r ≤ r_max`` around ``(x, y)`` from which a point sees the
    camera within ``half_deg`` of ``approach_deg`` (arcs as chords of ``step_deg``: < 1 mm at 100 m)."""
    if r_max <= r_min:
        return shapely.Polygon()
    centre = math.radians((approach_deg + 180.0) % 360.0)
    n = max(2, math.ceil(2 * half_deg / step_deg) + 1)
    angles = centre + np.radians(np.linspace(-half_deg, half_deg, n))
    outer = np.column_stack([x + r_max * np.sin(angles), y + r_max * np.cos(angles)])
    inner = (np.column_stack([x + r_min * np.sin(angles[::-1]), y + r_min * np.cos(angles[::-1])]) if r_min > 0
             else np.array([[x, y]]))
    return shapely.Polygon(np.vstack([outer, inner]))


def view(outer: shapely.Geometry, cam: Mapping[str, float] | pd.Series, rule: CaptureRule,
         approach_deg: float) -> shapely.Geometry:
    """Where one camera (a row of :data:`OPTICS`) captures: its outer view ∩ its capture sector."""
    if outer is None or shapely.is_empty(outer):
        return shapely.Polygon()
    r_min, r_max = windows(pd.DataFrame([dict(cam)]), rule)
    part = sector(float(cam["mx"]), float(cam["my"]), float(r_min[0]), float(r_max[0]), approach_deg,
                  rule.max_horizontal_deg)
    if shapely.is_empty(part):
        return shapely.Polygon()
    return shapely.make_valid(shapely.intersection(outer, part))


def of_target(area: shapely.Geometry, cams: pd.DataFrame, outers: list[shapely.Geometry], rule: CaptureRule,
              approach_deg: float, polygon_share: float) -> tuple[float, int, bool]:
    """How well the cameras (rows of :data:`OPTICS`, with their outer views) capture a target.

    Returns the share captured (a point: 1 or 0; a polygon: the share of its public part inside
    the union of the capture views), the number of cameras that capture some of it, and whether it
    counts as captured (a polygon: ``share ≥ polygon_share``).
    """
    if area is None or shapely.is_empty(area) or not len(cams):
        return 0.0, 0, False
    if shapely.get_type_id(area) == 0:  # a point
        x, y = float(shapely.get_x(area)), float(shapely.get_y(area))
        inside = np.array([bool(shapely.intersects(o, area)) for o in outers], dtype=bool)
        ok = inside & sees(cams, rule, np.full(len(cams), x), np.full(len(cams), y),
                           np.full(len(cams), approach_deg))
        n = int(ok.sum())
        return float(n > 0), n, n > 0
    parts = [view(o, row, rule, approach_deg) for o, (_, row) in zip(outers, cams.iterrows(), strict=True)]
    parts = [shapely.intersection(p, area) for p in parts if not shapely.is_empty(p)]
    parts = [p for p in parts if shapely.area(p) > 0]
    total = float(shapely.area(area))
    share = float(shapely.area(shapely.union_all(parts))) / total if parts and total else 0.0
    return share, len(parts), share >= polygon_share


def zones(targets: pd.DataFrame, cams: pd.DataFrame, outers: np.ndarray, covering: np.ndarray,
          rules: Mapping[str, CaptureRule] | None = None) -> pd.DataFrame:
    """Where each covering camera captures the faces or plates of each target that asks for them.

    Parameters
    ----------
    targets
        Targets (metric geometry) with ``id``, ``name``, ``capture`` and ``approach_deg``.
    cams
        The cameras' ``id`` and :data:`OPTICS`, aligned to ``outers`` and ``covering``.
    outers
        Each camera's outer (detect) view.
    covering
        Which cameras count (their status covers).
    rules
        The capture rules (:func:`rules`).

    Returns
    -------
    pandas.DataFrame
        One row per camera and target whose capture view meets the target: target_id, target_name,
        camera, capture, area_m2 and the capture view (``geometry``).
    """
    rules = rules or RULES
    columns = ["target_id", "target_name", "camera", "capture", "area_m2", "geometry"]
    kinds = targets["capture"] if "capture" in targets else pd.Series(None, index=targets.index, dtype=object)
    wanted = [i for i, k in enumerate(kinds) if isinstance(k, str) and k in rules]
    outers = np.asarray(outers, dtype=object)
    if not wanted or not len(outers):
        return pd.DataFrame({c: [] for c in columns})
    tree = shapely.STRtree(outers)
    records = []
    for i in wanted:
        t = targets.iloc[i]
        geom = t.geometry
        for j in sorted(tree.query(geom, predicate="intersects")):
            if not covering[j]:
                continue
            part = view(outers[j], cams.iloc[j], rules[t["capture"]], float(t["approach_deg"]))
            if not shapely.is_empty(part) and shapely.intersects(part, geom):
                records.append({"target_id": t["id"], "target_name": t["name"], "camera": cams["id"].iat[j],
                                "capture": t["capture"], "area_m2": float(shapely.area(part)), "geometry": part})
    return pd.DataFrame.from_records(records, columns=columns)
