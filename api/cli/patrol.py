"""``pingan patrol …``: patrol planning (人防 + 技防) — zones, routes, checkpoints and duty levels."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import Workspace, app, cli_errors, emit, open_store, out, people_table, progress_steps, say

patrol_app = typer.Typer(help="Patrol planning (人防 + 技防): zones, routes, checkpoints, duty levels.",
                         no_args_is_help=True)
app.add_typer(patrol_app, name="patrol")


@patrol_app.command("plan")
def plan_cmd(workspace: Workspace,
             slot: Annotated[str, typer.Option(help="The slot routed: 18-24, 22-06, weekday:18-24 …")] = "18-24",
             units: Annotated[str, typer.Option(help="Units per station, kind:count (kinds of the patrol model)")] = (
                 "foot:2"),
             shift: Annotated[str, typer.Option(help="Each unit's shift: 4h, 90min …")] = "4h",
             zones: Annotated[int, typer.Option(min=1, max=50, help="Patrol zones (巡区) per station")] = 3,
             checkpoints: Annotated[int | None, typer.Option(min=0, max=200, help="Checkpoints (卡口) to choose "
                                                             "(default: the model's)")] = None,
             seconds: Annotated[float, typer.Option(min=0.1, max=3600,
                                                    help="Route solver time per station (s)")] = 10.0,
             seed: Annotated[int, typer.Option(help="Route solver seed (same seed, same routes)")] = 0,
             include_planned: Annotated[bool, typer.Option(help="Count planned cameras as watching (what-if of "
                                                                 "the plan)")] = False,
             model: Annotated[Path | None, typer.Option(help="Install this patrol model (TOML) first")] = None,
             show_model: Annotated[bool, typer.Option(help="Print the patrol model in use and stop")] = False) -> None:
    """Plan patrols for a slot: writes patrol_streets, patrol_zones, patrol_routes, patrol_stops, checkpoints."""
    from api.workflows.patrol import model_of, plan_patrols, set_model
    from gis.patrol.model import parse_duration_h, parse_units

    with cli_errors():
        store = open_store(workspace)
        if model is not None:
            version = set_model(store, model.read_text(encoding="utf-8"))
            say(f"patrol model version {version} installed from {model}")
        current = model_of(store)
        if show_model:
            if not emit({"model": current.text}):
                out.print(current.text, markup=False, highlight=False)
            return
        counts, hours = parse_units(units, current), parse_duration_h(shift)
        with progress_steps("patrol") as step:
            plan = plan_patrols(store, slot=slot, units=counts, shift_h=hours, n_zones=zones,
                                k_checkpoints=checkpoints, seconds=seconds, seed=seed,
                                include_planned=include_planned, progress=step)
    if emit({"stamp": plan.stamp, "solves": plan.solves, "zones": plan.zones.drop(columns="geometry"),
             "routes": plan.routes.drop(columns="geometry"), "checkpoints": plan.checkpoints.drop(columns="geometry")}):
        return
    key = current.slot(slot).key
    table = people_table("派出所/警务室", "巡点", "已收集风险", "上界", "差距", "耗时(s)", "说明")
    for r in plan.solves:
        table.add_row(r["station"], str(r["stops_offered"]), f"{r['objective']:.3f}", f"{r['bound']:.3f}",
                      f"{r['gap']:.1%}", f"{r['seconds']:.1f}", "; ".join(r["reasons"]))
    out.print(table)
    rt = people_table("巡逻单元", "类型", "巡点", "公里", "时间", "风险")
    for _, r in plan.routes.iterrows():
        rt.add_row(str(r["unit"]), str(r["kind"]), str(r["stops"]), f"{r['km']:.2f}", f"{r['start']}–{r['end']}",
                   f"{r['prize']:.3f}")
    out.print(rt)
    if f"level_{key}" in plan.zones:
        zt = people_table("巡区", "名称", "街道(公里)", "未覆盖风险", "勤务级别", "建议警力")
        for _, z in plan.zones.iterrows():
            zt.add_row(str(z["code"]), str(z["name"]), f"{z['street_km']:.2f}", f"{z[f'uncovered_{key}']:.3f}",
                       str(z[f"duty_{key}"]), str(z[f"officers_{key}"]))
        out.print(zt)
    total = float(plan.streets[f"weight_{key}"].sum())
    got = float(plan.routes["prize"].sum()) if len(plan.routes) else 0.0
    out.print(f"slot {slot}: uncovered risk {total:.3f} before patrols, {total - got:.3f} after "
              f"({got / total:.0%} absorbed); {len(plan.checkpoints)} checkpoint(s)" if total else
              f"slot {slot}: no uncovered risk — every street is watched or has no risk")
    out.print("layers written: patrol_streets, patrol_zones, patrol_routes, patrol_stops, checkpoints")
