"""Who a user is: the roles, the areas they work in, and the errors of the access layer.

Roles (the people the planner serves):

============ ================================================= ====================
role          reads                                             writes
============ ================================================= ====================
admin         everything, everywhere; users and the audit log   everything
planner       every layer and result in the area; households    grids, communities,
(规划/综治办)  in detail                                          buildings, targets,
                                                                 roads, risk model
police (公安)  cameras, sites, views, targets, coverage, grids,   cameras, sites,
               buildings, roads, incidents, stations, patrol      stations, placement,
               plans; households as aggregates only               patrol plans
grid_worker   own grids: grids, buildings, households in        households
(网格员)       detail, targets, incidents, roads, risk
viewer        aggregates only: grids, communities, risk and     nothing
               coverage per grid and community
============ ================================================= ====================

An area is an admin-code prefix (``370285001``: a street and all below it), communities
or grids; a user sees the grids it selects and what lies in them (see
:mod:`api.access.policy`, the one place that decides it).
"""

from __future__ import annotations

import dataclasses
import json
import re


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
    #: plans patrols (人防): the stored plan (a whole-workspace user) and what-if plans in the area
    can_patrol: bool = False


RESULTS = frozenset({"views", "views_night", "risk", "risk_history", "coverage_grids", "coverage_communities",
                     "coverage_targets", "coverage_grids_night", "coverage_communities_night",
                     "coverage_targets_night", "blind_spots_night",
                     "blind_spots", "proposals", "proposal_views", "capture_views", "capture_views_night",
                     "preset_views", "preset_views_night"})
#: the patrol plan's layers (人防): police and the whole-workspace roles read them, nobody else
PATROL = frozenset({"patrol_streets", "patrol_zones", "patrol_routes", "patrol_stops", "checkpoints"})
BASE = frozenset({"communities", "grids", "subgrids", "buildings", "households", "roads", "targets", "incidents",
                  "cameras", "sites", "stations"})
ROLES: dict[str, Role] = {r.name: r for r in (
    Role("admin", "管理员", BASE | RESULTS | PATROL, BASE, True, can_place=True, can_patrol=True),
    Role("planner", "规划/综治办", BASE | RESULTS | PATROL,
         frozenset({"grids", "subgrids", "communities", "buildings", "targets", "roads"}), True),
    Role("police", "公安", frozenset({"communities", "grids", "subgrids", "buildings", "roads", "targets", "incidents",
                                     "cameras", "sites", "stations"}) | RESULTS | PATROL,
         frozenset({"cameras", "sites", "stations"}), False, can_place=True, can_patrol=True),
    Role("grid_worker", "网格员", frozenset({"communities", "grids", "subgrids", "buildings", "households", "roads",
                                           "targets", "incidents", "risk", "coverage_grids",
                                           "coverage_grids_night"}),
         frozenset({"households"}), True),
    Role("viewer", "查看", frozenset({"communities", "grids", "subgrids", "risk", "coverage_grids",
                                     "coverage_communities", "coverage_grids_night", "coverage_communities_night"}),
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
