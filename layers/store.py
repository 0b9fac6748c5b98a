"""The workspace store interface.

A workspace is the layers of one planning area plus its settings and metadata. The
embedded default is one GeoPackage file (:mod:`layers.geopackage`); a PostGIS schema
implements the same interface (:mod:`layers.postgis`). Every write is atomic: it either
lands whole or leaves the workspace exactly as it was. A feature edit touches its one row
(:meth:`Store.edit`); whole layers are replaced in one transaction.
"""

from __future__ import annotations

import abc
import datetime as dt
import importlib
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from gis import crs as crs_policy
from gis import shapes
from layers import accounts, schemas, values
from layers.defaults import DEFAULT_SETTINGS  # re-exported: callers import it from here
from layers.errors import WorkspaceError

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class LayerInfo:
    """One layer as the workspace lists it: name, rows, version, when it last changed, geometry type."""

    name: str
    rows: int
    version: int
    updated_at: str
    geometry_type: str | None


def audit_row(action: str, obj: str, detail: Mapping[str, Any] | None, user: str
              ) -> tuple[str, str, str, str, str]:
    """One audit record as both backends store it: (at, user, action, object, detail as JSON)."""
    return (now_iso(), user, action, obj, json.dumps(dict(detail or {}), ensure_ascii=False, default=str))


def now_iso() -> str:
    """The current UTC time as ISO 8601 with an offset, to the second."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


class Store(abc.ABC):
    """What every workspace backend provides."""

    uri: str

    # ---- layers -------------------------------------------------------------------
    @abc.abstractmethod
    def layers(self) -> list[LayerInfo]:
        """The layers present, with row counts and versions."""

    @abc.abstractmethod
    def read(self, layer: str, *, bbox: Sequence[float] | None = None,
             where: str | None = None) -> pd.DataFrame:
        """Read a layer (a GeoDataFrame in EPSG:4326, a DataFrame for tables).

        ``bbox`` is (west, south, east, north) in lon/lat and uses the spatial index.
        """

    def features(self, layer: str, *, bbox: Sequence[float] | None = None,
                 where: str | None = None) -> gpd.GeoDataFrame:
        """Read a layer that has geometry, as a GeoDataFrame in EPSG:4326."""
        frame = self.read(layer, bbox=bbox, where=where)
        if not isinstance(frame, gpd.GeoDataFrame):
            raise WorkspaceError(f"layer '{layer}' is a table without geometry")
        return frame

    @abc.abstractmethod
    def write_many(self, frames: Mapping[str, pd.DataFrame], *, mode: str = "replace",
                   message: str = "") -> dict[str, int]:
        """Write several layers in one atomic step; return their new versions."""

    @abc.abstractmethod
    def update(self, layer: str, change: Callable[[pd.DataFrame], pd.DataFrame], *, message: str = "") -> int:
        """Read ``layer``, apply ``change`` and write the result, as one atomic step no other writer
        can interleave with (compare-and-set edits check versions inside ``change``); an exception
        from ``change`` leaves the workspace as it was. Returns the layer's new version."""

    @abc.abstractmethod
    def edit(self, layer: str, key: str, value: str,
             decide: Callable[[pd.Series | None], pd.DataFrame | None], *,
             message: str = "", audit: tuple[str, str, str] | None = None) -> tuple[int, pd.Series | None]:
        """Change one feature in place, in one transaction: the row whose ``key`` is ``value``.

        ``decide`` gets the stored row (None when there is none) while no other writer can change
        it, and returns the row to store (a one-row frame: an insert or a replacement) or None to
        delete it; an exception from it leaves the workspace as it was. Only that row is read and
        written, whatever the layer's size. ``audit`` = (action, object, user) adds the audit
        record of the change, with the new layer version, in the same transaction: the change and
        its record land together or not at all. Returns the layer's new version and the row as
        stored (None after a delete)."""

    def row(self, layer: str, key: str, value: str) -> pd.Series | None:
        """The one row of ``layer`` whose ``key`` is ``value`` (as :func:`conform_record` gives it), or None."""
        found = self.rows(layer, key, value)
        if len(found) > 1:
            raise WorkspaceError(f"{layer} holds '{value}' {len(found)} times: fix the duplicates")
        return None if found.empty else conform_record(layer, {str(k): v for k, v in found.iloc[0].items()})

    def rows(self, layer: str, key: str, value: str) -> pd.DataFrame:
        """The rows of ``layer`` whose ``key`` is ``value`` (backends look them up by index)."""
        frame = self.read(layer)
        return frame[frame[key].astype(str) == str(value)].reset_index(drop=True)

    @abc.abstractmethod
    def delete(self, layer: str) -> None:
        """Remove a layer (atomic)."""

    def close(self) -> None:  # noqa: B027 (a backend without connections has nothing to close)
        """Close this thread's connections (the store opens them again when it is next used)."""

    # ---- settings and metadata -------------------------------------------------------
    @abc.abstractmethod
    def get_meta(self, key: str, default: Any = None) -> Any:
        """The workspace metadata value under ``key`` (JSON), or ``default``."""

    @abc.abstractmethod
    def set_meta(self, values: Mapping[str, Any]) -> None:
        """Store JSON-serialisable values under keys (atomic)."""

    @abc.abstractmethod
    def audit_log(self) -> pd.DataFrame:
        """The audit log, oldest first."""

    # ---- copying a workspace between stores (``pingan workspace copy``) ---------------------
    @abc.abstractmethod
    def meta(self) -> dict[str, Any]:
        """Every metadata key and value."""

    @abc.abstractmethod
    def restore_layer_info(self, layer: str, version: int, updated_at: str) -> None:
        """Set a copied layer's version and time (results stamped with input versions stay current)."""

    def audit(self, action: str, obj: str, detail: Mapping[str, Any] | None = None, *,
              user: str = "system") -> None:
        """Append one record to the audit log (who, when, what, which object)."""
        self.append_audit([audit_row(action, obj, detail, user)])

    @abc.abstractmethod
    def append_audit(self, rows: Sequence[tuple[str, str, str, str, str]]) -> None:
        """Append audit records as they are (at, user, action, object, detail): a copied log keeps its times."""

    # ---- small internal tables (users, sessions): keyed records written in place ------------
    @abc.abstractmethod
    def records(self, table: str) -> list[dict[str, Any]]:
        """All records of internal table ``table`` (``users``, ``sessions``); [] if it is new."""

    def record(self, table: str, value: Any) -> dict[str, Any] | None:
        """The record of internal table ``table`` whose key field equals ``value``; None if none."""
        key, _ = accounts.table(table)
        return next((r for r in self.records(table) if r[key] == str(value)), None)

    @abc.abstractmethod
    def put_record(self, table: str, key: str, record: Mapping[str, Any], *,
                   expect: Mapping[str, Any] | None = None, absent: bool = False) -> bool:
        """Insert or replace the record whose ``key`` field equals ``record[key]`` (atomic).

        With ``expect``, the write happens only if the stored record still has those values
        (compare-and-set: a counter can be bumped without losing a concurrent bump); with
        ``absent``, only if there is no such record yet (the first of two writers wins). Returns
        whether it was written.
        """

    @abc.abstractmethod
    def delete_records(self, table: str, key: str, values: Sequence[Any]) -> int:
        """Delete the records whose ``key`` is one of ``values``; how many went."""

    @abc.abstractmethod
    def put_style(self, layer: str, qml: str, sld: str, aliases: Mapping[str, str]) -> None:
        """Make ``qml`` (with ``sld`` beside it) the layer's default style where QGIS looks for it, and
        record the fields' ``aliases``; the layer need not exist yet."""

    # ---- derived conveniences ---------------------------------------------------------
    def write(self, layer: str, frame: pd.DataFrame, *, mode: str = "replace", message: str = "") -> int:
        """Write one layer (see :meth:`write_many`); returns its new version."""
        return self.write_many({layer: frame}, mode=mode, message=message)[layer]

    def has(self, layer: str) -> bool:
        """Whether the workspace has the layer."""
        return any(info.name == layer for info in self.layers())

    def version(self, layer: str) -> int:
        """The layer's version (0 when absent); every change by any writer raises it."""
        for info in self.layers():
            if info.name == layer:
                return info.version
        return 0

    def versions(self) -> dict[str, int]:
        """Every layer's version."""
        return {info.name: info.version for info in self.layers()}

    def settings(self) -> dict[str, Any]:
        """The workspace settings over the defaults (:data:`DEFAULT_SETTINGS`)."""
        merged = dict(DEFAULT_SETTINGS)
        merged.update(self.get_meta("settings", {}) or {})
        return merged

    def update_settings(self, **changes: Any) -> dict[str, Any]:
        """Change settings (stored as given) and return them all."""
        current = self.get_meta("settings", {}) or {}
        current.update(changes)
        self.set_meta({"settings": current})
        return self.settings()

    def extent(self) -> tuple[float, float, float, float] | None:
        """Lon/lat bounds over the layers that define the area (or all layers), None if empty."""
        bounds = [b for b in (self.layer_bounds(i.name) for i in self.layers()) if b is not None]
        if not bounds:
            return None
        arr = np.array(bounds)
        return (float(arr[:, 0].min()), float(arr[:, 1].min()), float(arr[:, 2].max()), float(arr[:, 3].max()))

    def layer_bounds(self, layer: str) -> tuple[float, float, float, float] | None:
        """The layer's extent (west, south, east, north; degrees), or None when it has no geometry."""
        frame = self.read(layer)
        if not isinstance(frame, gpd.GeoDataFrame) or frame.empty:
            return None
        w, s, e, n = frame.total_bounds
        return (float(w), float(s), float(e), float(n))

    def metric_crs(self) -> CRS:
        """The workspace's metric CRS (stored once chosen, so it never drifts)."""
        epsg = self.get_meta("metric_epsg")
        if epsg:
            return CRS.from_epsg(int(epsg))
        ext = self.extent()
        if ext is None:
            raise WorkspaceError(f"workspace {self.uri} has no features yet, so no metric CRS can be chosen")
        return crs_policy.metric_crs_for_bounds(ext)

    @contextmanager
    def session(self) -> Iterator[Store]:
        """A context in which to make several calls; a backend may hold a connection for it."""
        yield self


#: a layer name both backends can store: a plain lower-case identifier short enough for PostgreSQL
#: once prefixed (``t_``/``n_``), and none of the prefixes the GeoPackage and this program keep
LAYER_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,60}$")
RESERVED_PREFIXES = ("gpkg_", "rtree_", "pingan_", "sqlite_")
#: tables that other tools keep beside the layers (QGIS's styles)
RESERVED_NAMES = ("layer_styles",)


def check_write(frames: Mapping[str, pd.DataFrame], mode: str) -> None:
    """Refuse a write mode or a layer name that either backend could not store (one rule for both)."""
    if mode not in {"replace", "append"}:
        raise ValueError(f"mode must be 'replace' or 'append', not {mode!r}")
    for name in frames:
        if not LAYER_NAME.match(name) or name.startswith(RESERVED_PREFIXES) or name in RESERVED_NAMES:
            raise ValueError(f"'{name}' cannot be a layer name: use lower-case letters, digits and _ "
                             f"(at most 61, not starting with {', '.join(RESERVED_PREFIXES)}, not "
                             f"{', '.join(RESERVED_NAMES)})")


def declared_geometry(layer: str, frame: pd.DataFrame) -> str:
    """The one geometry type ``layer`` is stored as (both backends, and GeoPackage exports): its
    schema's types in one family, as their Multi form when it allows one (grids, buildings and
    communities are MultiPolygon, roads MultiLineString); for a computed layer, the one type its
    rows have; ``GEOMETRY`` when the types are of different families (key targets are points or
    areas)."""
    allowed = schemas.SCHEMAS[layer].geometry if layer in schemas.SCHEMAS else None
    if allowed:
        return shapes.one_type(allowed) or "GEOMETRY"
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame:
        return "GEOMETRY"
    kinds = frame.geom_type.dropna().unique()
    return (shapes.one_type(str(k) for k in kinds) or "GEOMETRY") if len(kinds) else "GEOMETRY"


def storable(frame: pd.DataFrame, layer: str | None = None) -> pd.DataFrame:
    """The output check every write passes (both backends): every geometry valid, in its own dimension,
    and (given the ``layer``) of the layer's one declared type (:func:`declared_geometry`).

    Inputs are validated on import (:mod:`layers.validate`); this catches what analyses make
    (overlay artefacts in blind spots and views), so no stored layer holds an invalid shape."""
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame or not len(frame):
        return frame
    geoms = frame.geometry.to_numpy()
    fixed = shapes.repaired(geoms)
    if layer is not None:  # the type is decided on the repaired shapes (a repair may split a polygon)
        kind = declared_geometry(layer, gpd.GeoDataFrame(geometry=gpd.GeoSeries(fixed)))
        fixed = shapes.promoted(fixed, kind)
    if all(a is b for a, b in zip(fixed, geoms, strict=True)):
        return frame
    return frame.set_geometry(gpd.GeoSeries(fixed, index=frame.index, crs=frame.crs), inplace=False)


def conform(layer: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Give a frame read back from storage the schema's dtypes and column order."""
    schema = schemas.SCHEMAS.get(layer)
    if schema is None:
        return frame
    for f in schema.fields:
        if f.name not in frame:
            frame[f.name] = values.typed([None] * len(frame), f.kind)
            continue
        col = frame[f.name]
        if (f.kind == "float" and col.dtype == "float64") \
                or (f.kind == "int" and isinstance(col.dtype, pd.Int64Dtype)) \
                or (f.kind == "datetime" and pd.api.types.is_datetime64_any_dtype(col.dtype)):
            continue  # already as the schema has it (most columns of a GeoPackage or PostGIS read)
        frame[f.name] = values.typed(col.tolist(), f.kind)
    order = schema.columns + [c for c in frame.columns if c not in schema.by_name]
    return frame if list(frame.columns) == order else frame[order]


def conform_record(layer: str, record: dict[str, Any]) -> pd.Series:
    """One stored row (a dict of plain values) as :func:`conform` gives it, as a Series."""
    schema = schemas.SCHEMAS.get(layer)
    if schema is None:
        return pd.Series(record, dtype=object)
    out = {f.name: values.typed_value(record.get(f.name), f.kind) for f in schema.fields}
    out |= {k: v for k, v in record.items() if k not in out}
    return pd.Series(out, dtype=object)


#: the two backends, as the module and class that implement them: the factory imports one when a
#: workspace is opened, so that this base module never imports its subclasses (they import it)
BACKENDS = {"postgis": "layers.postgis:PostGISStore", "geopackage": "layers.geopackage:GeoPackageStore"}


def json_value(v: Any) -> Any:
    """A stored value as JSON has it: nulls as null, numbers as numbers, times as ISO text."""
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):  # noqa: PLR0124
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return v


def open_workspace(uri: str | Path, *, create: bool = False, **create_options: Any) -> Store:
    """Open (or create) a workspace.

    Parameters
    ----------
    uri
        A path to a ``.gpkg`` file, or a PostGIS database
        ``postgresql://user:password@host:port/database?workspace=name``.
    create
        Create the workspace when it does not exist.
    **create_options
        For a new workspace: ``name``, ``expect_china``, ``overwrite`` and initial settings.

    Returns
    -------
    Store
        The workspace's store (:class:`layers.geopackage.GeoPackageStore` or
        :class:`layers.postgis.PostGISStore`).
    """
    text = str(uri)
    postgis = text.startswith(("postgresql://", "postgres://"))
    module, name = BACKENDS["postgis" if postgis else "geopackage"].split(":")
    cls: Any = getattr(importlib.import_module(module), name)
    where = text if postgis else Path(text)
    opened: Store = cls.create(where, **create_options) if create else cls(where)
    return opened
