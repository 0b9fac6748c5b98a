"""Workspace settings as a resource (changed by planners and administrators, audited)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.access import ForbiddenError
from api.deps import ScopeDep, StoreDep
from api.workflows.settings import change_settings

router = APIRouter(tags=["workspace"])


class SettingsChange(BaseModel):
    """The analysis settings a planner may change; anything else is refused by name."""

    model_config = ConfigDict(extra="forbid")

    storey_height_m: Annotated[float | None, Field(ge=1.5, le=10)] = None
    target_height_m: Annotated[float | None, Field(ge=0, le=3)] = None
    dori_profile: str | None = None
    dori_form: Literal["arc", "flat"] | None = None
    occlusion: Literal["2d", "2.5d"] | None = None
    expect_china: bool | None = None
    max_outside_km: Annotated[float | None, Field(ge=0, le=5000)] = None
    markers: Annotated[list[Literal["rented", "vacant", "floating", "elderly"]] | None, Field(max_length=4)] = None


@router.get("/settings", summary="The workspace's analysis settings")
def get_settings(store: StoreDep, scope: ScopeDep) -> dict[str, Any]:
    return store.settings()


@router.put("/settings", summary="Change analysis settings (planners and admins; results become stale)")
def put_settings(store: StoreDep, scope: ScopeDep, change: SettingsChange) -> dict[str, Any]:
    if scope.user.role.name not in ("admin", "planner") or not scope.everywhere:
        raise ForbiddenError("workspace settings are changed by planners and administrators whose area is 'all'")
    return change_settings(store, change.model_dump(exclude_none=True), user=scope.user.username)
