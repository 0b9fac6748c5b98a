"""A city-sized GeoPackage workspace for the page benchmark: 20,000 cameras, 2,025 grids.

The dense synthetic city of :mod:`benchmarks.synthetic` placed at 莱西 in CGCS2000 3° GK
zone 40 (EPSG:4549), with households (two to four per residential building) and the
cameras' views computed by the same service the CLI uses. Deterministic by seed.

    python -m benchmarks.city_workspace /tmp/city.gpkg [--cameras 20000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from benchmarks import synthetic

METRIC_EPSG = 4549
ORIGIN_LONLAT = (120.46, 36.84)  # the city's south-west corner
TAGS = ("", "", "", "出租", "出租|流动人口", "空置", "独居老人", "")


def build(path: Path, *, n_cameras: int = 20_000, n_buildings: int = 50_000, size_m: float = 10_000.0,
          cell_m: float = 222.3, seed: int = 7, n_targets: int = 0, n_incidents: int = 0,
          views: bool = True, name: str = "合成城市 (benchmark)") -> dict[str, int]:
    from api.workflows.views import compute_views
    from layers import validate
    from layers.geopackage import GeoPackageStore

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    buildings, heights, cams = synthetic.city(n_buildings, n_cameras, size_m=size_m, seed=seed)
    shift = np.array(Transformer.from_crs(4326, METRIC_EPSG, always_xy=True).transform(*ORIGIN_LONLAT))

    def frame(data: pd.DataFrame | dict[str, object], geoms: np.ndarray) -> gpd.GeoDataFrame:
        moved = shapely.transform(np.asarray(geoms, dtype=object), lambda xy: xy + shift)
        return gpd.GeoDataFrame(data, geometry=moved, crs=METRIC_EPSG).to_crs(4326)

    grid_rows = synthetic.grids(size_m, cell_m)
    grids = frame(grid_rows.drop(columns="geometry").assign(
        name=[f"第{k + 1}网格" for k in range(len(grid_rows))], kind="basic"), grid_rows["geometry"].to_numpy())
    communities = grids.dissolve("community_code").reset_index()[["community_code", "geometry"]].rename(
        columns={"community_code": "code"})
    communities["name"] = [f"第{k + 1}社区" for k in range(len(communities))]
    floors = np.maximum(1, np.round(heights / 3)).astype(int)
    use = np.where(rng.random(len(buildings)) < 0.8, "residential", "commercial")
    bld = frame({"id": [f"B{k:06d}" for k in range(len(buildings))], "floors": floors, "height_m": heights,
                 "use": use, "name": [f"{k // 6 + 1}号院{k % 6 + 1}栋" for k in range(len(buildings))]}, buildings)
    homes = np.flatnonzero(use == "residential")
    per = rng.integers(2, 5, len(homes))
    owner = np.repeat(homes, per)
    households = pd.DataFrame({"id": [f"H{k:07d}" for k in range(len(owner))],
                               "building_id": bld["id"].to_numpy()[owner],
                               "members": rng.integers(1, 6, len(owner)),
                               "tags": rng.choice(TAGS, len(owner))})
    streets = synthetic.streets(n_buildings, size_m)
    roads = frame(streets.drop(columns="geometry").assign(id=[f"R{k}" for k in range(len(streets))]),
                  streets["geometry"].to_numpy())
    status = rng.choice(["active", "active", "active", "faulty", "planned"], len(cams))
    cameras = frame(cams.drop(columns=["x", "y"]).assign(
        id=[f"3702850000132{k:07d}" for k in range(len(cams))], name=[f"摄像机{k}" for k in range(len(cams))],
        status=status, point_class=rng.choice(["1", "2", "3"], len(cams))),
        shapely.points(cams["x"], cams["y"]))
    frames = {"communities": communities, "grids": grids, "buildings": bld, "households": households,
              "roads": roads, "cameras": cameras}
    centres = shapely.centroid(np.asarray(buildings, dtype=object))
    if n_targets:  # key targets at building entrances: schools, markets, banks … of classes 1–3
        at = rng.choice(len(buildings), n_targets, replace=False)
        kinds = np.array(["school", "kindergarten", "hospital", "bank", "market", "station", "entrance", "shop"])
        frames["targets"] = frame({
            "id": [f"T{k:06d}" for k in range(n_targets)], "name": [f"目标{k}" for k in range(n_targets)],
            "category": rng.choice(kinds, n_targets), "class": rng.choice(["1", "2", "3"], n_targets, p=[.3, .4, .3]),
            "required_level": rng.choice(["observe", "recognise", "identify"], n_targets)},
            shapely.points(shapely.get_coordinates(centres[at]) + rng.uniform(-15, 15, (n_targets, 2))))
    if n_incidents:  # incidents near buildings, over the twelve months before the seed's date
        at = rng.choice(len(buildings), n_incidents)
        start = pd.Timestamp("2025-11-01")
        frames["incidents"] = frame({
            "id": [f"JQ{k:07d}" for k in range(n_incidents)],
            "time": start + pd.to_timedelta(rng.integers(0, 365 * 24 * 60, n_incidents), unit="min"),
            "category": rng.choice(["theft", "fraud", "dispute", "public_order", "traffic", "other"], n_incidents),
            "severity": rng.choice(["minor", "serious"], n_incidents, p=[.95, .05])},
            shapely.points(shapely.get_coordinates(centres[at]) + rng.uniform(-25, 25, (n_incidents, 2))))
    checked = {name: validate.validate(f, name, source="city benchmark") for name, f in frames.items()}
    store = GeoPackageStore.create(path, name=name, overwrite=True)
    store.write_many(checked, message=f"synthetic city seed {seed}")
    store.set_meta({"metric_epsg": METRIC_EPSG})
    t_layers = time.perf_counter() - t0
    counts = {layer: len(f) for layer, f in checked.items()}
    if views:
        compute_views(store, workers=2)
        counts["views"] = len(store.read("views"))
    t_views = time.perf_counter() - t0 - t_layers
    print(f"city workspace {path}: {counts}; layers {t_layers:.1f} s, views {t_views:.1f} s")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", type=Path)
    parser.add_argument("--cameras", type=int, default=20_000)
    args = parser.parse_args()
    build(args.path, n_cameras=args.cameras)


if __name__ == "__main__":
    main()
