"""Printable route cards (巡逻任务卡): one A4 page per patrol unit — the route on its streets with the
stops numbered, and the stop list with arrival times and dwell — as one PDF, in Chinese by default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import matplotlib
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from api.exports import cells
from api.exports.fonts import cjk_family, glyph_guard
from api.i18n import t


def _card(fig: Figure, route: pd.Series, stops: gpd.GeoDataFrame, roads: gpd.GeoDataFrame, lang: str) -> None:
    fig.suptitle(t(lang, "patrol.card_title", unit=route["unit"], slot=route["slot"]), fontsize=15, y=0.97)
    fig.text(0.5, 0.935, t(lang, "patrol.route_text", station=route["station"], stops=int(route["stops"]),
                          km=f"{float(route['km']):.2f}", start=route["start"], end=route["end"]),
             ha="center", fontsize=10)
    ax = fig.add_axes((0.08, 0.42, 0.84, 0.48))
    x0, y0, x1, y1 = route.geometry.bounds
    pad = max(x1 - x0, y1 - y0) * 0.08 + 30
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(y0 - pad, y1 + pad)
    roads.plot(ax=ax, color="#bbbbbb", linewidth=0.8)
    gpd.GeoSeries([route.geometry], crs=roads.crs).plot(ax=ax, color="#1f78b4", linewidth=2.5)
    for _, s in stops.iterrows():
        ax.plot(s.geometry.x, s.geometry.y, "o", color="#e31a1c", markersize=9)
        ax.annotate(str(int(s["order"])), (s.geometry.x, s.geometry.y), color="white", fontsize=6, ha="center",
                    va="center")
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    header = [t(lang, "patrol.col_order"), t(lang, "patrol.col_arrive"), t(lang, "patrol.col_street"),
              t(lang, "patrol.col_dwell_minutes")]
    rows = [[str(int(s["order"])), str(s["arrive"]), str(s["street"] or ""), f"{float(s['dwell_minutes']):.0f}"]
            for _, s in stops.iterrows()][:28]
    table_ax = fig.add_axes((0.08, 0.04, 0.84, 0.35))
    table_ax.axis("off")
    if rows:
        table = table_ax.table(cellText=rows, colLabels=header, loc="upper center", cellLoc="center")
        table.auto_set_font_size(False)
        table.set_fontsize(8)
        table.scale(1, 1.05)


def write_cards(routes: gpd.GeoDataFrame, stops: gpd.GeoDataFrame, roads: gpd.GeoDataFrame, path: Path, *,
                lang: str = "zh", meta: dict[str, Any] | None = None) -> Path:
    """One page per route (routes, stops and roads in one metric CRS) to ``path`` as PDF."""
    family = cjk_family()
    routes = routes.sort_values(["slot", "unit"])

    def write(tmp: Path) -> None:
        with matplotlib.rc_context({"font.family": [family, "DejaVu Sans"], "pdf.fonttype": 42}), glyph_guard(), \
                PdfPages(tmp, metadata={"Title": t(lang, "patrol.gpx_name"), "Creator": "Pingan Planner",
                                        **(meta or {})}) as pdf:
            for _, r in routes.iterrows():
                fig = Figure(figsize=(8.27, 11.69))
                mine = stops[(stops["unit"] == r["unit"]) & (stops["slot"] == r["slot"])].sort_values("order") if len(
                    stops) else stops
                _card(fig, r, mine, roads, lang)
                pdf.savefig(fig)

    return cells.atomic(path, write)
