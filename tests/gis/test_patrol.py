"""Patrol maths on known answers: slots, the street graph, routes, the bound, the exact MILP, zones."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gis.patrol import exact as exact_mod
from gis.patrol import routing, slots, zones
from gis.patrol.model import DEFAULT_MODEL, PatrolModel, PatrolModelError, Slot, parse_duration_h, parse_units
from gis.patrol.network import StreetGraph, watched_share

METRIC = "EPSG:4549"


def _square(side: float = 200.0) -> gpd.GeoDataFrame:
    pts = [(0, 0), (side, 0), (side, side), (0, side)]
    lines = [shapely.LineString([pts[k], pts[(k + 1) % 4]]) for k in range(4)]
    return gpd.GeoDataFrame({"class": ["residential"] * 4, "name": list("ABCD")}, geometry=lines, crs=METRIC)


def _units(n: int, shift_s: float, dwell_s: float = 600.0, kind: str = "foot") -> list[routing.Unit]:
    return [routing.Unit(f"{kind}-{k + 1}", kind, 0, shift_s, dwell_s) for k in range(n)]


def test_slots_parse_and_wrap_midnight():
    s = Slot.parse("22-06")
    assert s.hours == (22, 23, 0, 1, 2, 3, 4, 5) and s.week_hours == 56
    assert Slot.parse("weekend:18-24").weekdays == (5, 6) and Slot.parse("weekday:18-24").key == "weekday_18_24"
    for bad in ("18", "25-26", "6-6", "night:18-24"):
        with pytest.raises(PatrolModelError):
            Slot.parse(bad)
    assert parse_units("foot:4, car:2", PatrolModel.parse()) == {"foot": 4, "car": 2}
    assert parse_duration_h("90min") == 1.5 and parse_duration_h("4h") == 4.0
    with pytest.raises(PatrolModelError, match="unit kind 'horse'"):
        parse_units("horse:1", PatrolModel.parse())
    with pytest.raises(PatrolModelError, match="level1_ratio"):
        PatrolModel.parse(DEFAULT_MODEL.replace("level1_ratio = 1.5", "level1_ratio = 0.1"))


def test_slot_risk_is_score_times_intensity_and_explained():
    times = pd.Series(pd.to_datetime(["2026-11-02 19:00"] * 9 + ["2026-11-02 09:00"]))
    grid = pd.Series(["A"] * 10)
    table = slots.slot_risk(pd.Series([50.0, 20.0], index=["A", "B"]), grid, times,
                            [Slot.parse("18-24"), Slot.parse("00-18")], prior=0.0)
    a = table[(table["code"] == "A") & (table["slot"] == "18-24")].iloc[0]
    assert a["in_slot"] == 9 and a["share"] == pytest.approx(0.9)
    assert a["intensity"] == pytest.approx(0.9 / 0.25) and a["risk"] == pytest.approx(0.5 * 3.6)
    b = table[(table["code"] == "B") & (table["slot"] == "18-24")].iloc[0]  # no incidents: the workspace profile
    assert b["share"] == pytest.approx(0.0) or b["incidents"] == 0
    smoothed = slots.slot_risk(pd.Series([20.0], index=["B"]), pd.Series([], dtype=object),
                               pd.Series([], dtype="datetime64[ns]"), [Slot.parse("18-24")], prior=5.0)
    assert smoothed["intensity"].iloc[0] == pytest.approx(1.0)  # no incidents anywhere: as busy as any hour


def test_watched_share_is_the_length_inside_the_views():
    g = StreetGraph.of(_square())
    share = watched_share(g.stretches.geometry, [shapely.box(-10, -10, 50, 10)])
    bottom = int(np.argmin([shapely.centroid(x).y + shapely.centroid(x).x / 1e3 for x in g.stretches.geometry]))
    assert share.max() == pytest.approx(0.25)  # 50 of the bottom side's 200 m
    assert share.sum() == pytest.approx(0.25 + 10 / 200) and share[bottom] > 0


def test_a_four_node_square_is_patrolled_as_the_obvious_loop():
    g = StreetGraph.of(_square())
    assert len(g.stretches) == 4 and g.n_nodes == 4
    station = int(g.nearest_node(np.array([shapely.Point(0, 0)]))[0])
    speed = 3.6  # km/h = 1 m/s
    inst, _stops, preds, sources = g.instance(np.ones(4), station, _units(1, 4 * 600 + 800 + 1),
                                             {"foot": lambda _c: speed})
    plan = routing.solve(inst, seconds=1)
    route = plan.routes[0]
    assert sorted(route.stops) == [0, 1, 2, 3] and plan.objective == 4
    assert route.end_s == pytest.approx(4 * 600 + 800)  # once round the square, a dwell at each side
    assert plan.bound == pytest.approx(4) and plan.gap == 0
    nodes = [sources[0]]
    for a, b in zip([0, *(s + 1 for s in route.stops)], [*(s + 1 for s in route.stops), 0], strict=True):
        nodes += g.path(preds["foot"][a], sources[a], sources[b])[1:]
    line = shapely.LineString(np.vstack(g.path_line(nodes)))
    assert line.length == pytest.approx(800) and line.is_ring


def test_a_shift_too_short_gives_an_empty_route_with_the_reason():
    g = StreetGraph.of(_square())
    inst, *_ = g.instance(np.ones(4), 0, _units(2, 700.0), {"foot": lambda _c: 3.6})  # 100 m + 10 min + 100 m > 700 s
    plan = routing.solve(inst, seconds=1)
    assert all(not r.stops for r in plan.routes) and plan.objective == 0 and plan.bound == 0
    assert plan.reasons == [("unreachable", "")]


def test_no_prize_means_no_route_and_says_so():
    g = StreetGraph.of(_square())
    inst, *_ = g.instance(np.zeros(4), 0, _units(1, 7200.0), {"foot": lambda _c: 3.6})
    plan = routing.solve(inst, seconds=1)
    assert plan.objective == 0 and not plan.routes[0].stops and plan.reasons == [("no_prize", "")]


def _random_instance(seed: int, n: int, units: int) -> routing.Instance:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 1500, (n + 1, 2))
    d = np.linalg.norm(xy[:, None] - xy[None], axis=2)
    return routing.Instance(rng.uniform(1, 10, n), {"foot": d / 1.3, "car": d / 8.0},
                            [*_units(units - 1, 2400.0), *_units(1, 2400.0, kind="car")])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_bound_holds_the_exact_optimum_and_the_heuristic_meets_it(seed):
    inst = _random_instance(seed, 9, 2)
    exact = exact_mod.solve_exact(inst, seconds=60)
    assert exact.status == "Optimal"
    bound, _ = routing.upper_bound(inst)
    assert bound >= exact.objective - 1e-9
    heuristic = routing.solve(inst, seconds=2)
    assert heuristic.objective <= exact.objective + 1e-9
    assert heuristic.objective == pytest.approx(exact.objective, rel=1e-9)
    for plan in (exact, heuristic):  # every route fits its shift, every stop is counted once
        seen = [s for r in plan.routes for s in r.stops]
        assert len(seen) == len(set(seen))
        for r in plan.routes:
            _arrivals, end = routing.timeline(inst, r.unit, r.stops)
            assert end <= r.unit.shift_s + 1e-6 and r.prize == pytest.approx(inst.prizes[r.stops].sum())


def test_zones_are_contiguous_and_even():
    lines = [shapely.LineString([(x, y), (x + 100, y)]) for x in range(0, 1000, 100) for y in range(0, 600, 100)]
    lines += [shapely.LineString([(x, y), (x, y + 100)]) for x in range(0, 1100, 100) for y in range(0, 500, 100)]
    g = StreetGraph.of(gpd.GeoDataFrame({"class": ["residential"] * len(lines)}, geometry=lines, crs=METRIC))
    n = len(g.stretches)
    mids = shapely.get_coordinates(shapely.line_interpolate_point(g.stretches.geometry.to_numpy(), 0.5,
                                                                  normalized=True))
    adj = g.adjacency()
    z = zones.grow(adj, g.stretches["length_m"].to_numpy(), np.ones(n), 4, 0, mids)
    assert sorted(set(z.zone.tolist())) == [0, 1, 2, 3] and z.unconnected == 0
    assert z.balance < 1.2
    from scipy.sparse.csgraph import connected_components
    for k in range(4):
        idx = np.flatnonzero(z.zone == k)
        assert connected_components(adj[idx][:, idx], directed=False)[0] == 1
    area = shapely.box(0, 0, 1000, 500)
    shapes = zones.zone_shapes(area, g.stretches.geometry.to_numpy(), z.zone, 4)
    assert sum(s.area for s in shapes) == pytest.approx(area.area)
    assert all(s.is_valid for s in shapes)


def test_a_gap_at_a_gate_is_bridged_but_a_far_piece_is_not():
    roads = pd.concat([_square(), gpd.GeoDataFrame(
        {"class": ["service", "service"], "name": ["gate", "far"]},
        geometry=[shapely.LineString([(100, 10), (100, 90)]), shapely.LineString([(500, 500), (600, 500)])],
        crs=METRIC)], ignore_index=True)
    g = StreetGraph.of(gpd.GeoDataFrame(roads, crs=METRIC), snap_m=20)
    assert (g.stretches["road_class"] == "connector").sum() == 1
    from scipy.sparse.csgraph import connected_components
    assert connected_components(g.travel(lambda _c: 3.6), directed=False)[0] == 2


def test_the_feasible_route_family_matches_brute_force():
    inst = _random_instance(5, 8, 2)
    for u in inst.units:
        t = inst.travel[u.kind]
        locs = [inst.n_depots + i for i in range(8)]
        fam = exact_mod.family(t, u.depot, list(range(8)), locs, u.dwell_s, u.shift_s)
        feasible = {m for m in range(1, 1 << 8)
                    if exact_mod.best_order(t, u.depot, [locs[b] for b in range(8) if m >> b & 1], u.dwell_s)[1]
                    <= u.shift_s + 1e-6}
        assert fam.total == len(feasible)
        every_small = [m for m in range(1, 1 << 8) if bin(m).count("1") <= fam.k]
        assert set(every_small) <= feasible  # every set of at most k stops fits
        maximal = {m for m in feasible if bin(m).count("1") > fam.k
                   and not any(m | 1 << b in feasible for b in range(8) if not m >> b & 1)}
        assert set(fam.masks.tolist()) == maximal


@pytest.mark.parametrize("seed", [3, 4])
def test_the_exact_solve_equals_brute_force_over_every_assignment(seed):
    import itertools

    inst = _random_instance(seed, 7, 2)
    best = 0.0
    for owner in itertools.product(range(3), repeat=7):  # each stop: unit 0, unit 1 or nobody
        total = 0.0
        for k, u in enumerate(inst.units):
            mine = [i for i in range(7) if owner[i] == k]
            _, used = exact_mod.best_order(inst.travel[u.kind], u.depot, [inst.n_depots + i for i in mine], u.dwell_s)
            if used > u.shift_s + 1e-6:
                break
            total += float(inst.prizes[mine].sum())
        else:
            best = max(best, total)
    plan = exact_mod.solve_exact(inst, seconds=30)
    assert plan.status == "Optimal" and plan.objective == pytest.approx(best) and plan.bound == pytest.approx(best)
