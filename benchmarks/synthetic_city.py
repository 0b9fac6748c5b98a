"""A prefecture-scale synthetic city: ≥ 100,000 cameras, ≥ 500,000 buildings, ≥ 3,000 grids, key
targets and incidents, as a GeoPackage workspace; deterministic by seed.

    python -m benchmarks.synthetic_city /tmp/bigcity.gpkg              # the full size (minutes)
    python -m benchmarks.synthetic_city /tmp/small.gpkg --scale 0.02   # the same city, 2% of it

The dense street-grid city of :mod:`benchmarks.synthetic` at the density of the 10 km benchmark
city (50,000 buildings per 100 km²), 31.6 km across, cut into 55 × 55 = 3,025 grids in 121
communities, placed at 莱西 (CGCS2000 GK zone 40). Views are not computed here: that is the
benchmark's work (`pingan views WS --parallel`).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from benchmarks import city_workspace

FULL = {"cameras": 100_000, "buildings": 500_000, "targets": 5_000, "incidents": 60_000}
GRIDS_PER_SIDE = 55  # 3,025 grids; a multiple of 5 (communities are 5 × 5 grids)


def build(path: Path, *, scale: float = 1.0, seed: int = 20261122) -> dict[str, int]:
    n = {k: max(1, round(v * scale)) for k, v in FULL.items()}
    size_m = 10_000.0 * math.sqrt(n["buildings"] / 50_000)  # the benchmark city's density
    side = GRIDS_PER_SIDE if scale >= 1 else max(5, 5 * round(GRIDS_PER_SIDE * math.sqrt(scale) / 5))
    return city_workspace.build(path, n_cameras=n["cameras"], n_buildings=n["buildings"], size_m=size_m,
                                cell_m=size_m / side, seed=seed, n_targets=n["targets"],
                                n_incidents=n["incidents"], views=False, name="合成地级市 (benchmark)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", type=Path)
    parser.add_argument("--scale", type=float, default=1.0, help="a fraction of the full city (same density)")
    parser.add_argument("--seed", type=int, default=20261122)
    args = parser.parse_args()
    print(build(args.path, scale=args.scale, seed=args.seed))


if __name__ == "__main__":
    main()
