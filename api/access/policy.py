"""The one area policy: may this user see or change this row, layer, job or what-if camera?

Every path that reads, writes, searches, draws, exports, runs a job or a what-if asks a
:class:`Scope` (a user's role and area resolved against the workspace); no route decides
by itself. The rules:

- A row belongs to an area by what is *stored*, never by a display copy: a grid, a grid's
  result row and a risk row by the grid code; a community by its code; a household by its
  building; a camera view by its camera; any other row with geometry by the representative
  point of its stored geometry (so a feature on a boundary is in exactly one area); a table
  with a ``grid_code`` by that code; any other table by nothing.
- A change needs the row as stored *and* the row as sent inside the area (a household by
  the building it is sent into). A row outside is answered as if it did not exist, before
  any version is compared, so nothing about it leaks.
- ETags are keyed HMACs of the row's stored content: they change with every change of the
  row but cannot be computed, or checked against a guess, without the workspace's key.
- A job belongs to the user who started it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from api.access.roles import Area, ForbiddenError, User
from layers.store import Store, now_iso

#: layers whose rows belong to a grid by their ``code``
BY_GRID_CODE = ("grids", "risk", "risk_history", "coverage_grids", "coverage_grids_night")
#: layers whose rows belong to a community by their code
BY_COMMUNITY_CODE = ("communities", "coverage_communities", "coverage_communities_night")
#: layers whose rows belong to a camera (its views by day and by night, where it captures faces and plates)
VIEW_LAYERS = ("views", "views_night", "capture_views", "capture_views_night", "preset_views", "preset_views_night")


def grid_codes(store: Store, area: Area) -> set[str]:
    """Codes of the workspace's grids that ``area`` selects."""
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

    # ---- layers -----------------------------------------------------------------------------
    def allow_read(self, layer: str) -> None:
        if layer not in self.user.role.reads and layer not in ("households_summary",):
            raise ForbiddenError(f"role '{self.user.role.name}' may not read layer '{layer}'")

    def allow_write(self, layer: str) -> None:
        if layer not in self.user.role.writes:
            raise ForbiddenError(f"role '{self.user.role.name}' may not change layer '{layer}'")

    def allow_whole_workspace(self, what: str) -> None:
        """Refuse ``what`` (an action over every grid) to a user whose area is not 'all'."""
        if not self.everywhere:
            raise ForbiddenError(f"{what} covers the whole workspace: it needs a user whose area is 'all'")

    # ---- rows -------------------------------------------------------------------------------
    def mask(self, store: Store, layer: str, frame: pd.DataFrame) -> np.ndarray:
        """Which rows of ``frame`` (rows of ``layer`` as stored) lie in the area."""
        if self.everywhere:
            return np.ones(len(frame), dtype=bool)
        if frame.empty:
            return np.zeros(0, dtype=bool)
        if layer in BY_GRID_CODE:
            return frame["code"].astype(str).isin(self.grids).to_numpy()
        if layer in BY_COMMUNITY_CODE:
            col = "code" if "code" in frame else "community_code"
            return frame[col].astype(str).isin(self.communities).to_numpy()
        if layer == "households":
            return frame["building_id"].astype(str).isin(self._ids(store, "buildings")).to_numpy()
        if layer in VIEW_LAYERS:
            return frame["camera"].astype(str).isin(self._ids(store, "cameras")).to_numpy()
        if isinstance(frame, gpd.GeoDataFrame):
            return self.contains(frame.geometry.to_numpy())
        if "grid_code" in frame:
            return frame["grid_code"].astype(str).isin(self.grids).to_numpy()
        return np.zeros(len(frame), dtype=bool)  # a table with no place: nothing, rather than everything

    def shows(self, store: Store, layer: str, row: Mapping[Any, Any]) -> bool:
        """Whether one stored row lies in the area: :meth:`mask` for a single row, without a frame."""
        if self.everywhere:
            return True
        if layer in BY_GRID_CODE:
            return str(row.get("code")) in self.grids
        if layer in BY_COMMUNITY_CODE:
            return str(row.get("code") if "code" in row else row.get("community_code")) in self.communities
        if layer == "households":
            return str(row.get("building_id")) in self._ids(store, "buildings")
        if layer in VIEW_LAYERS:
            return str(row.get("camera")) in self._ids(store, "cameras")
        if "geometry" in row:
            return bool(self.contains([row["geometry"]])[0])
        if "grid_code" in row:
            return str(row.get("grid_code")) in self.grids
        return False

    def filter(self, store: Store, layer: str, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``frame`` (a layer's rows as stored) inside the area."""
        if self.everywhere or frame.empty:
            return frame
        return frame[self.mask(store, layer, frame)]

    def _ids(self, store: Store, layer: str) -> set[str]:
        """The ids of ``layer`` in the area (kept while the layer's version stays the same)."""
        version = store.version(layer)
        if not version and not store.has(layer):
            return set()
        cache = self.__dict__.setdefault("_id_cache", {})
        hit = cache.get((store.uri, layer))
        if hit is not None and hit[0] == version:
            return hit[1]
        rows = store.read(layer)
        ids = set(rows["id"].astype(str)[self.mask(store, layer, rows)])
        cache[(store.uri, layer)] = (version, ids)
        return ids

    def contains(self, geoms: Iterable[Any]) -> np.ndarray:
        """Whether each lon/lat geometry's representative point lies in the area (a missing one does not)."""
        geoms = np.asarray(list(geoms), dtype=object)
        if self.shape is None:
            return np.ones(len(geoms), dtype=bool)
        missing = np.asarray(shapely.is_missing(geoms) | shapely.is_empty(geoms), dtype=bool) if len(geoms) else \
            np.zeros(0, dtype=bool)
        filled = geoms.copy()
        filled[missing] = shapely.Point()
        points = shapely.point_on_surface(filled)
        shapely.prepare(self.shape)
        return np.asarray(shapely.covers(self.shape, points), dtype=bool) & ~missing

    def holds(self, store: Store, layer: str, row: Mapping[str, Any]) -> bool:
        """Whether one row (as stored, or as sent in an edit) lies in the area."""
        if self.everywhere:
            return True
        if layer == "households":
            return str(row.get("building_id")) in self._ids(store, "buildings")
        geom = row.get("geometry")
        if geom is not None and not (isinstance(geom, float) and np.isnan(geom)):
            return bool(self.contains([geom])[0])
        frame = pd.DataFrame([{k: v for k, v in row.items() if k != "geometry"}])
        return bool(self.mask(store, layer, frame)[0]) if len(frame.columns) else False

    def etag(self, store: Store, layer: str, row: Mapping[str, Any] | pd.Series) -> str:
        """A strong ETag of a stored row: a keyed HMAC of its content (not derivable without the key)."""
        props = {k: (None if _missing(v) else str(v)) for k, v in row.items() if k != "geometry"}
        geom = row.get("geometry")
        wkb = shapely.to_wkb(geom, hex=True, output_dimension=2) if geom is not None and not _missing(geom) else ""
        text = json.dumps([layer, props], sort_keys=True, ensure_ascii=False) + wkb
        return '"' + hmac.new(_etag_key(store), text.encode(), hashlib.sha256).hexdigest()[:32] + '"'

    @staticmethod
    def ready_etags(store: Store) -> None:
        """Make sure the workspace's ETag key exists (call before a write lock is taken: making it writes)."""
        _etag_key(store)

    # ---- jobs -------------------------------------------------------------------------------
    def owns(self, job: Mapping[str, Any]) -> bool:
        """A job is its starter's: nobody else reads its progress, result or file."""
        return bool(job.get("user") == self.user.username)


def _missing(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


_KEYS: dict[str, bytes] = {}
_KEYS_LOCK = threading.Lock()


def _etag_key(store: Store) -> bytes:
    """The workspace's ETag key: made once, kept in its internal secrets table (never served)."""
    ident = f"{type(store).__name__}:{getattr(store, 'path', None) or getattr(store, 'uri', None) or id(store)}"
    with _KEYS_LOCK:
        if ident not in _KEYS:
            row = store.record("secrets", "etag")
            if row is None:
                store.put_record("secrets", "name", {"name": "etag", "value": secrets.token_hex(32),
                                                     "created_at": now_iso()})
                row = store.record("secrets", "etag")
                assert row is not None
            _KEYS[ident] = bytes.fromhex(row["value"])
        return _KEYS[ident]
