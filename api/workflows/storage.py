"""Bandwidth and storage of the cameras of a user's area, as a planner sizes the network and recorders.

Per camera: the main-stream bitrate (its own ``bitrate_mbps``, else estimated from resolution, codec,
frame rate and scene by :func:`gis.storage.bitrate_mbps`), the sub stream, the recording mode (the
recorded share), the retention (its own ``retention_days``, else the setting: class-1 points longer)
and the terabytes that takes. Then the sums per grid, community, 街镇 and the whole area, and the
storage units (a class from :data:`gis.storage.STORAGE_UNITS`) needed at each recording site (by
default one per community). A camera counts in the grid holding it (the grids tile the area); one
outside every grid counts only in the total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from api.access import Scope
from api.workflows.settings import assumptions, recording_options
from gis import catalogue, partition, storage
from layers.store import Store

#: the figures summed per area
SUMS = ("cameras", "main_mbps", "network_mbps", "record_mbps", "tb")
LEVELS = ("grid", "community", "township")


@dataclass
class StoragePlan:
    """The per-camera figures, their sums per level and in all, and the storage units per site."""

    cameras: pd.DataFrame
    levels: dict[str, pd.DataFrame]
    total: dict[str, float]
    unit: storage.StorageUnit
    site_level: str
    options: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form (the API's answer, ``pingan --json storage``)."""
        def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [{str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
                    for r in frame.reset_index().to_dict("records")]

        return {"total": self.total, "levels": {k: rows(v) for k, v in self.levels.items()},
                "unit": {"id": self.unit.id, "name": self.unit.name, "usable_tb": self.unit.usable_tb,
                         "max_in_mbps": self.unit.max_in_mbps, "channels": self.unit.channels},
                "site_level": self.site_level, "options": self.options,
                "method": "TB = Mbps × 3600 × 24 × days / 8 / 10⁶ × recorded share; bitrate: gis.storage"}


def storage_plan(store: Store, scope: Scope, *, statuses: Sequence[str] = ("active", "planned", "faulty"),
                 site_level: str | None = None) -> StoragePlan:
    """Size bandwidth and storage for the cameras of ``scope``'s area with a status in ``statuses``.

    Parameters
    ----------
    store, scope
        The workspace and the user (cameras are read through the area policy).
    statuses
        Which cameras record: by default every camera not removed (a faulty one is repaired, a
        planned one is built).
    site_level
        Where recorders stand: ``grid``, ``community`` (default, from the ``recording`` setting),
        ``township`` or ``all`` (one central store).
    """
    scope.allow_read("cameras")
    opts = recording_options(store.settings())
    level = site_level or opts["site_level"]
    if level not in (*LEVELS, "all"):
        raise ValueError(f"unknown site level '{level}': use grid, community, township or all")
    unit = next(u for u in storage.STORAGE_UNITS if u.id == opts["unit"])
    cams = scope.filter(store, "cameras", store.features("cameras")) if store.has("cameras") else None
    if cams is None or cams.empty:
        cams_frame = pd.DataFrame({"id": []})
    else:
        status = cams["status"].fillna("active") if "status" in cams else pd.Series("active", index=cams.index)
        cams = cams[status.isin(list(statuses)).to_numpy()]
        cams_frame = per_camera(store, cams, opts)
    levels = {lv: _sums(cams_frame, lv) for lv in LEVELS}
    total = {k: float(cams_frame[k].sum()) if len(cams_frame) else 0.0 for k in SUMS}
    sites = levels[level] if level != "all" else pd.DataFrame([total], index=pd.Index(["all"], name="all"))
    units = [unit.needed(r["tb"], r["record_mbps"], int(r["cameras"])) for _, r in sites.iterrows()]
    if level != "all":
        levels[level]["units"] = units
    total["units"] = float(sum(units))
    return StoragePlan(cams_frame, levels, total, unit, level, opts)


def per_camera(store: Store, cams: Any, opts: dict[str, Any]) -> pd.DataFrame:
    """Each camera's main-stream, network and recorded bitrate (Mbps) and storage (TB) under the recording
    options ``opts``; a camera naming a model (:mod:`gis.catalogue`) records at the model's resolution."""
    defaults = assumptions(store.settings())
    cams, _, _ = catalogue.fill(cams, defaults.models)  # a model's resolution, the camera's own first
    n = len(cams)

    def column(name: str, fallback: Any) -> pd.Series:
        values = cams[name] if name in cams else pd.Series([None] * n, index=cams.index)
        return values.where(values.notna(), fallback)

    width = pd.to_numeric(column("resolution_px", defaults.resolution_px), errors="coerce").to_numpy(dtype=float)
    height_given = pd.to_numeric(column("resolution_v_px", np.nan), errors="coerce").to_numpy(dtype=float)
    height = np.where(np.isfinite(height_given), height_given, width / defaults.aspect)
    codec = column("codec", opts["codec"]).astype(str).to_numpy()
    fps = pd.to_numeric(column("fps", opts["fps"]), errors="coerce").to_numpy(dtype=float)
    own = pd.to_numeric(column("bitrate_mbps", np.nan), errors="coerce").to_numpy(dtype=float)
    estimate = np.array([storage.bitrate_mbps(w, h, codec=c, fps=f, scene=opts["scene"])
                         for w, h, c, f in zip(width, height, codec, fps, strict=True)])
    main = np.where(np.isfinite(own), own, estimate)
    mode = column("recording", opts["mode"]).astype(str).to_numpy()
    share = np.where(mode == "event", float(opts["event_share"]), 1.0)
    klass = cams["point_class"].astype(str).to_numpy() if "point_class" in cams else np.full(n, "")
    days_given = pd.to_numeric(column("retention_days", np.nan), errors="coerce").to_numpy(dtype=float)
    days = np.where(np.isfinite(days_given), days_given,
                    np.where(klass == "1", opts["class1_retention_days"], opts["retention_days"]))
    sub = float(opts["substream_mbps"])
    recorded = main + (sub if opts["record_substream"] else 0.0)
    tb = np.array([storage.storage_tb(m, d, s) for m, d, s in zip(recorded, days, share, strict=True)])
    out = pd.DataFrame({"id": cams["id"].astype(str).to_numpy(), "cameras": 1, "codec": codec, "fps": fps,
                        "main_mbps": main, "estimated": ~np.isfinite(own), "network_mbps": main + sub,
                        "recording": mode, "share": share, "days": days, "record_mbps": recorded * share, "tb": tb})
    out["grid"], out["community"], out["township"] = _places(store, cams)
    return out


def _places(store: Store, cams: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each camera's grid, community and 街镇 code (None outside every grid)."""
    n = len(cams)
    none = np.full(n, None, dtype=object)
    if not store.has("grids"):
        return none, none.copy(), none.copy()
    grids = store.features("grids").to_crs(cams.crs).reset_index(drop=True)
    at = partition.grid_index(grids, cams.geometry.to_numpy())
    inside = at >= 0
    grid = none.copy()
    community = none.copy()
    grid[inside] = grids["code"].astype(str).to_numpy()[at[inside]]
    community[inside] = grids["community_code"].astype(str).to_numpy()[at[inside]]
    township = np.array([c[:9] if isinstance(c, str) else None for c in community], dtype=object)
    return grid, community, township


def _sums(cams: pd.DataFrame, level: str) -> pd.DataFrame:
    if cams.empty:
        return pd.DataFrame(columns=list(SUMS), index=pd.Index([], name=level))
    placed = cams[cams[level].notna()]
    return placed.groupby(level)[list(SUMS)].sum().sort_index()
