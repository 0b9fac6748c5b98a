"""One table from domain errors to HTTP status codes; no stack trace reaches a client."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.access import AuthError, UserError
from gis.risk import RiskModelError
from layers.errors import ImportFormatError, LayerValidationError, UnknownLayerError, WorkspaceError


class PreconditionFailedError(Exception):
    """The feature changed since the client read it (HTTP 412, with the current ETag)."""

    def __init__(self, message: str, etag: str | None):
        super().__init__(message)
        self.etag = etag


class ConflictError(Exception):
    """The feature exists already (HTTP 409)."""


class PreconditionRequiredError(Exception):
    """An edit without If-Match (HTTP 428)."""


STATUS_CODES: dict[type[Exception], int] = {
    PreconditionFailedError: 412,
    PreconditionRequiredError: 428,
    ConflictError: 409,
    AuthError: 401,
    UserError: 422,
    UnknownLayerError: 404,
    LayerValidationError: 422,
    ImportFormatError: 400,
    PermissionError: 403,
    RiskModelError: 422,
    ValueError: 422,
    WorkspaceError: 503,
}


class ErrorBody(BaseModel):
    """Every error answer: the error's kind and a message saying what to do."""

    error: str
    detail: str
    problems: list[dict[str, Any]] | None = None
    current_etag: str | None = None


#: the error answers every API route may give (documented in OpenAPI)
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody, "description": text} for code, text in (
    (400, "malformed request body"), (401, "not logged in"), (403, "the role or area does not allow it"),
    (404, "no such layer or feature"),
    (409, "exists already"), (412, "changed since read (If-Match is stale)"), (422, "invalid input"),
    (428, "If-Match missing"), (503, "workspace unavailable"))}


def add_exception_handlers(app: FastAPI) -> None:
    def invalid_request(request: Request, exc: Exception) -> JSONResponse:
        # the same body as every other error: each problem with where it is and what is wrong
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        problems = [{"row": None, "field": ".".join(str(p) for p in e.get("loc", ())), "message": str(e.get("msg")),
                     "fix": None} for e in errors]
        detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems) or "invalid request"
        return JSONResponse(status_code=422, content={"error": "RequestValidationError", "detail": detail,
                                                      "problems": problems})

    app.add_exception_handler(RequestValidationError, invalid_request)


    def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        headers = dict(getattr(exc, "headers", None) or {})
        if status == 405:
            # every method the path answers, across all its routes (Starlette names only the first route's)
            allowed: set[str] = set()
            for route in request.app.routes:
                regex = getattr(route, "path_regex", None)
                if regex is not None and regex.match(request.url.path):
                    allowed |= set(getattr(route, "methods", None) or ()) - {"HEAD"}
            headers["Allow"] = ", ".join(sorted(allowed))
        return JSONResponse(status_code=status, headers=headers or None,
                            content={"error": type(exc).__name__, "detail": str(getattr(exc, "detail", exc))})

    app.add_exception_handler(StarletteHTTPException, http_error)
    for exc_type, status in STATUS_CODES.items():
        def handler(request: Request, exc: Exception, status: int = status) -> Response:
            if status == 401 and not request.url.path.startswith(("/api/", "/ogc")) and request.method == "GET":
                # a page opened without a session goes to the login page and comes back after
                return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
            body: dict[str, object] = {"error": type(exc).__name__, "detail": str(exc)}
            if isinstance(exc, LayerValidationError):
                body["problems"] = [{"row": p.row, "field": p.field, "message": p.message, "fix": p.fix}
                                    for p in exc.problems]
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            if isinstance(exc, PreconditionFailedError) and exc.etag:
                body["current_etag"] = exc.etag
                headers = {"ETag": exc.etag}
            return JSONResponse(status_code=status, content=body, headers=headers)

        app.add_exception_handler(exc_type, handler)
