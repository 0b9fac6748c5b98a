"""Risk grading as a user runs it (`pingan risk`): indicators from the workspace, grades from
:mod:`gis.risk`, the history of past periods."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from api.exports import qgis
from api.workflows import reasons
from api.workflows.coverage import compute_coverage, coverage_is_current
from api.workflows.progress import Step, as_step
from gis import partition, risk
from layers.errors import WorkspaceError
from layers.store import Store, now_iso

CARE_TAGS = ("独居老人", "留守儿童", "残疾", "低保")


RESIDENT_FLOOR = 100  # incidents per 1,000 residents, with at least 100 residents per grid


@dataclass(frozen=True)
class RiskResult:
    """What :func:`compute_risk` works out for one period."""

    #: per grid (indexed by code): indicators, score, level, contributions and their explanation
    grids: pd.DataFrame
    #: every graded period of every grid (the ``risk_history`` layer)
    history: pd.DataFrame
    #: grids whose level changed since the period before, with the indicator that moved most
    changes: pd.DataFrame
    #: red / yellow / green counts per community
    summary: pd.DataFrame
    #: the period, the model (version, digest) and the inputs' versions
    stamp: dict[str, Any]


def model_of(store: Store) -> risk.RiskModel:
    """The workspace's risk model (its own, or the default)."""
    return risk.RiskModel.parse(store.settings().get("risk_model") or risk.DEFAULT_MODEL)


def set_model(store: Store, text: str, *, user: str = "cli") -> int:
    """Validate and store a new risk model (TOML); returns its version number."""
    risk.RiskModel.parse(text)  # raises RiskModelError with the place and the fix
    version = int(store.settings().get("risk_model_version", 0)) + 1
    store.update_settings(risk_model=text, risk_model_version=version)
    store.audit("edit", "risk_model", {"version": version}, user=user)
    return version


def _month_start(moment: dt.datetime) -> dt.datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def period_end(store: Store, period: str | None = None) -> dt.datetime:
    """The end of a period 'YYYY-MM' (default: the month of the latest incident)."""
    if period:
        start = dt.datetime.strptime(period, "%Y-%m")
    elif store.has("incidents") and len(times := store.read("incidents")["time"].dropna()):
        start = pd.Timestamp(times.max()).to_pydatetime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    else:
        start = dt.datetime.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(microseconds=1)


def building_grids(store: Store, grids: gpd.GeoDataFrame) -> pd.Series:
    """Per building id, the position in ``grids`` of the grid holding its centroid (−1: none).

    Households are counted in their building's grid: the risk layer and the household
    aggregates of the exports use this one rule, so their totals agree.
    """
    b = store.features("buildings").to_crs(grids.crs)
    return pd.Series(partition.grid_index(grids, b.geometry.centroid.to_numpy()), index=b["id"].to_numpy())


def static_indicators(store: Store, grids: gpd.GeoDataFrame) -> pd.DataFrame:
    """Indicators that do not depend on the period: households, targets, coverage gap."""
    codes = grids["code"].to_numpy()
    out = pd.DataFrame(index=pd.Index(codes, name="code"))
    out["residents"] = 0.0
    out["households"] = 0.0
    for tag in ("rented", "floating", "care"):
        out[tag] = 0.0
    if store.has("buildings") and store.has("households"):
        home = building_grids(store, grids)
        hh = store.read("households")
        hh = hh.assign(grid=hh["building_id"].map(home).fillna(-1).astype(int))
        hh = hh[hh["grid"] >= 0]
        tags = hh["tags"].fillna("")
        agg = pd.DataFrame({
            "residents": hh["members"].fillna(0).astype(float), "households": 1.0,
            "rented": tags.str.contains("出租").astype(float), "floating": tags.str.contains("流动").astype(float),
            "care": tags.apply(lambda t: any(c in t for c in CARE_TAGS)).astype(float),
            "grid": codes[hh["grid"].to_numpy()]}).groupby("grid").sum()
        out.update(agg)
    hh_n = out["households"].replace(0, np.nan)
    out["rented_share"] = (out["rented"] / hh_n).fillna(0.0)
    out["floating_share"] = (out["floating"] / hh_n).fillna(0.0)
    out["care_households"] = (100 * out["care"] / hh_n).fillna(0.0)
    out["key_targets"] = 0.0
    if store.has("targets"):
        t = store.features("targets").to_crs(grids.crs)
        t = t[t["class"].astype(str) == "1"]
        idx = partition.grid_index(grids, t.geometry.representative_point().to_numpy())
        out["key_targets"] = pd.Series(codes[idx[idx >= 0]]).value_counts().reindex(codes, fill_value=0).to_numpy()
    out["coverage_gap"] = 0.0
    if store.has("cameras") and store.has("buildings"):
        if not coverage_is_current(store):
            compute_coverage(store)
        cov = store.read("coverage_grids").set_index("code")
        out["coverage_gap"] = (1.0 - cov["share_detect"]).reindex(codes).fillna(1.0).to_numpy()
    return out


def incident_counts(store: Store, grids: gpd.GeoDataFrame, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    """Incidents per grid between ``start`` and ``end``: all, serious, and per category."""
    codes = grids["code"].to_numpy()
    out = pd.DataFrame({"incidents": 0.0, "serious_incidents": 0.0, **{f"n_{c}": 0.0 for c in risk.CATEGORIES}},
                       index=pd.Index(codes, name="code"))
    if not store.has("incidents"):
        return out
    inc = store.features("incidents").to_crs(grids.crs)
    inc = inc[(inc["time"] > pd.Timestamp(start)) & (inc["time"] <= pd.Timestamp(end))]
    idx = partition.grid_index(grids, inc.geometry.to_numpy())
    inc = inc.assign(grid=idx)[idx >= 0]
    inc["code"] = codes[inc["grid"].to_numpy()]
    out["incidents"] = inc.groupby("code").size().reindex(codes, fill_value=0).to_numpy(dtype=float)
    serious = inc[inc["severity"] == "serious"].groupby("code").size()
    out["serious_incidents"] = serious.reindex(codes, fill_value=0).to_numpy(dtype=float)
    for cat in risk.CATEGORIES:
        out[f"n_{cat}"] = inc[inc["category"] == cat].groupby("code").size().reindex(
            codes, fill_value=0).to_numpy(dtype=float)
    return out


def indicators_for(static: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
    """The period's indicators: the static ones joined with the counts, and rates per 1,000 residents
    (at least :data:`RESIDENT_FLOOR` residents per grid)."""
    out = static.join(counts)
    per_1000 = 1000.0 / np.maximum(out["residents"], RESIDENT_FLOOR)
    out["incident_rate"] = out["incidents"] * per_1000
    for cat in risk.CATEGORIES:
        out[f"rate_{cat}"] = out.pop(f"n_{cat}") * per_1000
    return out


def compute_risk(store: Store, *, period: str | None = None, method: str | None = None, history: int = 6,
                 write: bool = True, progress: Step | None = None) -> RiskResult:
    """Grade every grid red/yellow/green for a period and the periods before it.

    Parameters
    ----------
    store
        The workspace; it needs ``grids`` (and uses households, incidents, targets and coverage).
    period
        The month graded, ``YYYY-MM``; default the month of the latest incident.
    method
        Grade by this method instead of the model's (``quantile``, ``fixed``, ``natural_breaks``,
        ``baseline``); the stored model is left as it is.
    history
        How many months before ``period`` are graded too (for the changes and the history layer).
    write
        Store the ``risk`` and ``risk_history`` layers and the stamp.
    progress
        Called with a short description of each step.

    Returns
    -------
    RiskResult
        Grades, reasons (as data and as text), history, changes and counts; see :class:`RiskResult`.
    """
    step = as_step(progress)
    if not store.has("grids"):
        raise WorkspaceError("the workspace has no grids layer: import or plan grids first")
    model = model_of(store)
    if method:
        model = risk.RiskModel.parse(model.text.replace(f'method = "{model.method}"', f'method = "{method}"', 1))
    metric = store.metric_crs()
    grids = store.features("grids").to_crs(metric)
    step("households, targets and coverage")
    static = static_indicators(store, grids)
    end = period_end(store, period)
    window = dt.timedelta(days=model.window_days)
    ends = [end]
    for _ in range(max(history, int(model.baseline["periods"]) if model.method == "baseline" else history)):
        ends.append(_month_start(ends[-1]) - dt.timedelta(microseconds=1))
    step(f"grading {len(ends)} periods")
    monthly = {e: incident_counts(store, grids, _month_start(e) - dt.timedelta(microseconds=1), e)["incidents"]
               for e in ends}
    graded: dict[dt.datetime, pd.DataFrame] = {}
    for k, e in enumerate(ends):
        ind = indicators_for(static, incident_counts(store, grids, e - window, e))
        kw: dict[str, Any] = {}
        if model.method == "baseline":
            prev = ends[k + 1:k + 1 + int(model.baseline["periods"])]
            if not prev:
                continue
            mean = pd.concat([monthly[p] for p in prev], axis=1).mean(axis=1)
            kw = {"baseline_ratio": monthly[e] / mean.replace(0, np.nan).fillna(0.5),
                  "baseline_counts": monthly[e]}
        graded[e] = risk.grade_all(ind, model, **kw)
    current = reasons.with_texts(graded[end])
    current.insert(0, "community_code", grids.set_index("code").loc[current.index, "community_code"].to_numpy())
    current.insert(1, "name", grids.set_index("code").loc[current.index, "name"].to_numpy())
    hist = pd.concat([g.assign(period=f"{e:%Y-%m}")[["period", "score", "level", *risk.INDICATORS]]
                      for e, g in graded.items()]).reset_index()
    changes = reasons.changes_with_texts(risk.compare(graded[ends[1]], current) if len(graded) > 1 and ends[1] in graded
                                         else risk.compare(current.iloc[:0], current.iloc[:0]))
    summary = risk.counts_by(current, "community_code")
    stamp = {"period": f"{end:%Y-%m}", "computed_at": now_iso(), "model": model.describe(),
             "model_version": int(store.settings().get("risk_model_version", 0)),
             "model_sha1": hashlib.sha1(model.text.encode()).hexdigest(),
             "inputs": {n: store.version(n) for n in ("grids", "households", "buildings", "incidents", "targets",
                                                      "cameras") if store.has(n)}}
    if write:
        step("writing")
        layer = gpd.GeoDataFrame(current.reset_index().assign(period=f"{end:%Y-%m}"),
                                 geometry=grids.set_index("code").loc[current.index].geometry.to_numpy(),
                                 crs=metric).to_crs(4326)
        store.write_many({"risk": layer, "risk_history": hist}, message=f"pingan risk {end:%Y-%m}")
        store.set_meta({"risk": stamp})
        qgis.style_workspace(store, ["risk"])
    return RiskResult(grids=current, history=hist, changes=changes, summary=summary, stamp=stamp)
