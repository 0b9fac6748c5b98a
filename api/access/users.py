"""User records, passwords, logins and sessions.

Passwords are hashed with Argon2id (``argon2-cffi``); sessions are random bearer tokens,
stored only as SHA-256 hashes, valid for ``session_hours``.

Failed logins are throttled per client and account name: after five failures from one
client for one name, that client waits five minutes for that name, doubling with every
further failure (up to a day), and any one client is held back after 30 failures across
names. Someone guessing from elsewhere cannot lock a real user out, and the answer is the
same for an unknown, a disabled and a wrong password, so no answer tells which accounts exist.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Mapping
from typing import Any

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from api.access.policy import grid_codes
from api.access.roles import ROLES, Area, AuthError, ForbiddenError, User, UserError
from layers.store import Store, now_iso

_HASHER = PasswordHasher()  # Argon2id with the library's current recommended parameters
LOCK_AFTER = 5
LOCK_MINUTES = 5
#: failures from one client across all names before that client is held back
CLIENT_LOCK_AFTER = 30
MIN_PASSWORD = 10
USERNAME = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{2,32}$")
#: the one answer to a failed login, whatever failed
LOGIN_FAILED = "wrong user name or password"


def users(store: Store) -> list[dict[str, Any]]:
    return sorted(store.records("users"), key=lambda r: r["username"])


def has_users(store: Store) -> bool:
    return bool(store.records("users"))


def _user_row(store: Store, username: str) -> dict[str, Any] | None:
    return store.record("users", username)


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
    if not area.everywhere and store.has("grids") and not grid_codes(store, area):
        raise UserError(f"area '{area.describe()}' selects no grid of this workspace: check the codes")
    password = password if password is not None else secrets.token_urlsafe(12)
    check_password(password)
    store.put_record("users", "username", {
        "username": username, "role": role, "area": area.to_json(), "password_hash": _HASHER.hash(password),
        "disabled": "0", "created_at": now_iso(), "failed_logins": "0", "locked_until": None,
        "display_name": display_name})
    store.audit("user_add", f"user:{username}", {"role": role, "area": area.describe()}, user=by)
    return password


def set_password(store: Store, username: str, password: str | None = None, *, by: str = "system") -> str:
    """Set (or generate) a new password; ends the user's sessions and lifts every login hold on the name."""
    row = _user_row(store, username)
    if row is None:
        raise UserError(f"no user '{username}'")
    password = password if password is not None else secrets.token_urlsafe(12)
    check_password(password)
    store.put_record("users", "username", row | {"password_hash": _HASHER.hash(password), "failed_logins": "0",
                                                 "locked_until": None})
    drop_sessions(store, username)
    store.delete_records("throttle", "key", [k["key"] for k in store.records("throttle")
                                             if k["key"].startswith(_name_prefix(username))])
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


def _name_prefix(username: str) -> str:
    return hashlib.sha256(f"name:{username}".encode()).hexdigest()[:16] + ":"


def _throttle_keys(username: str, client: str) -> tuple[str, str]:
    """Keys of the (name, client) pair and of the client alone; hashed so the table names nobody."""
    pair = _name_prefix(username) + hashlib.sha256(f"client:{client}".encode()).hexdigest()[:16]
    return pair, "*:" + hashlib.sha256(f"client:{client}".encode()).hexdigest()[:16]


def _held_until(store: Store, key: str) -> str | None:
    row = store.record("throttle", key)
    if row and row["locked_until"] and dt.datetime.fromisoformat(row["locked_until"]) > _now():
        return str(row["locked_until"])
    return None


def login_holds(store: Store, username: str) -> int:
    """How many clients are held back from logging in as ``username`` now (``pingan users list``)."""
    prefix = _name_prefix(username)
    return sum(1 for r in store.records("throttle") if r["key"].startswith(prefix) and _held_until(store, r["key"]))


def _count_failure(store: Store, key: str, after: int) -> int:
    """One more failure on ``key`` (compare-and-set: two wrong guesses at once both count)."""
    while True:
        row = store.record("throttle", key)
        failed = int(row["failures"] or 0) + 1 if row else 1
        locked = None
        if failed >= after:
            minutes = min(LOCK_MINUTES * 2 ** (failed - after), 24 * 60)
            locked = (_now() + dt.timedelta(minutes=minutes)).isoformat()
        record = {"key": key, "failures": str(failed), "locked_until": locked, "updated_at": now_iso()}
        if row is None:
            store.put_record("throttle", "key", record)
            return failed
        if store.put_record("throttle", "key", record, expect={"failures": row["failures"]}):
            return failed


def login(store: Store, username: str, password: str, *, hours: float = 8.0,
          client: str = "local") -> tuple[str, User, str]:
    """Check a password from ``client`` (an address); a new session token, the user and its expiry."""
    pair, whole = _throttle_keys(username, client)
    held = _held_until(store, pair) or _held_until(store, whole)
    if held:
        store.audit("login_refused", f"user:{username}", {"reason": "throttled", "until": held, "client": client},
                    user=username)
        raise AuthError(f"too many failed logins from this client: try again after {held} (UTC)")
    row = _user_row(store, username)
    ok = False
    if row is None:
        _HASHER.hash(password)  # the same work as a real check: no user enumeration by timing
    else:
        try:
            ok = _HASHER.verify(row["password_hash"], password) and row["disabled"] != "1"
        except (VerificationError, InvalidHashError):
            ok = False
    if not ok or row is None:
        failures = _count_failure(store, pair, LOCK_AFTER)
        _count_failure(store, whole, CLIENT_LOCK_AFTER)
        reason = "unknown user" if row is None else "disabled" if row["disabled"] == "1" else "wrong password"
        store.audit("login_failed", f"user:{username}", {"reason": reason, "failures": failures, "client": client},
                    user=username)
        raise AuthError(LOGIN_FAILED)
    store.delete_records("throttle", "key", [pair])
    token = secrets.token_urlsafe(32)
    expires = (_now() + dt.timedelta(hours=hours)).isoformat()
    store.put_record("sessions", "token_hash", {"token_hash": _digest(token), "username": username,
                                                "created_at": now_iso(), "expires_at": expires})
    store.audit("login", f"user:{username}", {"client": client}, user=username)
    return token, as_user(row), expires


def as_user(row: Mapping[str, Any]) -> User:
    return User(row["username"], ROLES[row["role"]], Area.from_json(row["area"]), row.get("display_name") or "")


def named_user(store: Store, username: str) -> User:
    """The workspace user called ``username`` (the CLI acts as one: its role and area apply)."""
    row = _user_row(store, username)
    if row is None:
        raise UserError(f"no user '{username}' in this workspace: see `pingan users list`")
    if row.get("disabled") == "1":
        raise ForbiddenError(f"user '{username}' is disabled")
    return as_user(row)


def session_user(store: Store, token: str) -> User:
    digest = _digest(token)
    session = store.record("sessions", digest)
    if session is None:
        raise AuthError("not logged in (or the session ended): log in again")
    if dt.datetime.fromisoformat(session["expires_at"]) <= _now():
        store.delete_records("sessions", "token_hash", [digest])
        raise AuthError("the session expired: log in again")
    row = _user_row(store, session["username"])
    if row is None or row["disabled"] == "1":
        raise AuthError("not logged in (or the session ended): log in again")
    return as_user(row)


def logout(store: Store, token: str) -> None:
    store.delete_records("sessions", "token_hash", [_digest(token)])


def drop_sessions(store: Store, username: str) -> None:
    store.delete_records("sessions", "username", [username])


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
