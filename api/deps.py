"""Small dependencies that hand routes domain objects."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError

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


T = TypeVar("T")

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


@dataclasses.dataclass(frozen=True)
class Page:
    """One page of a list answer (``limit`` items after ``offset``); the total goes in ``X-Total-Count``."""

    limit: int
    offset: int
    response: Response

    @property
    def end(self) -> int:
        return self.offset + self.limit

    def take(self, items: Sequence[T], total: int | None = None) -> list[T]:
        """This page of ``items`` (all of the list, or ``total`` of them when only the head was made)."""
        self.response.headers["X-Total-Count"] = str(len(items) if total is None else total)
        return list(items[self.offset:self.end])


def paging(default: int, most: int) -> Any:
    """A dependency giving a route's :class:`Page` from ``limit`` (1…``most``, ``default``) and ``offset``."""

    def page(response: Response, limit: int = default, offset: int = 0) -> Page:
        return Page(limit, offset, response)

    # the bounds are this route's: given as objects (this module's annotations are strings)
    page.__annotations__ = {
        "response": Response, "return": Page,
        "limit": Annotated[int, Query(ge=1, le=most, description=f"at most this many (≤ {most})")],
        "offset": Annotated[int, Query(ge=0, description="skip this many first (with limit: pages)")]}
    return Depends(page)


def dependants(dependant: Dependant) -> Iterator[Dependant]:
    """A route's dependant and every one it depends on, depth first."""
    yield dependant
    for sub in dependant.dependencies:
        yield from dependants(sub)


def single_values(request: Request) -> None:
    """Refuse a parameter of the route's query given more than once (no route takes a list in its
    query): otherwise only the last would count, silently."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    declared = {p.alias for d in dependants(dependant) for p in d.query_params}
    names = [k for k, _ in request.query_params.multi_items() if k in declared]
    twice = sorted({k for k in names if names.count(k) > 1})
    if twice:
        raise RequestValidationError([{"loc": ("query", name), "type": "repeated",
                                       "msg": "given more than once: send it once"} for name in twice])
