"""Load test on loopback: many clients reading map data and editing cameras at once.

``pingan serve`` runs the analysed demo workspace in its own process; ``--clients`` threads
(each its own HTTP connection and login) loop for ``--seconds``: four requests in five read
map data (viewport features of cameras or buildings, grids by bbox, search), one in five edits
a random camera (GET it with its ETag, PUT it turned by one degree with If-Match, and on 412
read again and retry). At the end every camera's heading must have turned by exactly the
number of edits that succeeded on it: no edit lost. p50/p99 latency per kind of request go to
``benchmarks/RESULTS.md``.

    python -m benchmarks.load [--clients 50] [--seconds 30]
"""

from __future__ import annotations

import argparse
import collections
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks._common import analysed_demo, write_section
from benchmarks.pages import serve
from layers.workspace import copy_workspace

PASSWORD = "load test password"


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def client(url: str, name: str, cams: list[str], bounds: tuple[float, float, float, float],
           start: threading.Barrier, clock: dict[str, float], seed: int, out: dict[str, Any], lock: threading.Lock,
           weights: tuple[int, ...] = (2, 1, 1, 1)) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=url, timeout=60) as http:
        # every client logs in before the clock starts: a login checks an Argon2 hash (about 0.14 s
        # of CPU here), which is not the load being measured
        token = http.post("/api/auth/login", json={"username": name, "password": PASSWORD}).json()["token"]
        http.headers["Authorization"] = f"Bearer {token}"
        w, s, e, n = bounds
        start.wait()
        stop = clock["stop"]
        while time.perf_counter() < stop:
            kind = rng.choices(["features", "grids", "search", "edit"], weights=weights)[0]
            t0 = time.perf_counter()
            try:
                ok, r = _request(http, kind, rng, cams, (w, s, e, n), out, lock)
            except httpx.HTTPError as exc:  # a dropped connection counts as an error; the client goes on
                with lock:
                    out["errors"].append(f"{kind}: {type(exc).__name__} {exc}")
                continue
            with lock:
                out["latency"][kind].append(time.perf_counter() - t0)
                if not ok:
                    out["errors"].append(f"{kind}: HTTP {r.status_code} {r.text[:120]}")


def _request(http: httpx.Client, kind: str, rng: random.Random, cams: list[str],
             bounds: tuple[float, float, float, float], out: dict[str, Any], lock: threading.Lock
             ) -> tuple[bool, httpx.Response]:
    w, s, e, n = bounds
    ok = True
    if kind == "features":
        x, y = rng.uniform(w, e), rng.uniform(s, n)
        layer = rng.choice(["cameras", "buildings"])
        r = http.get(f"/api/features/{layer}", params={"bbox": f"{x - 0.004},{y - 0.003},{x + 0.004},"
                                                                f"{y + 0.003}", "zoom": 17})
        ok = r.status_code == 200
    elif kind == "grids":
        x, y = rng.uniform(w, e), rng.uniform(s, n)
        r = http.get("/api/layers/grids", params={"bbox": f"{x - 0.005},{y - 0.005},{x + 0.005},{y + 0.005}"})
        ok = r.status_code == 200
    elif kind == "search":
        r = http.get("/api/search", params={"q": rng.choice(["派出所", "3702850010", "学校", "网格"])})
        ok = r.status_code == 200
    else:
        cam = rng.choice(cams)
        for attempt in range(20):
            got = http.get(f"/api/layers/cameras/{cam}")
            feature = got.json()
            feature["properties"]["heading_deg"] = (float(feature["properties"]["heading_deg"]) + 1) % 360
            r = http.put(f"/api/layers/cameras/{cam}", json=feature, headers={"If-Match": got.headers["etag"]})
            if r.status_code == 200:
                with lock:
                    out["edits"][cam] += 1
                break
            with lock:
                out["conflicts"] += 1
            if r.status_code != 412:
                break
            time.sleep(rng.uniform(0, 0.05 * (attempt + 1)))
        ok = r.status_code == 200
    return ok, r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--edits-only", action="store_true", help="every request is an edit (GET + PUT)")
    parser.add_argument("--postgis", help="serve a copy of the demo in this PostGIS database instead")
    parser.add_argument("--workers", type=int, default=1, help="server processes (pingan serve --workers)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    from api import access
    from layers import store

    tmp = Path(tempfile.mkdtemp(prefix="pingan-load-"))
    path: Path | str = analysed_demo(tmp / "demo.gpkg", name="load test")
    if args.postgis:
        sep = "&" if "?" in args.postgis else "?"
        uri = f"{args.postgis}{sep}workspace=bench_load"
        copy_workspace(store.open_workspace(path), store.open_workspace(uri, create=True, overwrite=True))
        path = uri
    ws = store.open_workspace(path)
    for k in range(args.clients):
        access.add_user(ws, f"load{k:02d}", "police", access.Area(), PASSWORD)
    cams = sorted(ws.read("cameras")["id"].astype(str))
    before = ws.read("cameras").set_index("id")["heading_deg"].astype(float)
    bounds = tuple(float(v) for v in ws.read("buildings").total_bounds)
    url, proc = serve(path, "--workers", str(args.workers))
    out: dict[str, Any] = {"latency": collections.defaultdict(list), "errors": [], "conflicts": 0,
                           "edits": collections.Counter()}
    lock = threading.Lock()
    clock: dict[str, float] = {}

    def go() -> None:  # run once, when every client has logged in
        clock["start"] = time.perf_counter()
        clock["stop"] = clock["start"] + args.seconds

    start = threading.Barrier(args.clients, action=go)
    weights = (0, 0, 0, 1) if args.edits_only else (2, 1, 1, 1)
    threads = [threading.Thread(target=client, args=(url, f"load{k:02d}", cams, bounds, start, clock, k, out, lock,
                                                     weights)) for k in range(args.clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - clock["start"]
    proc.terminate()
    proc.wait(timeout=30)
    after = store.open_workspace(path).read("cameras").set_index("id")["heading_deg"].astype(float)
    lost = [c for c in cams if round((after[c] - before[c]) % 360) != out["edits"][c] % 360]
    shutil.rmtree(tmp, ignore_errors=True)
    total = sum(len(v) for v in out["latency"].values())
    rows = [f"| {kind} | {len(v):,} | {1000 * statistics.median(v):,.0f} | {1000 * _pct(v, 0.99):,.0f} |"
            for kind, v in sorted(out["latency"].items())]
    flags = ((" --edits-only" if args.edits_only else "") + (" --postgis URI" if args.postgis else "")
             + (f" --workers {args.workers}" if args.workers > 1 else ""))
    edits = sum(out["edits"].values())
    what = "PostGIS copy of the analysed demo" if args.postgis else "analysed demo, GeoPackage"
    what += f", {args.workers} server processes" if args.workers > 1 else ", its own process"
    body = (f"## Load test (`python -m benchmarks.load --clients {args.clients} --seconds {args.seconds:.0f}{flags}`)"
            f"\n\n{args.clients} clients on loopback against `pingan serve` (the {what}), "
            + ("every request an edit; " if args.edits_only else "") + f"**{edits / wall:,.1f} edits/s**; each "
            f"logged in as its own police user (all logged in before the clock starts), for {args.seconds:.0f} s: "
            f"{total:,} requests in {wall:.1f} s "
            f"({total / wall:,.0f}/s); **{len(out['errors'])} errors**; {sum(out['edits'].values()):,} camera edits "
            f"landed, {out['conflicts']:,} stale ETags answered 412 and retried; **lost edits: {len(lost)}** (every "
            "camera's heading turned by exactly its number of landed edits). An edit is one GET and one PUT with "
            "If-Match, retried after 412 (its time includes the retries).\n\n"
            "| request | count | p50 ms | p99 ms |\n| --- | ---: | ---: | ---: |\n" + "\n".join(rows))
    if out["errors"]:
        body += "\n\nFirst errors: " + "; ".join(out["errors"][:5])
        print("errors:", *out["errors"][:20], sep="\n  ", file=sys.stderr)
    print(body)
    if not args.no_write:
        write_section("load" + ("-edits" if args.edits_only else "") + ("-postgis" if args.postgis else "")
                      + (f"-workers{args.workers}" if args.workers > 1 else ""), body)


if __name__ == "__main__":
    main()
