"""One table from domain errors to RFC 9457 problems and HTTP status codes; no stack trace reaches a client."""

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


#: every kind of problem an answer can report (RFC 9457): slug → (status, title). The ``type`` of an
#: error body is ``/problems/<slug>`` (served by the app, with this title and status); a client
#: tells errors apart by it, never by the text of ``detail``.
PROBLEMS: dict[str, tuple[int, str]] = {
    "malformed-request": (400, "The request could not be read"),
    "unreadable-file": (400, "The file could not be read"),
    "not-logged-in": (401, "Not logged in"),
    "forbidden": (403, "Your role or area does not allow this"),
    "cross-origin-refused": (403, "A change from another site was refused"),
    "not-found": (404, "No such layer, feature or page"),
    "method-not-allowed": (405, "The path does not answer this method"),
    "exists-already": (409, "It exists already"),
    "changed-since-read": (412, "It changed since you read it (If-Match is stale)"),
    "if-match-required": (428, "If-Match is missing"),
    "invalid-request": (422, "The request's parameters or body are invalid"),
    "invalid-input": (422, "The values sent are invalid"),
    "invalid-data": (422, "The layer's rows are invalid"),
    "invalid-user": (422, "The user cannot be made as asked"),
    "invalid-risk-model": (422, "The risk model is invalid"),
    "internal-error": (500, "An unexpected error (logged with its request id)"),
    "workspace-unavailable": (503, "The workspace is unavailable"),
}
#: exception class → problem slug (the first class in an exception's MRO that is listed)
PROBLEM_OF: dict[type[Exception], str] = {
    PreconditionFailedError: "changed-since-read", PreconditionRequiredError: "if-match-required",
    ConflictError: "exists-already", AuthError: "not-logged-in", UserError: "invalid-user",
    UnknownLayerError: "not-found", LayerValidationError: "invalid-data", ImportFormatError: "unreadable-file",
    PermissionError: "forbidden", RiskModelError: "invalid-risk-model", ValueError: "invalid-input",
    WorkspaceError: "workspace-unavailable"}
STATUS_CODES: dict[type[Exception], int] = {exc: PROBLEMS[slug][0] for exc, slug in PROBLEM_OF.items()}
PROBLEM_JSON = "application/problem+json"


def problem(slug: str, detail: str, instance: str | None = None, **extra: Any) -> dict[str, Any]:
    """An RFC 9457 problem document: its stable ``type``, title, status, what happened and where."""
    status, title = PROBLEMS[slug]
    body: dict[str, Any] = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail}
    if instance is not None:
        body["instance"] = instance
    return body | {k: v for k, v in extra.items() if v is not None}


class Problem(BaseModel):
    """Every error answer (RFC 9457 ``application/problem+json``): its ``type`` (``/problems/<slug>``,
    stable), title, HTTP status, a ``detail`` saying what to do, the path it answers (``instance``),
    and where the problem is in what was sent (``problems``: row, field, message, fix)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    problems: list[dict[str, Any]] | None = None
    current_etag: str | None = None
    request_id: str | None = None


def declares(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error statuses a route raises itself, for its OpenAPI entry (:mod:`api.openapi` adds the
    ones its dependencies give: 401/403 for a login, 503 for the workspace, 422 for its parameters)."""
    return {c: {"description": "; ".join(t for s, t in PROBLEMS.values() if s == c)} for c in codes}


def _answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=body, headers=headers, media_type=PROBLEM_JSON)


def add_exception_handlers(app: FastAPI) -> None:
    def invalid_request(request: Request, exc: Exception) -> JSONResponse:
        # the same body as every other error: each problem with where it is and what is wrong
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        problems = [{"row": None, "field": ".".join(str(p) for p in e.get("loc", ())), "message": str(e.get("msg")),
                     "fix": None} for e in errors]
        detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems) or "invalid request"
        return _answer(422, problem("invalid-request", detail, request.url.path, problems=problems))

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
        slug = next((k for k, (code, _) in PROBLEMS.items() if code == status), None)
        detail = str(getattr(exc, "detail", exc))
        body = problem(slug, detail, request.url.path) if slug else {
            "type": "about:blank", "title": detail, "status": status, "detail": detail, "instance": request.url.path}
        return _answer(status, body, headers or None)

    app.add_exception_handler(StarletteHTTPException, http_error)
    for exc_type, slug in PROBLEM_OF.items():
        def handler(request: Request, exc: Exception, slug: str = slug) -> Response:
            status = PROBLEMS[slug][0]
            if status == 401 and not request.url.path.startswith(("/api/", "/ogc")) and request.method == "GET":
                # a page opened without a session goes to the login page and comes back after
                return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
            found = None
            if isinstance(exc, LayerValidationError):
                found = [{"row": p.row, "field": p.field, "message": p.message, "fix": p.fix} for p in exc.problems]
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            etag = exc.etag if isinstance(exc, PreconditionFailedError) else None
            if etag:
                headers = {"ETag": etag}
            return _answer(status, problem(slug, str(exc), request.url.path, problems=found, current_etag=etag),
                           headers)

        app.add_exception_handler(exc_type, handler)
