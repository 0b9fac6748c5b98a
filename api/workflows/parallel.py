"""Heavy analyses spread over processes or machines with ``dask.distributed``: camera views
(:func:`visible_partitioned`) and the coverage roll-up (:func:`coverage_partitioned`).

``scheduler="tcp://host:8786"`` sends the work to a running cluster; ``scheduler=None``
starts a LocalCluster of one single-threaded worker process per core for the run. The city
is cut into tiles with a halo (:mod:`gis.partition`); each tile is one task, computed by the
same code as the single-process path, so the answer is the same, bit for bit. Per-tile times
are kept, for projecting the run onto a bigger cluster.
"""

from __future__ import annotations

import logging
import os
import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis import coverage, indicators, partition, visibility


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
                      silence_logs=logging.CRITICAL) as cluster, Client(cluster) as client:
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


# ---- coverage ------------------------------------------------------------------------------------------
def _tile_coverage(sub: dict[str, Any], grid_rows: np.ndarray, target_rows: np.ndarray) -> dict[str, Any]:
    """One tile's coverage: a :class:`gis.coverage.CoverageModel` of the tile's neighbourhood,
    asked only for the tile's own grids and targets."""
    t0 = time.perf_counter()
    model = coverage.CoverageModel(**sub)
    grids = model.grid_figures(grid_rows)
    targets = model.target_coverage(target_rows)
    if len(targets):
        targets["public_m2"] = [shapely.area(model.target_areas[i]) for i in target_rows]
    pieces = model.spot_pieces(grid_rows)
    return {"grids": grids, "targets": targets, "pieces": pieces, "seconds": time.perf_counter() - t0,
            "worker": os.getpid(), "worker_peak_mib": _peak_mib()}


def coverage_partitioned(inputs: dict[str, Any], *, tile_m: float = 2000.0, scheduler: str | None = None,
                         workers: int | None = None,
                         progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Grid figures, target coverage and ranked blind spots of :class:`gis.coverage.CoverageModel`,
    tile by tile on a dask cluster, equal to the single process's (same rows, same order, same
    numbers and polygons). ``tiles`` holds each tile's size, seconds and worker peak memory."""
    from distributed import as_completed

    t0 = time.perf_counter()
    parts, _units = partition.coverage_tiles(inputs, tile_m)
    prepare_s = time.perf_counter() - t0
    n_grids = len(inputs["grids"])
    results: dict[int, dict[str, Any]] = {}
    stats: list[dict[str, Any]] = []
    done = 0
    with client_for(scheduler, workers) as client:
        futures = {}
        for k, tile in enumerate(parts):
            fut = client.submit(_tile_coverage, tile["sub"], tile["grid_rows"], tile["target_rows"], pure=False,
                                key=f"coverage-tile-{k}-{os.getpid()}-{time.time_ns()}")
            futures[fut] = k
        for fut in as_completed(futures):
            k = futures[fut]
            res = fut.result()
            results[k] = res
            tile = parts[k]
            stats.append({"tile": tile["key"], "grids": len(tile["grids"]), "targets": len(tile["targets"]),
                          "cameras": len(tile["sub"]["cameras"]), "buildings": len(tile["sub"]["buildings"]),
                          "seconds": res["seconds"], "worker": res["worker"],
                          "worker_peak_mib": res["worker_peak_mib"]})
            done += len(tile["grids"])
            if progress:
                progress(done, n_grids)
    order = range(len(parts))
    grid_pos = np.concatenate([parts[k]["grids"] for k in order]) if parts else np.empty(0, int)
    grids = _in_order([results[k]["grids"] for k in order], grid_pos)
    target_pos = np.concatenate([parts[k]["targets"] for k in order]) if parts else np.empty(0, int)
    targets = _in_order([results[k]["targets"] for k in order if len(results[k]["targets"])],
                        target_pos)
    if len(targets) == 0:
        targets = pd.DataFrame({"public_m2": pd.Series(dtype=float)})
    pieces = [results[k]["pieces"] for k in order if len(results[k]["pieces"])]
    if pieces:  # back in grid order, each grid's pieces in the order its tile carved them
        spots = gpd.GeoDataFrame(pd.concat(pieces, ignore_index=True), crs=inputs["grids"].crs)
        pos_of = {code: i for i, code in enumerate(inputs["grids"]["code"])}
        spots = spots.iloc[np.argsort(spots["grid_code"].map(pos_of).to_numpy(), kind="stable")]
    else:
        spots = gpd.GeoDataFrame({"grid_code": [], "kind": [], "name": [], "area_m2": [], "ranked": [],
                                  "near_targets": [], "priority": []}, geometry=[], crs=inputs["grids"].crs)
    spots = indicators.rank_spots(spots)
    on_grid = shapely.STRtree(inputs["grids"].geometry.to_numpy()).query(
        inputs["cameras"].geometry.to_numpy(), predicate="intersects")[0]
    outside = int(len(inputs["cameras"]) - len(np.unique(on_grid)))
    return {"grids": grids, "targets": targets, "blind_spots": spots, "outside": outside,
            "tiles": stats, "prepare_s": prepare_s}


def _in_order(frames: list[pd.DataFrame], positions: np.ndarray) -> pd.DataFrame:
    """Tile results put back in the city's row order."""
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    out = out.iloc[np.argsort(positions, kind="stable")]
    # rebuilt from records, as the single process builds them, so the column types are inferred the
    # same way (a tile whose targets are all unseen has an all-None column of another type)
    return pd.DataFrame.from_records(out.to_dict("records"), columns=out.columns)
