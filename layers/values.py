"""What a spreadsheet cell holds, read the way inventories write it: empty cells, numbers with units,
digit codes that Excel turned into floats, resolutions, tag lists, and text that must not pass."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

NUMBER = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*(?:m|米|度|°|mm|毫米|元|层|px)?\s*$", re.IGNORECASE)
RESOLUTION = re.compile(r"^\s*(\d{3,5})\s*[x×*]\s*(\d{3,5})\s*$", re.IGNORECASE)
TAG_SPLIT = re.compile(r"[;,，；、|/\s]+")
#: control characters (a line break inside a cell excepted) and bidirectional overrides: they cut,
#: hide or reorder text (a NUL ends a name in SQLite tools; a tab before '=' makes a formula)
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
#: what a resident's mainland mobile number (1[3-9]x xxxx xxxx, optional +86) or 身份证号 (17 digits and a
#: check digit or X) looks like: refused where a field holds who answers for an area
PERSONAL_NUMBER = re.compile(r"(?:\+?86)?1[3-9]\d{9}|\d{17}[\dXx]")
#: a spreadsheet number with this many digits has lost some (float64 holds 15–17)
LOSSY_DIGITS = 16


def is_missing(v: Any) -> bool:
    """An empty cell, as inventories write one (blank, -, —, /, 无, null, none, nan)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and v.strip() in {"", "-", "—", "/", "无", "null", "none", "nan"}


def to_number(v: Any) -> float:
    """A number from a cell, units allowed (``6m``, ``6 米``, ``90°``, ``4mm``); ValueError if it is none."""
    if isinstance(v, bool):
        raise ValueError
    if isinstance(v, int | float | np.integer | np.floating):
        return float(v)
    m = NUMBER.match(str(v))
    if not m:
        raise ValueError
    return float(m.group(1))


def lossy_number(v: Any) -> bool:
    """Whether ``v`` is a spreadsheet number too long to hold its digits exactly."""
    if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
        return False
    if isinstance(v, float | np.floating) and not math.isfinite(float(v)):
        return False
    return len(str(abs(int(v)))) >= LOSSY_DIGITS


def to_code(v: Any) -> str:
    """Digit codes arrive as text, int, or (from Excel) float; keep them as digit strings."""
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, int | np.integer):
        return str(int(v))
    return str(v).strip()


def _null(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def _number(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def typed(values: list[Any], kind: str) -> Any:
    """One column of a schema field from plain values, with the field's dtype: float64, Int64 (nullable),
    datetime64 or object with None for nulls. What every read and every validation hands on."""
    if kind == "float":
        return np.array([np.nan if _null(v) else _number(v) for v in values], dtype="float64")
    if kind == "int":
        nums = [None if _null(v) else _number(v) for v in values]
        return pd.array([pd.NA if n is None or math.isnan(n) else int(n) for n in nums], dtype="Int64")
    if kind == "datetime":
        return pd.to_datetime(pd.Series(values, dtype=object)).array
    return np.array([None if _null(v) else v for v in values], dtype=object)


def typed_value(v: Any, kind: str) -> Any:
    """One value as :func:`typed` would hold it (for a single row read by its key)."""
    if kind == "float":
        return np.nan if _null(v) else _number(v)
    if kind == "int":
        n = None if _null(v) else _number(v)
        return pd.NA if n is None or math.isnan(n) else int(n)
    if kind == "datetime":
        return pd.NaT if _null(v) else pd.Timestamp(v)
    return None if _null(v) else v
