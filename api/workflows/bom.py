"""The bill of materials (工程量清单) of the stored placement plan (`pingan bom`): per phase, the camera
models × counts × unit price, the sites' works (poles, brackets) counted once per site, installation
per camera, fibre and network per site, the bandwidth and storage the new cameras add, and totals.
Read through the user's area (only the proposals in it) and written as XLSX, CSV or PDF in Chinese
(English on request), every cell neutralised, the export audited."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from api.exports import Source, cells, files
from api.i18n import t
from api.workflows.settings import recording_options
from api.workflows.storage import per_camera
from layers.errors import ImportFormatError, WorkspaceError

#: the columns of a BOM line
COLUMNS = ("phase", "item", "spec", "unit", "quantity", "unit_price", "amount")
FORMATS = ("xlsx", "csv", "pdf")


@dataclass(frozen=True)
class Bom:
    """The lines (phase, item, spec, unit, quantity, unit price and amount in yuan) and, per phase, the
    cameras, sites, cost as built, cost as the plan budgeted it (a site's works per camera), the new
    cameras' network bandwidth (Mbps) and storage (TB)."""

    lines: pd.DataFrame
    phases: pd.DataFrame
    scenario: str | None


def bill_of_materials(source: Source) -> Bom:
    """The bill of materials of the workspace's stored plan (``pingan place``), for ``source``'s area.

    Raises
    ------
    WorkspaceError
        When no plan is stored, or none of it lies in the user's area.
    """
    store, lang = source.store, source.lang
    if not store.has("proposals"):
        raise WorkspaceError("no placement plan is stored: run pingan place WS --budget … (or --phases) first")
    props = gpd.GeoDataFrame(source.read("proposals"))  # the user's area only (refused to a role without it)
    if not len(props):
        raise WorkspaceError("the stored plan has no proposal in your area")
    if "phase" not in props or props["phase"].isna().all():
        props = props.assign(phase=t(lang, "bom.one_phase"))
    props = props.assign(point_class="1", resolution_px=np.nan, model=props["model"].astype(str))
    rec = per_camera(store, props.assign(id=props["rank"].astype(str)), recording_options(store.settings()))
    props = props.assign(network_mbps=rec["network_mbps"].to_numpy(), tb=rec["tb"].to_numpy())
    lines: list[tuple[Any, ...]] = []
    phases = []
    for phase, rows in props.groupby("phase", sort=False):
        sites = rows.drop_duplicates("site_id")
        for model, cams in rows.groupby("model", sort=True):
            lines.append((phase, t(lang, "bom.camera"), model, t(lang, "bom.unit_camera"), len(cams),
                          float(cams["price"].iat[0]), float(cams["price"].sum())))
        for (kind, price), at in sites.groupby(["site_kind", "site_cost"], sort=True):  # a site's own cost apart
            name = t(lang, f"bom.site_{kind}") if kind in SITE_KINDS else str(kind)
            lines.append((phase, t(lang, "bom.site"), name, t(lang, "bom.unit_site"), len(at), float(price),
                          float(at["site_cost"].sum())))
        lines.append((phase, t(lang, "bom.install"), "", t(lang, "bom.unit_camera"), len(rows),
                      float(rows["install"].iat[0]), float(rows["install"].sum())))
        lines.append((phase, t(lang, "bom.network"), "", t(lang, "bom.unit_site"), len(sites),
                      float(sites["network"].iat[0]), float(sites["network"].sum())))
        built = float(rows["price"].sum() + sites["site_cost"].sum() + rows["install"].sum() + sites["network"].sum())
        lines.append((phase, t(lang, "bom.total"), "", "", None, None, built))
        phases.append({"phase": phase, "cameras": len(rows), "sites": len(sites), "cost": built,
                       "budgeted": float(rows["cost"].sum()), "network_mbps": float(rows["network_mbps"].sum()),
                       "tb": float(rows["tb"].sum())})
    meta = store.get_meta("placement") or {}
    return Bom(pd.DataFrame(lines, columns=list(COLUMNS)), pd.DataFrame(phases), meta.get("scenario"))


#: site kinds with a name in the message catalogue
SITE_KINDS = ("pole", "wall", "roof", "other")


def _table(bom: Bom, lang: str) -> pd.DataFrame:
    """The lines as shown, with the phases' bandwidth and storage after them, headers in ``lang``."""
    extra = [(p["phase"], t(lang, "bom.added"), t(lang, "bom.added_spec", mbps=f"{p['network_mbps']:.1f}",
                                                  tb=f"{p['tb']:.1f}"), "", None, None, None)
             for p in bom.phases.to_dict("records")]
    table = pd.concat([bom.lines, pd.DataFrame(extra, columns=list(COLUMNS))], ignore_index=True)
    table = table.astype({"quantity": "Int64"})
    return table.rename(columns={c: t(lang, f"bom.col_{c}") for c in COLUMNS})


def export_bom(source: Source, path: str | Path) -> Path:
    """Write the bill of materials to ``path`` (.xlsx, .csv or .pdf) and record the export in the audit log."""
    source.require_export()
    path = Path(path)
    kind = path.suffix.lower().lstrip(".")
    if kind not in FORMATS:
        raise ImportFormatError(f"{path.name}: export the bill of materials as {', '.join('.' + f for f in FORMATS)}")
    bom = bill_of_materials(source)
    table = _table(bom, source.lang)
    title = t(source.lang, "bom.title")
    footer = f"{t(source.lang, 'bom.by')} {source.who} · {source.when}"
    out = _pdf(table, path, title=title, footer=footer) if kind == "pdf" else files.write_table(
        table, path, kind=kind, title=title, footer=footer)
    source.audit("proposals", {"format": kind, "file": out.name, "bom": True, "scenario": bom.scenario})
    return out


def _pdf(table: pd.DataFrame, path: Path, *, title: str, footer: str) -> Path:
    """The table on A4 pages (landscape), 28 lines a page, in a font with Chinese glyphs."""
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    from api.exports.fonts import cjk_family, glyph_guard

    def shown(v: Any) -> str:
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return ""
        return f"{v:,.0f}" if isinstance(v, float | int | np.number) else str(v)

    rows = [[shown(v) for v in r] for r in table.itertuples(index=False)]

    def write(tmp: Path) -> None:
        with glyph_guard(), PdfPages(tmp, metadata={"Title": title, "Author": footer}) as pdf:
            for start in range(0, max(len(rows), 1), 28):
                fig = Figure(figsize=(11.69, 8.27))
                fig.suptitle(title, fontsize=14, family=cjk_family())
                ax = fig.add_axes((0.04, 0.08, 0.92, 0.82))
                ax.axis("off")
                part = rows[start:start + 28] or [[""] * len(table.columns)]
                grid = ax.table(cellText=part, colLabels=list(table.columns), loc="upper center", cellLoc="left")
                grid.auto_set_font_size(False)
                grid.set_fontsize(8)
                for cell in grid.get_celld().values():
                    cell.get_text().set_fontfamily(cjk_family())
                fig.text(0.04, 0.03, footer, fontsize=8, family=cjk_family())
                pdf.savefig(fig)

    return cells.atomic(path, write)
