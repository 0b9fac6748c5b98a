"""Camera models: what a camera of a known model has unless its own fields say otherwise.

A camera (or a candidate) names its model in ``model`` (设备型号): the catalogue's id or the
maker's model code, in any case. :func:`fill` then completes its fields from the model — kind,
resolution, sensor, lens, IR range and minimum illumination — and every field the camera gives
itself wins. A camera with neither a field of view nor a focal length of its own gets the
datasheet's horizontal field of view (a real lens's, which a nominal focal length on a nominal
sensor size only approximates), else the model's focal length; a varifocal or zoom lens is taken at
its wide end, and that is listed among the camera's assumptions. A field of view outside the
lens' range is refused.

The catalogue is data: the workspace setting ``catalogue`` (imported and exported as CSV/XLSX with
Chinese headers), with a packaged default of common models whose facts come from the makers'
datasheets, each row citing its source. Prices are planning estimates for a tender to replace.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

#: the camera fields a model fills (camera field → model attribute)
FILLED = {"kind": "kind", "resolution_px": "resolution_px", "resolution_v_px": "resolution_v_px",
          "sensor": "sensor", "ir_range_m": "ir_range_m", "min_lux": "min_lux"}


@dataclass(frozen=True)
class CameraModel:
    """One model of a maker: optics (resolution, sensor, focal range in mm and the horizontal field of
    view at its wide and tele ends in degrees), night (IR reach in m, minimum colour illumination in
    lx), video (codecs, streams), power (W, PoE class), a unit price (yuan) and the source of the facts."""

    id: str
    maker: str
    model: str
    kind: str
    resolution_px: int
    resolution_v_px: int | None = None
    sensor: str | None = None
    focal_min_mm: float | None = None
    focal_max_mm: float | None = None
    hfov_max_deg: float | None = None
    hfov_min_deg: float | None = None
    ir_range_m: float | None = None
    min_lux: float | None = None
    codecs: str | None = None
    streams: str | None = None
    power_w: float | None = None
    poe_class: int | None = None
    price_yuan: float | None = None
    source: str | None = None

    @property
    def zoom(self) -> bool:
        """Whether its lens is varifocal (a focal range rather than one focal length)."""
        lo, hi = self.focal_min_mm, self.focal_max_mm
        return lo is not None and hi is not None and hi > lo


def _value(v: Any) -> Any:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    return v.item() if isinstance(v, np.generic) else v


def from_records(records: Iterable[Mapping[str, Any]]) -> dict[str, CameraModel]:
    """The models of a catalogue table (rows of its fields), keyed by id."""
    names = {f.name for f in fields(CameraModel)}
    out = {}
    for rec in records:
        model = CameraModel(**{k: _value(v) for k, v in rec.items() if k in names})
        out[model.id] = model
    return out


def lookup(models: Mapping[str, CameraModel], key: object) -> CameraModel | None:
    """The model a camera names, by the catalogue's id or the maker's model code (any case)."""
    text = str(key).strip().lower()
    for m in models.values():
        if text in (m.id.lower(), m.model.lower()):
            return m
    return None


def fill(cameras: pd.DataFrame, models: Mapping[str, CameraModel]) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Complete cameras' fields from their models.

    Returns
    -------
    cameras : pandas.DataFrame
        A copy with the fields of :data:`FILLED` (and ``hfov_deg`` for a zoom lens at its wide end,
        ``focal_mm`` for a fixed lens) filled where the camera leaves them empty.
    notes : list of str
        Per camera, what its model made the planner assume ('' for most: a zoom lens at its wide end).
    problems : list of str
        Cameras naming an unknown model, or a field of view outside their lens' range.
    """
    out = cameras.copy()
    notes = [""] * len(out)
    if "model" not in out or not models:
        return out, notes, []
    for col in (*FILLED, "hfov_deg", "focal_mm"):
        if col not in out:
            out[col] = None if col in ("kind", "sensor") else np.nan
    out = out.astype(dict.fromkeys(("kind", "sensor"), object))
    ids = (out["id"] if "id" in out else pd.Series(out.index, index=out.index)).to_numpy()
    named = out["model"].astype(object).where(out["model"].notna(), None).map(
        lambda v: str(v).strip() if _value(v) is not None else "").to_numpy(dtype=object)
    found: list[tuple[int, str]] = []
    for key in pd.unique(named[named != ""]):  # one pass per model named, whole columns at a time
        rows = named == key
        m = lookup(models, key)
        if m is None:
            found.extend((int(i), f"camera {ids[i]}: unknown model '{key}' (the catalogue has "
                          f"{', '.join(sorted(models))}; import the model with pingan catalogue, or leave 设备型号 "
                          "empty)") for i in np.flatnonzero(rows))
            continue
        own_resolution = out["resolution_px"].notna().to_numpy()
        for col, attr in FILLED.items():
            value = getattr(m, attr)
            empty = rows & out[col].isna().to_numpy()
            if col == "resolution_v_px":
                empty &= ~own_resolution  # the camera's own image: its height follows its own width
            if value is not None and empty.any():
                out.loc[out.index[empty], col] = value
        hfov = pd.to_numeric(out["hfov_deg"], errors="coerce").to_numpy(dtype=float)
        neither = rows & np.isnan(hfov) & out["focal_mm"].isna().to_numpy()
        if neither.any():  # the datasheet's field of view (a real lens, not a nominal focal)
            if m.hfov_max_deg is not None:
                out.loc[out.index[neither], "hfov_deg"] = m.hfov_max_deg
            elif m.focal_min_mm is not None:
                out.loc[out.index[neither], "focal_mm"] = m.focal_min_mm
            if m.zoom:
                for i in np.flatnonzero(neither):
                    notes[i] = f"zoom lens of {m.model} at its wide end"
        if m.hfov_max_deg is not None:
            low = m.hfov_min_deg if m.hfov_min_deg is not None else m.hfov_max_deg
            wrong = rows & ~np.isnan(hfov) & ~neither & ((hfov < low - 0.5) | (hfov > m.hfov_max_deg + 0.5))
            found.extend((int(i), f"camera {ids[i]}: a field of view of {hfov[i]:g}° is outside the lens of "
                          f"{m.model} ({low:g}–{m.hfov_max_deg:g}°): correct 水平视场角 or 设备型号")
                         for i in np.flatnonzero(wrong))
    problems = [text for _, text in sorted(found, key=lambda f: f[0])]
    return out, notes, problems
    for col in (*FILLED, "hfov_deg", "focal_mm"):
        if col not in out:
            out[col] = None if col in ("kind", "sensor") else np.nan
    out = out.astype(dict.fromkeys(("kind", "sensor"), object))
    ids = out["id"] if "id" in out else pd.Series(out.index, index=out.index)
    for pos, (key, cam) in enumerate(zip(out["model"], ids, strict=True)):
        if _value(key) is None or not str(key).strip():
            continue
        m = lookup(models, key)
        if m is None:
            problems.append(f"camera {cam}: unknown model '{key}' (the catalogue has {', '.join(sorted(models))}; "
                            "import the model with pingan catalogue, or leave 设备型号 empty)")
            continue
        row = out.index[pos]
        own_resolution = _value(out.at[row, "resolution_px"]) is not None
        for col, attr in FILLED.items():
            if col == "resolution_v_px" and own_resolution:
                continue  # the camera's own image: its height follows its own width (a 4:3 mix would be wrong)
            if _value(out.at[row, col]) is None and getattr(m, attr) is not None:
                out.at[row, col] = getattr(m, attr)
        hfov, focal = _value(out.at[row, "hfov_deg"]), _value(out.at[row, "focal_mm"])
        if hfov is None and focal is None:  # the datasheet's field of view (a real lens, not a nominal focal)
            if m.hfov_max_deg is not None:
                out.at[row, "hfov_deg"] = m.hfov_max_deg
            elif m.focal_min_mm is not None:
                out.at[row, "focal_mm"] = m.focal_min_mm
            if m.zoom:
                notes[pos] = f"zoom lens of {m.model} at its wide end"
        elif hfov is not None and m.hfov_max_deg is not None:
            low = m.hfov_min_deg if m.hfov_min_deg is not None else m.hfov_max_deg
            if not low - 0.5 <= float(hfov) <= m.hfov_max_deg + 0.5:
                problems.append(f"camera {cam}: a field of view of {float(hfov):g}° is outside the lens of "
                                f"{m.model} ({low:g}–{m.hfov_max_deg:g}°): correct 水平视场角 or 设备型号")
    return out, notes, problems
