"""Risk reasons written for people, in their language, from the data :func:`gis.risk.explain` and
:func:`gis.risk.compare` give (indicator keys, values, score points), with the words of the one
message catalogue (:mod:`api.i18n`). The stored ``risk`` layer carries them in Chinese, beside the
data they are written from; a table or page in English writes them again from the same data.
"""

from __future__ import annotations

import math

import pandas as pd

from api.i18n import t
from gis import risk


def indicator_name(key: str, lang: str = "zh") -> str:
    """What people call indicator ``key`` (``rate_theft`` → 盗窃警情率(起/千人))."""
    if key.startswith("rate_") and key[5:] in risk.CATEGORIES:
        return t(lang, "indicator.rate_category", category=t(lang, f"category.{key[5:]}"))
    return t(lang, f"indicator.{key}")


def value_text(value: float, key: str, *, exact: bool = False) -> str:
    """An indicator's value as people read it: shares in percent; short (one decimal, a whole
    percent), or ``exact`` (up to four decimals, as a hint's threshold was rounded)."""
    if key in risk.SHARES:
        return f"{value:.0%}" if not exact else f"{100 * value:.4f}".rstrip("0").rstrip(".") + "%"
    return f"{value:.{4 if exact else 1}f}".rstrip("0").rstrip(".")


def reasons_text(row: pd.Series, lang: str = "zh") -> str:
    """The drivers of one graded grid (a row of :func:`gis.risk.grade_all`): name, value, points."""
    keys = [k for k in str(row.get("drivers") or "").split(";") if k]
    return t(lang, "risk.joiner").join(
        t(lang, "risk.driver", indicator=indicator_name(k, lang), value=value_text(float(row[k]), k),
          points=f"{float(row[f'contrib_{k}']):.1f}") for k in keys)


def hint_text(row: pd.Series, lang: str = "zh") -> str:
    """What would move one graded grid down a level, or the rule that holds it up."""
    hint = str(row.get("hint") or "")
    if hint == "lower":
        key = str(row["lower_indicator"])
        return t(lang, "risk.lower", indicator=indicator_name(key, lang),
                 value=value_text(float(row["lower_to"]), key, exact=True))
    if hint == "several":
        return t(lang, "risk.several", points=f"{float(row['lower_need']):.1f}")
    if hint == "override":
        return t(lang, "risk.override", reason=str(row.get("override") or "") or rule_text(str(row["override_rule"]),
                                                                                          lang))
    return ""


def rule_text(rule: str, lang: str = "zh") -> str:
    """An override rule (``serious_incidents >= 1``) with the indicator's name."""
    key, op, value = rule.split(" ")
    return t(lang, "risk.rule", indicator=indicator_name(key, lang), op=op, value=value)


def change_text(row: pd.Series, lang: str = "zh") -> str:
    """Why one grid changed level (a row of :func:`gis.risk.compare`): the indicator that moved most."""
    key = str(row.get("why_indicator") or "")
    if not key or math.isnan(float(row["why_before"])):
        return ""
    return t(lang, "risk.moved", indicator=indicator_name(key, lang), before=value_text(float(row["why_before"]), key),
             after=value_text(float(row["why_after"]), key))


def with_texts(graded: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """``graded`` with the people's columns ``reasons`` and ``to_lower_level`` (re)written in ``lang``."""
    out = graded.copy()
    out["reasons"] = [reasons_text(r, lang) for _, r in graded.iterrows()] if len(graded) else pd.Series(dtype=str)
    out["to_lower_level"] = [hint_text(r, lang) for _, r in graded.iterrows()] if len(graded) else pd.Series(
        dtype=str)
    return out


def changes_with_texts(changes: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """``changes`` with the column ``why`` (re)written in ``lang``."""
    out = changes.copy()
    out["why"] = [change_text(r, lang) for _, r in changes.iterrows()] if len(changes) else pd.Series(dtype=str)
    return out


def in_language(layer: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A stored ``risk`` layer with its reasons in ``lang``: the stored (Chinese) texts for ``zh``, or
    where the layer predates the data they are written from; written again otherwise."""
    if lang == "zh" or not {"drivers", "hint"} <= set(layer.columns):
        return layer
    return with_texts(layer, lang)
