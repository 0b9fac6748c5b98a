"""The kinds of problem error answers report (RFC 9457): each error's ``type`` is one of these pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.errors import PROBLEMS
from layers.errors import UnknownLayerError

router = APIRouter(prefix="/problems", tags=["service"])


def _describe(slug: str) -> dict[str, Any]:
    status, title = PROBLEMS[slug]
    return {"type": f"/problems/{slug}", "title": title, "status": status}


@router.get("", summary="Every kind of problem an error answer can report")
def problems() -> list[dict[str, Any]]:
    return [_describe(slug) for slug in PROBLEMS]


@router.get("/{slug}", summary="One kind of problem: its title and HTTP status")
def one_problem(slug: str) -> dict[str, Any]:
    if slug not in PROBLEMS:
        raise UnknownLayerError(f"no problem type '{slug}' (GET /problems lists them)")
    return _describe(slug)
