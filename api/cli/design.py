"""``pingan storage``: the bandwidth and storage of a workspace's cameras, and the recorders they need."""

from __future__ import annotations

from pathlib import Path

from api.cli.common import cli_errors, emit, open_store, out, people_table


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
