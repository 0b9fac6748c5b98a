"""The camera catalogue as data (:mod:`gis.catalogue`): read from CSV/XLSX with Chinese headers
through the one validation every import passes, the packaged default, and the table a workspace
stores in its ``catalogue`` setting.

The packaged default (``layers/camera_catalogue.csv``) holds common Hikvision, Dahua and Uniview
bullet, dome, PTZ and fisheye models. Each row's facts (resolution, sensor, lens, field of view, IR
reach, minimum illumination, codecs, streams, power) come from the maker's datasheet or product
page named in its 资料来源 column, as collected field by field in the open ``cctv-camera-database``
(ch-bas/cctv-camera-database on GitHub); a fact that source does not give is left empty, never
guessed. The unit prices (单价) are planning estimates in yuan, for a tender's own to replace.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from layers import sheets
from layers.errors import ImportFormatError
from layers.validate import validate

TABLE = "camera_models"
#: the packaged default catalogue
DEFAULT_PATH = Path(__file__).with_name("camera_catalogue.csv")


def read(path: str | Path, *, sheet: str | int | None = None) -> pd.DataFrame:
    """A catalogue file (CSV or XLSX, Chinese or English headers) validated as the ``camera_models``
    table; raises :class:`layers.errors.LayerValidationError` naming every row, field and fix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        table = sheets.read_csv(path)
    elif suffix in (".xlsx", ".xlsm"):
        table = sheets.read_xlsx(path, sheet)
    else:
        raise ImportFormatError(f"{path.name}: a camera catalogue is a .csv or .xlsx file")
    return check(table.frame, rows=table.rows, source=path.name)


def check(frame: pd.DataFrame, *, rows: list[int] | None = None, source: str | None = None) -> pd.DataFrame:
    """A catalogue table validated (ids unique, kinds known, numbers in range)."""
    out = validate(pd.DataFrame(frame), TABLE, rows=rows, source=source)
    return pd.DataFrame(out)


@functools.lru_cache(maxsize=1)
def _default() -> tuple[dict[str, Any], ...]:
    return tuple(records(read(DEFAULT_PATH)))


def default_records() -> list[dict[str, Any]]:
    """The packaged default catalogue, as records."""
    return [dict(r) for r in _default()]


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A validated catalogue table as JSON-ready records (what the ``catalogue`` setting stores)."""
    out = []
    for rec in frame.to_dict("records"):
        row = {}
        for k, v in rec.items():
            if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
                continue
            row[str(k)] = v.item() if isinstance(v, np.generic) else v
        out.append(row)
    return out


def of_setting(value: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """The catalogue a workspace uses: its ``catalogue`` setting (records), else the packaged default."""
    if value is None:
        return default_records()
    return records(check(pd.DataFrame(list(value))))
