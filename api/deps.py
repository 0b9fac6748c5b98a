"""Small dependencies that hand routes domain objects."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from api.i18n import lang_of
from api.settings import Settings
from layers.store import Store, open_workspace


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_store(request: Request) -> Store:
    store = getattr(request.app.state, "store", None)
    if store is None:
        store = open_workspace(request.app.state.settings.workspace)
        request.app.state.store = store
    return store


def get_lang(request: Request, lang: Annotated[str | None, Query(pattern="^(zh|en)$")] = None) -> str:
    return lang_of(lang, request.app.state.settings.lang)


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
LangDep = Annotated[str, Depends(get_lang)]
