"""A printed map's parts never cover the map: the legend, north arrow, scale bar and CRS note sit in
a panel beside the framed map; the scale bar's box holds the bar and its labels, and the bar is
as long as it says at the map's scale."""

import matplotlib
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from api import access
from api.exports import cartography, printed
from api.exports.fonts import cjk_family
from api.exports.source import Source
from layers import store


@pytest.fixture(scope="module")
def source(analysed_path):
    ws = store.open_workspace(analysed_path)
    user = access.User("planner", access.ROLES["planner"], access.Area(), "测试用户")
    return Source(ws, access.Scope.of(ws, user), "zh")


@pytest.mark.parametrize("kind", printed.KINDS)
@pytest.mark.parametrize(("paper", "orientation"), [("A4", "landscape"), ("A4", "portrait"), ("A3", "landscape")])
def test_nothing_covers_the_map_and_the_scale_bar_is_true(source, kind, paper, orientation):
    fig = Figure(figsize=printed.paper_inches(paper, orientation))
    renderer = FigureCanvasAgg(fig).get_renderer()
    with matplotlib.rc_context({"font.family": [cjk_family(), "DejaVu Sans"]}):
        layout = printed.draw(fig, source, kind, printed.map_layers(source, kind), "标题", paper)
        the_map = layout.map.get_window_extent(renderer)
        legend = layout.legend.get_window_extent(renderer)
        box = layout.scale_box.get_window_extent(renderer)
        note = layout.crs_note.get_window_extent(renderer)
        page = fig.bbox
        for part, name in ((legend, "legend"), (box, "scale bar"), (note, "CRS note")):
            assert not part.overlaps(the_map), name
            assert page.x0 <= part.x0 and part.x1 <= page.x1 and page.y0 <= part.y0 and part.y1 <= page.y1, name
        assert not legend.overlaps(box) and not box.overlaps(note)
        for piece in layout.scale_parts:
            inner = piece.get_window_extent(renderer)
            assert box.x0 <= inner.x0 and inner.x1 <= box.x1 and box.y0 <= inner.y0 and inner.y1 <= box.y1
        assert f"EPSG:{source.store.metric_crs().to_epsg()}" in layout.crs_note.get_text()
    # the two segments together, in metres at the map's scale, are the length the label gives
    bar = [p for p in layout.scale_parts if hasattr(p, "get_width")]
    width_px = sum(p.get_window_extent(renderer).width for p in bar) - 0.6 / 72 * fig.dpi  # less the edge
    metres_per_px = (layout.map.get_xlim()[1] - layout.map.get_xlim()[0]) / the_map.width
    label = next(t for p in layout.scale_parts if (t := getattr(p, "get_text", str)()).endswith(("m", "km")))
    value, unit = label.split()
    assert width_px * metres_per_px == pytest.approx(float(value) * (1000 if unit == "km" else 1), rel=0.02)


@pytest.mark.parametrize(("metres", "nice"), [(830, 500), (1999, 1000), (37, 20), (5000, 5000), (0.7, 0.5)])
def test_nice_length(metres, nice):
    assert cartography.nice_length(metres) == nice
