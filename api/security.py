"""HTTP hardening in one place: security headers, the page CSP, cross-origin refusal, no stray 500s.

:class:`SecurityMiddleware` wraps the whole app:

- every response gets ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``,
  ``Referrer-Policy: same-origin``, a request id (``X-Request-ID``) and a
  ``Content-Security-Policy``; an API answer without its own ``Cache-Control`` gets
  ``no-store`` (it may carry personal data or camera positions);
- a state-changing request (POST, PUT, PATCH, DELETE) authenticated by the session cookie
  must come from the app's own origin (``Origin``, else ``Referer``), so another site cannot
  make a logged-in browser change anything; a bearer token is not sent by browsers on
  their own and needs no such check;
- an unexpected error is logged with the request id and answered with a generic 500 body
  naming that id, never a stack trace or a reset connection.

Pages carry inline scripts (Folium renders them), so their CSP lists the SHA-256 of each
(:func:`page_response`): nothing else inline runs, nothing loads from another origin
but the configured basemap tiles.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from fastapi.responses import HTMLResponse

from api.errors import PROBLEM_JSON, problem

log = logging.getLogger(__name__)
#: one line per request (method, path, status, milliseconds, request id): ``pingan serve --log-level info``
requests = logging.getLogger("api.requests")

COOKIE = "pingan_session"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: what a non-page answer may do: nothing (a JSON or file answer runs no script, frames nothing)
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_SCRIPT = re.compile(r"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def page_csp(text: str, img_sources: Iterable[str] = (), connect_sources: Iterable[str] = ()) -> str:
    """The CSP of one page: its own assets, and its inline scripts by hash; basemap tiles from
    ``img_sources`` (a Leaflet page loads them as images, a WebGL page fetches them: ``connect_sources``)."""
    hashes = sorted({"'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
                     for body in _SCRIPT.findall(text)})
    images = " ".join(["'self'", "data:", "blob:", *sorted(set(img_sources))])
    connect = " ".join(["'self'", *sorted(set(connect_sources))])
    return ("default-src 'self'; script-src 'self' " + " ".join(hashes) + "; style-src 'self' 'unsafe-inline'; "
            f"img-src {images}; connect-src {connect}; font-src 'self' data:; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'")


def page_response(text: str, img_sources: Iterable[str] = (), status_code: int = 200,
                  connect_sources: Iterable[str] = ()) -> HTMLResponse:
    """An HTML page with its own CSP."""
    return HTMLResponse(text, status_code=status_code,
                        headers={"Content-Security-Policy": page_csp(text, img_sources, connect_sources),
                                 "Cache-Control": "no-store"})


def tile_origins(templates: Iterable[str | None]) -> list[str]:
    """CSP sources for basemap URL templates (``https://t{s}.host/…`` → ``https://*.host``)."""
    out = []
    for template in templates:
        if not template:
            continue
        parts = urlsplit(template)
        if not parts.netloc:
            continue  # a relative URL: the app's own origin
        host = parts.netloc
        if "{" in host:
            labels = host.split(".")
            host = ".".join(["*"] + [lab for lab in labels[1:] if "{" not in lab])
        out.append(f"{parts.scheme}://{host}" if parts.scheme else host)
    return out


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else None


class SecurityMiddleware:
    """A pure ASGI middleware (streams pass through untouched)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        path = scope.get("path", "")
        refusal = self._cross_origin(scope, headers)
        started = False
        status = 0
        t0 = time.perf_counter()

        async def send_wrapped(message: dict[str, Any]) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = int(message.get("status", 0))
                raw = list(message.get("headers", []))
                present = {k.decode("latin-1").lower() for k, _ in raw}
                extra = {"x-content-type-options": "nosniff", "x-frame-options": "DENY",
                         "referrer-policy": "same-origin", "x-request-id": request_id,
                         "content-security-policy": API_CSP if not path.startswith("/static/") else
                         "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'"}
                if path.startswith("/api/"):
                    extra["cache-control"] = "no-store"
                raw += [(k.encode(), v.encode()) for k, v in extra.items() if k not in present]
                message = message | {"headers": raw}
            await send(message)

        try:
            if refusal:
                await self._json(send_wrapped, 403, problem("cross-origin-refused", refusal, path))
                return
            try:
                await self.app(scope, receive, send_wrapped)
            except Exception:
                log.exception("unexpected error in %s %s (request %s)", scope.get("method"), path, request_id)
                if started:
                    raise
                await self._json(send_wrapped, 500, problem(
                    "internal-error", f"an unexpected error: it is logged as request {request_id}; tell the "
                    "administrator", path, request_id=request_id))
        finally:
            # the path only: a query may carry a stated reason or a search text
            requests.info("%s %s %d %.1f ms %s", scope.get("method"), path, status,
                          1000 * (time.perf_counter() - t0), request_id)

    @staticmethod
    def _cross_origin(scope: dict[str, Any], headers: dict[str, str]) -> str | None:
        """Why a cookie-authenticated state change is refused (None: it is not, or it needs no check)."""
        if scope.get("method") not in UNSAFE_METHODS or headers.get("authorization", "").lower().startswith("bearer"):
            return None
        if f"{COOKIE}=" not in headers.get("cookie", "") or scope.get("path") == "/api/auth/login":
            return None  # nothing a browser adds on its own (a login is made by its password): nothing to forge
        own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}".lower()
        origin = headers.get("origin")
        sent = origin if origin and origin != "null" else _origin_of(headers.get("referer", "") or "")
        if sent is None:
            return "a change made with the session cookie must say where it comes from (Origin or Referer)"
        if sent.lower() != own:
            return f"a change from {sent} with this site's session cookie is refused: use this site's own pages"
        return None

    @staticmethod
    async def _json(send: Any, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", PROBLEM_JSON.encode()),
                                (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})
