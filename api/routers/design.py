"""CCTV design figures of the user's area: bandwidth and storage (and the storage units they need)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api.deps import ScopeDep, StoreDep
from api.workflows.storage import storage_plan

router = APIRouter(tags=["design"])
Status = Literal["active", "planned", "faulty", "removed"]


@router.get("/design/storage", summary="Bandwidth (Mbps) and storage (TB) of your area's cameras per grid, "
            "community and 街镇, with the storage units needed per recording site")
def get_storage(store: StoreDep, scope: ScopeDep,
                level: Literal["grid", "community", "township", "all"] | None = None,
                status: Annotated[list[Status] | None, Query(max_length=4, description="cameras that record "
                                                             "(default: all but removed)")] = None,
                ) -> dict[str, Any]:
    plan = storage_plan(store, scope, statuses=tuple(status or ("active", "planned", "faulty")), site_level=level)
    return plan.as_dict()
