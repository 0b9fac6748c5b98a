"""The demo town's fixed facts (place, roads, communities) and the town being built, shared by
:mod:`layers.demo` (streets and buildings) and :mod:`layers.demo_places` (communities, grids,
targets, incidents, cameras, sites)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import box

ORIGIN_LONLAT = (120.505, 36.878)  # south-west corner of the demo town, in Laixi's centre
METRIC_EPSG = 4549  # CGCS2000 / 3-degree Gauss-Kruger CM 120E
PLACE = "山东省青岛市莱西市水集街道"
COUNTY_CODE, TOWNSHIP_CODE, TOWNSHIP = "370285", "370285001", "水集街道"
PERIOD_END = dt.datetime(2026, 10, 31, 23, 59)  # fixed so that the demo is reproducible
NS_ROADS = ["威海路", "烟台路", "文化路", "北京路", "上海路", "青岛路", "长岛路", "石岛路", "黄海路", "龙口路"]
EW_ROADS = ["重庆路", "泰山路", "杭州路", "深圳路", "广州路", "长春路", "济南路", "扬州路", "月湖路"]
COMMUNITIES = [  # code suffix, name, kind of place
    ("001", "月湖社区"), ("002", "水集社区"), ("003", "城北社区"), ("201", "望城村"),
]
COMPOUNDS = ["月湖花园", "锦绣华庭", "阳光小区", "金水湾", "御景苑", "和平小区", "幸福里", "水岸名居",
             "书香苑", "文化小区", "龙泉花园", "丽景苑", "华府家园", "康乐小区", "福泰小区", "青年公寓",
             "东方花园", "春晖苑", "长岛小区", "海泉湾"]


@dataclass
class Town:
    """The town as it is built: its street lines, each cell's kind and community, the rows of each layer."""

    rng: np.random.Generator
    xs: np.ndarray
    ys: np.ndarray
    kinds: dict[tuple[int, int], str] = field(default_factory=dict)
    community: dict[tuple[int, int], int] = field(default_factory=dict)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, layer: str, **row: Any) -> dict[str, Any]:
        """Append a row to ``layer`` and return it."""
        self.rows.setdefault(layer, []).append(row)
        return row

    def cell(self, i: int, j: int) -> shapely.Polygon:
        """The block between street lines ``i``, ``i + 1`` and ``j``, ``j + 1``."""
        return box(self.xs[i], self.ys[j], self.xs[i + 1], self.ys[j + 1])

    def interior(self, i: int, j: int, setback: float = 10.0) -> shapely.Polygon:
        """The block at ``i``, ``j`` set back ``setback`` metres from its streets."""
        return self.cell(i, j).buffer(-setback, join_style="mitre")
