"""Risk grading of grids (红 / 黄 / 绿) from indicators, as visible and versioned configuration.

No national rule fixes the indicators or cut-offs, so the model is a TOML document stored in
the workspace (:data:`DEFAULT_MODEL`). Each indicator is normalised across the grids (min–max
to 0–1, higher = riskier), weighted, and summed into a score of 0–100; the contributions
``100 · wᵢ · nᵢ / Σw`` add up to the score exactly, which is the explanation. Grading methods:

- ``fixed``: score cut-offs (yellow ≥ a, red ≥ b);
- ``quantile``: the top ``red`` share of grids red, the next ``yellow`` share yellow;
- ``natural_breaks``: Fisher–Jenks breaks into three classes (mapclassify);
- ``baseline``: incidents in the current period against the mean of the previous N periods of
  the same grid (ratio ≥ ``red_ratio`` red, ≥ ``yellow_ratio`` yellow), as police alert colours
  are set; grids with fewer than ``min_incidents`` are green.

Override rules (``"serious_incidents >= 1"`` → red) are applied last and named in the reasons.
"""

from __future__ import annotations

import math
import operator
import re
import tomllib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

LEVELS = ("green", "yellow", "red")

DEFAULT_MODEL = """\
# Pingan Planner risk model. Edit weights, method and cut-offs; every result stores the model it used.
version = 1

[window]
days = 365          # incidents counted over the last N days before the period end

[indicators]        # weights (any scale; they are normalised to sum to 1)
incident_rate = 0.30       # incidents per 1,000 residents in the window (or by category: rate_theft, …)
serious_incidents = 0.10   # serious cases in the window
rented_share = 0.15        # share of households renting (出租)
floating_share = 0.10      # share of households with floating population (流动)
care_households = 0.10     # care-needing households (独居老人, 留守儿童, 残疾, 低保) per 100
key_targets = 0.05         # class-1 key targets in the grid
coverage_gap = 0.20        # share of public space no camera detects

[grading]
method = "quantile"        # fixed | quantile | natural_breaks | baseline
red = 0.15                 # quantile: the top 15% of grids are red
yellow = 0.35              # quantile: the next 35% are yellow
cutoffs = [40.0, 65.0]     # fixed: yellow from 40, red from 65

[baseline]
periods = 6                # the previous 6 periods (months)
red_ratio = 1.5
yellow_ratio = 1.2
min_incidents = 3

[[overrides]]
rule = "serious_incidents >= 1"
level = "red"
reason = "窗口期内发生严重案件"
"""

#: incident categories (their names for people are ``category.<key>`` in :mod:`api.i18n`)
CATEGORIES = ("theft", "fraud", "dispute", "public_order", "traffic", "robbery", "assault", "drugs", "fire", "other")
#: the indicators a risk model can weigh (names for people: ``indicator.<key>`` in :mod:`api.i18n`);
#: ``rate_<category>`` is incidents of one category per 1,000 residents (e.g. rate_theft = 0.1)
INDICATORS = ("incident_rate", "serious_incidents", "rented_share", "floating_share", "care_households",
              "key_targets", "coverage_gap", *(f"rate_{c}" for c in CATEGORIES))
#: indicators that are shares (0–1), written as percentages for people
SHARES = frozenset({"rented_share", "floating_share", "coverage_gap"})
_RULE = re.compile(r"^\s*([a-z_]+)\s*(>=|<=|>|<|==)\s*(-?\d+(?:\.\d+)?)\s*$")
_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq}


class RiskModelError(ValueError):
    """The risk model TOML is not usable; the message says where and how to fix it."""


@dataclass(frozen=True)
class RiskModel:
    """A parsed, validated risk model (:meth:`parse` of its TOML text): window, weights, method and
    its parameters, and the override rules."""

    text: str
    window_days: int
    weights: dict[str, float]
    method: str
    red: float
    yellow: float
    cutoffs: tuple[float, float]
    baseline: dict[str, float]
    overrides: tuple[tuple[str, str, float, str, str], ...]  # indicator, op, value, level, reason

    @classmethod
    def parse(cls, text: str = DEFAULT_MODEL) -> RiskModel:
        """Parse and check a risk model's TOML; a bad one raises :class:`RiskModelError` naming the key
        and the fix."""
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise RiskModelError(f"risk model is not valid TOML: {exc}") from exc
        weights = {str(k): float(v) for k, v in (doc.get("indicators") or {}).items()}
        unknown = sorted(set(weights) - set(INDICATORS))
        if unknown:
            raise RiskModelError(f"unknown indicator(s) {unknown} in [indicators]: known are {list(INDICATORS)}")
        if not weights or any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
            raise RiskModelError("[indicators] needs at least one positive weight (and none negative)")
        g = doc.get("grading") or {}
        method = str(g.get("method", "quantile"))
        if method not in {"fixed", "quantile", "natural_breaks", "baseline"}:
            raise RiskModelError(f"[grading] method '{method}': use fixed, quantile, natural_breaks or baseline")
        cut = tuple(float(v) for v in g.get("cutoffs", (40.0, 65.0)))
        if len(cut) != 2 or not cut[0] < cut[1]:
            raise RiskModelError(f"[grading] cutoffs {list(cut)}: give two increasing scores, e.g. [40, 65]")
        red, yellow = float(g.get("red", 0.15)), float(g.get("yellow", 0.35))
        if not (0 <= red <= 1 and 0 <= yellow <= 1 and red + yellow <= 1):
            raise RiskModelError("[grading] red and yellow are shares of grids between 0 and 1 that sum to ≤ 1")
        rules = []
        for k, o in enumerate(doc.get("overrides") or []):
            m = _RULE.match(str(o.get("rule", "")))
            if m is None or m.group(1) not in INDICATORS or o.get("level") not in LEVELS:
                raise RiskModelError(f"[[overrides]] #{k + 1}: write rule = \"indicator >= number\" with a known "
                                     f"indicator and level = red, yellow or green")
            rules.append((m.group(1), m.group(2), float(m.group(3)), str(o["level"]), str(o.get("reason", ""))))
        base = {"periods": 6.0, "red_ratio": 1.5, "yellow_ratio": 1.2, "min_incidents": 3.0,
                **{k: float(v) for k, v in (doc.get("baseline") or {}).items()}}
        return cls(text, int((doc.get("window") or {}).get("days", 365)), weights, method, red, yellow,
                   (cut[0], cut[1]), base, tuple(rules))

    def describe(self) -> dict[str, Any]:
        """What a result stores about the model that produced it."""
        return {"method": self.method, "weights": self.weights, "cutoffs": list(self.cutoffs), "red": self.red,
                "yellow": self.yellow, "window_days": self.window_days, "baseline": self.baseline,
                "overrides": [f"{i} {o} {v:g} → {lv}" for i, o, v, lv, _ in self.overrides]}


def normalise(values: pd.DataFrame) -> pd.DataFrame:
    """Min–max per indicator across grids (0 where all grids are equal)."""
    lo, hi = values.min(), values.max()
    span = (hi - lo).replace(0, np.nan)
    return ((values - lo) / span).fillna(0.0).clip(0, 1)


def score(indicators: pd.DataFrame, model: RiskModel) -> tuple[pd.Series, pd.DataFrame]:
    """Scores (0–100) and each indicator's contribution (the contributions sum to the score)."""
    cols = [c for c in model.weights if c in indicators]
    w = pd.Series({c: model.weights[c] for c in cols})
    norm = normalise(indicators[cols].astype(float))
    contrib = norm * (100.0 * w / w.sum())
    return contrib.sum(axis=1), contrib


def grade(scores: pd.Series, model: RiskModel, *, baseline_ratio: pd.Series | None = None,
          baseline_counts: pd.Series | None = None) -> tuple[pd.Series, pd.Series]:
    """Levels by the model's method, and the score at which each grid's level begins."""
    n = len(scores)
    if model.method == "fixed":
        yellow_at, red_at = model.cutoffs
    elif model.method == "quantile":
        ranked = scores.rank(ascending=False, method="first")
        red_n, yellow_n = math.floor(model.red * n + 1e-9), math.floor((model.red + model.yellow) * n + 1e-9)
        red_at = float(scores[ranked <= red_n].min()) if red_n else math.inf
        yellow_at = float(scores[ranked <= yellow_n].min()) if yellow_n else math.inf
    elif model.method == "natural_breaks":
        yellow_at, red_at = _natural_breaks(scores.to_numpy(dtype=float))
    else:  # baseline: on the incident ratio, not the score
        if baseline_ratio is None or baseline_counts is None:
            raise RiskModelError("the baseline method needs incident history (periods before the current one)")
        b = model.baseline
        ok = baseline_counts >= b["min_incidents"]
        level = pd.Series("green", index=scores.index)
        level[ok & (baseline_ratio >= b["yellow_ratio"])] = "yellow"
        level[ok & (baseline_ratio >= b["red_ratio"])] = "red"
        return level, pd.Series(np.nan, index=scores.index)
    level = pd.Series("green", index=scores.index)
    level[scores >= yellow_at] = "yellow"
    level[scores >= red_at] = "red"
    threshold = level.map({"green": -math.inf, "yellow": yellow_at, "red": red_at}).astype(float)
    return level, threshold


def apply_overrides(level: pd.Series, indicators: pd.DataFrame, model: RiskModel
                    ) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Levels after the override rules; where one applied (the last wins), its rule
    (``"serious_incidents >= 1"``) and the reason the model gives for it (may be empty)."""
    level = level.copy()
    rule = pd.Series("", index=level.index)
    reason = pd.Series("", index=level.index)
    for name, op, value, forced, why in model.overrides:
        if name not in indicators:
            continue
        hit = _OPS[op](indicators[name], value)
        level[hit] = forced
        rule[hit] = f"{name} {op} {value:g}"
        reason[hit] = why
    return level, rule, reason


def explain(indicators: pd.DataFrame, contributions: pd.DataFrame, scores: pd.Series, level: pd.Series,
            threshold: pd.Series, rule: pd.Series, *, top: int = 3, model: RiskModel | None = None,
            **baseline: Any) -> pd.DataFrame:
    """Per grid: the indicators that drove the score, and what would move it down a level.

    All of it is data, for :mod:`api.workflows.risk` to write in the reader's language:

    - ``drivers``: the indicator keys with the largest contributions, largest first, ``;``-separated
      (their values and points are the grid's indicator and ``contrib_`` columns);
    - ``hint``: how the grid can move down a level: ``"lower"`` (one indicator: ``lower_indicator``
      down to ``lower_to``, in its own units), ``"several"`` (no one indicator can do it; at least
      ``lower_need`` score points to shed), ``"override"`` (an override rule holds it up), or
      ``""`` (green).

    ``lower_to`` names one of the grid's two largest drivers and is rounded down so that it is
    enough as printed; it is verified by grading the workspace again with that one value changed,
    under the model's own method (min–max normalisation and quantile ranks move with it).
    """
    names = list(contributions.columns)
    values = indicators[names].to_numpy(dtype=float)
    contrib = contributions.to_numpy(dtype=float)
    lows = values.min(axis=0) if len(values) else np.zeros(len(names))
    search = _LevelSearch(indicators, names, model, level, baseline) if model is not None else None
    rows = []
    for i, code in enumerate(scores.index):
        order = np.argsort(-contrib[i])
        top_j = [int(j) for j in order[:top] if contrib[i, j] > 0]
        hint, lower_indicator, lower_to, lower_need = "", "", math.nan, math.nan
        lvl, limit = str(level.iloc[i]), float(threshold.iloc[i])
        if str(rule.iloc[i]):
            hint = "override"
        elif lvl != "green" and math.isfinite(limit):
            found = None
            if search is not None:
                for j in [int(k) for k in order[:2] if contrib[i, k] > 0]:
                    found = search.value_that_lowers(i, j, lows[j])
                    if found is not None:
                        hint, lower_indicator, lower_to = "lower", names[j], found
                        break
            if found is None:
                hint, lower_need = "several", max(float(scores.iloc[i]) - limit, 0.1)  # points to shed, at least
        rows.append({"code": code, "drivers": ";".join(names[j] for j in top_j), "hint": hint,
                     "lower_indicator": lower_indicator, "lower_to": lower_to, "lower_need": lower_need})
    return pd.DataFrame(rows).set_index("code")


class _LevelSearch:
    """Finds, for one grid and one indicator, the value (as printed) that lowers its level.

    Each try regrades the workspace with the one value changed, in numpy and by the model's own
    method: the column's min–max normalisation redone when its bounds move, every grid's score, the
    quantile ranks or natural breaks of the new scores, the override rules. The value printed is
    tried itself, so a hint is never wrong, only sometimes missing (tests check it against
    :func:`grade_all`)."""

    def __init__(self, indicators: pd.DataFrame, names: list[str], model: RiskModel, level: pd.Series,
                 baseline: dict[str, Any]):
        self.indicators, self.names, self.model, self.level, self.baseline = indicators, names, model, level, baseline
        w = np.array([model.weights[c] for c in names], dtype=float)
        self.w = 100.0 * w / w.sum()
        self.X = indicators[names].to_numpy(dtype=float)
        self.lo, self.hi = self.X.min(axis=0), self.X.max(axis=0)
        span = self.hi - self.lo
        self.C = np.where(span > 0, np.clip((self.X - self.lo) / np.where(span > 0, span, 1.0), 0, 1), 0.0) * self.w
        self.S = self.C.sum(axis=1)

    def _fast_level(self, i: int, j: int, value: float) -> int:
        col = self.X[:, j].copy()
        col[i] = value
        lo, hi = col.min(), col.max()
        S = self.S.copy()
        if lo == self.lo[j] and hi == self.hi[j]:
            span = hi - lo
            S[i] += (self.w[j] * min(max((value - lo) / span, 0.0), 1.0) if span > 0 else 0.0) - self.C[i, j]
        else:  # the column's bounds moved: every grid's share of it moves
            span = hi - lo
            new = np.clip((col - lo) / span, 0, 1) * self.w[j] if span > 0 else np.zeros(len(col))
            S += new - self.C[:, j]
        m = self.model
        if m.method == "fixed":
            yellow_at, red_at = m.cutoffs
        elif m.method == "quantile":  # as grade(): a class starts at the score of its last grid by rank
            n = len(S)
            red_n, yellow_n = math.floor(m.red * n + 1e-9), math.floor((m.red + m.yellow) * n + 1e-9)
            ordered = -np.sort(-S)
            red_at = float(ordered[red_n - 1]) if red_n else math.inf
            yellow_at = float(ordered[yellow_n - 1]) if yellow_n else math.inf
        else:  # natural breaks, as grade() finds them, on the new scores
            yellow_at, red_at = _natural_breaks(S)
        rank = 2 if S[i] >= red_at else 1 if S[i] >= yellow_at else 0
        row = self.indicators.iloc[i]
        for name, op, limit, forced, _why in self.model.overrides:  # the rules, on the changed row (last wins)
            if name in row.index:
                v = value if name == self.names[j] else float(row[name])
                if _OPS[op](v, limit):
                    rank = LEVELS.index(forced)
        return rank

    def value_that_lowers(self, i: int, j: int, low: float) -> float | None:
        """The value of indicator ``j``, rounded down to the fewest decimals that suffice (of a
        percentage, for a share), that moves grid ``i`` down a level; None when no value of that
        indicator alone does it."""
        current = float(self.X[i, j])
        rank = LEVELS.index(str(self.level.iloc[i]))
        lowers = lambda v: self._fast_level(i, j, v) < rank  # noqa: E731
        if current <= low or not lowers(low):
            return None
        lo, hi = low, current  # the level falls somewhere between
        while hi - lo > max(abs(current - low), 1e-9) * 1e-4:
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if lowers(mid) else (lo, mid)
        name = self.names[j]
        for digits in (1, 2, 3, 4):  # round down to the fewest digits that still suffice, as printed
            scale = 10 ** (digits + (2 if name in SHARES else 0))
            shown = math.floor(lo * scale) / scale
            if shown >= low and lowers(shown):  # the printed value itself, regraded
                return shown
        return None


def _natural_breaks(scores: np.ndarray) -> tuple[float, float]:
    """Where the yellow and red classes begin under natural breaks (as :func:`grade`)."""
    import mapclassify

    if len(np.unique(scores)) < 3:
        return math.inf, math.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        classifier = mapclassify.FisherJenksSampled if len(scores) > 1000 else mapclassify.FisherJenks
        bins = classifier(scores, k=3).bins
    lower = np.sort(scores)
    return float(lower[lower > bins[0]].min()), float(lower[lower > bins[1]].min())


def compare(previous: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """Grids whose level changed between two graded periods, with the indicator that moved most
    (``why_indicator``) and its values before and after."""
    both = previous.merge(current, left_index=True, right_index=True, suffixes=("_before", "_after"))
    changed = both[both["level_before"] != both["level_after"]]
    rows = []
    for code, r in changed.iterrows():
        moves = {k: r[f"{k}_after"] - r[f"{k}_before"] for k in INDICATORS if f"{k}_after" in r}
        key = max(moves, key=lambda k: abs(moves[k]) / (abs(r[f"{k}_before"]) + 1e-9)) if moves else None
        rows.append({"code": code, "before": r["level_before"], "after": r["level_after"],
                     "direction": "up" if LEVELS.index(r["level_after"]) > LEVELS.index(r["level_before"]) else "down",
                     "why_indicator": key or "", "why_before": float(r[f"{key}_before"]) if key else math.nan,
                     "why_after": float(r[f"{key}_after"]) if key else math.nan})
    return pd.DataFrame(rows, columns=["code", "before", "after", "direction", "why_indicator", "why_before",
                                       "why_after"])


def grade_all(indicators: pd.DataFrame, model: RiskModel, **baseline: Any) -> pd.DataFrame:
    """Score, level (after overrides), contributions and explanation for every grid.

    Parameters
    ----------
    indicators
        One row per grid (indexed by code), one column per indicator the model weighs.
    model
        The risk model.
    **baseline
        For the ``baseline`` method: ``baseline_ratio`` (each grid's incidents over its own past
        mean) and ``baseline_incidents``.

    Returns
    -------
    pandas.DataFrame
        The indicators, plus score, level, override_rule and override (the rule that set the level,
        and the model's reason for it), contrib_<indicator> (score points), and from
        :func:`explain` drivers, hint, lower_indicator, lower_to and lower_need.
    """
    scores, contrib = score(indicators, model)
    level, threshold = grade(scores, model, **baseline)
    level, rule, reason = apply_overrides(level, indicators, model)
    why = explain(indicators, contrib, scores, level, threshold, rule, model=model, **baseline)
    out = indicators.copy()
    out["score"] = scores
    out["level"] = level
    out["override_rule"] = rule
    out["override"] = reason
    for k in contrib:
        out[f"contrib_{k}"] = contrib[k]
    return out.join(why)


def counts_by(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """Red / yellow / green counts per ``key`` (e.g. community)."""
    table = frame.groupby(key)["level"].value_counts().unstack(fill_value=0)
    return table.reindex(columns=list(LEVELS)[::-1], fill_value=0)


def weights_table(model: RiskModel) -> Mapping[str, float]:
    """The model's indicator weights scaled to sum to 1."""
    total = sum(model.weights.values())
    return {k: v / total for k, v in model.weights.items()}
