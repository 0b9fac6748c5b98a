"""HTML pages (Folium maps rendered by the app)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from api.deps import LangDep, SettingsDep, StoreDep
from api.maps import overview

router = APIRouter(tags=["pages"])


@router.get("/", response_class=HTMLResponse, summary="Workspace overview map")
def overview_page(store: StoreDep, settings: SettingsDep, lang: LangDep) -> HTMLResponse:
    m = overview.overview_map(store, lang=lang, tiles_url=settings.tiles_url,
                              attribution=settings.tiles_attribution)
    page = m.get_root().render().replace("<html>", f'<html lang="{"zh-CN" if lang == "zh" else "en"}">', 1)
    return HTMLResponse(page)
