"""Users, roles, areas, sessions: who may see and change what, and where.

Roles (the people the planner serves):

============ ================================================= ====================
role          reads                                             writes
============ ================================================= ====================
admin         everything, everywhere; users and the audit log   everything
planner       every layer and result in the area; households    grids, communities,
(规划/综治办)  in detail                                          buildings, targets,
                                                                 roads, risk model
police (公安)  cameras, sites, views, targets, coverage, grids,   cameras, sites,
               buildings, roads, incidents; households as         placement
               aggregates only
grid_worker   own grids: grids, buildings, households in        households
(网格员)       detail, targets, incidents, roads, risk
viewer        aggregates only: grids, communities, risk and     nothing
               coverage per grid and community
============ ================================================= ====================

An area is an admin-code prefix (``370285001``: a street and all below it), communities
or grids; a user sees the grids it selects and what lies in them (a feature belongs to
the grid holding its representative point, so one on a boundary is in exactly one area).

Passwords are hashed with Argon2id (``argon2-cffi``); sessions are random bearer tokens,
stored only as SHA-256 hashes, valid for ``session_hours``. Five failed logins lock an
account for five minutes, doubling with every further failure (up to a day).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from layers.store import Store, now_iso

_HASHER = PasswordHasher()  # Argon2id with the library's current recommended parameters
LOCK_AFTER = 5
LOCK_MINUTES = 5
MIN_PASSWORD = 10
USERNAME = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{2,32}$")


class AuthError(Exception):
    """Not logged in, or the login failed (HTTP 401)."""


class ForbiddenError(PermissionError):
    """Logged in, but the role or the area does not allow it (HTTP 403)."""


class UserError(ValueError):
    """A user record that cannot be made (bad name, weak password, unknown role or area)."""


@dataclasses.dataclass(frozen=True)
class Role:
    name: str
    label: str
    reads: frozenset[str]
    writes: frozenset[str]
    household_detail: bool
    can_place: bool = False
    can_export: bool = True


RESULTS = frozenset({"views", "risk", "risk_history", "coverage_grids", "coverage_communities", "coverage_targets",
                     "blind_spots", "proposals", "proposal_views"})
BASE = frozenset({"communities", "grids", "buildings", "households", "roads", "targets", "incidents", "cameras",
                  "sites"})
ROLES: dict[str, Role] = {r.name: r for r in (
    Role("admin", "管理员", BASE | RESULTS, BASE, True, can_place=True),
    Role("planner", "规划/综治办", BASE | RESULTS, frozenset({"grids", "communities", "buildings", "targets", "roads"}),
         True),
    Role("police", "公安", frozenset({"communities", "grids", "buildings", "roads", "targets", "incidents", "cameras",
                                     "sites"}) | RESULTS, frozenset({"cameras", "sites"}), False, can_place=True),
    Role("grid_worker", "网格员", frozenset({"communities", "grids", "buildings", "households", "roads", "targets",
                                           "incidents", "risk", "coverage_grids"}), frozenset({"households"}), True),
    Role("viewer", "查看", frozenset({"communities", "grids", "risk", "coverage_grids", "coverage_communities"}),
         frozenset(), False, can_export=False),
)}


@dataclasses.dataclass(frozen=True)
class Area:
    """What part of the workspace a user works in; empty selects everything (admins)."""

    admin_code: str | None = None
    communities: tuple[str, ...] = ()
    grids: tuple[str, ...] = ()

    @property
    def everywhere(self) -> bool:
        return not (self.admin_code or self.communities or self.grids)

    def to_json(self) -> str:
        return json.dumps({"admin_code": self.admin_code, "communities": list(self.communities),
                           "grids": list(self.grids)}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | None) -> Area:
        data = json.loads(text) if text else {}
        return cls(data.get("admin_code") or None, tuple(data.get("communities") or ()), tuple(data.get("grids") or ()))

    @classmethod
    def parse(cls, spec: str | None) -> Area:
        """``all``, ``370285001`` (an admin-code prefix), ``community:370285001201,…`` or ``grid:…,…``."""
        if not spec or spec.strip() in ("all", "*"):
            return cls()
        kind, _, rest = spec.partition(":")
        if not rest:
            if not re.fullmatch(r"\d{2,12}", spec.strip()):
                raise UserError(f"area '{spec}' is not an admin-code prefix (digits, e.g. 370285001), "
                                "'community:CODE,…' or 'grid:CODE,…'")
            return cls(admin_code=spec.strip())
        codes = tuple(c.strip() for c in rest.split(",") if c.strip())
        if kind == "community":
            return cls(communities=codes)
        if kind == "grid":
            return cls(grids=codes)
        raise UserError(f"area kind '{kind}' is unknown: use an admin-code prefix, 'community:…' or 'grid:…'")

    def describe(self) -> str:
        if self.everywhere:
            return "all"
        parts = [self.admin_code or ""] + [f"community:{c}" for c in self.communities] + [
            f"grid:{g}" for g in self.grids]
        return " ".join(p for p in parts if p)


@dataclasses.dataclass(frozen=True)
class User:
    username: str
    role: Role
    area: Area
    display_name: str = ""

    @property
    def name(self) -> str:
        return self.username


# ---- users ---------------------------------------------------------------------------------------
def users(store: Store) -> list[dict[str, Any]]:
    return sorted(store.records("users"), key=lambda r: r["username"])


def has_users(store: Store) -> bool:
    return bool(store.records("users"))


def _user_row(store: Store, username: str) -> dict[str, Any] | None:
    return next((r for r in store.records("users") if r["username"] == username), None)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password is too short: use at least {MIN_PASSWORD} characters")


def add_user(store: Store, username: str, role: str, area: Area, password: str | None = None, *,
             display_name: str = "", by: str = "system") -> str:
    """Create a user; returns the password (generated when not given: shown once, never stored)."""
    if not USERNAME.fullmatch(username):
        raise UserError(f"user name '{username}' is not allowed: 2–32 letters, digits, Chinese, '_', '.', '-'")
    if role not in ROLES:
        raise UserError(f"role '{role}' is unknown: choose one of {', '.join(ROLES)}")
    if _user_row(store, username) is not None:
        raise UserError(f"user '{username}' exists already: disable it or choose another name")
    _check_area(store, area)
    password = password if password is not None else secrets.token_urlsafe(12)
    check_password(password)
    store.put_record("users", "username", {
        "username": username, "role": role, "area": area.to_json(), "password_hash": _HASHER.hash(password),
        "disabled": "0", "created_at": now_iso(), "failed_logins": "0", "locked_until": None,
        "display_name": display_name})
    store.audit("user_add", f"user:{username}", {"role": role, "area": area.describe()}, user=by)
    return password


def set_password(store: Store, username: str, password: str | None = None, *, by: str = "system") -> str:
    """Set (or generate) a new password; ends the user's sessions and unlocks the account."""
    row = _user_row(store, username)
    if row is None:
        raise UserError(f"no user '{username}'")
    password = password if password is not None else secrets.token_urlsafe(12)
    check_password(password)
    store.put_record("users", "username", row | {"password_hash": _HASHER.hash(password), "failed_logins": "0",
                                                 "locked_until": None})
    drop_sessions(store, username)
    store.audit("password_set", f"user:{username}", user=by)
    return password


def set_disabled(store: Store, username: str, disabled: bool = True, *, by: str = "system") -> None:
    row = _user_row(store, username)
    if row is None:
        raise UserError(f"no user '{username}'")
    store.put_record("users", "username", row | {"disabled": "1" if disabled else "0"})
    if disabled:
        drop_sessions(store, username)
    store.audit("user_disable" if disabled else "user_enable", f"user:{username}", user=by)


def _check_area(store: Store, area: Area) -> None:
    if area.everywhere or not store.has("grids"):
        return
    if not grid_codes(store, area):
        raise UserError(f"area '{area.describe()}' selects no grid of this workspace: check the codes")


def audit_entries(store: Store, *, user: str | None = None, action: str | None = None,
                  since: str | None = None, limit: int | None = None) -> pd.DataFrame:
    """The audit log filtered by who, what and since when, newest first."""
    log = store.audit_log()
    if user:
        log = log[log["user"] == user]
    if action:
        log = log[log["action"] == action]
    if since:
        log = log[log["at"] >= since]
    log = log.iloc[::-1]
    return log if limit is None else log.head(limit)


# ---- login and sessions -------------------------------------------------------------------------
def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def login(store: Store, username: str, password: str, *, hours: float = 8.0) -> tuple[str, User, str]:
    """Check a password; a new session token, the user and when the token expires."""
    row = _user_row(store, username)
    if row is None:
        _HASHER.hash(password)  # the same work as a real check: no user enumeration by timing
        store.audit("login_failed", f"user:{username}", {"reason": "unknown user"}, user=username)
        raise AuthError("wrong user name or password")
    if row["locked_until"] and dt.datetime.fromisoformat(row["locked_until"]) > _now():
        store.audit("login_refused", f"user:{username}", {"reason": "locked", "until": row["locked_until"]},
                    user=username)
        raise AuthError(f"too many failed logins: try again after {row['locked_until']} (UTC)")
    try:
        ok = _HASHER.verify(row["password_hash"], password) and row["disabled"] != "1"
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        failed = int(row["failed_logins"] or 0) + 1
        locked = None
        if failed >= LOCK_AFTER:
            minutes = min(LOCK_MINUTES * 2 ** (failed - LOCK_AFTER), 24 * 60)
            locked = (_now() + dt.timedelta(minutes=minutes)).isoformat()
        # compare-and-set on the counter: two wrong guesses at once both count
        while not store.put_record("users", "username", row | {"failed_logins": str(failed), "locked_until": locked},
                                   expect={"failed_logins": row["failed_logins"]}):
            row = _user_row(store, username) or row
            failed = int(row["failed_logins"] or 0) + 1
        store.audit("login_failed", f"user:{username}", {"failures": failed}, user=username)
        raise AuthError("wrong user name or password" if row["disabled"] != "1" else "this account is disabled")
    if row["failed_logins"] not in ("0", None) or row["locked_until"]:
        store.put_record("users", "username", row | {"failed_logins": "0", "locked_until": None})
    token = secrets.token_urlsafe(32)
    expires = (_now() + dt.timedelta(hours=hours)).isoformat()
    store.put_record("sessions", "token_hash", {"token_hash": _digest(token), "username": username,
                                                "created_at": now_iso(), "expires_at": expires})
    store.audit("login", f"user:{username}", user=username)
    return token, _as_user(row), expires


def _as_user(row: Mapping[str, Any]) -> User:
    return User(row["username"], ROLES[row["role"]], Area.from_json(row["area"]), row.get("display_name") or "")


def named_user(store: Store, username: str) -> User:
    """The workspace user called ``username`` (the CLI acts as one: its role and area apply)."""
    row = _user_row(store, username)
    if row is None:
        raise UserError(f"no user '{username}' in this workspace: see `pingan users list`")
    if row.get("disabled") == "1":
        raise ForbiddenError(f"user '{username}' is disabled")
    return _as_user(row)


def session_user(store: Store, token: str) -> User:
    digest = _digest(token)
    session = next((s for s in store.records("sessions") if s["token_hash"] == digest), None)
    if session is None:
        raise AuthError("not logged in (or the session ended): log in again")
    if dt.datetime.fromisoformat(session["expires_at"]) <= _now():
        store.delete_records("sessions", "token_hash", [digest])
        raise AuthError("the session expired: log in again")
    row = _user_row(store, session["username"])
    if row is None or row["disabled"] == "1":
        raise AuthError("this account is disabled")
    return _as_user(row)


def logout(store: Store, token: str) -> None:
    store.delete_records("sessions", "token_hash", [_digest(token)])


def drop_sessions(store: Store, username: str) -> None:
    store.delete_records("sessions", "username", [username])


# ---- areas ------------------------------------------------------------------------------------
def grid_codes(store: Store, area: Area) -> set[str]:
    grids = store.read("grids")
    codes = grids["code"].astype(str)
    if area.everywhere:
        return set(codes)
    keep = np.zeros(len(grids), dtype=bool)
    if area.admin_code:
        keep |= codes.str.startswith(area.admin_code).to_numpy()
    if area.communities:
        keep |= grids["community_code"].astype(str).isin(area.communities).to_numpy()
    if area.grids:
        keep |= codes.isin(area.grids).to_numpy()
    return set(codes[keep])


@dataclasses.dataclass
class Scope:
    """A user's area resolved against the workspace: grid and community codes and the area's shape."""

    user: User
    grids: set[str]
    communities: set[str]
    shape: shapely.Geometry | None  # lon/lat; None = everywhere

    @classmethod
    def of(cls, store: Store, user: User) -> Scope:
        if user.area.everywhere or not store.has("grids"):
            return cls(user, set(), set(), None)
        grids = store.read("grids")
        codes = grid_codes(store, user.area)
        mine = grids[grids["code"].astype(str).isin(codes)]
        return cls(user, codes, set(mine["community_code"].astype(str)),
                   shapely.union_all(mine.geometry.to_numpy()) if len(mine) else shapely.Polygon())

    @property
    def everywhere(self) -> bool:
        return self.shape is None

    def allow_read(self, layer: str) -> None:
        if layer not in self.user.role.reads and layer not in ("households_summary",):
            raise ForbiddenError(f"role '{self.user.role.name}' may not read layer '{layer}'")

    def allow_write(self, layer: str) -> None:
        if layer not in self.user.role.writes:
            raise ForbiddenError(f"role '{self.user.role.name}' may not change layer '{layer}'")

    def filter(self, store: Store, layer: str, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``frame`` (a layer's rows) inside the area."""
        if self.everywhere or frame.empty:
            return frame
        if layer in ("grids", "risk", "risk_history", "coverage_grids"):
            return frame[frame["code"].astype(str).isin(self.grids)]
        if layer in ("communities", "coverage_communities"):
            col = "code" if "code" in frame else "community_code"
            return frame[frame[col].astype(str).isin(self.communities)]
        if layer == "households":
            inside = self.filter(store, "buildings", store.read("buildings"))
            return frame[frame["building_id"].astype(str).isin(set(inside["id"].astype(str)))]
        if layer == "views":
            cams = self.filter(store, "cameras", store.read("cameras"))
            return frame[frame["camera"].astype(str).isin(set(cams["id"].astype(str)))]
        if isinstance(frame, gpd.GeoDataFrame):
            return frame[self.contains(frame.geometry.to_numpy())]
        if "grid_code" in frame:
            return frame[frame["grid_code"].astype(str).isin(self.grids)]
        return frame.iloc[0:0]  # a table with no place: nothing, rather than everything

    def contains(self, geoms: Iterable[Any]) -> np.ndarray:
        """Whether each lon/lat geometry's representative point lies in the area."""
        if self.shape is None:
            return np.ones(len(list(geoms)), dtype=bool)
        points = shapely.point_on_surface(np.asarray(list(geoms), dtype=object))
        shapely.prepare(self.shape)
        return np.asarray(shapely.covers(self.shape, points), dtype=bool)


# ---- the demo's users ------------------------------------------------------------------------
def create_demo_users(store: Store) -> list[tuple[str, str, str, str]]:
    """One user per role for the demo workspace: (user, role, area, password), new passwords on every run."""
    grids = store.read("grids").sort_values("code")
    first_grid = str(grids["code"].iloc[0])
    first_community = str(grids["community_code"].iloc[0])
    plan = [("admin", "admin", "all", "管理员"), ("planner", "planner", "all", "综治办规划员"),
            ("police", "police", "all", "派出所民警"), ("worker", "grid_worker", f"grid:{first_grid}", "网格员"),
            ("viewer", "viewer", f"community:{first_community}", "领导查看")]
    made = []
    for name, role, area, label in plan:
        if _user_row(store, name) is None:
            password = add_user(store, name, role, Area.parse(area), display_name=label, by="pingan demo")
        else:  # a demo run shows working passwords every time: the old ones were shown once and are gone
            password = set_password(store, name, by="pingan demo")
        made.append((name, role, area, password))
    return made
