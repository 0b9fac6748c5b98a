"""The risk model (TOML) as a resource: read it, replace it (validated, versioned, audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from fastapi.responses import PlainTextResponse

from api import grading
from api.deps import StoreDep

router = APIRouter(tags=["risk"])


@router.get("/risk/model", response_class=PlainTextResponse, summary="The risk model in use (TOML)")
def get_model(store: StoreDep) -> PlainTextResponse:
    version = int(store.settings().get("risk_model_version", 0))
    return PlainTextResponse(grading.model_of(store).text, headers={"ETag": f'W/"risk-model-{version}"'},
                             media_type="application/toml")


@router.put("/risk/model", summary="Replace the risk model (validated first; bumps its version)")
def put_model(store: StoreDep, text: Annotated[str, Body(media_type="application/toml")]) -> dict[str, int]:
    return {"version": grading.set_model(store, text, user="api")}
