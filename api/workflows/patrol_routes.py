"""The routes of one station's units for one slot: the hottest stretches as stops, travel times on the
street graph per unit kind, PyVRP's routes drawn back onto the streets, and checks that they hold."""

from __future__ import annotations

import itertools
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from api.i18n import t
from gis.patrol import routing
from gis.patrol.model import PatrolModel, Slot


def _clock(slot: Slot, seconds: float) -> str:
    """Seconds after the slot starts as a clock time (HH:MM)."""
    minutes = round(slot.start * 60 + seconds / 60.0) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def instance(st: Any, model: PatrolModel, slot: Slot, station: int, units: dict[str, int],
             shift_h: float) -> tuple[routing.Instance, np.ndarray, dict[str, np.ndarray], list[int]]:
    """The team orienteering instance of one station's units over its stretches in the slot
    (:meth:`gis.patrol.network.StreetGraph.instance`)."""
    sid = str(st.stations["id"].iat[station])
    w = st.frame[f"weight_{slot.key}"].to_numpy(dtype=float)
    mine = st.frame["station_id"].to_numpy() == sid
    unit_list = [routing.Unit(f"{sid}-{kind}-{i + 1}", kind, 0, shift_h * 3600.0, model.units[kind].dwell_min * 60)
                 for kind, n in units.items() for i in range(n)]
    speeds = {kind: model.units[kind].speed for kind in units}
    return st.graph.instance(np.where(mine, w, 0.0), int(st.station_nodes[station]), unit_list, speeds,
                             per_station=model.per_station)


def reason_text(code: str, unit: str = "", lang: str = "zh") -> str:
    """A plan's reason (:data:`gis.patrol.routing.REASONS`) in words, naming the unit when it is one's."""
    text = t(lang, f"patrol.reason_{code}")
    return f"{unit}: {text}" if unit else text


def route_station(st: Any, model: PatrolModel, slot: Slot, station: int, units: dict[str, int], shift_h: float,
                  *, seconds: float = 10.0, seed: int = 0, lang: str = "zh"
                  ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Route one station's units; returns the route rows, the stop rows and the solver's report."""
    g, frame = st.graph, st.frame
    sid, name = str(st.stations["id"].iat[station]), str(st.stations["name"].iat[station])
    inst, stops, preds, sources = instance(st, model, slot, station, units, shift_h)
    plan = routing.solve(inst, seconds=seconds, seed=seed)
    route_rows, stop_rows = [], []
    for r in plan.routes:
        if not r.stops:
            continue
        order = [0, *(s + 1 for s in r.stops), 0]  # rows of the sources: station, then stops
        pieces: list[np.ndarray] = []
        for a, b in itertools.pairwise(order):
            nodes = g.path(preds[r.unit.kind][a], sources[a], sources[b])
            pieces += g.path_line(nodes)
        xy = np.vstack(pieces) if pieces else np.empty((0, 2))
        keep = np.r_[True, np.any(np.abs(np.diff(xy, axis=0)) > 1e-6, axis=1)] if len(xy) else np.empty(0, bool)
        line = shapely.LineString(xy[keep]) if keep.sum() >= 2 else shapely.LineString()
        ids = frame["id"].to_numpy()[stops[r.stops]]
        route_rows.append({
            "id": f"{slot.label}/{r.unit.name}", "slot": slot.label, "unit": r.unit.name, "kind": r.unit.kind,
            "station_id": sid, "station": name,
            "stops": len(r.stops), "stretch_ids": ",".join(ids), "prize": r.prize,
            "minutes": round(r.end_s / 60.0, 1), "shift_minutes": round(r.unit.shift_s / 60.0, 1),
            "dwell_minutes": r.unit.dwell_s / 60.0, "start": _clock(slot, 0), "end": _clock(slot, r.end_s),
            "km": round(shapely.length(line) / 1000.0, 3), "geometry": line})
        for k, (s, arrive) in enumerate(zip(r.stops, r.arrivals, strict=True), start=1):
            e = int(stops[s])
            stop_rows.append({
                "id": f"{slot.label}/{r.unit.name}/{k}", "slot": slot.label, "unit": r.unit.name,
                "kind": r.unit.kind, "station_id": sid, "order": k,
                "stretch_id": str(frame["id"].iat[e]), "street": frame["name"].iat[e],
                "grid_code": frame["grid_code"].iat[e], "arrive": _clock(slot, arrive),
                "arrive_minutes": round(arrive / 60.0, 1), "dwell_minutes": r.unit.dwell_s / 60.0,
                "prize": float(inst.prizes[s]), "why": frame[f"why_{slot.key}"].iat[e],
                "geometry": shapely.line_interpolate_point(frame.geometry.iat[e], 0.5, normalized=True)})
    report = {"station_id": sid, "station": name, "slot": slot.label, "stops_offered": int(inst.n_stops),
              "units": len(inst.units), "objective": plan.objective, "bound": plan.bound,
              "bound_method": plan.bound_method, "gap": plan.gap, "seconds": round(plan.seconds, 3),
              "status": plan.status, "reasons": [reason_text(code, unit, lang) for code, unit in plan.reasons],
              "reason_codes": [code for code, _ in plan.reasons]}
    return pd.DataFrame(route_rows), pd.DataFrame(stop_rows), report


def check_routes(streets: gpd.GeoDataFrame, routes: gpd.GeoDataFrame, stops: gpd.GeoDataFrame,
                 tolerance_m: float = 0.05) -> list[str]:
    """Problems with stored routes (metric CRS; empty: none): a route off the streets or in pieces, over
    its shift, a stretch counted twice in a slot, or a prize that the streets layer does not give."""
    problems = []
    net = shapely.union_all(streets.geometry.to_numpy())
    for _, r in routes.iterrows():
        g = r.geometry
        if g is None or g.geom_type != "LineString" or g.is_empty:
            problems.append(f"{r['unit']}: the route is not one line")
        elif shapely.length(shapely.difference(g, shapely.buffer(net, tolerance_m))) > tolerance_m:
            problems.append(f"{r['unit']}: the route leaves the streets")
        if float(r["minutes"]) > float(r["shift_minutes"]) + 1e-6:
            problems.append(f"{r['unit']}: {r['minutes']} min is over its {r['shift_minutes']} min shift")
        key = f"weight_{r['slot'].replace(':', '_').replace('-', '_')}"
        ids = [i for i in str(r["stretch_ids"]).split(",") if i]
        recomputed = float(streets.set_index("id").loc[ids, key].sum()) if key in streets else float("nan")
        if not np.isclose(recomputed, float(r["prize"]), rtol=1e-9, atol=1e-12):
            problems.append(f"{r['unit']}: prize {r['prize']} but the streets give {recomputed}")
    for slot, group in stops.groupby("slot") if len(stops) else []:
        twice = group["stretch_id"].duplicated()
        if twice.any():
            problems.append(f"{slot}: stretches visited for credit twice: {', '.join(group['stretch_id'][twice])}")
    return problems
