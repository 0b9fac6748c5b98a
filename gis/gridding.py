"""Grid planning: partition a community into contiguous grids of a household range, along streets.

1. The community is cut by its roads into street blocks (``shapely.polygonize``), which
   partition it exactly; dead-end lanes inside a block do not cut it.
2. Blocks holding a school, hospital, enterprise or market become dedicated grids (专属网格).
3. A block with more households than the maximum is cut into strips across its longer side at
   household quantiles, so each strip holds about the middle of the range.
4. Units are grown into basic grids: from the north-west, an adjacent unit is added while the
   grid is below the minimum and the result stays within the maximum (the nearest first).
   A remainder below the minimum joins an adjacent grid if the range allows, else it stays and
   the reason is recorded.
5. Grids are coded community code + 3-digit serial, west→east within north→south bands.

Every grid records its households and, when outside the range, why.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

DEDICATED_CATEGORIES = ("school", "kindergarten", "hospital", "enterprise", "market")


@dataclass(frozen=True)
class Rules:
    """The household range a planned grid must hold, and the band width (m) of the rows grids are
    numbered in (west → east, north → south)."""

    min_households: int = 300
    max_households: int = 500
    band_m: float = 250.0  # rows of the west→east, north→south numbering


def blocks(community: shapely.Geometry, roads: Sequence[shapely.Geometry]) -> list[shapely.Geometry]:
    """The street blocks of a community: faces of its boundary and the roads inside it."""
    lines = [shapely.boundary(community)]
    lines += [g for g in (shapely.intersection(r, community) for r in roads) if not shapely.is_empty(g)]
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(shapely.node(shapely.union_all(lines)))))
    inside = [f for f in faces if shapely.area(shapely.intersection(f, community)) > 0.5 * shapely.area(f)]
    return inside or [community]


def _strips(block: shapely.Geometry, points: np.ndarray, weights: np.ndarray, parts: int) -> list[shapely.Geometry]:
    """Cut a block into ``parts`` strips across its longer side at weighted quantiles of its points."""
    w, s, e, n = shapely.bounds(block)
    along_x = (e - w) >= (n - s)
    coord = shapely.get_x(points) if along_x else shapely.get_y(points)
    order = np.argsort(coord)
    sorted_coord = coord[order]
    cum = np.cumsum(weights[order])
    cuts = []
    for k in range(1, parts):  # midway between two buildings, so no building sits on a cut
        i = min(int(np.searchsorted(cum, cum[-1] * k / parts)), len(sorted_coord) - 2)
        cuts.append(float(sorted_coord[i] + sorted_coord[i + 1]) / 2)
    edges = [w if along_x else s, *cuts, e if along_x else n]
    out = []
    for a, b in itertools.pairwise(edges):
        box = shapely.box(a, s - 1, b, n + 1) if along_x else shapely.box(w - 1, a, e + 1, b)
        piece = shapely.intersection(block, box)
        if shapely.area(piece) > 0:
            out.append(piece)
    return out


def plan(community_code: str, community: shapely.Geometry, roads: Sequence[shapely.Geometry],
         buildings: gpd.GeoDataFrame, households: pd.Series, targets: gpd.GeoDataFrame,
         rules: Rules = Rules()) -> gpd.GeoDataFrame:
    """Grids for one community (metric CRS). ``households`` is indexed like ``buildings``."""
    points = buildings.geometry.centroid.to_numpy()
    hh = households.reindex(buildings.index).fillna(0).to_numpy(dtype=float)
    target_pts = targets.geometry.representative_point().to_numpy()
    units: list[dict[str, object]] = []
    assigned = np.zeros(len(points), dtype=bool)  # each building counts in exactly one unit
    for block in blocks(community, roads):
        inside = shapely.intersects(block, points) & ~assigned
        assigned |= inside
        count = float(hh[inside].sum())
        dedicated = [str(n) for n, c, p in zip(targets["name"], targets["category"], target_pts, strict=True)
                     if c in DEDICATED_CATEGORIES and shapely.contains(block, p)]
        if dedicated:
            units.append({"geometry": block, "households": count, "kind": "dedicated", "name": dedicated[0]})
        elif count > rules.max_households:
            parts = math.ceil(count / ((rules.min_households + rules.max_households) / 2))
            left = inside.copy()
            for piece in _strips(block, points[inside], hh[inside], parts):
                here = left & shapely.intersects(piece, points)
                left &= ~here
                units.append({"geometry": piece, "households": float(hh[here].sum()), "kind": "basic", "name": None})
        else:
            units.append({"geometry": block, "households": count, "kind": "basic", "name": None})
    grids = grow(units, rules)
    return _code(community_code, grids, rules)


def grow(units: list[dict[str, object]], rules: Rules) -> list[dict[str, object]]:
    """Contiguous regions of ``units`` (dicts with ``geometry``, ``households``, ``kind``: ``basic``
    units are grown, others kept as they are) within the household range of ``rules`` (step 4 of the
    module's plan); each region has its ``geometry`` (the union), ``households`` and ``note``."""
    basic = [u for u in units if u["kind"] == "basic"]
    geoms = np.array([u["geometry"] for u in basic], dtype=object)
    counts = np.array([u["households"] for u in basic], dtype=float)
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    touching: dict[int, set[int]] = {i: set() for i in range(len(basic))}
    for i, j in zip(a, b, strict=True):
        if i != j and shapely.length(shapely.intersection(shapely.boundary(geoms[i]), shapely.boundary(geoms[j]))) > 1:
            touching[int(i)].add(int(j))
    centre = shapely.centroid(geoms)
    cy, cx = shapely.get_y(centre), shapely.get_x(centre)
    order = sorted(range(len(basic)), key=lambda i: (-round(float(cy[i]) / rules.band_m), float(cx[i])))
    owner = np.full(len(basic), -1)
    regions: list[list[int]] = []
    for seed in order:
        if owner[seed] >= 0:
            continue
        region, total = [seed], counts[seed]
        owner[seed] = len(regions)
        while total < rules.min_households:
            frontier = {j for i in region for j in touching[i] if owner[j] < 0}
            fits = [j for j in frontier if total + counts[j] <= rules.max_households]
            if not fits:
                break
            here = shapely.centroid(shapely.union_all(geoms[region]))
            nxt = min(fits, key=lambda j: shapely.distance(here, centre[j]))
            region.append(nxt)
            owner[nxt] = len(regions)
            total += counts[nxt]
        regions.append(region)
    # remainders below the minimum join a neighbouring grid when the range allows
    isolated: set[int] = set()
    for r in sorted(range(len(regions)), key=lambda r: counts[regions[r]].sum()):
        total = counts[regions[r]].sum()
        if total >= rules.min_households or not regions[r]:
            continue
        neighbours = {int(owner[j]) for i in regions[r] for j in touching[i] if owner[j] != r}
        if not neighbours:
            isolated.add(r)
        # a remainder without households (a park, a square) adds none: it may join any neighbour
        fits = [o for o in neighbours if counts[regions[o]].sum() + total <= rules.max_households or total == 0]
        if fits:
            o = min(fits, key=lambda o: counts[regions[o]].sum())
            for i in regions[r]:
                owner[i] = o
            regions[o] += regions[r]
            regions[r] = []
    out: list[dict[str, object]] = []
    for r, region in enumerate(regions):
        if not region:
            continue
        total = float(counts[region].sum())
        note = ""
        if total < rules.min_households:
            note = ("no adjacent basic grid (only dedicated grids or the boundary around it)" if r in isolated
                    else "no adjacent grid has room: left below the minimum")
        elif total > rules.max_households:
            note = "a single strip exceeds the maximum"
        out.append({"geometry": shapely.union_all(geoms[region]), "households": total, "kind": "basic",
                    "name": None, "note": note})
    for u in units:
        if u["kind"] == "dedicated":
            out.append({**u, "note": ""})
    return out


def _single(geom: shapely.Geometry) -> shapely.Geometry:
    """A one-part MultiPolygon (what a union can return) as the Polygon it is."""
    parts = shapely.get_parts(geom)
    return parts[0] if len(parts) == 1 else geom


def _code(community_code: str, grids: list[dict[str, object]], rules: Rules) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(grids, geometry="geometry")
    frame["geometry"] = [shapely.normalize(_single(g)) for g in frame.geometry]
    top = max(shapely.bounds(g)[3] for g in frame.geometry)
    c = frame.geometry.centroid
    frame["_row"] = ((top - c.y) // rules.band_m).astype(int)
    frame["_x"] = c.x
    frame = frame.sort_values(["_row", "_x"]).reset_index(drop=True)
    frame["code"] = [f"{community_code}{k + 1:03d}" for k in range(len(frame))]
    frame["community_code"] = community_code
    basic_no = frame["kind"].eq("basic").cumsum()
    frame["name"] = [f"{n}专属网格" if k == "dedicated" else f"第{int(b)}网格"
                     for k, n, b in zip(frame["kind"], frame["name"], basic_no, strict=True)]
    return frame.drop(columns=["_row", "_x"])


def check(community: shapely.Geometry, grids: gpd.GeoSeries, tolerance: float = 1e-4) -> list[str]:
    """Problems with a tiling: gaps, overlaps, or grids in several pieces (empty list: none)."""
    problems = []
    area = shapely.area(community)
    union = shapely.union_all(grids.to_numpy())
    gap = shapely.area(shapely.difference(community, union))
    overlap = float(grids.area.sum()) - shapely.area(union)
    if gap > tolerance * area:
        problems.append(f"gaps of {gap:.1f} m² ({gap / area:.3%})")
    if overlap > tolerance * area:
        problems.append(f"overlaps of {overlap:.1f} m² ({overlap / area:.3%})")
    outside = shapely.area(shapely.difference(union, community))
    if outside > tolerance * area:
        problems.append(f"{outside:.1f} m² outside the community")
    split = [i for i, g in enumerate(grids) if shapely.get_num_geometries(g) > 1]
    if split:
        problems.append(f"{len(split)} grid(s) in several pieces")
    return problems
