"""The FastAPI application: ``create_app(settings)`` wires routers, errors and static assets."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
import xstatic.pkg.leaflet as xleaflet
from fastapi import Depends, FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from api.deps import single_values
from api.errors import add_exception_handlers
from api.logs import configure_logging
from api.maps.base import Basemap
from api.openapi import document
from api.routers import (
    auth,
    buildings,
    design,
    exports,
    features,
    layers,
    ogc,
    pages,
    patrol,
    placement,
    problems,
    risk,
    whatif,
    workspace,
)
from api.security import SecurityMiddleware
from api.settings import Settings
from layers.pgsql import redact

STATIC_DIR = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    if settings.log_level:
        configure_logging(settings.log_level)
    app = FastAPI(title="Pingan Planner", version="0.1.0",
                  description="Community grid management and public-safety video coverage planning.",
                  dependencies=[Depends(single_values)])
    app.state.settings = settings
    Basemap.from_settings(settings)  # a misconfigured basemap stops the server here, with the fix
    add_exception_handlers(app)
    # map data compressed on the way (a city's 20,000 cameras are 7 MB of GeoJSON, 1 MB gzipped)
    app.add_middleware(GZipMiddleware, minimum_size=2048)
    app.add_middleware(SecurityMiddleware)  # headers, cross-origin refusal, a generic 500 with a request id
    app.mount("/static/leaflet", StaticFiles(directory=xleaflet.BASE_DIR), name="leaflet")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(auth.router)
    app.include_router(pages.router)
    app.include_router(layers.router, prefix="/api")
    app.include_router(features.router, prefix="/api")
    app.include_router(risk.router, prefix="/api")
    app.include_router(whatif.router, prefix="/api")
    app.include_router(placement.router, prefix="/api")
    app.include_router(patrol.router, prefix="/api")
    app.include_router(buildings.router, prefix="/api")
    app.include_router(design.router, prefix="/api")
    app.include_router(workspace.router, prefix="/api")
    app.include_router(exports.router, prefix="/api")
    app.include_router(ogc.router)
    app.include_router(problems.router)

    document(app)  # securitySchemes, and per operation the errors it can give (RFC 9457 problems)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")

    @app.get("/api/health", tags=["service"])
    def health() -> dict[str, str]:
        where = str(settings.workspace)
        # never a database password, nor where the server keeps its files: a file workspace by its name
        return {"status": "ok", "workspace": redact(where) if "://" in where else Path(where).name}

    return app


def serve_in_background(app: FastAPI, host: str = "127.0.0.1") -> tuple[str, Any, threading.Thread]:
    """Serve ``app`` from a thread on a free port (for tests, scripts and notebooks); returns its URL,
    the uvicorn server (``server.should_exit = True`` stops it) and the thread."""

    with socket.socket() as s:
        s.bind((host, 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    if not server.started:
        raise RuntimeError(f"the server did not start on {host}:{port} within 30 s")
    return f"http://{host}:{port}", server, thread
