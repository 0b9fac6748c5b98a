"""The prefecture-scale city (100,000 cameras, 500,000 buildings, 3,025 grids) end to end on this
machine: camera views and the coverage roll-up, single process vs a dask LocalCluster, and a
projection onto bigger clusters.

    python -m benchmarks.city [--path /tmp/bigcity.gpkg] [--tile-m 2000] [--workers 2]

Builds the city with :mod:`benchmarks.synthetic_city` when the file is missing. Measures, in the
same run and on the same workspace:

1. the single process (the baseline): camera views, then coverage (grid figures, key targets,
   blind spots) on those views;
2. the same on a LocalCluster of ``--workers`` processes (views in tiles with a halo, coverage in
   tiles of grids with their neighbourhood): wall time, cameras per second, peak memory of each
   worker (VmHWM, read inside the worker);
3. that both give the same answer: the same view polygons, the same figures to the last bit,
   the same blind-spot polygons;
4. from the measured per-tile times, the wall time projected for N workers (tiles scheduled
   longest first onto N workers, plus the serial part measured here: reading the layers,
   preparing the tiles, gathering). Network transfer to remote workers is not included.

Results are computed with ``write=False``; the views are stored once between the two steps
(not timed) so that coverage reads them as a user's run would.
"""

from __future__ import annotations

import argparse
import heapq
import time
from pathlib import Path
from typing import Any

import pandas as pd
import shapely

from api.workflows.coverage import CoverageResult, compute_coverage
from api.workflows.views import compute_views
from benchmarks import synthetic_city
from benchmarks._common import peak_rss_mib, write_section
from layers import store


def makespan(seconds: list[float], workers: int) -> float:
    """Longest-processing-time-first schedule of the tiles on ``workers`` workers."""
    loads = [0.0] * workers
    for s in sorted(seconds, reverse=True):
        heapq.heapreplace(loads, loads[0] + s)
    return max(loads)


def same_coverage(a: CoverageResult, b: CoverageResult) -> bool:
    for name in ("grids", "communities", "targets", "blind_spots"):
        left = pd.DataFrame(getattr(a, name)).drop(columns="geometry", errors="ignore").reset_index(drop=True)
        right = pd.DataFrame(getattr(b, name)).drop(columns="geometry", errors="ignore").reset_index(drop=True)
        if not left.equals(right):
            return False
    return bool(shapely.equals_exact(a.blind_spots.geometry.to_numpy(), b.blind_spots.geometry.to_numpy(),
                                     tolerance=0).all())


def timed(label: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    seconds = time.perf_counter() - t0
    print(f"{label}: {seconds:.1f} s", flush=True)
    return seconds, out


def worker_peaks(tiles: list[dict[str, Any]]) -> list[float]:
    peaks: dict[int, float] = {}
    for t in tiles:
        peaks[t["worker"]] = max(peaks.get(t["worker"], 0.0), t["worker_peak_mib"])
    return sorted(peaks.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", type=Path, default=Path("/tmp/bigcity.gpkg"))
    parser.add_argument("--tile-m", type=float, default=2000.0, help="tile size for views and coverage")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if not args.path.exists():
        t0 = time.perf_counter()
        synthetic_city.build(args.path)
        print(f"built {args.path} in {time.perf_counter() - t0:.1f} s", flush=True)
    ws = store.open_workspace(args.path)
    counts = {i.name: i.rows for i in ws.layers()}
    cams = counts["cameras"]

    v_single, single = timed("views, single process", compute_views, ws, write=False)
    v_tiled, tiled = timed(f"views, LocalCluster of {args.workers}", compute_views, ws, write=False,
                           parallel=True, workers=args.workers, tile_m=args.tile_m)
    views_same = bool(len(single) == len(tiled) and shapely.equals_exact(
        single.geometry.to_numpy(), tiled.geometry.to_numpy(), tolerance=0).all())
    ws.write("views", single, message="benchmarks.city")  # stored once, as `pingan views` would
    ws.set_meta({"views": single.attrs["stamp"]})
    def step(name: str) -> None:
        print(f"  · {name}", flush=True)

    c_single, cov_single = timed("coverage, single process", compute_coverage, ws, write=False,
                                 progress=step)
    single_peak = peak_rss_mib()
    c_tiled, cov_tiled = timed(f"coverage, LocalCluster of {args.workers}", compute_coverage, ws,
                               write=False, parallel=True, workers=args.workers, tile_m=args.tile_m, progress=step)
    cov_same = same_coverage(cov_single, cov_tiled)

    v_tiles, c_tiles = tiled.attrs["tiles"], cov_tiled.tiles
    v_secs, c_secs = [t["seconds"] for t in v_tiles], [t["seconds"] for t in c_tiles]
    v_serial = max(0.0, v_tiled - makespan(v_secs, args.workers))
    c_serial = max(0.0, c_tiled - makespan(c_secs, args.workers))
    total_single, total_tiled = v_single + c_single, v_tiled + c_tiled
    rows = ["| workers | views | coverage | end to end | cameras/s |", "| ---: | ---: | ---: | ---: | ---: |"]
    for n in (args.workers, 4, 8, 16, 32, 64, 128):
        v, c = v_serial + makespan(v_secs, n), c_serial + makespan(c_secs, n)
        rows.append(f"| {n} | {v:.1f} s | {c:.1f} s | {v + c:.1f} s | {cams / (v + c):,.0f} |")

    def mib(values: list[float]) -> str:
        return ", ".join(f"{v:,.0f} MiB" for v in values)

    spots = cov_single.blind_spots
    body = (
        f"## City scale (issue 10)\n\n`python -m benchmarks.city --tile-m {args.tile_m:g} --workers {args.workers}` "
        f"on the synthetic city of `benchmarks/synthetic_city.py`: {cams:,} cameras, {counts['buildings']:,} "
        f"buildings, {counts['grids']:,} grids, {counts['roads']:,} roads, {counts['targets']:,} key targets, "
        f"{counts['households']:,} households. End to end = camera views (every DORI level, 2.5D occlusion; "
        f"{len(single):,} polygons) + coverage (figures of every grid and community, every key target, "
        f"{len(spots):,} blind spots ranked).\n\n"
        "| run | views | coverage | end to end | cameras/s | peak memory |\n| --- | ---: | ---: | ---: | ---: | --- |\n"
        f"| single process (baseline) | {v_single:.1f} s | {c_single:.1f} s | {total_single:.1f} s | "
        f"{cams / total_single:,.0f} | {single_peak:,.0f} MiB (this process) |\n"
        f"| LocalCluster, {args.workers} workers, tiles of {args.tile_m:g} m ({len(v_tiles)} view tiles, "
        f"{len(c_tiles)} coverage tiles) | {v_tiled:.1f} s | {c_tiled:.1f} s | {total_tiled:.1f} s | "
        f"{cams / total_tiled:,.0f} | per worker: views {mib(worker_peaks(v_tiles))}; "
        f"coverage {mib(worker_peaks(c_tiles))} |\n\n"
        f"Speed-up end to end **{total_single / total_tiled:.2f}×** on {args.workers} cores (views "
        f"{v_single / v_tiled:.2f}×, coverage {c_single / c_tiled:.2f}×). Same answers: view polygons "
        f"**{views_same}**, coverage tables and blind-spot polygons **{cov_same}**.\n\n"
        f"Tiles: views {min(v_secs):.2f}–{max(v_secs):.2f} s (sum {sum(v_secs):.0f} s), serial part {v_serial:.1f} s; "
        f"coverage {min(c_secs):.2f}–{max(c_secs):.2f} s (sum {sum(c_secs):.0f} s), serial part {c_serial:.1f} s "
        f"(of which preparing the tiles, street units included, "
        f"{cov_tiled.prepare_s:.1f} s).\n\n"
        "Projection from the measured tile times (longest first onto N workers, plus the serial parts; "
        "network transfer to remote workers not included):\n\n" + "\n".join(rows))
    print(body)
    if not args.no_write:
        write_section("city", body)


if __name__ == "__main__":
    main()
