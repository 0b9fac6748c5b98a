"""Cartographic parts of the printed maps: haloed labels, the frame's extent, the scale bar (at the
map's scale, with 1:n), the north arrow. Drawn with matplotlib on a map's axes or its side panel."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrow, Rectangle


def label(ax: Any, x: float, y: float, text: str, halo: float, **style: Any) -> None:
    """Text with a white halo; the halo is a second, stroked copy, so the text itself stays text in a PDF."""
    style = {"ha": "center", "va": "center"} | style
    zorder = style.pop("zorder", 8)
    ax.text(x, y, text, **(style | {"color": "white"}), zorder=zorder - 0.5,
            path_effects=[patheffects.Stroke(linewidth=halo, foreground="white")])
    ax.text(x, y, text, **style, zorder=zorder)


def fit(fig: Figure, ax: Any, bounds: tuple[float, float, float, float]) -> None:
    """Widen the extent to the frame's proportions, so the map fills it at one scale both ways."""
    x0, y0, x1, y1 = bounds
    box = ax.get_position()
    w, h = fig.get_size_inches()
    frame = (box.width * w) / (box.height * h)
    cx, cy, dx, dy = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
    if dx / dy < frame:
        dx = dy * frame
    else:
        dy = dx / frame
    ax.set_xlim(cx - dx / 2, cx + dx / 2)
    ax.set_ylim(cy - dy / 2, cy + dy / 2)
    ax.set_aspect("equal", adjustable="box")


def nice_length(metres: float) -> float:
    """The longest 1, 2 or 5 × 10ⁿ metres not over ``metres`` (a scale bar's length).

    >>> nice_length(830), nice_length(1999), nice_length(37)
    (500.0, 1000.0, 20.0)
    """
    power = 10 ** np.floor(np.log10(max(metres, 1e-9)))
    return float(max(m * power for m in (1, 2, 5) if m * power <= metres))


def scale_bar(fig: Figure, ax: Any, panel: Any, x0: float, y0: float, big: bool) -> tuple[Any, tuple[Any, ...]]:
    """A two-segment scale bar at the map's scale, in the panel, in a box that holds it and its labels;
    with the scale on paper (1:n)."""
    width_in = ax.get_position().width * fig.get_size_inches()[0]
    metres_per_inch = (ax.get_xlim()[1] - ax.get_xlim()[0]) / width_in
    panel_in = panel.get_position().width * fig.get_size_inches()[0]
    room_in = min(panel_in * (0.9 if x0 == 0 else 0.34), 1.6)  # at most about 4 cm of paper
    length = nice_length(room_in * metres_per_inch)
    frac = length / metres_per_inch / panel_in  # the bar's length as a share of the panel's width
    height = 0.018 if x0 == 0 else 0.05
    size = 7 if big else 6
    parts: list[Any] = []
    for i, colour in enumerate(("#111111", "#ffffff")):
        parts.append(panel.add_patch(Rectangle((x0 + i * frac / 2, y0), frac / 2, height, transform=panel.transAxes,
                                               facecolor=colour, edgecolor="#111111", linewidth=0.6, zorder=3)))
    unit = "km" if length >= 1000 else "m"
    scale = 1000.0 if unit == "km" else 1.0
    for share, text in ((0.0, "0"), (0.5, f"{length / 2 / scale:g}"), (1.0, f"{length / scale:g} {unit}")):
        parts.append(panel.text(x0 + share * frac, y0 + height * 1.4, text, transform=panel.transAxes,
                                ha="center" if share < 1 else "left", va="bottom", fontsize=size, zorder=3))
    ratio = metres_per_inch / 0.0254
    parts.append(panel.text(x0, y0 - height * 0.6, f"1:{round_ratio(ratio):,}", transform=panel.transAxes,
                            ha="left", va="top", fontsize=size, zorder=3))
    box = panel.add_patch(Rectangle((0, 0), 1, 1, transform=panel.transAxes, facecolor="white", edgecolor="#666666",
                                    linewidth=0.5, zorder=2))
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()  # the labels' sizes, to fit the box round them
    inverse = panel.transAxes.inverted()
    boxes = [inverse.transform(p.get_window_extent(renderer)) for p in parts]
    lo = np.min([b[0] for b in boxes], axis=0)
    hi = np.max([b[1] for b in boxes], axis=0)
    pad_x, pad_y = 0.02, 0.012 if x0 == 0 else 0.03
    box.set_bounds(lo[0] - pad_x, lo[1] - pad_y, hi[0] - lo[0] + 2 * pad_x, hi[1] - lo[1] + 2 * pad_y)
    return box, tuple(parts)


def round_ratio(ratio: float) -> int:
    """A map scale to two significant figures (1:7,834 is printed 1:7,800)."""
    digits = max(int(np.floor(np.log10(max(ratio, 1.0)))) - 1, 0)
    return int(round(ratio / 10**digits) * 10**digits)


def north_arrow(panel: Any, text: str, x: float, y: float) -> None:
    """A north arrow with its letter in the panel (grid north: up on the metric CRS's map)."""
    # the map is drawn in the workspace's Gauss-Krüger/UTM metres: grid north is up, within a degree of true north
    panel.add_patch(FancyArrow(x, y, 0, 0.08, width=0.012, head_width=0.03, head_length=0.035,
                               length_includes_head=True, transform=panel.transAxes, color="#111111", zorder=21))
    label(panel, x, y - 0.01, text, 2.5, transform=panel.transAxes, va="top", fontsize=10, fontweight="bold",
           zorder=21)
