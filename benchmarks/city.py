"""The prefecture-scale city (100,000 cameras, 500,000 buildings) on this machine with a dask
LocalCluster: camera views, partitioned vs the single process, and a projection onto bigger clusters.

    python -m benchmarks.city [--path /tmp/bigcity.gpkg] [--tile-m 2000] [--workers 2]

Builds the city with :mod:`benchmarks.synthetic_city` when the file is missing. Measures, in the
same run: the single-process views (the baseline), the partitioned views on the LocalCluster
(wall time, cameras per second, peak memory per worker), that both answers are the same polygon
for polygon, and from the measured per-tile times the wall time projected for N workers (the
tiles scheduled longest first onto N workers, plus the measured serial part: reading the layers,
preparing the cameras, gathering). Coverage roll-up is not partitioned yet and is not measured here.
"""

from __future__ import annotations

import argparse
import heapq
import time
from pathlib import Path

import shapely

from api import services
from benchmarks import synthetic_city
from benchmarks._common import peak_rss_mib, write_section
from layers import store


def makespan(seconds: list[float], workers: int) -> float:
    """Longest-processing-time-first schedule of the tiles on ``workers`` workers."""
    loads = [0.0] * workers
    for s in sorted(seconds, reverse=True):
        heapq.heapreplace(loads, loads[0] + s)
    return max(loads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", type=Path, default=Path("/tmp/bigcity.gpkg"))
    parser.add_argument("--tile-m", type=float, default=2000.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if not args.path.exists():
        t0 = time.perf_counter()
        synthetic_city.build(args.path)
        print(f"built {args.path} in {time.perf_counter() - t0:.1f} s", flush=True)
    ws = store.open_workspace(args.path)
    counts = {i.name: i.rows for i in ws.layers()}
    t0 = time.perf_counter()
    single = services.compute_views(ws, write=False)
    t_single = time.perf_counter() - t0
    print(f"single process: {t_single:.1f} s", flush=True)
    t0 = time.perf_counter()
    tiled = services.compute_views(ws, write=False, parallel=True, workers=args.workers, tile_m=args.tile_m)
    t_tiled = time.perf_counter() - t0
    print(f"LocalCluster of {args.workers}: {t_tiled:.1f} s", flush=True)
    same = bool(len(single) == len(tiled) and shapely.equals_exact(
        single.geometry.to_numpy(), tiled.geometry.to_numpy(), tolerance=0).all())
    tiles = tiled.attrs["tiles"]
    secs = [t["seconds"] for t in tiles]
    per_worker: dict[int, float] = {}
    for t in tiles:
        per_worker[t["worker"]] = max(per_worker.get(t["worker"], 0.0), t["worker_peak_mib"])
    serial = max(0.0, t_tiled - makespan(secs, args.workers))
    cams = counts["cameras"]
    rows = ["| workers | projected wall | cameras/s |", "| ---: | ---: | ---: |"]
    for n in (args.workers, 4, 8, 16, 32, 64, 128):
        wall = serial + makespan(secs, n)
        rows.append(f"| {n} | {wall:.1f} s | {cams / wall:,.0f} |")
    body = (f"## City scale (issue 10)\n\n`python -m benchmarks.city --tile-m {args.tile_m:g} "
            f"--workers {args.workers}` "
            f"on the synthetic city of `benchmarks/synthetic_city.py`: {cams:,} cameras, "
            f"{counts['buildings']:,} buildings, {counts['grids']:,} grids, {counts['households']:,} households; "
            f"camera views (every DORI level, 2.5D occlusion), {len(tiled):,} polygons.\n\n"
            "| run | wall | cameras/s | peak memory |\n| --- | ---: | ---: | --- |\n"
            f"| single process (baseline) | {t_single:.1f} s | {cams / t_single:,.0f} | "
            f"{peak_rss_mib():,.0f} MiB (this process, whole run) |\n"
            f"| LocalCluster, {args.workers} workers, {len(tiles)} tiles of {args.tile_m:g} m | {t_tiled:.1f} s | "
            f"{cams / t_tiled:,.0f} | per worker: "
            + ", ".join(f"{v:,.0f} MiB" for v in sorted(per_worker.values())) + " |\n\n"
            f"Speed-up {t_single / t_tiled:.2f}× on {args.workers} cores; the same polygons in both runs: "
            f"**{same}**. Tiles took {min(secs):.2f}–{max(secs):.2f} s (sum {sum(secs):.0f} s); the serial part "
            f"(reading, preparing, gathering) measured {serial:.1f} s.\n\n"
            "Projection from the measured tile times (longest first onto N workers, plus the serial part; "
            "network transfer to remote workers not included):\n\n" + "\n".join(rows) + "\n\n"
            "Partitioned coverage roll-up and candidate generation are not built yet; they are not in these times.")
    print(body)
    if not args.no_write:
        write_section("city", body)


if __name__ == "__main__":
    main()
