"""``pingan storage``: the bandwidth and storage of a workspace's cameras, and the recorders they need;
``pingan catalogue``: the camera models they may name; ``pingan bom``: the bill of materials of a plan."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import Workspace, app, cli_errors, emit, open_store, out, people_table


def storage_and_show(workspace: Path, level: str | None, statuses: tuple[str, ...], user: str | None) -> None:
    """Print (or emit) the storage plan of ``workspace``'s cameras."""
    from api.exports import Source
    from api.workflows.storage import LEVELS, storage_plan

    with cli_errors():
        store = open_store(workspace)
        plan = storage_plan(store, Source.local(store, user).scope, statuses=statuses, site_level=level)
    if emit(plan.as_dict()):
        return
    shown = plan.site_level if plan.site_level in LEVELS else "community"
    table = people_table(shown, "cameras", "main Mbps", "network Mbps", "recorded Mbps", "TB",
                         *(["units"] if shown == plan.site_level else []))
    for code, row in plan.levels[shown].iterrows():
        table.add_row(str(code), f"{row['cameras']:.0f}", f"{row['main_mbps']:.1f}", f"{row['network_mbps']:.1f}",
                      f"{row['record_mbps']:.1f}", f"{row['tb']:.1f}",
                      *([f"{row['units']:.0f}"] if "units" in row else []))
    out.print(table)
    t, o, u = plan.total, plan.options, plan.unit
    out.print(f"{t['cameras']:.0f} cameras: {t['network_mbps']:.1f} Mbps on the network, {t['record_mbps']:.1f} Mbps "
              f"recorded, {t['tb']:.1f} TB ({o['codec']} {o['fps']:g} fps where a camera has no bitrate; "
              f"{o['retention_days']} days, class-1 points {o['class1_retention_days']}); {t['units']:.0f} × "
              f"{u.name} ({u.usable_tb:g} TB usable, {u.max_in_mbps:g} Mbps in, {u.channels} channels) "
              f"at {plan.site_level} level. TB = Mbps × 3600 × 24 × days / 8 / 10⁶")


@app.command("catalogue")
def catalogue_cmd(workspace: Workspace,
                  import_: Annotated[Path | None, typer.Option(
                      "--import", help="Replace the catalogue with this CSV/XLSX (型号编号, 厂商, 型号, 摄像机类型, "
                                       "水平分辨率 …); every row is checked first")] = None,
                  export: Annotated[Path | None, typer.Option(
                      "--export", help="Write the catalogue to this .csv or .xlsx (Chinese headers)")] = None,
                  sheet: Annotated[str | None, typer.Option(help="The XLSX sheet to import")] = None,
                  lang: Annotated[str, typer.Option(help="Headers and values of an export: zh or en")] = "zh",
                  ) -> None:
    """The camera models cameras may name in 设备型号 (model): shown, imported or exported."""
    import getpass

    from api.workflows.catalogue import catalogue_table, export_catalogue, import_catalogue

    who = f"local:{getpass.getuser()}"
    with cli_errors():
        store = open_store(Path(workspace))
        table = import_catalogue(store, import_, user=who, sheet=sheet) if import_ else catalogue_table(store)
        if export:
            written = export_catalogue(store, export, lang=lang, who=who)
    if emit({"models": table.astype(object).where(table.notna(), None).to_dict("records")}):
        return
    shown = people_table("id", "maker", "model", "kind", "resolution", "lens (mm)", "hfov (°)", "IR (m)", "price (¥)")
    def num(v: object, form: str = "g") -> str:
        return "" if v is None or (isinstance(v, float) and math.isnan(v)) else format(float(str(v)), form)

    for r in table.to_dict("records"):
        lo, hi = num(r["focal_min_mm"]), num(r["focal_max_mm"])
        shown.add_row(str(r["id"]), str(r["maker"]), str(r["model"]), str(r["kind"]), num(r["resolution_px"]),
                      lo if lo == hi or not hi else f"{lo}–{hi}", num(r["hfov_max_deg"]), num(r["ir_range_m"]),
                      num(r["price_yuan"], ",.0f"))
    out.print(shown)
    if import_:
        out.print(f"{len(table)} models imported from {import_.name}")
    if export:
        out.print(f"written {written}")


@app.command("bom")
def bom_cmd(workspace: Workspace,
            export: Annotated[Path | None, typer.Option(
                "--export", help="Write the bill of materials to this .xlsx, .csv or .pdf")] = None,
            lang: Annotated[str, typer.Option(help="zh or en")] = "zh",
            user: Annotated[str | None, typer.Option("--user", help="Act as this workspace user")] = None) -> None:
    """The bill of materials (工程量清单) of the stored plan: models × counts × unit price, poles, installation,
    network, the bandwidth and storage added, totals per phase."""
    from api.exports import Source
    from api.workflows.bom import bill_of_materials, export_bom

    with cli_errors():
        store = open_store(Path(workspace))
        source = Source.local(store, user, lang=lang)
        bom = bill_of_materials(source)
        written = export_bom(source, export) if export else None
    if emit({"lines": bom.lines.astype(object).where(bom.lines.notna(), None).to_dict("records"),
             "phases": bom.phases.to_dict("records"), "scenario": bom.scenario}):
        return
    shown = people_table("phase", "item", "spec", "unit", "quantity", "unit price", "amount")
    for r in bom.lines.to_dict("records"):
        q = r["quantity"]
        shown.add_row(str(r["phase"]), str(r["item"]), str(r["spec"]), str(r["unit"]),
                      "" if q is None or (isinstance(q, float) and math.isnan(q)) else f"{int(q)}",
                      "" if r["unit_price"] is None or math.isnan(r["unit_price"]) else f"{r['unit_price']:,.0f}",
                      f"{r['amount']:,.0f}")
    out.print(shown)
    for p in bom.phases.to_dict("records"):
        out.print(f"{p['phase']}: {p['cameras']} cameras on {p['sites']} sites, ¥{p['cost']:,.0f} as built "
                  f"(the plan budgeted ¥{p['budgeted']:,.0f}, a site's works per camera); "
                  f"+{p['network_mbps']:.1f} Mbps, +{p['tb']:.1f} TB")
    if written:
        out.print(f"written {written}")
