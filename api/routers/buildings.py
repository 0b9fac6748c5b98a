"""Below the grid: a building's stack (单元 × 楼层; counts per floor, detail only with a reason) and who
answers for each 网格, 组格 and 片格 (责任人)."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import LangDep, ScopeDep, StoreDep
from api.workflows.responsibility import assign
from api.workflows.stacks import stack, subgrid_card

router = APIRouter(tags=["buildings"])


@router.get("/buildings/{building_id}/stack", summary="A building's households per unit and floor (your area; "
            "counts 1–4 shown as <5; one by one only with a reason and a role allowed household detail)")
def get_stack(store: StoreDep, scope: ScopeDep,
              building_id: Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")],
              reason: Annotated[str | None, Query(max_length=200, description="why household detail is read "
                                                  "(audited)")] = None) -> dict[str, Any]:
    return stack(store, scope, building_id, reason=reason)


@router.get("/subgrids/{code}", summary="A 组格's or 片格's rolled-up figures (your area; household counts 1–4 "
            "shown as <5) and its children: the 2D map's drill-down")
def get_subgrid(store: StoreDep, scope: ScopeDep, lang: LangDep,
                code: Annotated[str, Path(max_length=32, pattern=r"^[0-9]+$")]) -> dict[str, Any]:
    return subgrid_card(store, scope, code, lang=lang)


class Responsibility(BaseModel):
    """Who answers for one area: its code and a staff or role id (null clears it)."""

    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, Field(min_length=1, max_length=32)]
    worker_id: Annotated[str | None, Field(max_length=64)] = None


class Responsibilities(BaseModel):
    """Rows of a responsibility table, as ``pingan grids assign`` reads them from a spreadsheet."""

    model_config = ConfigDict(extra="forbid")

    rows: Annotated[list[Responsibility], Field(min_length=1, max_length=20_000)]


@router.put("/responsibility", summary="Set who answers for grids, 组格 and 片格 of your area (a staff or role "
            "id, never a phone or ID number; every row checked first; audited)")
def put_responsibility(store: StoreDep, scope: ScopeDep, body: Responsibilities) -> dict[str, Any]:
    table = pd.DataFrame({"code": [r.code for r in body.rows], "worker_id": [r.worker_id for r in body.rows]})
    return assign(store, scope, table)
