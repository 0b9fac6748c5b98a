"""Spreadsheet cells that cannot harm their reader: no text leaves as something a spreadsheet evaluates.

Excel, WPS and LibreOffice evaluate a CSV field, and openpyxl writes an XLSX cell as a
formula, when the text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return
before one of them). Following OWASP's advice on CSV injection, every such text gets a
leading apostrophe, which spreadsheets show as plain text; the fullwidth forms (``＝``,
``＋``, ``－``, ``＠``) that some Chinese input methods produce and some spreadsheets convert
are treated alike. Numbers stay numbers: only text is touched, and every CSV and XLSX
writer of the exports passes its cells and headers through :func:`cell`, and every export file is
written through :func:`atomic` (a reader never sees half a file).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: first characters a spreadsheet may read as the start of a formula
TRIGGERS = frozenset("=+-@\t\r\n＝＋－＠")


def safe_text(text: str) -> str:
    """``text`` as a spreadsheet shows it but never evaluates it."""
    stripped = text.lstrip(" \u3000")
    if text and (text[0] in TRIGGERS or (stripped and stripped[0] in TRIGGERS)):
        return "'" + text
    return text


def cell(value: Any) -> Any:
    """One value for a CSV or XLSX cell: None for missing, plain numbers, neutralised text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating) and np.isnan(value):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, int | float | dt.datetime | dt.date):
        return value
    return safe_text(str(value))


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A table ready for CSV: every text cell and header neutralised, numbers untouched."""
    out = frame.copy()
    for col in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col])
                or pd.api.types.is_datetime64_any_dtype(out[col])):
            out[col] = [cell(v) for v in out[col]]
    out.columns = [safe_text(str(c)) for c in out.columns]
    return out


def width(value: Any) -> int:
    """How many columns a cell's text takes (CJK characters are two wide): for column widths."""
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)  # CJK characters are two columns wide


def atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Write through ``write(tmp)`` beside ``path``, then rename: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.tmp{path.suffix}")  # created with the umask
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
