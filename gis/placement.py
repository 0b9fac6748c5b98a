"""Camera placement: candidates, demand and the sparse coverage matrix between them.

- **Candidates** are mounting sites (the ``sites`` layer, plus sites generated at the corners of
  road intersections, every ``spacing_m`` along roads at the kerb, and at the corners of target
  polygons), each tried at several headings and with each model of a small catalogue. A
  candidate's cost is its installed cost: its model's price, its site's works (a new pole, a wall
  bracket), installation and fibre/network (:class:`Costs`, the setting ``costs``).
- **Demand** is key targets, weighted by class and needing their required DORI level (polygon
  targets are sampled), plus public-space sample points weighted by the risk of their grid.
  What the existing cameras already cover is dropped: they are kept and count as covering.
- **The coverage matrix** (demand rows × candidate columns, ``scipy.sparse``) says which
  candidate sees which demand point at the level it needs, from the candidates' views.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from gis import capture, catalogue
from gis.camera import DORI_LEVELS
from gis.crs import require_metric
from gis.streets import ROAD_WIDTHS_M, road_nodes


@dataclass(frozen=True)
class Model:
    """A camera model a candidate site can take: optics, mounting and unit price (yuan)."""

    name: str
    kind: str
    resolution_px: int
    price_yuan: float
    focal_mm: float | None = None
    sensor: str | None = None
    hfov_deg: float | None = None
    tilt_deg: float = 15.0


#: A small catalogue of common 2–8 MP models with typical prices (yuan, camera only).
CATALOGUE: dict[str, Model] = {m.name: m for m in [
    Model("bullet-2.8mm", "bullet", 2560, 600, focal_mm=2.8, sensor='1/2.8"', tilt_deg=20),
    Model("bullet-4mm", "bullet", 2560, 600, focal_mm=4.0, sensor='1/2.8"'),
    Model("bullet-6mm", "bullet", 2560, 650, focal_mm=6.0, sensor='1/2.8"', tilt_deg=12),
    Model("bullet-12mm", "bullet", 3840, 1200, focal_mm=12.0, sensor='1/1.8"', tilt_deg=8),
    Model("dome-2.8mm", "dome", 2560, 550, hfov_deg=100.0, tilt_deg=35),
    Model("ptz-25x", "ptz", 1920, 4500, hfov_deg=58.0, tilt_deg=10),
    Model("fisheye-12mp", "fisheye", 4000, 2800, hfov_deg=360.0),
]}
DEFAULT_MODELS = ("bullet-4mm", "bullet-12mm")
SITE_COSTS = {"pole": 12_000.0, "wall": 3_000.0, "roof": 5_000.0, "other": 6_000.0}
SITE_HEIGHTS = {"pole": 6.0, "wall": 4.0, "roof": 10.0, "other": 5.0}
TARGET_WEIGHTS = {"1": 100.0, "2": 30.0, "3": 10.0}


@dataclass(frozen=True)
class Costs:
    """What an installed camera costs beyond its unit price (yuan): its site's works by site kind (a new
    pole, a wall bracket …; a site's own ``cost`` wins), installation per camera, fibre and network per
    camera's site. Planning estimates (the setting ``costs``), for a tender's to replace."""

    site: Mapping[str, float] = field(default_factory=lambda: dict(SITE_COSTS))
    install_yuan: float = 600.0
    network_yuan: float = 1500.0


def planning_models() -> dict[str, catalogue.CameraModel]:
    """The typical models of :data:`CATALOGUE` as catalogue models (:mod:`gis.catalogue`), so a candidate or
    an accepted proposal naming one (``model`` bullet-4mm …) is known wherever cameras are resolved."""
    return {m.name: catalogue.CameraModel(
        m.name, "通用", m.name, m.kind, m.resolution_px, m.resolution_px * 9 // 16, m.sensor, m.focal_mm, m.focal_mm,
        m.hfov_deg, m.hfov_deg, price_yuan=m.price_yuan, source="gis.placement: a typical model for planning")
        for m in CATALOGUE.values()}


def generated_sites(roads: gpd.GeoDataFrame, targets: gpd.GeoDataFrame, *, spacing_m: float = 50.0,
                    widths: Mapping[str, float] = ROAD_WIDTHS_M) -> gpd.GeoDataFrame:
    """Poles at intersection corners and along roads at the kerb; walls at target corners."""
    require_metric("candidate sites", roads=roads, targets=targets)
    rows: list[dict[str, object]] = []
    nodes, degree = road_nodes(roads)
    for (x, y), deg in zip(nodes, degree, strict=True):
        if deg >= 3:
            for dx, dy in ((1, 1), (-1, -1)):
                rows.append({"kind": "pole", "source": "intersection",
                             "geometry": shapely.Point(x + 8 * dx, y + 8 * dy)})
    for geom, cls, width in zip(roads.geometry, roads.get("class", pd.Series("other", index=roads.index)),
                                pd.to_numeric(roads.get("width_m", pd.Series(np.nan, index=roads.index)),
                                              errors="coerce"), strict=True):
        half = (width if np.isfinite(width) else widths.get(str(cls), widths["other"])) / 2 + 1.0
        length = float(geom.length)
        for k, d in enumerate(np.arange(spacing_m / 2, length, spacing_m)):
            p = geom.interpolate(d)
            q = geom.interpolate(min(d + 1.0, length))
            tx, ty = q.x - p.x, q.y - p.y
            norm = math.hypot(tx, ty) or 1.0
            side = 1 if k % 2 else -1
            rows.append({"kind": "pole", "source": "road", "geometry": shapely.Point(
                p.x - side * ty / norm * half, p.y + side * tx / norm * half)})
    for geom in targets.geometry:
        if geom.geom_type in ("Polygon", "MultiPolygon"):
            hull = shapely.convex_hull(geom)
            centre = hull.centroid
            for x, y in list(shapely.get_coordinates(shapely.simplify(hull, 2.0)))[:-1]:
                dx, dy = x - centre.x, y - centre.y
                norm = math.hypot(dx, dy) or 1.0
                rows.append({"kind": "wall", "source": "target",
                             "geometry": shapely.Point(x + dx / norm, y + dy / norm)})
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=roads.crs) if rows else gpd.GeoDataFrame(
        {"kind": [], "source": []}, geometry=[], crs=roads.crs)
    out["height_m"] = out["kind"].map(SITE_HEIGHTS)
    out["cost"] = np.nan  # a generated site costs what its kind costs in the setting costs (candidates())
    out["id"] = [f"G{i + 1:05d}" for i in range(len(out))]
    out["name"] = out["source"].map({"intersection": "路口立杆", "road": "沿路立杆", "target": "目标外墙"})
    return out


def candidates(sites: gpd.GeoDataFrame, models: Sequence[Model], heading_step_deg: float = 30.0,
               costs: Costs | None = None) -> gpd.GeoDataFrame:
    """Every site × heading × model as a camera row: fields of the camera layer plus its installed cost,
    ``cost`` = ``price`` (the model's) + ``site_cost`` + ``install`` + ``network`` (:class:`Costs`)."""
    require_metric("candidates", sites=sites)
    c = costs or Costs()
    headings = np.arange(0.0, 360.0, heading_step_deg)
    parts = []
    by_kind = {**SITE_COSTS, **c.site}
    site_cost = pd.to_numeric(sites.get("cost"), errors="coerce").fillna(sites["kind"].map(by_kind)).fillna(
        by_kind["other"]).to_numpy()
    height = pd.to_numeric(sites.get("height_m"), errors="coerce").fillna(sites["kind"].map(SITE_HEIGHTS)).fillna(
        SITE_HEIGHTS["other"]).to_numpy()
    for model in models:
        hs = np.array([0.0]) if model.kind in ("ptz", "fisheye") else headings
        n_sites, n_h = len(sites), len(hs)
        parts.append(pd.DataFrame({
            "site": np.repeat(np.arange(n_sites), n_h), "site_id": np.repeat(sites["id"].to_numpy(), n_h),
            "model": model.name, "kind": model.kind, "heading_deg": np.tile(hs, n_sites),
            "hfov_deg": model.hfov_deg, "focal_mm": model.focal_mm, "sensor": model.sensor,
            "resolution_px": model.resolution_px, "height_m": np.repeat(height, n_h),
            "tilt_deg": model.tilt_deg, "price": model.price_yuan, "site_cost": np.repeat(site_cost, n_h),
            "geometry": np.repeat(sites.geometry.to_numpy(), n_h)}))
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=sites.crs)
    out["install"], out["network"] = float(c.install_yuan), float(c.network_yuan)
    out["cost"] = out["price"] + out["site_cost"] + out["install"] + out["network"]
    # at most one camera per site and heading (across models)
    out["heading_group"] = pd.factorize(out["site_id"].astype(str) + "@" + out["heading_deg"].round(3).astype(str))[0]
    return out


def lattice(area: shapely.Geometry, spacing_m: float) -> np.ndarray:
    """Points of a square lattice inside ``area`` (cell centres)."""
    if area is None or shapely.is_empty(area):
        return np.empty(0, dtype=object)
    w, s, e, n = shapely.bounds(area)
    xs = np.arange(w + spacing_m / 2, e, spacing_m)
    ys = np.arange(s + spacing_m / 2, n, spacing_m)
    if len(xs) == 0 or len(ys) == 0:
        return np.asarray([shapely.point_on_surface(area)], dtype=object)
    gx, gy = np.meshgrid(xs, ys)
    inside = shapely.contains_xy(area, gx.ravel(), gy.ravel())
    return np.asarray(shapely.points(gx.ravel()[inside], gy.ravel()[inside]), dtype=object)


def demand(public: gpd.GeoSeries, grid_codes: Sequence[str], targets: gpd.GeoDataFrame, target_areas: Sequence,
           *, spacing_m: float = 20.0, grid_weight: Mapping[str, float] | None = None,
           target_weights: Mapping[str, float] = TARGET_WEIGHTS, public_level: str = "detect",
           default_level: str = "recognise", max_target_points: int = 25) -> gpd.GeoDataFrame:
    """Demand points: targets at their required level, then public space by grid risk."""
    require_metric("demand", public=public, targets=targets)
    rows: list[dict[str, object]] = []
    def col(name: str) -> pd.Series:
        return targets[name] if name in targets else pd.Series(None, index=targets.index, dtype=object)

    for tid, cls, level, kind, approach, area in zip(targets["id"], targets["class"].astype(str),
                                                     col("required_level"), col("capture"), col("approach_deg"),
                                                     target_areas, strict=True):
        weight = target_weights.get(cls, 10.0)
        pts = [area] if area.geom_type == "Point" else list(lattice(area, 10.0))[:max_target_points] or [
            shapely.point_on_surface(area)]
        for p in pts:  # a face or plate capture is asked of every point of the target
            rows.append({"kind": "target", "target_id": tid, "level": level or default_level,
                         "capture": kind if isinstance(kind, str) else None,
                         "approach_deg": float(approach) if isinstance(kind, str) else np.nan,
                         "weight": weight / len(pts), "geometry": p})
    weights = grid_weight or {}
    for code, area in zip(grid_codes, public.to_numpy(), strict=True):
        for p in lattice(area, spacing_m):
            rows.append({"kind": "public", "target_id": None, "grid_code": code, "level": public_level,
                         "weight": float(weights.get(code, 1.0)), "geometry": p})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=public.crs)


def coverage_matrix(views: pd.DataFrame, points: gpd.GeoDataFrame, optics: pd.DataFrame | None = None,
                    rules: Mapping[str, capture.CaptureRule] | None = None) -> sp.csr_matrix:
    """Sparse demand × candidate matrix: 1 where the candidate sees the point at the point's level, and
    captures there the face or plate the point asks for (``capture``, ``approach_deg``; :mod:`gis.capture`,
    from the candidates' ``optics`` aligned to ``views``)."""
    require_metric("coverage matrix", views=views, points=points)
    rows, cols = [], []
    for level in DORI_LEVELS:
        sel = np.flatnonzero((points["level"] == level).to_numpy())
        if len(sel) == 0 or level not in views:
            continue
        tree = shapely.STRtree(points.geometry.to_numpy()[sel])
        cand, pt = tree.query(views[level].to_numpy(), predicate="contains")
        rows.append(sel[pt])
        cols.append(cand)
    r = np.concatenate(rows) if rows else np.empty(0, dtype=int)
    c = np.concatenate(cols) if cols else np.empty(0, dtype=int)
    rules = rules or capture.RULES
    kinds = np.array([k if isinstance(k, str) else "" for k in points.get("capture", [None] * len(points))],
                     dtype=object)
    keep = np.array([k in rules or k == "" for k in kinds[r]], dtype=bool)  # an unknown kind: captured by none
    for kind, rule in rules.items():
        pair = np.flatnonzero(kinds[r] == kind)
        if len(pair) and optics is None:
            raise ValueError("demand points ask for face/plate capture: give the candidates' optics")
        if len(pair):
            geoms = points.geometry.to_numpy()[r[pair]]
            keep[pair] = capture.sees(cast(pd.DataFrame, optics).iloc[c[pair]], rule, shapely.get_x(geoms),
                                      shapely.get_y(geoms), points["approach_deg"].to_numpy(dtype=float)[r[pair]])
    return sp.csr_matrix((np.ones(int(keep.sum())), (r[keep], c[keep])), shape=(len(points), len(views)))


def already_covered(views: pd.DataFrame, points: gpd.GeoDataFrame, optics: pd.DataFrame | None = None,
                    rules: Mapping[str, capture.CaptureRule] | None = None) -> np.ndarray:
    """Which demand points the given (existing) views cover at their level (and capture as asked)."""
    require_metric("existing coverage", views=views, points=points)
    if len(views) == 0:
        return np.zeros(len(points), dtype=bool)
    return np.asarray(coverage_matrix(views, points, optics, rules).sum(axis=1)).ravel() > 0
