"""Visibility engine vs the naive baseline, on a dense synthetic city.

Baseline (named in issue 3): per camera ``view.difference(union_all(shadows))`` over STRtree
candidates with shapely 2 (``gis.visibility.naive_visible``). Ours: ``gis.visibility.visible``
(2D, the same question). Each run happens in a fresh process, so peak memory is its own.
Areas must agree to 0.1%. Also timed: our 2.5D mode (heights), which the baseline cannot do.

    python benchmarks/visibility.py                  # 50,000 buildings, 10,000 cameras
    python benchmarks/visibility.py --cameras 2000   # a quicker look
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from benchmarks import _common, synthetic


def _run(method: str, radius: float, n_buildings: int, n_cameras: int, queue: mp.Queue) -> None:
    from gis import footprint as fp
    from gis import visibility as vis

    buildings, heights, cams = synthetic.city(n_buildings, n_cameras)
    frame = gpd.GeoDataFrame(cams, geometry=shapely.points(cams["x"], cams["y"]))
    params = fp.resolve(frame)
    ranges = pd.DataFrame({"detect": np.full(len(params), radius)}, index=params.index)
    obstacles = vis.Obstacles.build(buildings, heights)
    start = time.perf_counter()
    if method == "naive":
        geoms = vis.naive_visible(params, ranges, obstacles, "detect", target_height=1.6)
    else:
        geoms = vis.visible(params, ranges, obstacles, target_height=1.6, mode=method)["detect"].tolist()
    seconds = time.perf_counter() - start
    queue.put((seconds, shapely.area(np.array(geoms, dtype=object)), _common.peak_rss_mib()))


def measure(method: str, radius: float, n_buildings: int, n_cameras: int) -> tuple[float, np.ndarray, float]:
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    proc = ctx.Process(target=_run, args=(method, radius, n_buildings, n_cameras, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--buildings", type=int, default=50_000)
    parser.add_argument("--cameras", type=int, default=10_000)
    parser.add_argument("--no-write", action="store_true", help="print only; do not update RESULTS.md")
    args = parser.parse_args()
    rows = []
    for radius in (60.0, 150.0):
        t_naive, a_naive, m_naive = measure("naive", radius, args.buildings, args.cameras)
        t_fast, a_fast, m_fast = measure("2d", radius, args.buildings, args.cameras)
        t_25, _, m_25 = measure("2.5d", radius, args.buildings, args.cameras)
        worst = float(np.max(np.abs(a_fast - a_naive) / np.maximum(a_naive, 1.0)))
        total = abs(a_fast.sum() - a_naive.sum()) / a_naive.sum()
        rows.append((radius, t_naive, t_fast, t_25, m_naive, m_fast, m_25, total, worst))
        print(f"{radius:.0f} m: naive {t_naive:.1f} s, ours 2D {t_fast:.1f} s ({t_naive / t_fast:.1f}×), "
              f"ours 2.5D {t_25:.1f} s; area difference total {total:.2e}, worst camera {worst:.2e}", flush=True)
    table = ["| range | naive baseline | ours, 2D | speed-up | cameras/s (ours 2D) | ours, 2.5D | "
             "peak RSS naive / 2D / 2.5D | area difference (total, worst camera) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r, tn, tf, t25, mn, mf, m25, tot, worst in rows:
        table.append(f"| {r:.0f} m | {tn:.1f} s | {tf:.1f} s | **{tn / tf:.1f}×** | {args.cameras / tf:,.0f} | "
                     f"{t25:.1f} s | {mn:,.0f} / {mf:,.0f} / {m25:,.0f} MiB | {tot:.1e}, {worst:.1e} |")
    body = (f"## Visibility (issue 3)\n\n`python benchmarks/visibility.py` — {args.buildings:,} buildings in "
            f"10 km × 10 km, {args.cameras:,} street cameras, one process each, times exclude building the city "
            "and the index.\n\n" + "\n".join(table))
    print(body)
    if not args.no_write:
        _common.write_section("visibility", body)


if __name__ == "__main__":
    main()
