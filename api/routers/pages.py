"""HTML pages (Folium maps rendered by the app)."""

from __future__ import annotations

from typing import Annotated, Literal

import folium
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api.access import ForbiddenError, Scope
from api.deps import LangDep, ScopeDep, SettingsDep, StoreDep
from api.maps import coverage, households, overview, patrol, placement, three_d
from api.maps.base import Basemap
from api.maps.layers import Page
from api.routers.features import frame_cache
from api.security import page_response
from api.settings import Settings
from layers.store import Store

router = APIRouter(tags=["pages"])


def _context(request: Request, store: Store, settings: Settings, lang: str, scope: Scope) -> Page:
    return Page(store, lang, Basemap.from_settings(settings), settings.inline_limit, frame_cache(request), scope)


def _page(m: folium.Map, lang: str, settings: Settings) -> HTMLResponse:
    page = m.get_root().render().replace("<html>", f'<html lang="{"zh-CN" if lang == "zh" else "en"}">', 1)
    return page_response(page, Basemap.from_settings(settings).tile_origins())


@router.get("/", response_class=HTMLResponse, summary="户况网格图: grids by risk, buildings by household situation")
def household_page(request: Request, store: StoreDep, settings: SettingsDep, lang: LangDep,
                  scope: ScopeDep) -> HTMLResponse:
    # household information (aggregated per building) is personal data: every view is logged (PIPL)
    if store.has("households") and "buildings" in scope.user.role.reads:
        store.audit("view", "households", {"page": "户况网格图", "area": scope.user.area.describe()},
                    user=scope.user.username)
    return _page(households.household_map(_context(request, store, settings, lang, scope)), lang, settings)


@router.get("/coverage", response_class=HTMLResponse, summary="Coverage map: views, targets, blind spots")
def coverage_page(request: Request, store: StoreDep, settings: SettingsDep, lang: LangDep,
                  scope: ScopeDep, k: int = 1, light: Literal["day", "night"] = "day") -> HTMLResponse:
    page = _context(request, store, settings, lang, scope)
    return _page(coverage.coverage_map(page, redundancy=k >= 2, light=light), lang, settings)


@router.get("/placement", response_class=HTMLResponse, summary="Placement: drop cameras, see what they add")
def placement_page(request: Request, store: StoreDep, settings: SettingsDep, lang: LangDep,
                  scope: ScopeDep) -> HTMLResponse:
    if not scope.user.role.can_place:
        raise ForbiddenError(f"role '{scope.user.role.name}' does not place cameras")

    return _page(placement.placement_map(_context(request, store, settings, lang, scope)), lang, settings)


@router.get("/overview", response_class=HTMLResponse, summary="Workspace overview map (all layers)")
def overview_page(request: Request, store: StoreDep, settings: SettingsDep, lang: LangDep,
                  scope: ScopeDep) -> HTMLResponse:
    return _page(overview.overview_map(_context(request, store, settings, lang, scope)), lang, settings)


@router.get("/3d", response_class=HTMLResponse, summary="3D 户况网格图: buildings by height and household situation")
def three_d_page(request: Request, store: StoreDep, settings: SettingsDep, lang: LangDep, scope: ScopeDep,
                 pitch: Annotated[float, Query(ge=0, le=80)] = 55.0,
                 bearing: Annotated[float, Query(ge=-180, le=180)] = -20.0) -> HTMLResponse:
    if store.has("households") and "buildings" in scope.user.role.reads:
        store.audit("view", "households", {"page": "3d", "area": scope.user.area.describe()},
                    user=scope.user.username)
    text = three_d.three_d_page(_context(request, store, settings, lang, scope), pitch=pitch, bearing=bearing)
    origins = Basemap.from_settings(settings).tile_origins()  # MapLibre fetches its tiles
    return page_response(text, origins, connect_sources=origins)


@router.get("/patrol", response_class=HTMLResponse, summary="Patrol plan: zones, routes, stops, checkpoints by slot")
def patrol_page(request: Request, store: StoreDep, settings: SettingsDep, lang: LangDep,
                scope: ScopeDep, slot: Annotated[str | None, Query(max_length=20)] = None) -> HTMLResponse:
    scope.allow_read("patrol_routes")
    return _page(patrol.patrol_map(_context(request, store, settings, lang, scope), slot), lang, settings)
