"""One-feature edit latency on the demo and the 100,000-camera city, GeoPackage and PostGIS, in one run.

For each workspace and backend: ``--edits`` edits of random cameras' headings through
:meth:`Store.edit` (the path the API's PUT takes: the stored row read under the write lock,
the new row validated alone, one row written), timed one by one, with the bytes the process
wrote per edit (``wchar`` of ``/proc/self/io``: every byte handed to ``write()``, WAL and
file). Compared in the same run with the whole-layer path, each edit a read-modify-write of
the whole layer validated whole (``Store.update``, what the API did before), and, with
``--baseline REV``, with that path in the code of commit REV (a temporary git worktree; REV's
GeoPackage store copied the whole file for every write). The whole-layer paths run
``--baseline-edits`` edits: on the city each takes seconds.

    python -m benchmarks.synthetic_city /tmp/bigcity.gpkg     # once: the city (minutes)
    python -m benchmarks.edits --city /tmp/bigcity.gpkg --postgis postgresql://postgres@127.0.0.1/bench \\
        --baseline 592091a

Without ``--postgis`` only GeoPackage is measured; without ``--city`` only the demo.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import analysed_demo, write_section

ROOT = Path(__file__).parents[1]

#: the whole-layer edit, run in a fresh process on whichever code is on sys.path (ours or REV's)
WHOLE_LAYER = r"""
import json, os, random, sys, time
import pandas as pd
from layers import store, validate
ws = store.open_workspace(sys.argv[1])
n = int(sys.argv[2])
ids = sorted(ws.read("cameras")["id"].astype(str))
rng = random.Random(7)

def wchar():
    with open("/proc/self/io") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("wchar"))

def turn(cid):
    def change(frame):
        hit = frame["id"].astype(str) == cid
        frame = frame.copy()
        frame.loc[hit, "heading_deg"] = (frame.loc[hit, "heading_deg"] + 1) % 360
        return validate.validate(frame, "cameras")
    return change

times, written = [], []
for _ in range(n):
    cid = rng.choice(ids)
    w0, t0 = wchar(), time.perf_counter()
    ws.update("cameras", turn(cid), message="benchmark")
    times.append(time.perf_counter() - t0)
    written.append(wchar() - w0)
print(json.dumps({"times": times, "written": written}))
"""


def _wchar() -> int:
    with open("/proc/self/io") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("wchar"))


def row_edits(uri: str, n: int) -> dict[str, list[float]]:
    """``n`` one-row edits through Store.edit, each timed, with the bytes written."""
    import random

    import geopandas as gpd

    from layers import store, validate

    ws = store.open_workspace(uri)
    ids = sorted(ws.read("cameras")["id"].astype(str))
    rng = random.Random(7)

    def decide(current: Any) -> Any:
        row = current.to_dict()
        row["heading_deg"] = (float(row["heading_deg"]) + 1) % 360
        return validate.validate(gpd.GeoDataFrame([row], geometry="geometry", crs=4326), "cameras")

    for cid in ids[:5]:  # warm: connections, the schema, the key index's pages
        ws.edit("cameras", "id", cid, decide)
    times, written = [], []
    for _ in range(n):
        cid = rng.choice(ids)
        w0, t0 = _wchar(), time.perf_counter()
        ws.edit("cameras", "id", cid, decide, message="benchmark")
        times.append(time.perf_counter() - t0)
        written.append(_wchar() - w0)
    return {"times": times, "written": written}


def whole_layer(uri: str, n: int, tree: Path = ROOT) -> dict[str, list[float]]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    done = subprocess.run([sys.executable, "-c", WHOLE_LAYER, uri, str(n)], capture_output=True, text=True,
                          cwd=tree, env=env, check=False)
    if done.returncode:
        raise RuntimeError(f"the whole-layer run failed: {done.stderr.strip()[-800:]}")
    result: dict[str, list[float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def _copy_into(src: Path, uri: str, *, postgis: bool) -> str:
    from layers import store
    from layers.workspace import copy_workspace

    source = store.open_workspace(src)
    if postgis:
        dst = store.open_workspace(uri, create=True, overwrite=True)
        copy_workspace(source, dst)
    else:
        source.snapshot(Path(uri))  # type: ignore[attr-defined]
    return uri


def _worktree(rev: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where), rev], check=True,
                   capture_output=True)
    return where


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--city", type=Path, help="the 100,000-camera city (python -m benchmarks.synthetic_city)")
    parser.add_argument("--postgis", help="a PostgreSQL database with PostGIS (a schema per workspace is made)")
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--baseline-edits", type=int, default=20)
    parser.add_argument("--baseline", help="a commit whose whole-layer edit path is measured too")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="pingan-edits-"))
    sources = {"demo": analysed_demo(tmp / "demo-src.gpkg", name="edit benchmark")}
    if args.city:
        sources["city"] = args.city
    old = _worktree(args.baseline, tmp / "baseline") if args.baseline else None
    rows, notes = [], []
    try:
        from layers import store

        for name, src in sources.items():
            cams = next(i.rows for i in store.open_workspace(src).layers() if i.name == "cameras")
            backends = [("GeoPackage", str(tmp / f"{name}.gpkg"), False)]
            if args.postgis:
                sep = "&" if "?" in args.postgis else "?"
                backends.append(("PostGIS", f"{args.postgis}{sep}workspace=bench_edits_{name}", True))
            for backend, uri, pg in backends:
                print(f"{name} / {backend}: copying", flush=True)
                _copy_into(src, uri, postgis=pg)
                print(f"{name} / {backend}: {args.edits} row edits", flush=True)
                new = row_edits(uri, args.edits)
                print(f"{name} / {backend}: {args.baseline_edits} whole-layer edits", flush=True)
                whole = whole_layer(uri, args.baseline_edits)
                line = {"workspace": f"{name} ({cams:,} cameras)", "backend": backend, "new": new, "whole": whole}
                if old is not None and not pg:
                    print(f"{name} / {backend}: {args.baseline_edits} edits in {args.baseline}", flush=True)
                    _copy_into(src, uri, postgis=False)
                    line["old"] = whole_layer(uri, args.baseline_edits, old)
                rows.append(line)
    finally:
        if old is not None:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False,
                           capture_output=True)
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)

    def ms(v: list[float], q: float | None = None) -> str:
        return f"{1000 * (statistics.median(v) if q is None else _pct(v, q)):,.1f}"

    def kib(v: list[float]) -> str:
        return f"{statistics.median(v) / 1024:,.0f}"

    extra = (f" {args.baseline} p50 ms | KiB/edit | ratio |", " ---: | ---: | ---: |") if args.baseline else ("", "")
    table = ["| workspace | backend | row edit p50 ms | p99 ms | KiB written/edit | whole-layer p50 ms "
             "| KiB/edit | ratio |" + extra[0],
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |" + extra[1]]
    for r in rows:
        new, whole = r["new"], r["whole"]
        ratio = statistics.median(whole["times"]) / statistics.median(new["times"])
        cells = [r["workspace"], r["backend"], ms(new["times"]), ms(new["times"], 0.99),
                 kib(new["written"]) if r["backend"] == "GeoPackage" else "–", ms(whole["times"]),
                 kib(whole["written"]) if r["backend"] == "GeoPackage" else "–", f"{ratio:,.0f}×"]
        if args.baseline:
            if "old" in r:
                o = r["old"]
                cells += [ms(o["times"]), kib(o["written"]),
                          f"{statistics.median(o['times']) / statistics.median(new['times']):,.0f}×"]
            else:
                cells += ["–", "–", "–"]
        table.append("| " + " | ".join(cells) + " |")
    command = " ".join(["python -m benchmarks.edits"] + sys.argv[1:]).replace(args.postgis or "\0", "URI")
    body = (f"## One-feature edits (`{command}`)\n\n"
            f"{args.edits} edits of random cameras' headings per workspace and backend through `Store.edit` (the "
            "API's PUT path: the stored row read under the write lock, the new row validated alone, one row "
            f"written), against {args.baseline_edits} edits by the whole-layer path (read the layer, change it, "
            "validate it whole, write it back: `Store.update`)"
            + (f", and that path in commit {args.baseline}, whose GeoPackage store copied the file for every "
               "write" if args.baseline else "")
            + ", in the same run. Ratio = whole-layer p50 / row-edit p50. KiB written = median bytes the process "
            "handed to write() per edit (WAL, file and scratch files); PostGIS writes in its server, not counted."
            "\n\n" + "\n".join(table) + ("\n\n" + "\n".join(notes) if notes else ""))
    print(body)
    if not args.no_write:
        write_section("edits", body)


if __name__ == "__main__":
    main()
