"""The demo workspace: a deterministic small town in 莱西市水集街道 (Laixi, Qingdao, Shandong).

The town is a street grid of about 2.4 km × 1.8 km. Street-bounded cells are blocks of
one kind each (apartment compounds, an urban village, shops, two schools, a hospital,
the market, the bus station, the square and park, factories). Four communities
(three 社区 and one 村) are unions of cells, and basic grids are runs of cells (or half
cells) of 300–500 households, so grids tile their community exactly. Schools and the
hospital get dedicated grids (专属网格). Households carry tags, incidents cluster
where a planner expects them, existing cameras cover intersections and entrances but
leave the village and back streets thin, and candidate sites stand at intersections
and every 50 m along roads. Everything follows from the seed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import LineString, box

from layers import catalogue, demo_places, validate
from layers.demo_town import (
    COMPOUNDS,
    EW_ROADS,
    METRIC_EPSG,
    NS_ROADS,
    ORIGIN_LONLAT,
    PERIOD_END,
    PLACE,
    Town,
)


def _stops(rng: np.random.Generator, length: float, lo: float, hi: float) -> np.ndarray:
    stops = [0.0]
    while stops[-1] < length - lo:
        stops.append(stops[-1] + float(rng.uniform(lo, hi)))
    stops[-1] = max(stops[-1], length)
    return np.array(stops)


def _layout(town: Town) -> None:
    nx, ny = len(town.xs) - 1, len(town.ys) - 1
    for i in range(nx):
        for j in range(ny):
            town.community[(i, j)] = 0 if i < nx // 3 else (3 if i >= nx - 2 else (1 if j < ny // 2 else 2))
            town.kinds[(i, j)] = "village" if i >= nx - 2 else "apartment"
    special = {(1, ny - 2): "school", (4, 1): "school", (nx // 2, ny // 2): "hospital",
               (2, 2): "market", (nx // 2 - 1, 0): "station", (1, 1): "square", (0, ny - 1): "park",
               (nx - 1, 0): "industrial", (nx - 2, 0): "industrial"}
    for (i, j), kind in special.items():
        town.kinds[(i, j)] = kind
    for i in range(nx):  # shops line the main east-west street
        j = ny // 2
        if town.kinds[(i, j)] == "apartment":
            town.kinds[(i, j)] = "commercial"


def _roads(town: Town) -> None:
    w, h = town.xs[-1], town.ys[-1]
    for k, x in enumerate(town.xs):
        cls = "primary" if k in (0, len(town.xs) // 2, len(town.xs) - 1) else ("secondary" if k % 2 else "tertiary")
        town.add("roads", id=f"R{len(town.rows.get('roads', [])) + 1:03d}", name=NS_ROADS[k % len(NS_ROADS)],
                 **{"class": cls}, width_m={"primary": 30.0, "secondary": 20.0, "tertiary": 12.0}[cls],
                 geometry=LineString([(x, 0), (x, h)]))
    for k, y in enumerate(town.ys):
        cls = "primary" if k in (0, len(town.ys) // 2, len(town.ys) - 1) else ("secondary" if k % 2 else "tertiary")
        town.add("roads", id=f"R{len(town.rows['roads']) + 1:03d}", name=EW_ROADS[k % len(EW_ROADS)],
                 **{"class": cls}, width_m={"primary": 30.0, "secondary": 20.0, "tertiary": 12.0}[cls],
                 geometry=LineString([(0, y), (w, y)]))
    for (i, j), kind in sorted(town.kinds.items()):  # lanes through compounds and the village
        if kind in ("apartment", "village"):
            cx = (town.xs[i] + town.xs[i + 1]) / 2
            town.add("roads", id=f"R{len(town.rows['roads']) + 1:03d}", name=None,
                     **{"class": "residential" if kind == "apartment" else "service"}, width_m=6.0,
                     geometry=LineString([(cx, town.ys[j] + 10), (cx, town.ys[j + 1] - 10)]))


def _building(town: Town, geom: shapely.Polygon, floors: int, use: str, name: str | None,
              address: str, households: int = 0, village: bool = False, entrances: int = 1) -> None:
    bid = f"B{len(town.rows.get('buildings', [])) + 1:05d}"
    height = round(floors * float(town.rng.uniform(2.9, 3.3)), 1)
    town.add("buildings", id=bid, name=name, height_m=None if town.rng.random() < 0.1 else height,
             floors=floors, use=use, address=address, geometry=geom)
    rng = town.rng
    per_floor = 2 * entrances  # two doors per entrance (单元) on each floor
    for k in range(households):
        floor, entrance, door = min(k // per_floor + 1, floors), (k // 2) % entrances + 1, k % 2 + 1
        r = rng.random()
        tags = []
        if r < (0.06 if not village else 0.04):
            tags.append("空置")
        else:
            tags.append("出租" if rng.random() < (0.38 if village else 0.14) else "常住")
            if rng.random() < (0.32 if village else 0.06):
                tags.append("流动")
            if rng.random() < (0.09 if village else 0.05):
                tags.append("独居老人")
            if rng.random() < 0.02:
                tags.append("留守儿童" if village else "残疾")
            if rng.random() < 0.025:
                tags.append("低保")
        vacant = tags == ["空置"]
        where = {"unit": None, "floor": 1, "room": f"{k + 1}号"} if village else {
            "unit": f"{entrance}单元", "floor": floor, "room": f"{floor}{door:02d}"}
        town.add("households", id=f"{bid}-{k + 1:03d}", building_id=bid, **where,
                 members=0 if vacant else int(rng.integers(1, 6)), tags=";".join(tags))


def _fill_block(town: Town, i: int, j: int, kind: str, street: str, n_compound: list[int]) -> None:
    rng = town.rng
    inner = town.interior(i, j, 14.0)
    x0, y0, x1, y1 = inner.bounds
    if kind == "apartment":
        name = COMPOUNDS[n_compound[0] % len(COMPOUNDS)]
        n_compound[0] += 1
        number = 1
        tower = rng.random() < 0.3
        for y in np.arange(y0 + 4, y1 - 14, 36.0 if not tower else 44.0):
            for x in np.arange(x0 + 4, x1 - 50, 68.0):
                floors = int(rng.choice([6, 6, 6, 11, 18] if tower else [5, 6, 6, 7]))
                geom = box(x, y, x + (58 if floors < 11 else 24), y + 13 if floors < 11 else y + 24)
                units = 3 if floors < 11 else 2
                _building(town, geom, floors, "residential", f"{name}{number}号楼", f"{street}{number * 2}号",
                          households=floors * units * 2, entrances=units)
                number += 1
        town.add("compounds", name=name, cell=(i, j))
    elif kind == "village":
        for y in np.arange(y0 + 2, y1 - 12, 17.0):
            for x in np.arange(x0 + 2, x1 - 11, 15.0):
                if rng.random() < 0.12:
                    continue  # courtyards and plots left open
                geom = box(x, y, x + float(rng.uniform(9, 12)), y + float(rng.uniform(10, 13)))
                _building(town, geom, int(rng.choice([1, 2, 2, 3])), "residential", None,
                          f"望城村{len(town.rows.get('buildings', []))}号", households=int(rng.choice([1, 1, 2])),
                          village=True)
    elif kind == "commercial":
        for x in np.arange(x0, x1 - 20, 26.0):
            _building(town, box(x, y1 - 18, x + 22, y1), int(rng.integers(2, 6)), "commercial", None,
                      f"{street}商铺", households=int(rng.choice([0, 0, 2])))
            _building(town, box(x, y0, x + 22, y0 + 18), int(rng.integers(2, 6)), "commercial", None,
                      f"{street}商铺")
        _building(town, box(x0 + 40, y0 + 40, x1 - 40, y1 - 40), 5, "office", "商务中心", f"{street}88号")
    elif kind in ("school", "hospital", "industrial", "market", "station"):
        use = {"market": "commercial", "station": "public"}.get(kind, kind)
        for y in np.arange(y0 + 10, y1 - 30, 55.0):
            for x in np.arange(x0 + 10, x1 - 60, 90.0):
                floors = {"school": 4, "hospital": 6, "industrial": 1, "market": 1, "station": 2}[kind]
                _building(town, box(x, y, x + 65, y + 20), floors, use, None, f"{street}{int(x) % 97}号")


def generate(seed: int = 2013, progress: Callable[[str], None] | None = None) -> dict[str, pd.DataFrame]:
    """Build the demo town's layers (lon/lat, canonical fields, ready to validate and store)."""
    rng = np.random.default_rng(seed)
    town = Town(rng, _stops(rng, 2400, 230, 320), _stops(rng, 1800, 210, 290))
    _layout(town)
    if progress:
        progress("streets and blocks")
    _roads(town)
    compounds = [0]
    for (i, j), kind in sorted(town.kinds.items()):
        _fill_block(town, i, j, kind, NS_ROADS[i % len(NS_ROADS)], compounds)
    if progress:
        progress("communities and grids")
    demo_places.communities_and_grids(town)
    if progress:
        progress("targets, incidents, cameras and sites")
    demo_places.targets(town)
    demo_places.incidents(town)
    demo_places.cameras(town)
    demo_places.sites(town)
    demo_places.stations(town)
    return _to_lonlat(town)


def _to_lonlat(town: Town) -> dict[str, pd.DataFrame]:
    fwd = Transformer.from_crs(4326, METRIC_EPSG, always_xy=True)
    shift = np.array(fwd.transform(*ORIGIN_LONLAT))  # the town is drawn from (0, 0) at its SW corner
    out: dict[str, pd.DataFrame] = {}
    for layer, rows in town.rows.items():
        if layer in ("compounds", "blocks"):
            continue
        frame = pd.DataFrame(rows)
        if "geometry" not in frame:
            out[layer] = frame
            continue
        geoms = shapely.transform(np.asarray(frame.pop("geometry").tolist(), dtype=object),
                                  lambda xy: xy + shift)
        gdf = gpd.GeoDataFrame(frame, geometry=geoms, crs=CRS.from_epsg(METRIC_EPSG)).to_crs(4326)
        out[layer] = gdf
    return out


def build(store: Any, seed: int = 2013, progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Generate, validate and write the demo town into ``store`` in one atomic step."""
    frames = generate(seed, progress)
    checked = {name: validate.validate(frame, name, source="demo") for name, frame in frames.items()}
    if progress:
        progress("writing the workspace")
    versions = store.write_many(checked, message=f"demo seed {seed}")
    store.set_meta({"metric_epsg": METRIC_EPSG, "place": PLACE, "demo_seed": seed,
                    "period_end": PERIOD_END.isoformat()})
    store.update_settings(catalogue=catalogue.default_records())  # the workspace carries its camera models
    return {name: len(frame) for name, frame in checked.items()} | {"_versions": sum(versions.values())}
