"""Logging in and out: bearer tokens for programs, an HttpOnly cookie for the pages."""

from __future__ import annotations

import html
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from api import access
from api.deps import COOKIE, LangDep, Page, ScopeDep, SettingsDep, StoreDep, UserDep, paging, token_of
from api.errors import declares
from api.i18n import t
from api.security import page_response

router = APIRouter(tags=["auth"])


class Login(BaseModel):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


@router.post("/api/auth/login", summary="Log in: a bearer token (and the session cookie for the pages)",
             responses=declares(401))
def login(request: Request, store: StoreDep, settings: SettingsDep, body: Login) -> JSONResponse:
    client = request.client.host if request.client else "unknown"
    token, user, expires = access.login(store, body.username, body.password, hours=settings.session_hours,
                                        client=client)
    answer = JSONResponse({"token": token, "token_type": "bearer", "expires_at": expires,
                           "user": _describe(user)})
    answer.set_cookie(COOKIE, token, max_age=int(settings.session_hours * 3600), httponly=True, samesite="strict",
                      secure=request.url.scheme == "https", path="/")
    return answer


@router.post("/api/auth/logout", summary="End this session")
def logout(request: Request, store: StoreDep, user: UserDep) -> JSONResponse:
    token = token_of(request)
    if token:
        access.logout(store, token)
    store.audit("logout", f"user:{user.username}", user=user.username)
    answer = JSONResponse({"status": "logged out"})
    answer.delete_cookie(COOKIE, path="/")
    return answer


@router.get("/api/auth/me", summary="Who is logged in, with role and area")
def me(user: UserDep) -> dict[str, Any]:
    return _describe(user)


def _describe(user: access.User) -> dict[str, Any]:
    r = user.role
    return {"username": user.username, "display_name": user.display_name, "role": r.name, "role_label": r.label,
            "area": user.area.describe(), "reads": sorted(r.reads), "writes": sorted(r.writes),
            "household_detail": r.household_detail, "can_place": r.can_place}


LOGIN_PAGE = """<!DOCTYPE html>
<html lang="%(html_lang)s"><head><meta charset="utf-8"><title>%(title)s</title>
<link rel="icon" href="/favicon.ico"><link rel="stylesheet" href="/static/pingan.css"></head>
<body class="pingan-login">
<form id="login" class="pingan-legend" autocomplete="on">
  <h1>%(title)s</h1>
  <label>%(user)s <input id="username" name="username" autocomplete="username" required></label>
  <label>%(password)s <input id="password" name="password" type="password" autocomplete="current-password"
         required></label>
  <button type="submit">%(submit)s</button>
  <p id="login-error" role="alert"></p>
  <p class="pingan-note">%(note)s</p>
</form>
<script>
document.getElementById('login').addEventListener('submit', async function (e) {
  e.preventDefault();
  const r = await fetch('/api/auth/login', {method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({username: this.username.value, password: this.password.value})});
  if (r.ok) {
    // only a path of this site is followed: '//host', '/\\host' and 'https:' resolve elsewhere
    let next = '/';
    try {
      const u = new URL(new URLSearchParams(location.search).get('next') || '/', location.origin);
      if (u.origin === location.origin) next = u.pathname + u.search + u.hash;
    } catch (err) { next = '/'; }
    location.href = next;
  } else {
    const ans = await r.json().catch(() => ({}));
    document.getElementById('login-error').textContent = ans.detail || r.status;
  }
});
</script></body></html>"""


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(lang: LangDep) -> HTMLResponse:
    return page_response(LOGIN_PAGE % {
        "html_lang": "zh-CN" if lang == "zh" else "en", "title": html.escape(t(lang, "login_title")),
        "user": html.escape(t(lang, "username")), "password": html.escape(t(lang, "password")),
        "submit": html.escape(t(lang, "login")), "note": html.escape(t(lang, "login_note"))})


@router.get("/api/audit", summary="The audit log (administrators only), newest first")
def audit_log(store: StoreDep, scope: ScopeDep, page: Annotated[Page, paging(200, 10_000)],
              who: Annotated[str | None, Query(alias="user", max_length=64)] = None,
              action: Annotated[str | None, Query(max_length=64)] = None,
              since: Annotated[str | None, Query(max_length=32, description="ISO date/time (UTC)")] = None,
              ) -> list[dict[str, Any]]:
    user = scope.user
    if user.role.name != "admin":
        raise access.ForbiddenError("the audit log is for administrators")
    scope.allow_whole_workspace("the audit log")  # it names rows and users of every area
    log = access.audit_entries(store, user=who, action=action, since=since)
    store.audit("view", "audit_log", {"user": who, "action": action, "since": since}, user=user.username)
    return [{str(k): v for k, v in row.items()} for row in page.take(log.to_dict(orient="records"))]
