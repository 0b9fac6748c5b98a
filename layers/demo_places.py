"""The demo town's administrative and security layers (see :mod:`layers.demo`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point, box

from layers.demo_town import COMMUNITIES, EW_ROADS, NS_ROADS, PERIOD_END, TOWNSHIP, TOWNSHIP_CODE, Town

GRID_MIN, GRID_MAX = 300, 500
STRIP_MAX = 200  # households per packing unit: small enough that runs land inside the range
SCHOOLS = ["水集中学", "月湖小学"]
SPECIAL_NAMES = {"hospital": "莱西市中医医院", "market": "水集农贸市场", "station": "莱西汽车总站",
                 "square": "月湖广场", "park": "月湖公园", "industrial": "青岛鑫泰食品有限公司"}
MORE_NAMES = {"industrial": ["莱西宏达机械有限公司"]}  # a second block of the same kind gets its own name
BANKS = ["中国工商银行莱西支行", "中国农业银行水集分理处", "莱西农商银行营业部", "中国建设银行莱西支行"]
NIGHT_SPOTS = ["星空网吧", "蓝调酒吧", "夜色KTV", "极速网咖", "老友记烧烤", "红磨坊歌厅"]


def _cell_of(town: Town, x: float, y: float) -> tuple[int, int]:
    i = int(np.clip(np.searchsorted(town.xs, x) - 1, 0, len(town.xs) - 2))
    j = int(np.clip(np.searchsorted(town.ys, y) - 1, 0, len(town.ys) - 2))
    return i, j


def _households_by_strip(town: Town) -> dict[tuple[int, int], list[int]]:
    """Households per cell, split into west→east strips of about STRIP_MAX households."""
    per_building: dict[str, int] = {}
    for h in town.rows.get("households", []):
        per_building[h["building_id"]] = per_building.get(h["building_id"], 0) + 1
    where: list[tuple[int, int, float, int]] = []
    totals: dict[tuple[int, int], int] = {}
    for b in town.rows["buildings"]:
        c = b["geometry"].centroid
        i, j = _cell_of(town, c.x, c.y)
        frac = (c.x - town.xs[i]) / (town.xs[i + 1] - town.xs[i])  # 0 at the west edge
        n = per_building.get(b["id"], 0)
        where.append((i, j, frac, n))
        totals[(i, j)] = totals.get((i, j), 0) + n
    out = {cell: [0] * max(1, -(-total // STRIP_MAX)) for cell, total in totals.items()}
    for i, j, frac, n in where:
        strips = out[(i, j)]
        strips[min(int(frac * len(strips)), len(strips) - 1)] += n
    return out


def communities_and_grids(town: Town) -> None:
    """The demo's communities and their grids, with households counted per grid."""
    nx, ny = len(town.xs) - 1, len(town.ys) - 1
    hh = _households_by_strip(town)
    for c, (suffix, name) in enumerate(COMMUNITIES):
        code = TOWNSHIP_CODE + suffix
        cells = [(i, j) for (i, j), cc in town.community.items() if cc == c]
        town.add("communities", code=code, name=name, township=TOWNSHIP, admin_code=TOWNSHIP_CODE,
                 geometry=shapely.union_all([town.cell(i, j) for i, j in cells]))
        # serpentine walk: north row first, west→east then east→west, so consecutive units touch
        runs: list[tuple[str, list[Any]]] = []
        current: list[Any] = []
        count = 0
        for row, j in enumerate(range(ny - 1, -1, -1)):
            cols = [i for i in range(nx) if (i, j) in cells]
            for i in (cols if row % 2 == 0 else cols[::-1]):
                kind = town.kinds[(i, j)]
                if kind in ("school", "hospital"):
                    if current:
                        runs.append(("basic", current))
                        current, count = [], 0
                    runs.append(("dedicated", [(i, j, kind)]))
                    continue
                strips = hh.get((i, j), [0])
                order = range(len(strips)) if row % 2 == 0 else range(len(strips) - 1, -1, -1)
                for k in order:  # strips in walking direction, so each touches the next
                    n = strips[k]
                    unit = (i, j, k, len(strips))
                    over, under = count + n - GRID_MAX, GRID_MIN - count
                    if current and over > 0 and over >= under:  # closing now misses the range by less
                        runs.append(("basic", current))
                        current, count = [], 0
                    current.append(unit)
                    count += n
        if current:
            if runs and runs[-1][0] == "basic" and count < GRID_MIN // 2:
                runs[-1][1].extend(current)  # a small remainder joins the grid it touches
            else:
                runs.append(("basic", current))
        _code_grids(town, code, name, runs)


def _unit_geom(town: Town, unit: tuple[Any, ...]) -> shapely.Polygon:
    """A cell, or strip k of n of it (strip 0 along the west edge); dedicated units are whole cells."""
    i, j = unit[0], unit[1]
    x0, x1, y0, y1 = town.xs[i], town.xs[i + 1], town.ys[j], town.ys[j + 1]
    if isinstance(unit[2], str):
        return box(x0, y0, x1, y1)
    k, n = unit[2], unit[3]
    step = (x1 - x0) / n
    return box(x0 + k * step, y0, x0 + (k + 1) * step, y1)


def _code_grids(town: Town, community_code: str, community: str, runs: list[tuple[str, list[Any]]]) -> None:
    shapes = [(kind, units, shapely.union_all([_unit_geom(town, u) for u in units])) for kind, units in runs]
    # numbered north→south in 250 m bands, west→east within a band
    top = max(g.bounds[3] for _, _, g in shapes)
    shapes.sort(key=lambda s: (int((top - s[2].centroid.y) // 250), s[2].centroid.x))
    n_basic = 0
    for serial, (kind, units, geom) in enumerate(shapes, start=1):
        code = f"{community_code}{serial:03d}"
        if kind == "dedicated":
            what = units[0][2]
            place = SCHOOLS[0] if what == "school" and units[0][0] == 1 else (
                SCHOOLS[1] if what == "school" else SPECIAL_NAMES[what])
            name = f"{place}专属网格"
        else:
            n_basic += 1
            name = f"{community}第{n_basic}网格"
        town.add("grids", code=code, name=name, community_code=community_code,
                 kind="dedicated" if kind == "dedicated" else "basic", worker_id=f"WGY{code[-6:]}",
                 geometry=geom)


def targets(town: Town) -> None:
    """The demo's key targets: schools, hospitals, markets, stations, junctions, with their classes."""
    def add(name: str, category: str, cls: str, level: str, geom: Any, address: str | None = None,
            capture: str | None = None, approach_deg: float | None = None) -> None:
        town.add("targets", id=f"T{len(town.rows.get('targets', [])) + 1:04d}", name=name, category=category,
                 **{"class": cls}, required_level=level, address=address, geometry=geom, capture=capture,
                 approach_deg=approach_deg)

    schools = iter(SCHOOLS)
    seen: dict[str, int] = {}
    for (i, j), kind in sorted(town.kinds.items()):
        inner = town.interior(i, j, 14.0)
        x0, y0, x1, _ = inner.bounds
        gate = Point((x0 + x1) / 2, y0)
        street = EW_ROADS[j % len(EW_ROADS)]
        if kind == "school":
            name = next(schools)
            add(name, "school", "1", "recognise", inner, f"{street}{i * 10 + 1}号")
            first = not any(t.get("capture") == "face" for t in town.rows.get("targets", []))
            # the first school's gate asks for faces of the pupils leaving southwards (人脸抓拍)
            add(f"{name}南门", "entrance", "1", "identify", gate, capture="face" if first else None,
                approach_deg=180.0 if first else None)
        elif kind in SPECIAL_NAMES:
            seen_kind = seen.setdefault(kind, 0)
            seen[kind] += 1
            name = SPECIAL_NAMES[kind] if seen_kind == 0 else MORE_NAMES[kind][seen_kind - 1]
            category = {"industrial": "enterprise"}.get(kind, kind)
            cls = "2" if kind in ("park", "industrial") else "1"
            level = "observe" if kind in ("square", "park") else "recognise"
            add(name, category, cls, level, inner, f"{street}{i * 10 + 3}号")
            if kind not in ("square", "park"):
                add(f"{name}大门", "entrance", cls, "identify", gate)
    for k, comp in enumerate(town.rows.get("compounds", [])):
        i, j = comp["cell"]
        x0, y0, x1, _ = town.interior(i, j, 14.0).bounds
        # the first compound's gate reads the plates of the cars driving out southwards (出口车牌识别)
        add(f"{comp['name']}南门", "entrance", "2", "identify", Point((x0 + x1) / 2, y0),
            capture="plate" if k == 0 else None, approach_deg=180.0 if k == 0 else None)
    commercial = sorted(c for c, k in town.kinds.items() if k == "commercial")
    # shop rows stand 14 m from the street centre lines: entrances are on the facades, 1 m out
    for k, name in enumerate(BANKS):
        i, j = commercial[(k * 2) % len(commercial)]
        add(name, "bank", "1", "identify", Point(town.xs[i] + 40 + 20 * k, town.ys[j + 1] - 13))
    for k, name in enumerate(NIGHT_SPOTS):
        i, j = commercial[(k * 3 + 1) % len(commercial)]
        add(name, "shop", "3", "observe", Point(town.xs[i] + 70 + 9 * k, town.ys[j] + 13))
    sq = next(c for c, k in town.kinds.items() if k == "square")
    add("水集街道办事处", "government", "1", "recognise", Point(town.xs[sq[0]] + 30, town.ys[sq[1] + 1] - 20))
    add("水集派出所", "police", "1", "recognise", Point(town.xs[sq[0] + 1] - 30, town.ys[sq[1] + 1] - 20))
    for a, x in enumerate(town.xs):  # main intersections: where a primary road meets another road
        for b, y in enumerate(town.ys):
            classes = {_road_class(town, "ns", a), _road_class(town, "ew", b)}
            if "primary" in classes and "tertiary" not in classes:
                add(f"{NS_ROADS[a % len(NS_ROADS)]}与{EW_ROADS[b % len(EW_ROADS)]}路口", "intersection",
                    "1", "recognise", Point(x, y))


def _road_class(town: Town, axis: str, k: int) -> str:
    n = len(town.xs) if axis == "ns" else len(town.ys)
    return "primary" if k in (0, n // 2, n - 1) else ("secondary" if k % 2 else "tertiary")


def incidents(town: Town) -> None:
    """Two years of demo incidents, clustered around markets, stations and streets by category."""
    rng = town.rng
    spots: list[tuple[float, float, float, list[str], int]] = []  # x, y, sigma, categories, count
    for t in town.rows["targets"]:
        c = t["geometry"].centroid
        if t["category"] == "market" or (t["category"] == "station" and t["geometry"].geom_type != "Point"):
            spots.append((c.x, c.y, 70.0, ["theft", "theft", "fraud", "dispute"], 70))
        elif t["category"] == "shop":
            spots.append((c.x, c.y, 35.0, ["public_order", "public_order", "assault", "drugs"], 14))
    for (i, j), kind in sorted(town.kinds.items()):
        if kind == "village":
            c = town.cell(i, j).centroid
            spots.append((c.x, c.y, 110.0, ["dispute", "dispute", "theft", "public_order", "public_order", "fire"], 35))
    w, h = town.xs[-1], town.ys[-1]
    points: list[tuple[float, float, str]] = []
    for x, y, sigma, cats, count in spots:
        for _ in range(count):
            points.append((float(np.clip(rng.normal(x, sigma), 1, w - 1)),
                           float(np.clip(rng.normal(y, sigma), 1, h - 1)), str(rng.choice(cats))))
    for _ in range(120):  # background across the town
        points.append((float(rng.uniform(0, w)), float(rng.uniform(0, h)),
                       str(rng.choice(["theft", "traffic", "dispute", "fraud", "other"]))))
    start = PERIOD_END - dt.timedelta(days=365)
    for k, (x, y, cat) in enumerate(points, start=1):
        hour = int(rng.choice(24, p=_HOURS))
        when = start + dt.timedelta(days=int(rng.integers(0, 365)), hours=hour, minutes=int(rng.integers(0, 60)))
        serious = rng.random() < (0.4 if cat in ("robbery", "assault", "drugs") else 0.01)
        town.add("incidents", id=f"JQ{when:%Y%m}{k:05d}", time=when, category=cat,
                 severity="serious" if serious else "minor", geometry=Point(x, y))


_HOURS = np.array([2, 1, 1, 1, 1, 1, 2, 3, 4, 4, 4, 4, 5, 4, 4, 4, 5, 6, 7, 8, 8, 7, 5, 3], dtype=float)
_HOURS /= _HOURS.sum()
_INDUSTRY = {"1": "00", "2": "02", "3": "01"}  # GB/T 28181 industry: road / internal / community


#: the junctions whose corner pole also carries a PTZ camera on a tour of presets
TOURED_JUNCTIONS = ("烟台路与扬州路路口", "北京路与重庆路路口")


def cameras(town: Town) -> None:
    """The demo's cameras, with GB/T 28181-style codes, on streets, junctions and key targets."""
    rng = town.rng
    serial = [0]

    def add(x: float, y: float, heading: float, kind: str, cls: str, name: str, height: float) -> None:
        serial[0] += 1
        code = f"{TOWNSHIP_CODE[:6]}00{_INDUSTRY[cls]}132{serial[0]:07d}"
        r = rng.random()
        status = "active" if r < 0.85 else ("faulty" if r < 0.95 else "planned")
        res = int(rng.choice([1920, 1920, 2560, 3840]))
        optics: dict[str, Any] = {"hfov_deg": {"dome": 100.0, "ptz": 58.0, "fisheye": 360.0}.get(kind)}
        if kind == "bullet":
            optics = {"focal_mm": float(rng.choice([4.0, 6.0, 8.0])), "sensor": '1/2.8"'}
        town.add("cameras", id=code, name=name, kind=kind, heading_deg=round(heading % 360, 1),
                 resolution_px=res, resolution_v_px=res * 9 // 16, height_m=height,
                 tilt_deg=float(rng.choice([10.0, 15.0, 20.0])) if kind != "fisheye" else 90.0,
                 status=status, point_class=cls, address=name, geometry=Point(x, y), **optics)

    for t in town.rows["targets"]:
        g = t["geometry"]
        if t["category"] == "intersection":
            both_primary = t["name"].count("路") >= 2 and rng.random() < 0.5
            dx, dy, facing = _corner(town, g)
            for heading in ((0.0, 90.0, 180.0, 270.0) if both_primary else (facing, facing + 180.0)):
                add(g.x + dx, g.y + dy, heading, "ptz" if both_primary else "bullet", "1", t["name"], 7.0)
        elif t["category"] == "bank":  # across the pavement, looking back at the door
            add(g.x + 4, g.y + 5, 200.0, "dome", "2", f"{t['name']}门口", 3.5)
        elif t["category"] == "entrance" and t["class"] == "1":
            add(g.x + 5, g.y - 8, 0.0, "bullet", "1", t["name"], 5.0)
        elif t["category"] == "entrance" and rng.random() < 0.55:
            add(g.x - 4, g.y - 6, 20.0, "bullet", "3", t["name"], 4.0)
        elif t["category"] == "square":
            c = g.centroid
            add(c.x, c.y, 0.0, "fisheye", "1", t["name"], 8.0)
    village = sorted(c for c, k in town.kinds.items() if k == "village")
    for i, j in village[:2]:  # the urban village is the known gap: two cameras on its edge
        add(town.xs[i] + 8, town.ys[j] + 8, 45.0, "bullet", "3", "望城村村口", 4.5)
    for t in town.rows["targets"]:  # a face camera and an LPR camera where the targets ask for them
        g = t["geometry"]
        if t.get("capture") == "face":  # 3 m up across the pavement, 7 m from the gate, looking back at it
            _capture_camera(town, serial, g.x, g.y - 7.0, 0.0, f"{t['name']}人脸抓拍", 3.0, 8.0, 2560, 8.0)
        elif t.get("capture") == "plate":  # 2 m up across the pavement, facing the cars coming out
            _capture_camera(town, serial, g.x + 1.0, g.y - 7.0, 0.0, f"{t['name']}车牌识别", 2.0, 6.0, 1920, 10.0)
    for t in town.rows["targets"]:  # two PTZ cameras on a tour (预置位巡航): the junction a fifth of the time
        if t["name"] in TOURED_JUNCTIONS:  # on the corner pole, above its bullets; the rest on the roads out
            g = t["geometry"]
            dx, dy, facing = _corner(town, g)
            tour = "; ".join(f"{(facing + pan) % 360:.0f}/{tilt}/{hfov}/{dwell}" for pan, tilt, hfov, dwell in (
                (0, 30, 58, 20), (90, 10, 30, 40), (270, 10, 30, 40)))
            serial[0] += 1
            town.add("cameras", id=f"{TOWNSHIP_CODE[:6]}00{_INDUSTRY['1']}132{serial[0]:07d}", name=f"{t['name']}球机",
                     kind="ptz", model="DS-2DE4425IW-DE", height_m=8.0, status="active", point_class="1",
                     address=t["name"], geometry=Point(g.x + dx, g.y + dy), presets=tour)  # 4 MP, 25×, 100 m IR


def _corner(town: Town, g: Point) -> tuple[float, float, float]:
    """The corner pole of a junction that stands inside the town (edge junctions have only that side):
    its offset (m) and the compass bearing from it to the junction."""
    dx = 6.0 if g.x < town.xs[-1] / 2 else -6.0
    dy = 6.0 if g.y < town.ys[-1] / 2 else -6.0
    return dx, dy, float(np.degrees(np.arctan2(-dx, -dy)) % 360)


def _capture_camera(town: Town, serial: list[int], x: float, y: float, heading: float, name: str, height: float,
                    focal: float, res: int, tilt: float) -> None:
    serial[0] += 1
    town.add("cameras", id=f"{TOWNSHIP_CODE[:6]}00{_INDUSTRY['1']}132{serial[0]:07d}", name=name, kind="bullet",
             heading_deg=heading, resolution_px=res, resolution_v_px=res * 9 // 16, height_m=height, tilt_deg=tilt,
             status="active", point_class="1", address=name, geometry=Point(x, y), focal_mm=focal, sensor='1/2.8"')


def sites(town: Town) -> None:
    """Candidate sites for new cameras: poles at junctions and along streets, wall mounts."""
    def add(x: float, y: float, kind: str, name: str) -> None:
        height, cost = (6.0, 12000.0) if kind == "pole" else (4.0, 4000.0)
        town.add("sites", id=f"S{len(town.rows.get('sites', [])) + 1:04d}", kind=kind, height_m=height,
                 cost=cost, name=name, geometry=Point(x, y))

    for a, x in enumerate(town.xs):
        for b, y in enumerate(town.ys):
            add(x - 7, y - 7, "pole", f"{NS_ROADS[a % len(NS_ROADS)]}与{EW_ROADS[b % len(EW_ROADS)]}路口")
    for a, x in enumerate(town.xs):
        for k, y in enumerate(np.arange(25.0, town.ys[-1], 50.0)):
            add(x + (8 if k % 2 else -8), float(y), "pole", f"{NS_ROADS[a % len(NS_ROADS)]}沿线")
    for b, y in enumerate(town.ys):
        for k, x in enumerate(np.arange(25.0, town.xs[-1], 50.0)):
            add(float(x), y + (8 if k % 2 else -8), "pole", f"{EW_ROADS[b % len(EW_ROADS)]}沿线")
    for t in town.rows["targets"]:
        if t["geometry"].geom_type == "Polygon":
            x0, y0, x1, y1 = t["geometry"].bounds
            for x, y in ((x0, y0), (x1, y0), (x0, y1), (x1, y1)):
                add(x, y, "wall", f"{t['name']}外墙")


def stations(town: Town) -> None:
    """The police station (派出所) and two community police posts (警务室) that patrols start from."""
    police = next(t for t in town.rows["targets"] if t["category"] == "police")
    town.add("stations", id="370285001P01", name="水集派出所", kind="station", address="水集派出所",
             geometry=police["geometry"])
    village = sorted(c for c, k in town.kinds.items() if k == "village")
    i, j = village[len(village) // 2]
    town.add("stations", id="370285001P02", name="望城村警务室", kind="post", address="望城村",
             geometry=Point(town.xs[i] + 6, town.ys[j] + 6))
    far = max(town.kinds, key=lambda c: (c[0] - village[0][0]) ** 2 + (c[1] - village[0][1]) ** 2)
    town.add("stations", id="370285001P03", name="东城社区警务室", kind="post", address="东城社区",
             geometry=Point(town.xs[far[0]] + 6, town.ys[far[1]] + 6))
