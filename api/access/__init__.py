"""Who may see and change what, and where: roles, users and sessions, and the one area policy.

- :mod:`api.access.roles`: roles, areas, users (who someone is) and the access errors;
- :mod:`api.access.users`: user records, passwords, throttled logins, sessions;
- :mod:`api.access.policy`: :class:`Scope`, the policy every read, write, search, page,
  export, job and what-if asks.
"""

from api.access.policy import Scope, grid_codes
from api.access.roles import BASE, RESULTS, ROLES, Area, AuthError, ForbiddenError, Role, User, UserError
from api.access.users import (
    LOCK_AFTER,
    LOCK_MINUTES,
    LOGIN_FAILED,
    MIN_PASSWORD,
    add_user,
    as_user,
    audit_entries,
    check_password,
    create_demo_users,
    drop_sessions,
    has_users,
    login,
    login_holds,
    logout,
    named_user,
    session_user,
    set_disabled,
    set_password,
    users,
)

__all__ = ["BASE", "LOCK_AFTER", "LOCK_MINUTES", "LOGIN_FAILED", "MIN_PASSWORD", "RESULTS", "ROLES", "Area",
           "AuthError", "ForbiddenError", "Role", "Scope", "User", "UserError", "add_user", "as_user",
           "audit_entries", "check_password", "create_demo_users", "drop_sessions", "grid_codes", "has_users",
           "login", "login_holds", "logout", "named_user", "session_user", "set_disabled", "set_password", "users"]
