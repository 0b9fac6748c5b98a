"""A building's stack (单元 × 楼层) for the 3D page: counts per floor, detail only with a reason."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.deps import ScopeDep, StoreDep
from api.workflows.stacks import stack

router = APIRouter(tags=["buildings"])


@router.get("/buildings/{building_id}/stack", summary="A building's households per unit and floor (your area; "
            "counts 1–4 shown as <5; one by one only with a reason and a role allowed household detail)")
def get_stack(store: StoreDep, scope: ScopeDep,
              building_id: Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")],
              reason: Annotated[str | None, Query(max_length=200, description="why household detail is read "
                                                  "(audited)")] = None) -> dict[str, Any]:
    return stack(store, scope, building_id, reason=reason)
