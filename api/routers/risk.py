"""The risk model (TOML) as a resource: read it, replace it (validated, versioned, audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from fastapi.responses import PlainTextResponse

from api.deps import ScopeDep, StoreDep
from api.workflows.risk import model_of, set_model

router = APIRouter(tags=["risk"])


@router.get("/risk/model", summary="The risk model in use (TOML)",
            responses={200: {"content": {"application/toml": {"schema": {"type": "string"}}},
                             "description": "the model as TOML"}})
def get_model(store: StoreDep, scope: ScopeDep) -> PlainTextResponse:
    scope.allow_read("risk")
    version = int(store.settings().get("risk_model_version", 0))
    return PlainTextResponse(model_of(store).text, headers={"ETag": f'W/"risk-model-{version}"'},
                             media_type="application/toml")


@router.put("/risk/model", summary="Replace the risk model (validated first; bumps its version)")
def put_model(store: StoreDep, scope: ScopeDep,
              text: Annotated[str, Body(media_type="application/toml")]) -> dict[str, int]:
    scope.allow_write("grids")  # the model grades every grid: planners and admins
    if not scope.everywhere:
        raise PermissionError("the risk model grades the whole workspace: it needs a user whose area is 'all'")
    return {"version": set_model(store, text, user=scope.user.username)}
