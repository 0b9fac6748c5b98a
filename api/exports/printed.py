"""Printed maps (PNG at 300 dpi, PDF; A4/A3, portrait/landscape) drawn with matplotlib.

Three maps: the risk-level map (grids filled 红/黄/绿, community boundaries and names), the
组格/片格 map (one grid or an area with its 组格 numbered, households and 责任人, 片格 and buildings) and
the coverage map (share of each grid's public space seen, blind spots, cameras by status).
Each carries a title, the administrative area, a legend with counts, a scale bar, a north
arrow, the data date, a source line and who exported it when. Chinese text is drawn with
a CJK font (:mod:`api.exports.fonts`); a missing glyph is an error, never a box.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from api.exports import cells
from api.exports.cartography import fit, label, north_arrow, scale_bar
from api.exports.fonts import cjk_family, glyph_guard
from api.exports.source import Source
from api.i18n import t, texts
from api.maps.displays import COVERAGE_BREAKS, COVERAGE_COLOURS, LEVEL_COLOURS, STATUS_COLOURS

PAPER_MM = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
KINDS = ("risk", "coverage", "subgrids")
#: the most 组格 labelled on a 组格/片格 map and listed in its legend (a grid or a community has far fewer)
GROUP_LABELS = 80
GROUP_LEGEND = 16
GROUP_FILLS = ("#fbb4ae", "#b3cde3", "#ccebc5", "#decbe4", "#fed9a6", "#ffffcc", "#e5d8bd", "#fddaec")
UNGRADED = "#bdbdbd"
_RENDER = threading.Lock()  # matplotlib's rcParams are process-wide


def paper_inches(paper: str, orientation: str) -> tuple[float, float]:
    if paper not in PAPER_MM:
        raise ValueError(f"unknown paper '{paper}': use {' or '.join(PAPER_MM)}")
    if orientation not in ("portrait", "landscape"):
        raise ValueError(f"unknown orientation '{orientation}': use portrait or landscape")
    w, h = PAPER_MM[paper]
    if orientation == "landscape":
        w, h = h, w
    return w / 25.4, h / 25.4


def print_map(source: Source, path: str | Path, *, kind: str = "risk", paper: str = "A4",
              orientation: str = "landscape", fmt: str | None = None, dpi: int = 300, title: str | None = None,
              progress: Callable[[str], None] | None = None) -> Path:
    """Draw the ``kind`` map of the user's area and write it as PNG or PDF (from ``fmt`` or the suffix)."""
    step = progress or (lambda _name: None)
    source.require_export()
    if kind not in KINDS:
        raise ValueError(f"unknown map '{kind}': use {' or '.join(KINDS)}")
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".") or "png").lower()
    if fmt not in ("png", "pdf"):
        raise ValueError(f"printed maps are PNG or PDF, not '{fmt}'")
    size = paper_inches(paper, orientation)
    if fmt == "png":  # whole pixels: A4 at 300 dpi is 3508 × 2480, as printers expect
        size = (round(size[0] * dpi) + 0.01) / dpi, (round(size[1] * dpi) + 0.01) / dpi
    family = cjk_family()
    step("reading layers")
    layers = map_layers(source, kind)
    tx = texts(source.lang, "print")
    heading = title or f"{source.workspace_name()} {tx[kind]}".strip()
    step("drawing")
    with _RENDER, matplotlib.rc_context({"font.family": [family, "DejaVu Sans"], "pdf.fonttype": 42,
                                        "axes.unicode_minus": False, "hatch.linewidth": 0.6}):
        fig = Figure(figsize=size)
        with glyph_guard():
            draw(fig, source, kind, layers, heading, paper)
        step("writing")
        meta: dict[str, Any] = {"Title": heading, "Author": source.who, "Creator": "Pingan Planner"}
        if fmt == "png":
            meta = {"Title": heading, "Author": source.who, "Software": "Pingan Planner",
                    "Creation Time": source.when}

        def write(tmp: Path) -> None:
            with glyph_guard():  # glyphs are looked up while rendering: a box found here leaves no file
                fig.savefig(tmp, format=fmt, dpi=dpi, metadata=meta)

        out = cells.atomic(path.with_suffix(f".{fmt}") if path.suffix.lower() != f".{fmt}" else path, write)
    source.audit(f"map:{kind}", {"format": fmt, "paper": paper, "orientation": orientation, "file": out.name})
    return out


def map_layers(source: Source, kind: str) -> dict[str, gpd.GeoDataFrame]:
    """The layers the ``kind`` map draws, the user's rows of each, in the workspace's metric CRS."""
    metric = source.store.metric_crs()
    wanted = ["grids", "communities", "roads"] + {"risk": ["risk"], "subgrids": ["subgrids", "buildings"]}.get(
        kind, ["coverage_grids", "blind_spots", "cameras"])
    if not source.may_read("grids"):
        raise ValueError("the map needs the grids layer: import or plan grids first")
    out = {}
    for layer in wanted:
        if source.may_read(layer):
            frame = source.read(layer)
            if isinstance(frame, gpd.GeoDataFrame) and len(frame):
                out[layer] = frame.to_crs(metric)
    if kind == "risk" and "risk" not in out:
        raise ValueError("no risk levels yet: run `pingan risk` (or the risk page) before printing the risk map")
    if kind == "subgrids" and "subgrids" not in out:
        raise ValueError("no 组格/片格 yet: run `pingan grids plan WS --subgrids` before printing their map")
    if kind == "coverage" and "coverage_grids" not in out:
        raise ValueError("no coverage yet: run `pingan coverage` before printing the coverage map")
    return out


def _mm(fig: Figure, mm: float, axis: str) -> float:
    w, h = fig.get_size_inches()
    return mm / 25.4 / (w if axis == "x" else h)


@dataclass(frozen=True)
class Layout:
    """Where a printed map put its parts: the map frame, and beside it (never on it) the panel with
    the legend, the north arrow, the scale bar in its box and the CRS note."""

    map: Any
    panel: Any
    legend: Any
    scale_box: Any
    scale_parts: tuple[Any, ...]
    crs_note: Any


def draw(fig: Figure, source: Source, kind: str, layers: dict[str, gpd.GeoDataFrame], heading: str,
         paper: str) -> Layout:
    """Draw the ``kind`` map of ``layers`` (in the workspace's metric CRS) on ``fig``: the map in a
    framed box, and the legend, north arrow, scale bar and CRS note in a panel beside it (right of
    a landscape map, below a portrait one), so none of them covers a grid."""
    lang = source.lang
    tx = texts(lang, "print")
    big = paper == "A3"
    margin_x, margin_y = _mm(fig, 10, "x"), _mm(fig, 10, "y")
    top, bottom = _mm(fig, 22, "y"), _mm(fig, 16, "y")
    width, height = fig.get_size_inches()
    if width >= height:  # landscape: the panel on the right
        side = _mm(fig, 58 if big else 52, "x")
        ax = fig.add_axes((margin_x, bottom, 1 - 2 * margin_x - side, 1 - top - bottom))
        panel = fig.add_axes((1 - margin_x - side + _mm(fig, 4, "x"), bottom, side - _mm(fig, 4, "x"),
                              1 - top - bottom))
    else:  # portrait: the panel below
        below = _mm(fig, 52 if big else 46, "y")
        ax = fig.add_axes((margin_x, bottom + below, 1 - 2 * margin_x, 1 - top - bottom - below))
        panel = fig.add_axes((margin_x, bottom, 1 - 2 * margin_x, below - _mm(fig, 4, "y")))
    panel.set_axis_off()
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():  # the map frame (neatline)
        spine.set_linewidth(0.8)
        spine.set_color("#333333")
    fig.text(0.5, 1 - margin_y, heading, ha="center", va="top", fontsize=22 if big else 16, fontweight="bold")
    fig.text(0.5, 1 - margin_y - _mm(fig, 9, "y"), f"{tx['area']}：{source.area_text()}" if lang == "zh"
             else f"{tx['area']}: {source.area_text()}", ha="center", va="top", fontsize=11 if big else 9)

    grids = layers["grids"]
    xmin, ymin, xmax, ymax = grids.total_bounds
    pad = 0.03 * max(xmax - xmin, ymax - ymin, 100.0)
    handles: list[Any] = []
    if "roads" in layers:
        layers["roads"].plot(ax=ax, color="#ffffff", linewidth=0.8 if big else 0.6, alpha=0.8, zorder=4)
    if kind == "risk":
        handles += _risk(ax, layers["risk"], lang)
    elif kind == "subgrids":
        handles += _subgrids(ax, source, layers, big)
    else:
        handles += _coverage(ax, grids, layers, lang)
    if "communities" in layers:
        comms = layers["communities"]
        comms.boundary.plot(ax=ax, color="#111111", linewidth=1.4 if big else 1.0, zorder=6)
        for point, name in zip(comms.geometry.representative_point(), comms["name"].astype(str), strict=True):
            label(ax, point.x, point.y, name, 2.5, fontsize=12 if big else 9, fontweight="bold", zorder=9)
        handles.append(Line2D([], [], color="#111111", linewidth=1.2, label=tx["community"]))
    fit(fig, ax, (xmin - pad, ymin - pad, xmax + pad, ymax + pad))
    ax.set_xlabel("")  # the CRS is named in the panel, not as axis titles
    ax.set_ylabel("")
    landscape = width >= height
    legend = panel.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, 1), title=tx["legend"],
                          fontsize=8 if big else 7, title_fontsize=9 if big else 8, frameon=False,
                          ncol=1 if landscape else 2, alignment="left", borderaxespad=0)
    # the north arrow, scale bar and CRS note: at the panel's foot (landscape) or right (portrait)
    x0 = 0.0 if landscape else 0.62
    north_arrow(panel, tx["north"], x0 + 0.06, 0.30 if landscape else 0.62)
    box, parts = scale_bar(fig, ax, panel, x0, 0.10 if landscape else 0.30, big)
    note = panel.text(x0, 0.0, _crs_note(source, tx), transform=panel.transAxes, ha="left", va="bottom",
                      fontsize=6.5 if big else 6, color="#333333", wrap=True)
    _footer(fig, source, kind, layers, margin_x, margin_y)
    return Layout(ax, panel, legend, box, parts, note)


def _risk(ax: Any, risk: gpd.GeoDataFrame, lang: str) -> list[Any]:
    tx = texts(lang, "print")
    level = risk["level"].where(risk["level"].isin(list(LEVEL_COLOURS)), None)
    colours = level.map(LEVEL_COLOURS).fillna(UNGRADED)
    risk.plot(ax=ax, color=colours.to_numpy(), edgecolor="#555555", linewidth=0.3, alpha=0.85, zorder=3)
    if len(risk) <= 400:
        for point, code in zip(risk.geometry.representative_point(), risk["code"].astype(str), strict=True):
            label(ax, point.x, point.y, code[-3:], 1.5, fontsize=4.5, color="#333333", zorder=7)
    unit = tx["unit"]
    handles = [Patch(facecolor=LEVEL_COLOURS[k], edgecolor="#555555", alpha=0.85,
                     label=f"{tx[k]}  {int((level == k).sum())} {unit}".rstrip()) for k in ("red", "yellow", "green")]
    if level.isna().any():
        handles.append(Patch(facecolor=UNGRADED, edgecolor="#555555",
                             label=f"{tx['ungraded']}  {int(level.isna().sum())} {unit}".rstrip()))
    return handles


def _subgrids(ax: Any, source: Source, layers: dict[str, gpd.GeoDataFrame], big: bool) -> list[Any]:
    """Grids with their 组格 (filled, numbered, with households and 责任人 as the report tables give them,
    1–4 as "<5") and 片格 (dashed), buildings beneath."""
    from api.exports.tables import level_table

    tx = texts(source.lang, "print")
    subs = layers["subgrids"]
    groups = subs[subs["level"] == "group"].sort_values("code")
    patches = subs[subs["level"] == "patch"]
    rank = groups.groupby("grid_code").cumcount().to_numpy()
    groups.plot(ax=ax, color=[GROUP_FILLS[i % len(GROUP_FILLS)] for i in rank], edgecolor="#4a148c",
                linewidth=0.9 if big else 0.7, zorder=3)
    if "buildings" in layers:
        layers["buildings"].plot(ax=ax, color="#8c8c8c", linewidth=0, alpha=0.75, zorder=3.5)
    patches.boundary.plot(ax=ax, color="#4a148c", linewidth=0.4, linestyle=(0, (3, 2)), zorder=4.5)
    layers["grids"].boundary.plot(ax=ax, color="#111111", linewidth=1.6 if big else 1.2, zorder=5)
    figures = level_table(source, "groups")[0].set_index("subgrid_code") if len(groups) else pd.DataFrame()
    unit = tx["households_unit"]

    def text(code: str, worker: bool) -> str:
        row = figures.loc[code] if code in figures.index else None
        n = "" if row is None or "households" not in row else f" · {row['households']}{unit}"
        who = row.get("worker_id") if row is not None else None
        return code[-2:] + n + (f" · {who}" if worker and isinstance(who, str) and who else "")

    if len(groups) <= GROUP_LABELS:
        for point, code in zip(groups.geometry.representative_point(), groups["code"].astype(str), strict=True):
            label(ax, point.x, point.y, text(code, False).replace(" · ", "\n", 1), 1.8,
                  fontsize=(11 if big else 9) if len(groups) <= GROUP_LEGEND else (6.5 if big else 5.5),
                  color="#2d004b", zorder=7)
    handles: list[Any] = [Line2D([], [], color="#111111", linewidth=1.2, label=tx["grid"]),
                          Patch(facecolor=GROUP_FILLS[0], edgecolor="#4a148c", label=tx["group"])]
    if len(groups) <= GROUP_LEGEND:
        handles += [Patch(facecolor=GROUP_FILLS[i % len(GROUP_FILLS)], edgecolor="#4a148c",
                          label=f"{code[-2:]} {name} {text(code, True)[2:].lstrip()}".strip())
                    for i, code, name in zip(rank, groups["code"].astype(str), groups["name"].fillna(""), strict=True)]
    else:
        handles.append(Patch(facecolor="none", edgecolor="none",
                             label=tx["too_many_groups"].replace("{n}", str(len(groups)))))
    handles += [Line2D([], [], color="#4a148c", linewidth=0.6, linestyle=(0, (3, 2)),
                       label=f"{tx['patch']}  {len(patches)} {tx['unit']}".rstrip()),
                Patch(facecolor="#8c8c8c", alpha=0.75, edgecolor="none", label=tx["buildings"])]
    return handles


def _coverage(ax: Any, grids: gpd.GeoDataFrame, layers: dict[str, gpd.GeoDataFrame], lang: str) -> list[Any]:
    tx = texts(lang, "print")
    cov = layers["coverage_grids"].set_index("code")["share_detect"]
    share = grids["code"].map(cov).fillna(0.0).clip(0, 1).to_numpy()
    cls = np.clip(np.searchsorted(COVERAGE_BREAKS, share, side="right") - 1, 0, len(COVERAGE_COLOURS) - 1)
    grids.plot(ax=ax, color=[COVERAGE_COLOURS[c] for c in cls], edgecolor="#777777", linewidth=0.3, zorder=3)
    handles: list[Any] = [Patch(facecolor="none", edgecolor="none", label=tx["coverage_class"])]
    for i, colour in enumerate(COVERAGE_COLOURS):
        lo, hi = COVERAGE_BREAKS[i], COVERAGE_BREAKS[i + 1]
        handles.append(Patch(facecolor=colour, edgecolor="#777777",
                             label=f"{lo:.0%}–{hi:.0%}  {int((cls == i).sum())} {tx['unit']}".rstrip()))
    if "blind_spots" in layers:
        spots = layers["blind_spots"]
        spots.plot(ax=ax, color="#e34a33", alpha=0.22, linewidth=0, zorder=4)
        handles.append(Patch(facecolor="#e34a33", alpha=0.22, edgecolor="none",
                             label=f"{tx['spots_all']}  {len(spots)} {tx['spot_unit']}".rstrip()))
        rank = pd.to_numeric(spots["rank"], errors="coerce") if "rank" in spots else pd.Series(np.nan, spots.index)
        top = spots[rank <= 10]
        if len(top):
            top.plot(ax=ax, facecolor="none", edgecolor="#b2182b", hatch="////", linewidth=0.9, zorder=5)
            for point, r in zip(top.geometry.representative_point(), rank[rank <= 10], strict=True):
                label(ax, point.x, point.y, str(int(r)), 1.8, fontsize=7, color="#b2182b", fontweight="bold",
                       zorder=8)
            handles.append(Patch(facecolor="none", edgecolor="#b2182b", hatch="////",
                                 label=f"{tx['spots']}  {len(top)} {tx['spot_unit']}".rstrip()))
    if "cameras" in layers:
        cams = layers["cameras"]
        status = cams["status"].fillna("active") if "status" in cams else pd.Series("active", index=cams.index)
        for name, colour in STATUS_COLOURS.items():
            mine = cams[status == name]
            if len(mine):
                ax.scatter(mine.geometry.x, mine.geometry.y, s=7, color=colour, edgecolors="white",
                           linewidths=0.3, zorder=10)
                handles.append(Line2D([], [], marker="o", linestyle="none", markersize=4, color=colour,
                                      label=f"{tx['cameras']}·{t(lang, name)}  {len(mine)}"))
    return handles


def _crs_note(source: Source, tx: dict[str, str]) -> str:
    """What the map is drawn in: the workspace's metric CRS by name and EPSG code."""
    crs = source.store.metric_crs()
    code = f"EPSG:{crs.to_epsg()}" if crs.to_epsg() else crs.name
    if source.lang == "zh":
        return f"{tx['crs']}：{crs.name}（{code}）"
    return f"{tx['crs']}: {crs.name} ({code})"


def _footer(fig: Figure, source: Source, kind: str, layers: dict[str, gpd.GeoDataFrame], margin_x: float,
            margin_y: float) -> None:
    tx = texts(source.lang, "print")
    zh = source.lang == "zh"
    colon = "：" if zh else ": "
    names = list(layers) + (["cameras"] if kind == "coverage" else [])
    parts = [f"{tx['data_date']}{colon}{source.data_date(names) or '—'}"]
    if kind == "risk" and "period" in layers.get("risk", pd.DataFrame()):
        periods = layers["risk"]["period"].dropna().astype(str)
        if len(periods):
            parts.append(f"{tx['period']}{colon}{periods.iloc[0]}")
    store_name = source.store_name()
    parts.append(f"{tx['source']}{colon}{tx['source_line']} {source.workspace_name()}（{store_name}）" if zh else
                 f"{tx['source']}{colon}{tx['source_line']} {source.workspace_name()} ({store_name})")
    fig.text(margin_x, margin_y, "    ".join(parts), ha="left", va="bottom", fontsize=7, color="#333333")
    fig.text(1 - margin_x, margin_y, f"{tx['exported']}{colon}{source.who}  {source.when}", ha="right",
             va="bottom", fontsize=7, color="#333333")
