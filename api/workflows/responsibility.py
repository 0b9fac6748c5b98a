"""Who answers for each area (责任人): a worker or role id per 网格, 组格 and 片格, assigned from a table.

Baotou's 网格—组格—片格 responsibility areas each have someone who answers for them: a 网格员 for the
grid, a 楼栋长 or 单元长 below it. A planner keeps that as a spreadsheet of codes and staff ids; this
module takes the spreadsheet (or the same rows from the API), checks every row (the code exists, lies
in the user's area, the id is a staff or role id and not a phone or 身份证 number), and only when all
rows pass stores the ids in the grids and subgrids layers, audited. Residents' data never enters.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from api.access import Scope
from layers import schemas, sheets, validate
from layers.errors import ImportFormatError, LayerValidationError, Problem
from layers.store import Store

#: the headers a responsibility table may use for the area's code and for who answers for it
CODE_HEADERS = ("编码", "网格编码", "组格编码", "片格编码", "code", "grid_code")
WORKER_HEADERS = ("责任人编号", "网格员编号", "责任人", "网格员", "负责人编号", "楼栋长", "worker_id", "worker")
#: the layers that carry a responsibility, by the kind of code they hold
LAYERS = ("grids", "subgrids")


def read_table(path: str | Path) -> tuple[pd.DataFrame, list[int]]:
    """A responsibility table (CSV or XLSX) as code and worker_id text, with each row's spreadsheet number."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ImportFormatError(f"{path.name}: a responsibility table is .csv or .xlsx")
    sheet = sheets.read_csv(path) if suffix == ".csv" else sheets.read_xlsx(path, None)
    frame = sheet.frame
    folded = {schemas.normalise_header(c): c for c in frame.columns}

    def column(candidates: Sequence[str], what: str) -> str:
        for cand in candidates:
            if schemas.normalise_header(cand) in folded:
                return folded[schemas.normalise_header(cand)]
        raise LayerValidationError("responsibility", [Problem(
            None, what, None, f"no {what} column", f"name one of the headers {', '.join(candidates[:4])}")],
            source=path.name)

    code, worker = column(CODE_HEADERS, "编码"), column(WORKER_HEADERS, "责任人编号")
    return pd.DataFrame({"code": frame[code].to_numpy(), "worker_id": frame[worker].to_numpy()}), sheet.rows


def assign(store: Store, scope: Scope, table: pd.DataFrame, *, rows: Sequence[int] | None = None,
           source: str | None = None) -> dict[str, Any]:
    """Store who answers for each coded area of ``table`` (columns ``code``, ``worker_id``; an empty
    worker clears it). Every row is checked first; one bad row stores nothing.

    Parameters
    ----------
    store, scope
        The workspace and the user (who must be allowed to change grids and subgrids, and sees only
        the areas of their own grids).
    table
        One row per area.
    rows
        The row number of each row as the user counts it (spreadsheet rows); default 1, 2, ….
    source
        The file's name, for the error message.

    Returns
    -------
    dict
        How many areas of each layer changed, and how many already had that id.
    """
    for layer in LAYERS:
        scope.allow_write(layer)
    numbers = list(rows) if rows is not None else list(range(1, len(table) + 1))
    known: dict[str, str] = {}
    for layer in LAYERS:
        if store.has(layer):
            mine = scope.filter(store, layer, store.read(layer))
            known.update({str(c): layer for c in mine["code"]})
    workers, problems = validate.check_cells("subgrids", "worker_id", list(table["worker_id"]), numbers,
                                             shown="责任人编号")
    seen: dict[str, int] = {}
    for number, raw in zip(numbers, table["code"].to_numpy(), strict=True):
        code = "" if raw is None or (isinstance(raw, float) and pd.isna(raw)) else str(raw).strip()
        if not code:
            problems.append(Problem(number, "编码", raw, "the code is empty", "give the area's code"))
        elif code not in known:
            problems.append(Problem(number, "编码", raw, f"no grid, 组格 or 片格 '{code}' in your area",
                                    "check the code against the grids table (pingan export tables)"))
        elif code in seen:
            problems.append(Problem(number, "编码", raw, f"'{code}' is given twice (also row {seen[code]})",
                                    "keep one row per area"))
        else:
            seen[code] = number
    if problems:
        raise LayerValidationError("responsibility", problems, source=source)
    wanted = {str(c).strip(): w for c, w in zip(table["code"], workers, strict=True)}
    changed: dict[str, int] = {}
    unchanged = 0
    for layer in LAYERS:
        codes = {c for c, lay in known.items() if lay == layer and c in wanted}
        tally = [0, 0]  # changed, already so (counted inside the atomic update, on the rows as stored)

        def change(frame: pd.DataFrame, codes: set[str] = codes, tally: list[int] = tally) -> pd.DataFrame:
            out = frame.copy()
            hit = out["code"].astype(str).isin(codes)
            new = out.loc[hit, "code"].astype(str).map(wanted)
            old = out.loc[hit, "worker_id"] if "worker_id" in out else pd.Series(None, index=new.index)
            same = sum((a if isinstance(a, str) else None) == (b if isinstance(b, str) else None)
                       for a, b in zip(old, new, strict=True))
            tally[:] = [len(new) - same, same]
            out.loc[hit, "worker_id"] = new.to_numpy()
            return out

        if codes:
            store.update(layer, change, message=f"responsibility for {len(codes)} areas")
        changed[layer] = tally[0]
        unchanged += tally[1]
    store.audit("responsibility", "grids", {"changed": changed, "unchanged": unchanged, "source": source,
                                            "areas": len(wanted)}, user=scope.user.username)
    return {"changed": changed, "unchanged": unchanged}
