"""The service's OpenAPI document: how to log in (``securitySchemes``), and per operation the errors it
can really give, each an RFC 9457 problem (``application/problem+json``).

An operation's error codes follow from what it depends on, so they hold as routes change: 401 and
403 where it needs a user, 503 where it opens the workspace, 422 where it takes parameters or a
body (400 too for a body that cannot be parsed), 404 where it names a layer or feature. Codes a
route raises itself (409, 412, 428, 400) are declared on the route (:func:`api.errors.declares`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, routing
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute

from api import deps
from api.errors import PROBLEM_JSON, PROBLEMS, Problem

SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "the token from POST /api/auth/login: 'Authorization: Bearer <token>'"},
    "session": {"type": "apiKey", "in": "cookie", "name": "pingan_session",
                "description": "the session cookie the login sets (the pages use it)"},
}
GEOJSON = "application/geo+json"


def answers(what: str, *media: str) -> dict[str, Any]:
    """Decorator arguments for a route whose answer is ``what`` in one of ``media`` types (a GeoJSON
    FeatureCollection, say), so the OpenAPI document names the types it really sends."""
    return {"response_class": Response,
            "responses": {200: {"description": what, "content": {m: {"schema": {}} for m in media}}}}


#: parameter names that name a layer (an unknown one is a 404)
_NAMING = {"name", "layer", "layers", "key", "collection"}


def error_codes(route: Any) -> set[int]:
    """The error statuses ``route`` (an API route as the app serves it, with its router's prefix and
    responses) can answer with, from what it depends on and declares."""
    parts = list(deps.dependants(route.dependant))
    calls = {d.call for d in parts}
    params = [p for d in parts for p in (*d.path_params, *d.query_params, *d.header_params, *d.cookie_params,
                                         *d.body_params)]
    codes = {int(c) for c in route.responses if str(c).isdigit() and int(c) >= 400}
    if calls & {deps.get_user, deps.get_scope}:
        codes |= {401, 403}
    if calls & {deps.get_store, deps.get_scope}:
        codes.add(503)
    if params:
        codes.add(422)
    if any(d.body_params for d in parts):
        codes.add(400)  # a body that is not JSON at all
    if route.dependant.path_params or any(p.name in _NAMING for p in params):
        codes.add(404)
    return codes


def _problem_response(status: int) -> dict[str, Any]:
    titles = [title for code, title in PROBLEMS.values() if code == status]
    return {"description": "; ".join(titles) or "error",
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def document(app: FastAPI) -> None:
    """Give ``app`` its OpenAPI document (built once, on first request of ``/openapi.json``)."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = doc.setdefault("components", {})
        components["securitySchemes"] = SECURITY_SCHEMES
        schemas = components.setdefault("schemas", {})
        schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)  # every 422 is a Problem
        routes = {(r.path_format, m.lower()): r for r in routing.iter_route_contexts(app.routes)
                  if isinstance(r.original_route, APIRoute) for m in r.methods or ()}
        for path, item in doc.get("paths", {}).items():
            for method, operation in item.items():
                route = routes.get((path, method))
                if route is None:
                    continue
                codes = error_codes(route)
                responses = {k: v for k, v in operation.get("responses", {}).items()
                             if not (str(k).isdigit() and int(k) >= 400)}
                if route.response_class is HTMLResponse and 401 in codes:  # a page sends a stranger to log in
                    codes.discard(401)
                    responses["303"] = {"description": "not logged in: to the login page, and back after"}
                responses |= {str(c): _problem_response(c) for c in sorted(codes)}
                operation["responses"] = responses
                needs_user = {deps.get_user, deps.get_scope} & {d.call for d in deps.dependants(route.dependant)}
                operation["security"] = [{"bearer": []}, {"session": []}] if needs_user else []
        app.openapi_schema = doc
        return doc

    app.openapi = build  # type: ignore[method-assign]
