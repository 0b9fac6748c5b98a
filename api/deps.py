"""Small dependencies that hand routes domain objects."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Query, Request

from api.access import ROLES, Area, AuthError, Scope, User, session_user
from api.i18n import lang_of
from api.security import COOKIE
from api.settings import Settings
from layers.store import Store, open_workspace


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


_OPENING = threading.Lock()


def get_store(request: Request) -> Store:
    """The app's one store: opened once, by the first request (others wait for it)."""
    store = getattr(request.app.state, "store", None)
    if store is None:
        with _OPENING:
            store = getattr(request.app.state, "store", None)
            if store is None:
                store = open_workspace(request.app.state.settings.workspace)
                request.app.state.store = store
    return store


def get_lang(request: Request, lang: Annotated[str | None, Query(pattern="^(zh|en)$")] = None) -> str:
    return lang_of(lang, request.app.state.settings.lang)


LOCAL_ADMIN = User("local", ROLES["admin"], Area(), "本机管理员")


def token_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(COOKIE) or None


def get_user(request: Request) -> User:
    """The logged-in user (bearer token or session cookie); 401 without one."""
    if not request.app.state.settings.auth:
        return LOCAL_ADMIN
    token = token_of(request)
    if token is None:
        raise AuthError("not logged in: POST /api/auth/login, then send 'Authorization: Bearer <token>'")
    return session_user(get_store(request), token)


def get_scope(request: Request) -> Scope:
    """The user's area resolved against the workspace (cached per user and workspace version)."""
    user = get_user(request)
    store = get_store(request)
    key = (user.username, user.role.name, user.area, store.version("grids"))
    cache = request.app.state.__dict__.setdefault("scopes", {})
    if key not in cache:
        if len(cache) > 256:
            cache.clear()
        cache[key] = Scope.of(store, user)
    return cache[key]


StoreDep = Annotated[Store, Depends(get_store)]
UserDep = Annotated[User, Depends(get_user)]
ScopeDep = Annotated[Scope, Depends(get_scope)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
LangDep = Annotated[str, Depends(get_lang)]
