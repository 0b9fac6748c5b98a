"""``pingan grids plan WS --subgrids`` (the 组格 and 片格 of every grid, planned, stored and shown) and
``pingan grids assign`` (who answers for each area)."""

from __future__ import annotations

import re
from pathlib import Path

from api.cli.common import cli_errors, emit, open_store, out, people_table, progress_steps


def _range(text: str, what: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[-–~]\s*(\d+)\s*", text)
    if not m:
        raise ValueError(f"{what}: '{text}' is not a household range; write it as min-max, e.g. 60-150")
    return int(m.group(1)), int(m.group(2))


def plan_and_show(workspace: Path, group: str, patch: str) -> None:
    """Plan, store and print the 组格/片格 of every grid of ``workspace``."""
    from api.workflows.hierarchy import plan_subgrids, rollup
    from gis.subgrids import SubgridRules

    with cli_errors(), progress_steps("subgrids") as step:
        (g_lo, g_hi), (p_lo, p_hi) = _range(group, "--group"), _range(patch, "--patch")
        rules = SubgridRules(g_lo, g_hi, p_lo, p_hi)
        store = open_store(workspace)
        planned = plan_subgrids(store, rules=rules, progress=step)
        step("roll-up (片格 → 组格 → 网格 → 社区 → 街镇)")
        figures = rollup(store)
    groups, patches = planned[planned["level"] == "group"], planned[planned["level"] == "patch"]
    grid = figures["grid"]
    if emit({"subgrids": planned.drop(columns=["members"]), "grid_totals": grid.reset_index()}):
        return
    table = people_table("grid", "组格", "片格", "households", "片格 households", "notes")
    for code, mine in planned.groupby("grid_code", sort=True):
        p = mine[mine["level"] == "patch"]["households"]
        notes = "; ".join(sorted({str(n) for n in mine["note"] if isinstance(n, str) and n}))
        table.add_row(str(code), str((mine["level"] == "group").sum()), str(len(p)), f"{p.sum():.0f}",
                      f"{p.min():.0f}–{p.max():.0f}" if len(p) else "", notes)
    out.print(table)
    out.print(f"{len(groups)} 组格 and {len(patches)} 片格 in {planned['grid_code'].nunique()} grids (组格 "
              f"{g_lo}–{g_hi}, 片格 {p_lo}–{p_hi} households); stored as the subgrids layer. Totals: "
              f"{grid['households'].sum():.0f} households, {grid['incidents'].sum():.0f} incidents, the same at "
              "every level")


def assign_and_show(workspace: Path, table: Path, user: str | None) -> None:
    """Check and store the responsibility table ``table`` as ``user`` (default: the local administrator)."""
    from api.exports import Source
    from api.workflows.responsibility import assign, read_table

    with cli_errors():
        store = open_store(workspace)
        scope = Source.local(store, user).scope
        frame, rows = read_table(table)
        result = assign(store, scope, frame, rows=rows, source=table.name)
    if emit(result):
        return
    changed = result["changed"]
    out.print(f"{changed.get('grids', 0)} grid(s) and {changed.get('subgrids', 0)} 组格/片格 now have a new 责任人; "
              f"{result['unchanged']} already had it")

