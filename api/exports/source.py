"""What an export reads: the workspace as one user sees it (role, area), and who and when."""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
from pathlib import Path
from typing import Any

import pandas as pd

from api import access
from api.access import Area, ForbiddenError, Scope, User
from layers.store import Store

#: Reports carry China Standard Time, the time their readers live in.
CST = dt.timezone(dt.timedelta(hours=8), "CST")


@dataclasses.dataclass
class Source:
    """The workspace as ``scope`` sees it, for one export made at ``at`` in language ``lang``."""

    store: Store
    scope: Scope
    lang: str = "zh"
    at: dt.datetime = dataclasses.field(default_factory=lambda: dt.datetime.now(CST))
    #: the name the file is downloaded as (the API writes to a temporary name first)
    download_name: str | None = None

    @classmethod
    def local(cls, store: Store, user: str | None = None, lang: str = "zh") -> Source:
        """Exports made on this machine: as the workspace user ``user`` (their role and area apply),
        else as the local administrator (the CLI's and a notebook's default)."""

        if lang not in ("zh", "en"):
            raise ValueError(f"unknown language '{lang}': use zh or en")
        who = access.named_user(store, user) if user else access.User(
            f"local:{getpass.getuser()}", access.ROLES["admin"], access.Area(), "本机管理员")
        return cls(store, Scope.of(store, who), lang)

    @property
    def user(self) -> User:
        return self.scope.user

    @property
    def who(self) -> str:
        u = self.user
        return f"{u.display_name}（{u.username}）" if u.display_name and u.display_name != u.username else u.username

    @property
    def when(self) -> str:
        return self.at.astimezone(CST).strftime("%Y-%m-%d %H:%M")

    def narrowed(self, spec: str | None) -> Source:
        """The same export limited to a part of the user's area (``370285001``, ``community:…``, ``grid:…``)."""
        if not spec or spec.strip() in ("all", "*"):
            return self
        area = Area.parse(spec)
        if not self.store.has("grids"):
            raise ValueError("an export area needs the grids layer")
        sub = Scope.of(self.store, dataclasses.replace(self.user, area=area))
        if not sub.grids:
            raise ValueError(f"area '{spec}' selects no grid of this workspace: give an admin-code prefix, "
                             "'community:CODE' or 'grid:CODE' that exists")
        if not self.scope.everywhere and not sub.grids <= self.scope.grids:
            raise ForbiddenError(f"area '{spec}' reaches outside your area ({self.user.area.describe()})")
        return dataclasses.replace(self, scope=sub)

    def may_read(self, layer: str) -> bool:
        return self.store.has(layer) and layer in self.user.role.reads

    def read(self, layer: str, *, bbox: tuple[float, ...] | None = None) -> pd.DataFrame:
        """A layer's rows inside the user's area (refused if the role may not read it)."""
        self.scope.allow_read(layer)
        return self.scope.filter(self.store, layer, self.store.read(layer, bbox=bbox))

    def require_export(self) -> None:
        if not self.user.role.can_export:
            raise ForbiddenError(f"role '{self.user.role.name}' does not export")

    def store_name(self) -> str:
        """The workspace's file (or database) name, for source lines."""
        return Path(str(getattr(self.store, "path", "") or getattr(self.store, "uri", ""))).name

    def workspace_name(self) -> str:
        return str(self.store.get_meta("name") or "")

    def data_date(self, layers: list[str]) -> str:
        """The date the newest of ``layers`` was written (CST), or '' when none is stored."""
        stamps = [i.updated_at for i in self.store.layers() if i.name in layers and i.updated_at]
        if not stamps:
            return ""
        return pd.Timestamp(max(stamps)).tz_convert(CST).strftime("%Y-%m-%d")

    def area_text(self) -> str:
        """The administrative area an export covers, in the reader's words."""
        lang = self.lang
        comms = self.read("communities") if self.may_read("communities") else pd.DataFrame()
        towns = sorted({str(v) for v in comms.get("township", pd.Series(dtype=object)).dropna() if str(v)})
        name = self.workspace_name()
        n_comm = len(comms)
        n_grid = len(self.read("grids")) if self.may_read("grids") else 0
        names = [str(v) for v in comms.get("name", pd.Series(dtype=object)).dropna()]
        part = not self.scope.everywhere and bool(names)
        if lang == "zh":
            where = "、".join(towns) if towns else name
            if part:
                where += " " + "、".join(names[:3]) + ("等" if len(names) > 3 else "")
            return f"{where}：{n_comm} 个社区/村，{n_grid} 个网格"
        where = ", ".join(towns) if towns else name
        if part:
            where += " – " + ", ".join(names[:3]) + (" …" if len(names) > 3 else "")
        return f"{where}: {n_comm} communities, {n_grid} grids"

    def audit(self, obj: str, detail: dict[str, Any]) -> None:
        extra = {"file": self.download_name} if self.download_name else {}
        self.store.audit("export", obj, {**detail, **extra, "area": self.user.area.describe()},
                         user=self.user.username)
