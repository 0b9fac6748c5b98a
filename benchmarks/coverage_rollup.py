"""Coverage analytics: full and incremental recomputation times.

- Demo workspace (``pingan demo``), through the same service the CLI uses: full
  ``compute_coverage`` (views current), and a what-if session adding, moving and deleting one
  camera (its views computed, then only the grids and targets it touches recomputed).
- Dense synthetic city (``benchmarks/synthetic.py``: 50,000 buildings, 10,000 cameras, 400
  grids of 500 m), through ``gis.coverage`` directly: full figures and blind spots, and the
  same incremental operations.

    python benchmarks/coverage_rollup.py               # demo and the full synthetic city
    python benchmarks/coverage_rollup.py --cameras 2000 --buildings 10000
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import geopandas as gpd
import numpy as np
import shapely

from benchmarks import _common, synthetic


def timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def incremental(set_camera, place, rng, n: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Median milliseconds to add, move and delete one camera (n of each)."""
    times: dict[str, list[float]] = {"add": [], "move": [], "delete": []}
    def somewhere_outdoors(cam: str) -> float:
        while True:  # a random point may fall inside a building, where what-if refuses a camera
            try:
                return timed(set_camera, cam, place(rng))[0]
            except ValueError as exc:
                if "inside a building" not in str(exc):
                    raise

    for k in range(n):
        cam = f"BENCH-{k}"
        times["add"].append(somewhere_outdoors(cam))
        times["move"].append(somewhere_outdoors(cam))
        t, _ = timed(set_camera, cam, None)
        times["delete"].append(t)
    return {op: 1000 * statistics.median(v) for op, v in times.items()}


def demo(n: int) -> tuple[float, float, dict[str, float]]:
    from api.workflows.coverage import compute_coverage
    from api.workflows.views import compute_views
    from api.workflows.whatif import WhatIf
    from layers import demo as demo_town
    from layers import store

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.gpkg"
        ws = store.open_workspace(path, create=True)
        demo_town.build(ws)
        t_views, _ = timed(compute_views, ws)
        t_full, _ = timed(compute_coverage, ws)
        session = WhatIf(ws)
        w, s, e, nn = ws.extent()

        def place(rng: np.random.Generator) -> dict[str, object]:
            return {"lon": rng.uniform(w, e), "lat": rng.uniform(s, nn), "kind": "bullet",
                    "heading_deg": rng.uniform(0, 360), "hfov_deg": 80.0, "height_m": 6.0, "tilt_deg": 12.0,
                    "resolution_px": 2560, "status": "planned", "point_class": "1"}

        inc = incremental(session.set_camera, place, np.random.default_rng(1), n)
        shutil.rmtree(tmp, ignore_errors=True)
    return t_views, t_full, inc


def city(n_buildings: int, n_cameras: int, n: int) -> dict[str, float]:
    from gis import camera, coverage, visibility
    from gis import footprint as fp

    buildings, heights, cams = synthetic.city(n_buildings, n_cameras)
    frame = gpd.GeoDataFrame(cams, geometry=shapely.points(cams["x"], cams["y"]))
    frame["id"] = [f"C{k}" for k in range(len(frame))]
    frame["status"], frame["point_class"] = "active", "1"
    ppm = camera.profile("iec62676-4:2014")
    t_views, (obs, views) = timed(_views, frame, buildings, heights, ppm)
    grids = gpd.GeoDataFrame(synthetic.grids())
    roads = gpd.GeoDataFrame(synthetic.streets(n_buildings))
    targets = gpd.GeoDataFrame({"id": [], "name": [], "category": [], "class": [], "required_level": []},
                               geometry=[])
    t_model, model = timed(coverage.CoverageModel, grids=grids, buildings=gpd.GeoSeries(buildings), roads=roads,
                           targets=targets, cameras=frame[["id", "status", "point_class", "geometry"]],
                           views=views)
    t_grids, figures = timed(model.grid_figures)
    t_spots, spots = timed(model.blind_spots)
    public = figures["public_m2"].sum()
    balance = abs(spots["area_m2"].sum() + figures["seen_detect_m2"].sum() - public) / public

    def set_camera(cam: str, fields: dict[str, object] | None):  # type: ignore[no-untyped-def]
        if fields is None:
            return model.set_camera(cam, None)
        one = gpd.GeoDataFrame({k: [v] for k, v in fields.items() if k not in ("x", "y")},
                               geometry=[shapely.Point(fields["x"], fields["y"])])
        p = fp.resolve(one)
        seen = visibility.visible(p, fp.level_ranges(p, ppm, 1.6), obs)
        return model.set_camera(cam, dict(seen.iloc[0]), location=one.geometry.iat[0])

    def place(rng: np.random.Generator) -> dict[str, object]:
        row = cams.iloc[int(rng.integers(len(cams)))]
        return {"x": row["x"] + rng.uniform(-5, 5), "y": row["y"] + rng.uniform(-5, 5), "kind": "bullet",
                "heading_deg": rng.uniform(0, 360), "hfov_deg": 80.0, "height_m": 6.0, "tilt_deg": 12.0,
                "resolution_px": 2560}

    inc = incremental(set_camera, place, np.random.default_rng(2), n)
    return {"views": t_views, "model": t_model, "grids": t_grids, "spots": t_spots, "balance": balance,
            "n_grids": len(figures), **{f"inc_{k}": v for k, v in inc.items()}}


def _views(frame, buildings, heights, ppm):  # type: ignore[no-untyped-def]
    from gis import footprint as fp
    from gis import visibility

    p = fp.resolve(frame)
    obs = visibility.Obstacles.build(buildings, heights)
    seen = visibility.visible(p, fp.level_ranges(p, ppm, 1.6), obs)
    seen.index = frame["id"].to_numpy()
    return obs, seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--buildings", type=int, default=50_000)
    parser.add_argument("--cameras", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20, help="incremental operations of each kind")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    t_views, t_full, inc = demo(args.repeat)
    print(f"demo: views {t_views:.2f} s, full coverage {t_full:.2f} s, incremental {inc}", flush=True)
    c = city(args.buildings, args.cameras, args.repeat)
    print(f"city: {c}", flush=True)
    body = (
        "## Coverage (issue 4)\n\n`python benchmarks/coverage_rollup.py`. Incremental times are medians of "
        f"{args.repeat} operations each and include computing the camera's own views.\n\n"
        "| workspace | views | full coverage | add one camera | move it | delete it |\n"
        "| --- | --- | --- | --- | --- | --- |\n"
        f"| demo (123 cameras, 3,860 buildings, 71 grids) | {t_views:.2f} s | {t_full:.2f} s "
        f"(grids, targets, blind spots, written) | {inc['add']:.0f} ms | {inc['move']:.0f} ms | "
        f"{inc['delete']:.0f} ms |\n"
        f"| synthetic city ({args.cameras:,} cameras, {args.buildings:,} buildings, {c['n_grids']} grids) | "
        f"{c['views']:.1f} s | {c['model'] + c['grids'] + c['spots']:.1f} s (model {c['model']:.1f} s, grid "
        f"figures {c['grids']:.1f} s, blind spots {c['spots']:.1f} s) | {c['inc_add']:.0f} ms | "
        f"{c['inc_move']:.0f} ms | {c['inc_delete']:.0f} ms |\n\n"
        f"Synthetic city check: blind-spot area + covered area = public area to {c['balance']:.1e}.")
    print(body)
    if not args.no_write:
        _common.write_section("coverage", body)


if __name__ == "__main__":
    main()
