"""One table from domain errors to HTTP status codes; no stack trace reaches a client."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from api.access import AuthError, UserError
from gis.risk import RiskModelError
from layers.errors import ImportFormatError, LayerValidationError, UnknownLayerError, WorkspaceError

STATUS_CODES: dict[type[Exception], int] = {
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


def add_exception_handlers(app: FastAPI) -> None:
    for exc_type, status in STATUS_CODES.items():
        def handler(request: Request, exc: Exception, status: int = status) -> Response:
            if status == 401 and not request.url.path.startswith("/api/") and request.method == "GET":
                # a page opened without a session goes to the login page and comes back after
                return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
            body: dict[str, object] = {"error": type(exc).__name__, "detail": str(exc)}
            if isinstance(exc, LayerValidationError):
                body["problems"] = [{"row": p.row, "field": p.field, "message": p.message, "fix": p.fix}
                                    for p in exc.problems]
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return JSONResponse(status_code=status, content=body, headers=headers)

        app.add_exception_handler(exc_type, handler)
