"""Analysis commands: settings, views, coverage, place and accept, risk, grids plan."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.text import Text

from api.cli.common import (
    Workspace,
    app,
    cli_errors,
    emit,
    err,
    open_store,
    out,
    people_table,
    progress_steps,
    say,
)


@app.command("settings")
def settings_cmd(workspace: Workspace,
                 changes: Annotated[list[str] | None, typer.Argument(
                     help="KEY=VALUE to change, e.g. dori_profile=iec62676-4:2014-rounded storey_height_m=2.9 "
                          "'camera_defaults={\"height_m\": 5}' (values are JSON where they parse as JSON)")] = None,
                 ) -> None:
    """Show the workspace's analysis settings, or change some (checked, audited; results become stale)."""
    import getpass
    import json

    import pydantic

    from api.workflows.settings import TABLE_SETTINGS, change_settings

    with cli_errors():
        store = open_store(workspace)
        if changes:
            values: dict[str, Any] = {}
            for item in changes:
                key, sep, text = item.partition("=")
                if not sep or not key.strip():
                    raise ValueError(f"'{item}': write KEY=VALUE, e.g. storey_height_m=3.2")
                try:
                    values[key.strip()] = json.loads(text)
                except json.JSONDecodeError:
                    values[key.strip()] = text
                if key.strip() == "markers" and isinstance(values["markers"], str):  # markers=elderly,rented
                    values["markers"] = [m.strip() for m in values["markers"].split(",") if m.strip()]
            allowed = {*SETTABLE, *TABLE_SETTINGS}
            unknown = sorted(set(values) - allowed)
            if unknown:
                raise ValueError(f"unknown setting(s) {unknown}: known are {', '.join(sorted(allowed))}")
            from api.routers.workspace import SettingsChange

            try:  # types and ranges, as the API checks them
                SettingsChange(**{k: v for k, v in values.items() if k in SETTABLE})
            except pydantic.ValidationError as exc:
                raise ValueError("; ".join(f"{'.'.join(map(str, e['loc']))} = {e['input']!r}: {e['msg']}"
                                           for e in exc.errors())) from None
            change_settings(store, values, user=f"local:{getpass.getuser()}")
        if emit({k: v for k, v in store.settings().items() if k != "risk_model"}):
            return
        for key, value in sorted(store.settings().items()):
            if key in ("risk_model",):
                continue  # long; shown by pingan risk --show-model
            out.print(f"{key} = {json.dumps(value, ensure_ascii=False)}", highlight=False)


#: settings changed one value at a time (the API's PUT /api/settings takes the same)
SETTABLE = ("storey_height_m", "target_height_m", "dori_profile", "dori_form", "occlusion", "expect_china",
            "max_outside_km", "markers")


@app.command("views")
def views_cmd(workspace: Workspace,
              mode: Annotated[str | None, typer.Option(help="Occlusion: 2.5d (heights) or 2d (every building "
                                                            "blocks); default from the settings")] = None,
              target_height: Annotated[float | None, typer.Option(help="Target height in m (1.6 face, 0 "
                                                                     "ground); default from the settings")] = None,
              workers: Annotated[int, typer.Option(help="Processes to use")] = 1,
              parallel: Annotated[bool, typer.Option(help="Tiles with a halo on a dask LocalCluster (one "
                                                          "worker per core, or --workers)")] = False,
              scheduler: Annotated[str | None, typer.Option(help="A dask cluster to use (tcp://host:8786)")] = None,
              tile_m: Annotated[float, typer.Option(help="Tile size in metres for --parallel/--scheduler")] = 1000.0,
              light: Annotated[str, typer.Option(help="day, or night (IR lamps and street lights; stored as "
                                                      "views_night)")] = "day",
              ) -> None:
    """Compute what every camera sees (DORI levels, occlusion) and store it as the views layer
    (``--light night``: after dark, as views_night)."""
    from api.workflows.progress import counter
    from api.workflows.views import compute_views, summarise_views

    with cli_errors(), progress_steps("views") as step:
        views = compute_views(open_store(workspace), mode=mode, target_height=target_height,
                               workers=workers, parallel=parallel, scheduler=scheduler, tile_m=tile_m,
                               progress=counter(step, "cameras"), light=light)
    stamp = views.attrs["stamp"]
    if emit({"levels": summarise_views(views).reset_index(), "polygons": len(views), "stamp": stamp}):
        return
    table = people_table("level", "cameras", "area seen (m², summed over cameras)")
    for level, row in summarise_views(views).iterrows():
        table.add_row(str(level), str(int(row["cameras"])), f"{row['area_m2']:,.0f}")
    out.print(table)
    layer = "views_night" if light == "night" else "views"
    out.print(f"{layer} layer written: {len(views)} polygons, {stamp['occlusion']} occlusion, "
              f"targets at {stamp['target_height_m']} m; from "
              + ", ".join(f"{name} v{version}" for name, version in stamp["inputs"].items()))
    if stamp.get("mounted_cameras"):
        out.print(f"{stamp['mounted_cameras']} camera(s) stood inside their building by ≤ 0.5 m: computed from "
                  "its wall")
    if stamp.get("indoor_cameras"):
        shown = ", ".join(stamp["indoor_cameras"][:20]) + (" …" if len(stamp["indoor_cameras"]) > 20 else "")
        out.print(f"{len(stamp['indoor_cameras'])} camera(s) stand inside a building, deeper than 0.5 m: indoor, "
                  f"no outdoor view — check their positions: {shown}")


@app.command("coverage")
def coverage_cmd(workspace: Workspace,
                 grid: Annotated[str | None, typer.Option(help="Show only this grid (by code)")] = None,
                 include_planned: Annotated[bool, typer.Option(help="Count planned cameras as covering")] = False,
                 top: Annotated[int, typer.Option(help="Blind spots to list")] = 10,
                 parallel: Annotated[bool, typer.Option(help="Grids in tiles on a dask LocalCluster (one worker "
                                                             "per core, or --workers); same figures")] = False,
                 scheduler: Annotated[str | None, typer.Option(help="A dask cluster to use (tcp://host:8786)")] = None,
                 workers: Annotated[int | None, typer.Option(help="LocalCluster workers for --parallel")] = None,
                 tile_m: Annotated[float, typer.Option(help="Tile size in metres for --parallel/--scheduler")] = 2000.0,
                 light: Annotated[str, typer.Option(help="day, or night (from the night views; writes the "
                                                         "*_night layers)")] = "day",
                 ) -> None:
    """Coverage per community (or one grid), key targets, blind spots; writes the coverage layers
    (``--light night``: their night twins, coverage_grids_night …)."""
    from api.workflows.coverage import compute_coverage

    with cli_errors(), progress_steps("coverage") as step:
        cov = compute_coverage(open_store(workspace), include_planned=include_planned, progress=step,
                               parallel=parallel, scheduler=scheduler, workers=workers, tile_m=tile_m, light=light)
    grids, spots = cov.grids, cov.blind_spots
    if grid is not None:
        if grid not in set(grids["code"]):
            err.print(Text.assemble(("error: ", "bold red"), f"no grid {grid} in {workspace}"), highlight=False)
            raise typer.Exit(3)
        grids = grids[grids["code"] == grid]
        spots = spots[spots["grid_code"] == grid]
        rows = grids.assign(name=grid)
    else:
        rows = cov.communities.assign(name=cov.communities["name"].fillna(cov.communities["community_code"]))
    if emit({"grid" if grid else "communities": rows, "indicators": cov.indicators,
               "blind_spots": spots[spots["ranked"]].head(top)}):
        return
    table = people_table("社区/网格" if grid is None else "网格", "public km²", "detect", "observe", "recognise",
                         "identify", "≥2 cameras", "roads seen", "cameras (active/faulty/planned)", "blind spot km²")
    for _, r in rows.iterrows():
        road = r["road_seen_detect_m"] / r["road_m"] if r["road_m"] else 0.0
        table.add_row(str(r["name"]), f"{r['public_m2'] / 1e6:.3f}",
                      *(f"{r[f'share_{lv}']:.1%}" for lv in ("detect", "observe", "recognise", "identify")),
                      f"{r['share_redundant']:.1%}", f"{road:.1%}",
                      f"{int(r['cameras_active'])}/{int(r['cameras_faulty'])}/{int(r['cameras_planned'])}",
                      f"{r['uncovered_m2'] / 1e6:.3f}")
    out.print(table)
    ind = cov.indicators
    if grid is None:
        def share(value: float, fmt: str) -> str:
            return "— (none in the workspace)" if math.isnan(value) else format(value, fmt)  # nothing to count

        all_in = "100% ✓" if ind["class1_all_covered"] else "not all"
        class1 = (f"{ind['class1_covered']}/{ind['class1_targets']} ({all_in})" if ind["class1_targets"]
                  else "— (none in the workspace)")
        out.print(f"一类目标 class-1 targets covered: {class1}; 路口 intersections covered: "
                  f"{share(ind['intersection_share'], '.0%')}; 重点公共区域 key public areas seen: "
                  f"{share(ind.get('key_public_area_share', float('nan')), '.1%')}")
        if ind.get("cameras_outside_grids"):
            out.print(f"{ind['cameras_outside_grids']} camera(s) stand outside every grid and are counted in none")
    ranked = spots[spots["ranked"]].head(top)
    if len(ranked):
        bt = people_table("#", "grid", "kind", "where", "m²", "near", "priority")
        for k, (_, s) in enumerate(ranked.iterrows(), start=1):
            where = "" if pd.isna(s["name"]) else str(s["name"])
            bt.add_row(str(k), str(s["grid_code"]), str(s["kind"]), where, f"{s['area_m2']:,.0f}",
                       str(s["near_targets"])[:40], f"{s['priority']:.1f}")
        out.print(bt)
    out.print("coverage layers written: coverage_grids, coverage_communities, coverage_targets, blind_spots")


@app.command("place")
def place_cmd(workspace: Workspace,
              k: Annotated[int | None, typer.Option("--k", min=1, max=500, help="How many new cameras (1–500)")
                           ] = None,
              budget: Annotated[float | None, typer.Option(min=0.01, help="Budget in yuan (cameras + sites)")
                                ] = None,
              cover_class: Annotated[list[str] | None, typer.Option(help="Cover every target of this class "
                                                                         "(1, 2, 3) at least cost; repeatable")] = None,
              seconds: Annotated[float, typer.Option(min=0.1, help="Time limit of the exact solver (s)")] = 30.0,
              greedy: Annotated[bool, typer.Option(help="Lazy greedy only (fast, within 1−1/e)")] = False,
              heading_step: Annotated[float, typer.Option(min=5, max=180, help="Headings tried per site, degrees "
                                                                             "(5–180)")] = 30.0,
              model: Annotated[list[str] | None,
                               typer.Option(help="Camera model from the catalogue; repeatable")] = None,
              workers: Annotated[int, typer.Option(help="Processes for the candidate views")] = 1,
              parallel: Annotated[bool, typer.Option(help="Candidate views in tiles on a dask LocalCluster "
                                                          "(same views)")] = False,
              scheduler: Annotated[str | None, typer.Option(help="A dask cluster to use (tcp://host:8786)")] = None,
              phases: Annotated[str | None, typer.Option(help="A multi-year plan, NAME:BUDGET in yuan, e.g. "
                                                              "2027:3000000,2028:2000000; each phase keeps the "
                                                              "earlier ones")] = None,
              light: Annotated[str, typer.Option(help="day, or night (night coverage and ranges)")] = "day",
              ) -> None:
    """Propose where the next cameras do the most good (MCLP for --k/--budget/--phases, LSCP for --cover-class)."""
    from api.workflows.placement import place
    from gis.phasing import parse_phases
    from gis.placement import DEFAULT_MODELS

    for cls in cover_class or []:
        if cls not in ("1", "2", "3"):
            raise typer.BadParameter(f"'{cls}' is not a point class: use 1, 2 or 3", param_hint="--cover-class")

    with cli_errors(), progress_steps("placement") as step:
        planned = parse_phases(phases) if phases else None
        result = place(open_store(workspace), k=k, budget=budget, cover_classes=cover_class, seconds=seconds,
                       phases=planned, light=light, method="greedy" if greedy else "milp",
                       heading_step_deg=heading_step, models=tuple(model) if model else DEFAULT_MODELS,
                       workers=workers, progress=step, parallel=parallel, scheduler=scheduler)
    props = result.proposals
    if emit({"problem": result.problem, "objective": result.objective, "bound": result.bound, "gap": result.gap,
             "status": result.status, "cost": result.cost, "candidates": result.candidates,
             "demand": result.demand, "already_covered": result.already_covered,
             "uncoverable": result.uncoverable, "phases": result.phases, "proposals": props.to_crs(4326).assign(
                 lon=lambda f: f.geometry.x, lat=lambda f: f.geometry.y)}):
        return
    table = people_table("#", "site", "model", "heading", "gain", "covers", "grids", "blind spots", "cost ¥")
    for _, p in props.iterrows():
        table.add_row(str(p["rank"]), str(p["site"]), str(p["model"]), f"{p['heading_deg']:.0f}°", f"{p['gain']:.1f}",
                      str(p["targets"])[:40], str(len(str(p["grids"]).split(","))),
                      str(p["blind_spots_closed"]), f"{p['cost']:,.0f}")
    out.print(table)
    out.print(f"{result.problem}: objective {result.objective:,.1f}, proven bound {result.bound:,.1f} "
              f"(gap {result.gap:.2%}, {result.status}); {len(props)} cameras, ¥{result.cost:,.0f}; "
              f"{result.candidates:,} candidates, {result.demand:,} demand points "
              f"({result.already_covered:,} already covered by existing cameras)")
    if result.phases:
        phased = people_table("phase", "budget ¥", "cameras", "cost ¥", "gain", "gain per ¥10,000", "gap")
        for ph in result.phases:
            phased.add_row(str(ph["phase"]), f"{ph['budget']:,.0f}", str(ph["cameras"]), f"{ph['cost']:,.0f}",
                           f"{ph['gain']:,.1f}", f"{ph['gain_per_yuan'] * 1e4:,.2f}", f"{ph['gap']:.2%}")
        out.print(phased)
    if result.uncoverable:
        out.print(f"no candidate can cover: {'、'.join(result.uncoverable)}")
    out.print("stored as the layers proposals and proposal_views; accept with: pingan accept WORKSPACE RANK…")


@app.command("accept")
def accept_cmd(workspace: Workspace, ranks: Annotated[list[int], typer.Argument(help="Proposal ranks to accept")],
               user: Annotated[str, typer.Option(help="Who accepts (recorded in the audit log)")] = "cli") -> None:
    """Turn proposals into planned cameras."""
    from api.workflows.placement import accept

    with cli_errors():
        ids = accept(open_store(workspace), ranks, user=user)
    if emit({"cameras": ids}):
        return
    out.print(f"{len(ids)} planned camera(s) added: {', '.join(ids)}")


def _period(value: str | None) -> str | None:
    """A period the user typed, checked in their terms (YYYY-MM, a real month)."""
    if value is None:
        return None
    m = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", value)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise typer.BadParameter(f"'{value}' is not a month: write YYYY-MM, e.g. 2026-11")
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"


@app.command("risk")
def risk_cmd(workspace: Workspace,
             method: Annotated[str | None, typer.Option(help="fixed, quantile, natural_breaks or baseline "
                                                             "(default: the model's)")] = None,
             period: Annotated[str | None, typer.Option(help="Period YYYY-MM (default: the latest month)",
                                                        callback=_period)] = None,
             model: Annotated[Path | None, typer.Option(help="Install this risk model (TOML) first")] = None,
             show_model: Annotated[bool, typer.Option(help="Print the risk model in use and stop")] = False,
             top: Annotated[int, typer.Option(help="Grids to list")] = 15) -> None:
    """Grade every grid red/yellow/green with the reasons; writes the risk and risk_history layers."""
    from api.i18n import t
    from api.workflows.reasons import indicator_name
    from api.workflows.risk import compute_risk, model_of, set_model

    with cli_errors():
        store = open_store(workspace)
        if model is not None:
            version = set_model(store, model.read_text(encoding="utf-8"))
            say(f"risk model version {version} installed from {model}")
        if show_model:
            if not emit({"model": model_of(store).text}):
                out.print(model_of(store).text, markup=False, highlight=False)
            return
        with progress_steps("risk") as step:
            graded = compute_risk(store, period=period, method=method, progress=step)
    grids, stamp = graded.grids, graded.stamp
    if emit({"stamp": stamp, "summary": graded.summary.reset_index(), "changes": graded.changes,
               "grids": grids.sort_values("score", ascending=False).head(top).reset_index()}):
        return
    names = dict(zip(*(store.read("communities")[c] for c in ("code", "name")), strict=True)) if store.has(
        "communities") else {}
    table = people_table("社区/村", "红", "黄", "绿", "top reasons (红/黄 grids)")
    for code, row in graded.summary.iterrows():
        mine = grids[(grids["community_code"] == code) & (grids["level"] != "green")]
        words = [indicator_name(k) for keys in mine["drivers"] for k in str(keys).split(";")[:1] if k]
        common = pd.Series(words).value_counts().head(2).index.tolist() if words else []
        table.add_row(names.get(code, str(code)), str(row["red"]), str(row["yellow"]), str(row["green"]),
                      "、".join(common))
    out.print(table)
    gt = people_table("网格", "名称", "等级", "score", "reasons", "to move down a level")
    for code, g in grids.sort_values("score", ascending=False).head(top).iterrows():
        gt.add_row(str(code), str(g["name"]), t("zh", f"level.{g['level']}"), f"{g['score']:.1f}", str(g["reasons"]),
                   str(g["to_lower_level"]))
    out.print(gt)
    m = stamp["model"]
    out.print(f"period {stamp['period']}, method {m['method']}, model v{stamp['model_version']}; "
              f"{len(graded.changes)} grid(s) changed level since the month before")
    for _, c in graded.changes.iterrows():
        out.print(f"  {c['code']}: {c['before']} → {c['after']} ({c['why']})")


grids_app = typer.Typer(help="Grid planning (网格划分).", no_args_is_help=True)
app.add_typer(grids_app, name="grids")


@grids_app.command("plan")
def grids_plan_cmd(workspace: Workspace,
                   community: Annotated[str | None, typer.Option(help="Only this community (code)")] = None,
                   min_households: Annotated[int, typer.Option("--min", help="Fewest households")] = 300,
                   max_households: Annotated[int, typer.Option("--max", help="Most households")] = 500,
                   write: Annotated[bool, typer.Option(help="Store them as the planned_grids layer")] = False,
                   replace: Annotated[bool, typer.Option(help="Also replace the grids layer with them")] = False,
                   subgrids: Annotated[bool, typer.Option(help="Instead: the 组格 and 片格 of every grid")] = False,
                   group: Annotated[str, typer.Option(help="Households of a 组格 (min-max)")] = "60-150",
                   patch: Annotated[str, typer.Option(help="Households of a 片格 (min-max)")] = "15-50",
                   ) -> None:
    """Partition communities into contiguous grids of a household range along streets; with
    ``--subgrids``, partition every grid into 组格 and those into 片格 (the ``subgrids`` layer)."""
    from api.workflows.grids import plan_grids

    if subgrids:
        from api.cli.subgrids import plan_and_show

        plan_and_show(Path(workspace), group, patch)
        return

    with cli_errors():
        result = plan_grids(open_store(workspace), community=community, min_households=min_households,
                            max_households=max_households, write=write or replace, replace=replace)
    grids = result.grids
    if emit({"grids": grids, "problems": result.problems}):
        return
    table = people_table("code", "name", "kind", "households", "note")
    for _, g in grids.iterrows():
        table.add_row(str(g["code"]), str(g["name"]), str(g["kind"]), f"{g['households']:.0f}", str(g["note"]))
    out.print(table)
    basic = grids[grids["kind"] == "basic"]
    inside = basic["households"].between(min_households, max_households).sum()
    out.print(f"{len(grids)} grids ({len(basic)} basic, {len(grids) - len(basic)} dedicated); {inside} basic grids "
              f"within {min_households}–{max_households} households, the others explained in the note")
    for code, problems in result.problems.items():
        out.print(f"community {code}: " + ("tiles without gaps or overlaps" if not problems else "; ".join(problems)))


@grids_app.command("assign")
def grids_assign_cmd(workspace: Workspace,
                     table: Annotated[Path, typer.Argument(help="CSV/XLSX: 编码 (grid, 组格 or 片格 code) and "
                                                                "责任人编号 (a staff or role id)")],
                     user: Annotated[str | None, typer.Option(
                         "--user", help="Act as this workspace user (their role and area apply)")] = None) -> None:
    """Store who answers for each 网格/组格/片格 (责任人) from a table; every row is checked first."""
    from api.cli.subgrids import assign_and_show

    assign_and_show(Path(workspace), table, user)


@app.command("storage")
def storage_cmd(workspace: Workspace,
                level: Annotated[str | None, typer.Option(help="Where recorders stand: grid, community, township "
                                                              "or all (default from the recording setting)")] = None,
                status: Annotated[list[str] | None, typer.Option(help="Cameras that record (repeat); default: "
                                                                      "active, planned, faulty")] = None,
                user: Annotated[str | None, typer.Option("--user", help="Act as this workspace user")] = None,
                ) -> None:
    """Bandwidth (Mbps) and storage (TB) per grid, community and 街镇, and the storage units needed."""
    from api.cli.design import storage_and_show

    storage_and_show(Path(workspace), level, tuple(status or ("active", "planned", "faulty")), user)
