"""Export times and sizes on the demo workspace and, optionally, the dense synthetic city.

    python -m benchmarks.exports                       # the demo (built into a temporary folder)
    python -m benchmarks.exports --city /tmp/city.gpkg # plus a city workspace with coverage and risk

Every export runs through ``api.exports.make`` as an administrator (area "all"), the path the
CLI and the API take. Layer exports are compared, in the same run, with a bare
``pyogrio.write_dataframe`` of the stored layer (no area filter, no suppression, no atomic
rename, no audit): the ratio is what the safety costs. Results go to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import pyogrio

from api import access
from api.exports import ExportSpec, Source, make
from api.workflows.coverage import compute_coverage
from api.workflows.risk import compute_risk
from benchmarks._common import analysed_demo, peak_rss_mib, write_section
from layers import store

SPECS: list[tuple[str, dict[str, object], str]] = [
    ("risk map PNG A4 300 dpi", {"what": "map", "kind": "risk", "format": "png"}, "png"),
    ("risk map PDF A3", {"what": "map", "kind": "risk", "format": "pdf", "paper": "A3"}, "pdf"),
    ("coverage map PDF A4", {"what": "map", "kind": "coverage", "format": "pdf"}, "pdf"),
    ("tables XLSX", {"what": "tables"}, "xlsx"),
    ("grid table CSV", {"what": "tables", "format": "csv"}, "csv"),
    ("households per grid GPKG", {"what": "layer", "layer": "households", "format": "gpkg"}, "gpkg"),
    ("households detail CSV", {"what": "layer", "layer": "households", "format": "csv", "detail": True,
                               "reason": "benchmark"}, "csv"),
    ("offline risk HTML", {"what": "offline", "kind": "risk"}, "html"),
    ("offline coverage HTML", {"what": "offline", "kind": "coverage"}, "html"),
]
LAYER_RUNS = [("buildings", "gpkg"), ("buildings", "geojson"), ("buildings", "shapefile"), ("buildings", "kml"),
              ("cameras", "xlsx"), ("views", "gpkg")]
SUFFIX = {"gpkg": "gpkg", "geojson": "geojson", "shapefile": "zip", "kml": "kml", "xlsx": "xlsx", "csv": "csv"}


def _timed(fn: object) -> float:
    t0 = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t0


def run(path: Path, label: str, out: Path) -> list[str]:
    ws = store.open_workspace(path)
    admin = access.User("bench", access.ROLES["admin"], access.Area(), "benchmark")
    source = Source(ws, access.Scope.of(ws, admin), "zh")
    counts = {i.name: i.rows for i in ws.layers()}
    rows = [f"### {label}: {counts.get('grids', 0):,} grids, {counts.get('buildings', 0):,} buildings, "
            f"{counts.get('households', 0):,} households, {counts.get('cameras', 0):,} cameras, "
            f"{counts.get('views', 0):,} views", "",
            "| export | seconds | size | bare pyogrio write | ratio |", "| --- | ---: | ---: | ---: | ---: |"]
    for name, spec, suffix in SPECS:
        target = out / f"{label}-{len(rows)}.{suffix}"
        seconds = _timed(lambda spec=spec, target=target: make(source, ExportSpec(**spec), target))
        size = target.stat().st_size
        rows.append(f"| {name} | {seconds:.2f} | {size / 2**20:.1f} MB | | |")
        print(rows[-1], flush=True)
    for layer, fmt in LAYER_RUNS:
        if layer not in counts:
            continue
        target = out / f"{label}-{layer}.{SUFFIX[fmt]}"
        ours = _timed(lambda layer=layer, fmt=fmt, target=target: make(
            source, ExportSpec(what="layer", layer=layer, format=fmt), target))
        size = target.stat().st_size
        bare = None
        if fmt in ("gpkg", "geojson", "kml"):
            frame = ws.read(layer)
            driver = {"gpkg": "GPKG", "geojson": "GeoJSON", "kml": "LIBKML"}[fmt]
            plain = out / f"{label}-{layer}-bare.{SUFFIX[fmt]}"
            bare = _timed(lambda frame=frame, plain=plain, driver=driver: pyogrio.write_dataframe(
                frame, plain, driver=driver))
        tail = f"{bare:.2f} | {ours / bare:.1f}×" if bare else "— | —"
        rows.append(f"| {layer} {fmt} ({counts[layer]:,} rows) | {ours:.2f} | {size / 2**20:.1f} MB | {tail} |")
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city", type=Path, help="a city workspace (coverage and risk are computed on a copy)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        demo_path = analysed_demo(tmpdir / "demo.gpkg")
        body = ["Command: `python -m benchmarks.exports"
                + (f" --city {args.city}`" if args.city else "`") + "; each export as an administrator through "
                "`api.exports.make` (area filter, household suppression, atomic write, audit). 'bare pyogrio "
                "write' writes the stored layer as it is, in the same run.", ""]
        body += run(demo_path, "demo", tmpdir)
        if args.city:
            city = tmpdir / "city.gpkg"
            shutil.copyfile(args.city, city)
            cws = store.open_workspace(city)
            if not cws.has("coverage_grids"):
                compute_coverage(cws)
            if not cws.has("risk"):
                compute_risk(cws)
            body += ["", *run(city, "city", tmpdir)]
        body += ["", f"Peak memory of the run: {peak_rss_mib():,.0f} MiB."]
    write_section("exports", "## Exports (issue 9)\n\n" + "\n".join(body))


if __name__ == "__main__":
    main()
