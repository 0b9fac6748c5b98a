"""Reading inventory spreadsheets (台账) as people really keep them: CSV in UTF-8 or GB18030, XLSX with
hidden sheets, two-row headers and merged cells.

- The sheet read is the one asked for (``sheet=``, a name or a 0-based number), else the first
  *visible* one; :class:`Sheet` says which, so the user is told.
- A two-row header (a group label merged across columns above the field names, or a field
  name merged down over two rows) is read as one: each column is named by its lower cell,
  else its upper one. Data rows keep their spreadsheet numbers in every message.
- A merged cell in the data (a community name merged down over its rows) gives its value to
  every row it covers.
- Cells keep their types (a number stays a number), so validation can tell a code that Excel
  turned into a number from one typed as text.
"""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from layers.errors import ImportFormatError


@dataclasses.dataclass
class Sheet:
    """A table as read: its rows, the spreadsheet row number of each, and where it came from."""

    frame: pd.DataFrame
    rows: list[int]
    name: str | None = None  # the XLSX sheet read
    note: str = ""  # what the reader did that the user should know


def read_csv(path: Path) -> Sheet:
    """A CSV as a sheet of text cells: UTF-8 (with or without BOM), else GB18030."""
    for enc in ("utf-8-sig", "gb18030"):
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=enc)
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError as exc:
            raise ImportFormatError(f"{path.name} has no header row and no data") from exc
        return Sheet(frame, [i + 2 for i in range(len(frame))], note="" if enc == "utf-8-sig" else "read as GB18030")
    raise ImportFormatError(f"{path.name}: text encoding is neither UTF-8 nor GB18030; save it as UTF-8")


def read_xlsx(path: Path, sheet: str | int | None = None) -> Sheet:
    """One sheet of an XLSX workbook (the first, or ``sheet`` by name or number) as text cells,
    with cached formula values, never formulas."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, data_only=True)
    except (zipfile.BadZipFile, ValueError, KeyError, OSError) as exc:
        raise ImportFormatError(f"{path.name} is not a readable XLSX workbook ({exc})") from exc
    ws = _pick(book, sheet, path.name)
    grid = [list(r) for r in ws.iter_rows(values_only=True)]
    if not grid:
        raise ImportFormatError(f"{path.name}: sheet '{ws.title}' is empty")
    width = max(len(r) for r in grid)
    grid = [r + [None] * (width - len(r)) for r in grid]
    header_rows = 1
    for rng in ws.merged_cells.ranges:  # give each merged cell's value to every cell it covers
        value = grid[rng.min_row - 1][rng.min_col - 1]
        for r in range(rng.min_row, rng.max_row + 1):
            for c in range(rng.min_col, rng.max_col + 1):
                grid[r - 1][c - 1] = value
        if rng.min_row == 1 and (rng.max_row >= 2 or rng.max_col > rng.min_col):
            header_rows = 2  # a merged header cell: the field names are on two rows
    if header_rows == 2 and len(grid) >= 2:
        upper, lower = grid[0], grid[1]
        header = [_name(lo) or _name(up) for up, lo in zip(upper, lower, strict=True)]
    else:
        header = [_name(v) for v in grid[0]]
    header = [h or f"column {i + 1}" for i, h in enumerate(header)]
    body = grid[header_rows:]
    rows = [i + header_rows + 1 for i in range(len(body))]
    keep = [i for i, r in enumerate(body) if any(v is not None and str(v).strip() != "" for v in r)]
    frame = pd.DataFrame([body[i] for i in keep], columns=header, dtype=object)
    hidden = [s.title for s in book.worksheets if s.sheet_state != "visible"]
    notes = [f"sheet '{ws.title}'"]
    if header_rows == 2:
        notes.append("two-row header read as one")
    if hidden and sheet is None:
        notes.append(f"hidden sheet(s) skipped: {', '.join(hidden)}")
    return Sheet(frame, [rows[i] for i in keep], ws.title, "; ".join(notes))


def _pick(book: Any, sheet: str | int | None, filename: str) -> Any:
    names = [s.title for s in book.worksheets]
    if sheet is None:
        visible = [s for s in book.worksheets if s.sheet_state == "visible"]
        if not visible:
            raise ImportFormatError(f"{filename} has no visible sheet: name one with --sheet ({', '.join(names)})")
        return visible[0]
    if isinstance(sheet, int) or (isinstance(sheet, str) and sheet.isdigit() and sheet not in names):
        index = int(sheet)
        if not 0 <= index < len(names):
            raise ImportFormatError(f"{filename} has {len(names)} sheet(s), no number {index}: {', '.join(names)}")
        return book.worksheets[index]
    if sheet not in names:
        raise ImportFormatError(f"{filename} has no sheet '{sheet}': it has {', '.join(names)}")
    return book[sheet]


def _name(value: Any) -> str:
    return "" if value is None else " ".join(str(value).split())
