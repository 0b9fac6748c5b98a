"""Patrol planning as a user runs it (`pingan patrol plan`): streets, risk, coverage and stations read
from the workspace, the maths of :mod:`gis.patrol`, the plan written back as layers.

1. Each street stretch gets, per slot, its grid's slot risk × the share no camera watches at the
   model's DORI level: its *uncovered risk*; times its length (km) it is the stretch's weight.
2. Grids go to the station nearest along the streets; each station's stretches are cut into zones.
3. Each station's units are routed over its hottest stretches (PyVRP), with an upper bound.
4. Checkpoints capture the most risk-weighted traffic between grids.
5. Duty levels and officers per zone and slot follow the uncovered risk.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from api.i18n import t
from api.workflows import patrol_duty as duties
from api.workflows.patrol_duty import duty
from api.workflows.progress import Step, as_step
from api.workflows.risk import compute_risk, period_end
from api.workflows.settings import coverage_options, night_options
from api.workflows.views import LAYER as VIEW_LAYER
from api.workflows.views import compute_views, views_are_current
from gis import night, partition
from gis.patrol import checkpoints as cp
from gis.patrol import slots, zones
from gis.patrol.model import DEFAULT_MODEL, PatrolModel, Slot
from gis.patrol.network import StreetGraph, watched_share
from layers.errors import WorkspaceError
from layers.store import Store, now_iso

PATROL_INPUTS = ("roads", "grids", "stations", "cameras", "views", "views_night", "incidents", "risk")
LAYERS = ("patrol_streets", "patrol_zones", "patrol_routes", "patrol_stops", "checkpoints")


def model_of(store: Store) -> PatrolModel:
    """The workspace's patrol model (its own, or the default)."""
    return PatrolModel.parse(store.settings().get("patrol_model") or DEFAULT_MODEL)


def set_model(store: Store, text: str, *, user: str = "cli") -> int:
    """Validate and store a new patrol model (TOML); returns its version number."""
    PatrolModel.parse(text)  # raises PatrolModelError with the key and the fix
    version = int(store.settings().get("patrol_model_version", 0)) + 1
    store.update_settings(patrol_model=text, patrol_model_version=version)
    store.audit("edit", "patrol_model", {"version": version}, user=user)
    return version


@dataclass
class Streets:
    """The street graph with each stretch's grid, station, watched share and slot risks (metric CRS)."""

    graph: StreetGraph
    frame: gpd.GeoDataFrame  # one row per stretch
    slot_risk: pd.DataFrame  # per grid and slot: the figures that explain the risk
    stations: gpd.GeoDataFrame
    station_nodes: np.ndarray
    grids: gpd.GeoDataFrame


def _views_at(store: Store, level: str, metric: Any, extra: list[shapely.Geometry],
              include_planned: bool = False, light: str = "day") -> list[shapely.Geometry]:
    if not store.has("cameras"):
        return list(extra)
    if not views_are_current(store, light):
        compute_views(store, light=light)
    statuses = set(coverage_options(store.settings(), include_planned=include_planned).covering_statuses)
    cams = store.read("cameras")
    covering = set(cams.loc[cams["status"].fillna("active").isin(statuses), "id"].astype(str))
    views = store.features(VIEW_LAYER[light]).to_crs(metric)
    views = views[(views["level"] == level) & views["camera"].astype(str).isin(covering)]
    return list(views.geometry.to_numpy()) + list(extra)


def streets(store: Store, model: PatrolModel, wanted: list[Slot], *, extra_views: list[shapely.Geometry] | None = None,
            period: str | None = None, include_planned: bool = False,
            views: list[shapely.Geometry] | None = None,
            night_views: list[shapely.Geometry] | None = None) -> Streets:
    """Stretches with their uncovered risk per slot (``risk_<slot>``, ``uncovered_<slot>`` = risk × the
    unwatched share, ``weight_<slot>`` = uncovered × km). ``extra_views`` are what-if views (metric) added
    to the stored ones; ``views``, when given, are all the watching views instead of the stored ones (a
    what-if session's, with its moved and removed cameras) and ``night_views`` its night ones (else its
    day views serve after dark too); ``include_planned`` counts the planned cameras as watching (the
    plan's what-if)."""
    for layer, fix in (("roads", "import roads (pingan import … --layer roads) or OSM"),
                       ("grids", "import or plan grids first"),
                       ("stations", "import the 派出所/警务室 points (pingan import FILE --layer stations)")):
        if not store.has(layer) or not len(store.read(layer)):
            raise WorkspaceError(f"patrol planning needs the {layer} layer: {fix}")
    metric = store.metric_crs()
    if not store.has("risk"):
        compute_risk(store)
    risk = store.read("risk").set_index("code")
    grids = store.features("grids").to_crs(metric).reset_index(drop=True)
    scores = risk["score"].astype(float).reindex(grids["code"].astype(str)).fillna(0.0)
    graph = StreetGraph.of(store.features("roads").to_crs(metric), stretch_m=model.stretch_m)
    frame = graph.stretches.copy()
    mid = shapely.line_interpolate_point(frame.geometry.to_numpy(), 0.5, normalized=True)
    gidx = partition.grid_index(grids, mid)
    codes = grids["code"].astype(str).to_numpy()
    frame["grid_code"] = np.where(gidx >= 0, codes[np.maximum(gidx, 0)], None)
    watching = list(views) + list(extra_views or []) if views is not None else _views_at(
        store, model.dori_level, metric, extra_views or [], include_planned)
    frame["watched"] = watched_share(frame.geometry, watching)
    # after dusk the night views watch: each slot counts the day and night shares for the parts of its
    # hours in daylight and in the dark (setting night)
    dark = {s.key: night.dark_share(s.hours, night_options(store.settings())) for s in wanted}
    if not any(dark.values()) or (views is not None and night_views is None):
        frame["watched_night"] = frame["watched"]
    else:
        frame["watched_night"] = watched_share(frame.geometry, list(night_views) + list(extra_views or [])
                                               if night_views is not None else _views_at(
            store, model.dori_level, metric, extra_views or [], include_planned, "night"))
    end = period_end(store, period)
    inc = store.features("incidents").to_crs(metric) if store.has("incidents") else gpd.GeoDataFrame(
        {"time": pd.Series([], dtype="datetime64[ms]")}, geometry=[], crs=metric)
    inc = inc[(inc["time"] > pd.Timestamp(end - dt.timedelta(days=model.window_days))) &
              (inc["time"] <= pd.Timestamp(end))]
    i_idx = partition.grid_index(grids, inc.geometry.to_numpy())
    i_grid = pd.Series(np.where(i_idx >= 0, codes[np.maximum(i_idx, 0)], None), index=inc.index)
    table = slots.slot_risk(pd.Series(scores.to_numpy(), index=codes), i_grid, inc["time"], wanted, prior=model.prior)
    km = frame["length_m"].to_numpy() / 1000.0
    for s in wanted:
        r = table[table["slot"] == s.label].set_index("code")["risk"]
        risk_s = frame["grid_code"].map(r).fillna(0.0).to_numpy(dtype=float)
        frame[f"risk_{s.key}"] = risk_s
        frame[f"watched_{s.key}"] = (1.0 - dark[s.key]) * frame["watched"] + dark[s.key] * frame["watched_night"]
        frame[f"uncovered_{s.key}"] = risk_s * (1.0 - frame[f"watched_{s.key}"].to_numpy())
        frame[f"weight_{s.key}"] = frame[f"uncovered_{s.key}"] * km
    stations = store.features("stations").to_crs(metric).reset_index(drop=True)
    s_nodes = graph.nearest_node(stations.geometry.to_numpy()) if graph.n_nodes else np.empty(0, dtype=int)
    # each grid to the station nearest along the streets (by length): its stretches are that station's
    walk = graph.travel(lambda _c: 3.6)  # 1 m/s: seconds = metres
    dist, _ = graph.shortest(walk, s_nodes)
    s_idx = np.full(len(frame), -1)
    if len(frame) and len(s_nodes):
        mids = graph.middle(np.arange(len(frame)))
        s_idx = np.argmin(dist[:, mids], axis=0)
        by_grid = pd.Series(s_idx).groupby(frame["grid_code"].to_numpy()).agg(lambda v: v.mode().iloc[0])
        s_idx = np.where(frame["grid_code"].notna(), frame["grid_code"].map(by_grid).fillna(-1).astype(int), -1)
        s_idx[~np.isfinite(dist[np.maximum(s_idx, 0), mids])] = -1
    frame["station_id"] = np.where(s_idx >= 0, stations["id"].astype(str).to_numpy()[np.maximum(s_idx, 0)], None)
    frame.insert(0, "id", [f"S{k + 1:05d}" for k in range(len(frame))])
    return Streets(graph, frame, table, stations, s_nodes, grids)


def explain(st: Streets, slot: Slot, lang: str = "zh") -> list[str]:
    """Each stretch's uncovered risk in the slot in words: its grid's score × the slot's intensity there
    (the counts behind it), × the share no camera watches, × km."""
    table = st.slot_risk[st.slot_risk["slot"] == slot.label].set_index("code")
    out = []
    for code, watched, km, weight in zip(st.frame["grid_code"], st.frame[f"watched_{slot.key}"],
                                         st.frame["length_m"] / 1000.0,
                                         st.frame[f"weight_{slot.key}"], strict=True):
        if code is None or code not in table.index:
            out.append(t(lang, "patrol.why_outside"))
            continue
        r = table.loc[code]
        out.append(t(lang, "patrol.why", grid=code, score=f"{r['score']:.1f}", intensity=f"{r['intensity']:.2f}",
                     n=int(r["in_slot"]), total=int(r["incidents"]), slot=slot.label, risk=f"{r['risk']:.2f}",
                     open=f"{1 - watched:.0%}", km=f"{km:.3f}", weight=f"{weight:.4f}"))
    return out


def plan_zones(st: Streets, model: PatrolModel, n_zones: int) -> gpd.GeoDataFrame:
    """Each station's stretches cut into ``n_zones`` contiguous zones (sets ``zone_code`` on the stretches)."""
    frame = st.frame
    frame["zone_code"] = None
    weight = frame[[f"weight_{s.key}" for s in model.slots]].sum(axis=1)
    km = frame["length_m"] / 1000.0
    eps = 0.05 * float(weight.sum() / max(km.sum(), 1e-9)) or 1e-6
    load = (weight + eps * km).to_numpy(dtype=float)
    rows = []
    adjacency = st.graph.adjacency()
    mids = shapely.get_coordinates(shapely.line_interpolate_point(frame.geometry.to_numpy(), 0.5, normalized=True))
    for _k, station in st.stations.iterrows():
        mine = np.flatnonzero(frame["station_id"].to_numpy() == str(station["id"]))
        if not len(mine):
            continue
        sub = adjacency[mine][:, mine]
        first = int(np.argmin(np.linalg.norm(mids[mine] - np.array([station.geometry.x, station.geometry.y]), axis=1)))
        zoning = zones.grow(sub, frame["length_m"].to_numpy()[mine], load[mine], n_zones, first, mids[mine])
        area = shapely.union_all(st.grids[st.grids["code"].astype(str).isin(
            set(frame["grid_code"].iloc[mine].dropna()))].geometry.to_numpy())
        n = len(zoning.loads)
        shapes = zones.zone_shapes(area, frame.geometry.to_numpy()[mine], zoning.zone, n)
        codes = duties.zone_codes(str(station["id"]), shapes)
        frame.loc[frame.index[mine], "zone_code"] = np.asarray(codes, dtype=object)[zoning.zone]
        for z in range(n):
            part = frame.iloc[mine[zoning.zone == z]]
            rows.append({"code": codes[z], "name": f"{station['name']}第{int(codes[z][-2:])}巡区",
                         "station_id": str(station["id"]), "stretches": len(part),
                         "street_km": round(float(part["length_m"].sum()) / 1000.0, 3),
                         "load": float(zoning.loads[z]), "balance": round(zoning.balance, 3),
                         "unconnected": zoning.unconnected if z == 0 else 0, "geometry": shapes[z],
                         **{f"uncovered_{s.key}": float(part[f"weight_{s.key}"].sum()) for s in model.slots}})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=frame.crs) if rows else gpd.GeoDataFrame(
        {"code": []}, geometry=[], crs=frame.crs)


@dataclass
class PatrolPlan:
    """What :func:`plan_patrols` works out (frames in the metric CRS)."""

    streets: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    routes: gpd.GeoDataFrame
    stops: gpd.GeoDataFrame
    checkpoints: gpd.GeoDataFrame
    slot_risk: pd.DataFrame
    #: per station: the PyVRP objective, the bound, its method, the gap, the seconds, the reasons
    solves: list[dict[str, Any]] = field(default_factory=list)
    stamp: dict[str, Any] = field(default_factory=dict)


def stamp_of(store: Store, model: PatrolModel, **extra: Any) -> dict[str, Any]:
    """The plan's stamp: the model (version, digest), the inputs' versions and the options."""
    return {"computed_at": now_iso(), "model": model.describe(),
            "model_version": int(store.settings().get("patrol_model_version", 0)),
            "model_sha1": hashlib.sha1(model.text.encode()).hexdigest(),
            "inputs": {n: store.version(n) for n in PATROL_INPUTS if store.has(n)}, **extra}


def plan_patrols(store: Store, *, slot: str = "18-24", units: dict[str, int] | None = None, shift_h: float = 4.0,
                 n_zones: int = 3, k_checkpoints: int | None = None, seconds: float = 10.0, seed: int = 0,
                 extra_views: list[shapely.Geometry] | None = None, include_planned: bool = False,
                 write: bool = True, progress: Step | None = None,
                 views: list[shapely.Geometry] | None = None,
                 night_views: list[shapely.Geometry] | None = None) -> PatrolPlan:
    """Plan patrols for one slot: uncovered risk, zones, routes, checkpoints and duty levels.

    Parameters
    ----------
    store
        The workspace; it needs roads, grids and stations (and uses cameras, incidents and risk).
    slot
        The slot routed (``18-24``, ``weekday:18-24``); the model's slots are all scored.
    units
        Units per station by kind (``{"foot": 4, "car": 2}``); default two on foot.
    shift_h
        Each unit's shift (hours), from its station and back.
    n_zones
        Patrol zones per station.
    k_checkpoints
        Checkpoints to choose (default: the model's).
    seconds
        PyVRP's time limit per station.
    seed
        PyVRP's seed.
    extra_views
        What-if: views (metric) of cameras that are not stored.
    include_planned
        What-if: the planned cameras (accepted proposals) watch too.
    write
        Store the five layers and the stamp.
    progress
        Called with a short description of each step.
    views
        What-if: all the watching views (metric), instead of the stored ones (see :func:`streets`).
    night_views
        What-if: all the watching views after dark (metric), with ``views``.

    Returns
    -------
    PatrolPlan
        The layers, the solver reports and the stamp.
    """
    from api.workflows.patrol_routes import route_station  # the routes have their own module

    step = as_step(progress)
    if (extra_views or views is not None) and write:
        raise ValueError("a what-if plan (extra_views, views) is not stored: plan it with write=False")
    model = model_of(store)
    wanted = model.slot(slot)
    kept = kept_slots(store, wanted, include_planned) if write else []
    all_slots = list(dict.fromkeys([*model.slots, wanted, *kept]))  # the streets carry every stored slot's figures
    units = units or {"foot": 2}
    step("uncovered risk of every street")
    st = streets(store, model, all_slots, extra_views=extra_views, include_planned=include_planned, views=views,
                 night_views=night_views)
    st.frame[f"why_{wanted.key}"] = explain(st, wanted)
    step("patrol zones")
    zone_frame = plan_zones(st, model, n_zones)
    officers = sum(model.units[k].crew * n for k, n in units.items())  # each station's own
    if len(zone_frame):
        zone_frame = pd.concat([duty(z, model, officers) for _, z in zone_frame.groupby("station_id", sort=False)])
    routes, stops, solves = [], [], []
    for k, station in st.stations.iterrows():
        step(f"routes from {station['name']}")
        r, s, report = route_station(st, model, wanted, k, units, shift_h, seconds=seconds, seed=seed)
        routes.append(r)
        stops.append(s)
        solves.append(report)
    route_frame = pd.concat(routes, ignore_index=True) if routes else pd.DataFrame()
    stop_frame = pd.concat(stops, ignore_index=True) if stops else pd.DataFrame()
    step("checkpoints")
    checkpoints = choose_checkpoints(st, model, wanted, k_checkpoints)
    metric = store.metric_crs()
    route_frame = gpd.GeoDataFrame(route_frame, geometry="geometry", crs=metric) if len(route_frame) else \
        gpd.GeoDataFrame({"slot": []}, geometry=[], crs=metric)
    stop_frame = gpd.GeoDataFrame(stop_frame, geometry="geometry", crs=metric) if len(stop_frame) else \
        gpd.GeoDataFrame({"slot": []}, geometry=[], crs=metric)
    stamp = stamp_of(store, model, slot=wanted.label, units=units, shift_h=shift_h, zones=n_zones,
                     include_planned=include_planned, what_if_views=len(extra_views or []),
                     what_if=views is not None,
                     solves=[dict(r.items()) for r in solves])
    plan = PatrolPlan(st.frame, zone_frame, route_frame, stop_frame, checkpoints, st.slot_risk, solves, stamp)
    if write:
        step("writing")
        write_plan(store, plan, wanted, kept)
    return plan


def choose_checkpoints(st: Streets, model: PatrolModel, slot: Slot, k: int | None) -> gpd.GeoDataFrame:
    """Checkpoints for the slot: car traffic between grids weighted by their slot risk."""
    g = st.graph
    kind = "car" if "car" in model.units else next(iter(model.units))
    travel = g.travel(model.units[kind].speed)
    table = st.slot_risk[st.slot_risk["slot"] == slot.label].set_index("code")["risk"]
    points = st.grids.geometry.representative_point().to_numpy()
    origins = g.nearest_node(points) if g.n_nodes else np.empty(0, dtype=int)
    weights = table.reindex(st.grids["code"].astype(str)).fillna(0.0).to_numpy()
    chosen = cp.choose(g, travel, origins, weights, int(k if k is not None else model.checkpoints["k"]),
                       tuple(model.checkpoints["road_classes"]), od_pairs=int(model.checkpoints["od_pairs"]))
    names = {}
    s = g.stretches
    for node in chosen.nodes:
        near = s[(s["u"] == node) | (s["v"] == node)]["name"].dropna().astype(str)
        names[int(node)] = "与".join(dict.fromkeys(near)) or None
    rows = [{"id": f"{slot.label}/{r + 1}", "rank": r + 1, "name": names[int(n)], "slot": slot.label, "node": int(n),
             "flow_captured": float(chosen.gains[r]) if r < len(chosen.gains) else None,
             "share_captured": chosen.captured / chosen.total if chosen.total else 0.0,
             "bound": chosen.bound, "status": chosen.status, "geometry": shapely.Point(g.nodes[int(n)])}
            for r, n in enumerate(chosen.nodes)]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=s.crs) if rows else gpd.GeoDataFrame(
        {"rank": []}, geometry=[], crs=s.crs)


def kept_slots(store: Store, slot: Slot, include_planned: bool) -> list[Slot]:
    """The other slots whose stored plans stay beside a new one: those made from the same inputs (and the
    same planned-camera choice), so the streets layer still gives their figures. Any other is dropped."""
    current = {n: store.version(n) for n in PATROL_INPUTS if store.has(n)}
    return [Slot.parse(label) for label, stamp in (store.get_meta("patrol") or {}).items()
            if label != slot.label and stamp.get("inputs") == current
            and bool(stamp.get("include_planned")) == include_planned]


def write_plan(store: Store, plan: PatrolPlan, slot: Slot, kept: list[Slot] | None = None) -> None:
    """Store the plan: streets, zones and checkpoints replaced; routes and stops of this slot replaced,
    those of the ``kept`` slots (:func:`kept_slots`) kept, any other slot's dropped."""
    keep = {s.label for s in kept or []}
    frames: dict[str, pd.DataFrame] = {"patrol_streets": plan.streets.to_crs(4326),
                                       "patrol_zones": plan.zones.to_crs(4326),
                                       "checkpoints": plan.checkpoints.to_crs(4326)}
    for name, planned in (("patrol_routes", plan.routes), ("patrol_stops", plan.stops)):
        new = planned.to_crs(4326)
        if store.has(name):
            old = store.features(name)
            old = old[old["slot"].astype(str).isin(keep)] if "slot" in old else old.iloc[:0]
            new = pd.concat([old, new], ignore_index=True) if len(old) else new
        frames[name] = gpd.GeoDataFrame(new, geometry="geometry", crs=4326)
    store.write_many(frames, message=f"pingan patrol plan {slot.label}")
    stamps = {k: v for k, v in (store.get_meta("patrol") or {}).items() if k in keep}
    stamps[slot.label] = plan.stamp
    store.set_meta({"patrol": stamps})


def summary(streets: pd.DataFrame, routes: pd.DataFrame, slot: Slot) -> dict[str, float]:
    """Uncovered risk of a slot before and after the stored patrols (of the rows given: the caller's area)."""
    key = f"weight_{slot.key}"
    before = float(streets[key].sum()) if key in streets else 0.0
    mine = routes[routes["slot"].astype(str) == slot.label] if len(routes) and "slot" in routes else routes.iloc[:0]
    routed = float(mine["prize"].sum()) if len(mine) else 0.0
    return {"before": before, "routed": routed, "after": max(before - routed, 0.0),
            "absorbed": routed / before if before > 0 else 0.0, "routes": len(mine),
            "stops": int(mine["stops"].sum()) if len(mine) else 0}
