"""Shared by the benchmarks: machine description and the RESULTS.md writer."""

from __future__ import annotations

import datetime as dt
import os
import platform
import resource
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024**2:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    system = f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    return f"{cpu}, {os.cpu_count()} cores{mem}, {system}"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_section(name: str, body: str) -> None:
    """Replace (or add) the section ``name`` in benchmarks/RESULTS.md."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    stamp = f"Run {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z} on {machine()}."
    block = f"{start}\n{body.rstrip()}\n\n{stamp}\n{end}"
    header = "# Benchmark results\n\nWritten by the scripts in this folder; each section says how it was run.\n"
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else header
    if start in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text, encoding="utf-8")


def analysed_demo(path: Path, name: str = "莱西市水集街道示范区") -> Path:
    """The demo workspace at ``path`` with views, coverage and risk computed (as `pingan demo` leaves it)."""
    from api.workflows.coverage import compute_coverage
    from api.workflows.risk import compute_risk
    from api.workflows.views import compute_views
    from layers import demo, store

    ws = store.open_workspace(path, create=True, name=name)
    demo.build(ws)
    compute_views(ws)
    compute_coverage(ws)
    compute_risk(ws)
    return path
