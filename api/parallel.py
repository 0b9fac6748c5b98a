"""Heavy analyses spread over processes or machines with ``dask.distributed``.

``scheduler="tcp://host:8786"`` sends the work to a running cluster; ``scheduler=None``
starts a LocalCluster of one single-threaded worker process per core for the run. The city
is cut into tiles with a halo (:mod:`gis.partition`); each tile is one task, computed by the
same code as the single-process path, so the answer is the same, bit for bit. Per-tile times
are kept, for projecting the run onto a bigger cluster.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import shapely

from gis import partition, visibility


def _tile_views(params: pd.DataFrame, ranges: pd.DataFrame, geoms: np.ndarray, heights: np.ndarray,
                overlapping: bool, target_height: float, mode: str,
                presets: tuple[float, ...]) -> tuple[pd.DataFrame, float, int, float]:
    t0 = time.perf_counter()
    obstacles = visibility.Obstacles.build(geoms, heights, overlapping=overlapping)
    seen = visibility.visible(params, ranges, obstacles, target_height=target_height, mode=mode, presets=presets)
    return seen, time.perf_counter() - t0, os.getpid(), _peak_mib()


def _peak_mib() -> float:
    """This process's own peak memory: VmHWM on Linux (a spawned worker's ru_maxrss starts at its
    parent's peak, measured: 440 MiB reported for a 63 MiB worker)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def client_for(scheduler: str | None, workers: int | None = None) -> Iterator[Any]:
    """A dask client: of the cluster at ``scheduler``, or of a LocalCluster for this run."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler, timeout=30) as client:
            yield client
        return
    n = workers or os.cpu_count() or 1
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=40) as cluster, Client(cluster) as client:
        yield client


def visible_partitioned(params: pd.DataFrame, ranges: pd.DataFrame, geoms: np.ndarray, heights: np.ndarray, *,
                        target_height: float = 1.6, mode: str = "2.5d",
                        presets: tuple[float, ...] = (0.0, 90.0, 180.0, 270.0), tile_m: float = 1000.0,
                        scheduler: str | None = None, workers: int | None = None,
                        progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """:func:`gis.visibility.visible`, tile by tile on a dask cluster; ``attrs["tiles"]`` holds
    each tile's cameras, buildings, seconds, and its worker with that worker's peak memory."""
    from distributed import as_completed

    geoms = np.asarray(geoms, dtype=object)
    heights = np.asarray(heights, dtype=float)
    tree = shapely.STRtree(shapely.orient_polygons(geoms, exterior_cw=False))
    left, right = tree.query(tree.geometries, predicate="overlaps")
    overlapping = bool(np.any(left != right))  # the whole city's answer, as the single process has it
    reach = np.nan_to_num(ranges.to_numpy(dtype=float)).max(axis=1, initial=0.0)
    parts = partition.tiles(params[["x", "y"]].to_numpy(), reach, shapely.bounds(geoms), tile_m)
    total = len(params)
    done = 0
    results: dict[int, pd.DataFrame] = {}
    stats: list[dict[str, Any]] = []
    with client_for(scheduler, workers) as client:
        futures = {}
        for k, tile in enumerate(parts):
            fut = client.submit(_tile_views, params.iloc[tile.cameras], ranges.iloc[tile.cameras],
                                geoms[tile.buildings], heights[tile.buildings], overlapping, target_height, mode,
                                presets, pure=False, key=f"views-tile-{k}-{os.getpid()}-{time.time_ns()}")
            futures[fut] = k
        for fut in as_completed(futures):
            k = futures[fut]
            seen, seconds, pid, peak_mib = fut.result()
            results[k] = seen
            tile = parts[k]
            stats.append({"tile": tile.key, "cameras": len(tile.cameras), "buildings": len(tile.buildings),
                          "halo_m": tile.halo_m, "seconds": seconds, "worker": pid, "worker_peak_mib": peak_mib})
            done += len(tile.cameras)
            if progress:
                progress(done, total)
    if not parts:
        return visibility.visible(params, ranges, visibility.Obstacles.build(geoms, heights),
                                  target_height=target_height, mode=mode, presets=presets)
    out = pd.concat([results[k] for k in range(len(parts))]).reindex(params.index)
    out.attrs["tiles"] = stats
    return out
