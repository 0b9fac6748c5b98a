"""Validate and normalise an input layer against its schema.

:func:`validate` gathers *every* problem (row, field, value, likely fix) and raises
one :class:`~layers.errors.LayerValidationError`; when nothing is wrong it returns a
normalised copy: canonical column names, coerced types, canonical enum keys,
geometry in EPSG:4326.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis import crs as crs_policy
from gis import ptz
from layers import gb28181, schemas, values
from layers.errors import LayerValidationError, Problem
from layers.schemas import Field, LayerSchema
from layers.values import CONTROL, PERSONAL_NUMBER, RESOLUTION, TAG_SPLIT, is_missing, lossy_number, to_code, to_number


class _Context:
    """What a validation run knows about where its rows came from."""

    def __init__(self, schema: LayerSchema, rows: Sequence[int], shown: dict[str, str]):
        self.schema = schema
        self.rows = rows
        self.shown = shown  # canonical name -> header as the user wrote it
        self.problems: list[Problem] = []

    def name(self, field: str) -> str:
        return self.shown.get(field, field)

    def add(self, pos: int | None, field: str | None, value: Any, message: str, fix: str = "") -> None:
        row = self.rows[pos] if pos is not None else None
        self.problems.append(Problem(row, self.name(field) if field else None, value, message, fix))


def _coerce(ctx: _Context, f: Field, pos: int, v: Any) -> Any:
    """Return the stored value for one cell, or None after recording a problem."""
    label = ctx.name(f.name)
    if isinstance(v, str) and (control := CONTROL.search(v)):
        ctx.add(pos, f.name, v.encode("unicode_escape").decode("ascii"),
                f"{label} holds a control character (U+{ord(control.group()):04X})",
                "remove it (it cuts or hides text, and a tab or return before '=' makes a formula)")
        return None
    if (f.kind == "code" or f.name == ctx.schema.id_field) and lossy_number(v):
        ctx.add(pos, f.name, v, f"{label} is a number in the spreadsheet, and its digits are already lost "
                f"({to_code(v)} has {len(to_code(v))} digits; a number keeps only 15)",
                "the column is a number in Excel: format it as text and type the codes again, "
                "or export from the platform as CSV")
        return None
    if f.kind in ("float", "int"):
        try:
            num = to_number(v)
        except ValueError:
            ctx.add(pos, f.name, v, f"'{v}' is not a number", f.hint or "use a plain number")
            return None
        if f.kind == "int" and not float(num).is_integer():
            ctx.add(pos, f.name, v, f"{v} is not a whole number", f.hint)
            return None
        if (f.min is not None and num < f.min) or (f.max is not None and num > f.max):
            fix = f"allowed range is {f.min:g}–{f.max:g}"
            if f.name.endswith("height_m") and f.max is not None and num > f.max:
                fix += "; heights are in metres (is this in centimetres?)"
            ctx.add(pos, f.name, v, f"{label} {v} is out of range", fix)
            return None
        return int(num) if f.kind == "int" else num
    if f.kind == "enum":
        key = f.canonical_choice(str(to_code(v)))
        if key is None:
            keys = sorted(set(f.choices.values())) if f.choices else []
            ctx.add(pos, f.name, v, f"'{v}' is not a known {label}", f"use one of: {', '.join(keys)}")
        return key
    if f.kind == "tags":
        out: list[str] = []
        bad: list[str] = []
        for part in TAG_SPLIT.split(str(v).strip()):
            if part:
                key = f.canonical_choice(part)
                (out if key else bad).append(key or part)
        if bad:
            allowed = "、".join(sorted(set(f.choices.values()))) if f.choices else ""
            ctx.add(pos, f.name, v, f"unknown tag(s) {', '.join(bad)}", f"tags are: {allowed}")
            return None
        return ";".join(dict.fromkeys(out))
    if f.kind == "datetime":
        ts = pd.to_datetime(v, errors="coerce") if not isinstance(v, bool) else None
        if ts is None or pd.isna(ts):
            ctx.add(pos, f.name, v, f"'{v}' is not a date/time", "use e.g. 2026-03-01 14:30")
            return None
        return ts
    if f.kind == "presets":  # a PTZ tour (gis.ptz): pan/tilt/hfov/dwell; …
        try:
            return ptz.text(ptz.parse(v)) or None
        except ValueError as exc:
            ctx.add(pos, f.name, v, f"{label}: {exc}", "separate the presets with ';' (水平角/俯角/视场角/停留秒)")
            return None
    if f.kind == "worker":  # who answers for an area: a worker or role id, never someone's phone or ID card
        text = str(to_code(v)).strip()
        if PERSONAL_NUMBER.fullmatch(re.sub(r"[\s-]", "", text)):
            ctx.add(pos, f.name, v, f"{label} looks like a phone or ID-card number, which is personal information",
                    "enter the worker's staff id (e.g. WGY0123) or a role, not their phone or 身份证号")
            return None
        return text
    if f.kind == "code":
        code = to_code(v)
        if not code.isdigit():
            ctx.add(pos, f.name, v, f"'{v}' is not a digit code", f.hint or "codes contain digits only")
            return None
        return code
    return str(to_code(v)).strip()


def _map_headers(ctx: _Context, df: pd.DataFrame, extra: str) -> dict[str, str]:
    """Return {user column: canonical}; record unknown, duplicate and missing columns."""
    known = schemas.header_map(ctx.schema)
    mapping: dict[str, str] = {}
    seen: dict[str, str] = {}
    geom = df.geometry.name if isinstance(df, gpd.GeoDataFrame) else None
    for col in df.columns:
        if col == geom:
            continue
        canon = known.get(schemas.normalise_header(col))
        if canon is None:
            if extra == "error":
                close = difflib.get_close_matches(schemas.normalise_header(col), list(known), n=2, cutoff=0.6)
                hint = f"did you mean {' or '.join(close)}?" if close else (
                    f"{ctx.schema.name} fields are {', '.join(ctx.schema.columns)}")
                ctx.add(None, str(col), None, f"unknown column '{col!s}'",
                        hint + " (or import with extra columns kept/dropped)")
            continue
        if canon in seen:
            ctx.add(None, str(col), None, f"columns '{seen[canon]}' and '{col}' both mean {canon}",
                    "keep one of them")
            continue
        seen[canon] = str(col)
        mapping[str(col)] = canon
    for f in ctx.schema.fields:
        if f.required and f.name not in seen:
            accepted = ", ".join(dict.fromkeys((f.name, *f.aliases[:4])))
            ctx.add(None, f.name, None, f"required column {f.label or f.name} is missing",
                    f"add a column named one of: {accepted}")
    return mapping


def _check_codes(ctx: _Context, out: pd.DataFrame) -> None:
    layer = ctx.schema.name
    for pos, v in enumerate(out.get("code", pd.Series(dtype=object))):
        if v is None:
            continue
        if layer == "communities" and len(v) != 12:
            ctx.add(pos, "code", v, f"community code {v} has {len(v)} digits", "use the 12-digit statistical code")
        elif v[:2] not in gb28181.PROVINCE_CODES:
            ctx.add(pos, "code", v, f"{v} does not start with a province code", "check the GB/T 2260 code")
        if layer == "subgrids" and (len(v) not in (17, 19) or not v.startswith(str(out["parent_code"].iat[pos]))):
            ctx.add(pos, "code", v, f"{v} is not its parent's code + 2 digits",
                    "a 组格 is its grid's code + 2 digits, a 片格 its 组格's code + 2 digits")
        if layer == "grids":
            comm = str(out["community_code"].iat[pos]) if "community_code" in out else ""
            if len(v) != 15:
                ctx.add(pos, "code", v, f"grid code {v} has {len(v)} digits",
                        "grid codes are the 12-digit community code + a 3-digit serial")
            elif comm not in ("", "None") and not v.startswith(comm):
                ctx.add(pos, "code", v, f"grid code {v} does not start with its community code {comm}",
                        "grid codes are the community code + a 3-digit serial")
    for field, lengths in (("admin_code", (6, 9, 12)), ("community_code", (12,)), ("grid_code", (15,)),
                           ("parent_code", (15, 17))):
        for pos, v in enumerate(out.get(field, pd.Series(dtype=object))):
            if v is None:
                continue
            if len(v) not in lengths:
                want = "/".join(str(n) for n in lengths)
                ctx.add(pos, field, v, f"{v} has {len(v)} digits", f"use a {want}-digit code")
            elif v[:2] not in gb28181.PROVINCE_CODES:
                ctx.add(pos, field, v, f"{v} does not start with a province code", "check the GB/T 2260 code")


def _check_ids(ctx: _Context, out: pd.DataFrame) -> None:
    id_field = ctx.schema.id_field
    if not id_field or id_field not in out:
        return
    first: dict[str, int] = {}
    for pos, v in enumerate(out[id_field]):
        if is_missing(v):
            continue
        if v in first:
            ctx.add(pos, id_field, v, f"{v} is used again (first at row {ctx.rows[first[v]]})",
                    "ids must be unique: fix or remove the duplicate")
        else:
            first[v] = pos
        if ctx.schema.name == "cameras" and v.isdigit():
            why = gb28181.check_camera_code(v)
            if why:
                ctx.add(pos, id_field, v, why, "fix the code or use a non-numeric local id (e.g. CAM-0001)")


def _check_geometry(ctx: _Context, gs: gpd.GeoSeries, *, repair: bool, expect_china: bool,
                    extent: Sequence[float] | None, max_outside_km: float) -> gpd.GeoSeries:
    allowed = ctx.schema.geometry or ()
    geoms = gs.array.copy()
    lon_name, lat_name = ctx.name("lon"), ctx.name("lat")
    for pos, g in enumerate(geoms):
        if g is None or g.is_empty:
            ctx.add(pos, "geometry", None, "geometry is empty",
                    f"give the feature coordinates ({lon_name}/{lat_name}) or drop the row")
            continue
        if g.geom_type not in allowed:
            ctx.add(pos, "geometry", g.geom_type, f"geometry is {g.geom_type}, {ctx.schema.name} need "
                    f"{' or '.join(allowed)}", "check that the file holds this layer")
            continue
        if not g.is_valid:
            reason = shapely.is_valid_reason(g)
            if repair:
                fixed = _repair(g, allowed)
                if fixed is None:
                    ctx.add(pos, "geometry", reason, f"invalid geometry ({reason}) cannot be repaired",
                            "redraw the feature")
                    continue
                geoms[pos] = fixed
                g = fixed  # noqa: PLW2901 - the checks below look at the repaired shape
            else:
                ctx.add(pos, "geometry", reason, f"invalid geometry ({reason})",
                        "redraw it, or import with repair on (shapely make_valid)")
        x0, y0, x1, y1 = g.bounds
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        if not (x0 >= -180 and x1 <= 180 and y0 >= -90 and y1 <= 90):
            lat_bad = not (y0 >= -90 and y1 <= 90)
            bad = (y0 if not -90 <= y0 <= 90 else y1) if lat_bad else (x0 if not -180 <= x0 <= 180 else x1)
            fix = f"are {lon_name} and {lat_name} swapped?" if -90 <= cx <= 90 else (
                "coordinates look like metres: declare the file's CRS (e.g. EPSG:4549)")
            which = "lat" if lat_bad else "lon"
            ctx.add(pos, which, bad, f"{ctx.name(which)} {bad:.10g} is out of range", fix)
            continue
        if expect_china and not crs_policy.in_china(cx, cy):
            fix = (f"are {lon_name} and {lat_name} swapped?" if crs_policy.in_china(cy, cx)
                   else "check the coordinates, or create the workspace for use outside China")
            ctx.add(pos, "geometry", (round(cx, 6), round(cy, 6)), "coordinates are outside China", fix)
            continue
        if extent is not None:
            km = _km_outside(extent, cx, cy)
            if km > max_outside_km:
                ctx.add(pos, "geometry", (round(cx, 6), round(cy, 6)),
                        f"feature is {km:.0f} km outside the workspace",
                        "check the coordinates and their CRS (GCJ-02/BD-09 data must be declared)")
    return gpd.GeoSeries(geoms, index=gs.index, crs=gs.crs)


def _repair(g: shapely.Geometry, allowed: Sequence[str]) -> shapely.Geometry | None:
    fixed = shapely.make_valid(g)
    if "Polygon" in allowed or "MultiPolygon" in allowed:
        parts = [p for p in shapely.get_parts(fixed) if p.geom_type in ("Polygon", "MultiPolygon")]
        if not parts:
            return None
        fixed = shapely.union_all(parts)
        if fixed.geom_type == "MultiPolygon" and "MultiPolygon" not in allowed:
            return None
    return None if fixed.is_empty or fixed.geom_type not in allowed else fixed


def _km_outside(extent: Sequence[float], x: float, y: float) -> float:
    w, s, e, n = extent
    dx = max(w - x, 0.0, x - e) * 111.32 * math.cos(math.radians(y))
    dy = max(s - y, 0.0, y - n) * 110.57
    return math.hypot(dx, dy)


def check_cells(layer: str, field: str, values: Sequence[Any], rows: Sequence[int],
                shown: str | None = None) -> tuple[list[Any], list[Problem]]:
    """One field's cells checked as an import checks them: the stored value of each (None when empty or
    wrong) and the problems found, by row. For tables that change one field of stored features."""
    schema = schemas.get(layer)
    f = next((x for x in schema.fields if x.name == field), None)
    if f is None:
        raise KeyError(f"layer '{layer}' has no field '{field}'")
    ctx = _Context(schema, rows, {field: shown or f.label or field})
    stored = [None if is_missing(v) else _coerce(ctx, f, pos, v) for pos, v in enumerate(values)]
    return stored, ctx.problems


def validate(data: pd.DataFrame, layer: str, *, extra: str = "error", repair: bool = False,
             expect_china: bool = True, extent: Sequence[float] | None = None,
             max_outside_km: float = 50.0, rows: Sequence[int] | None = None,
             source: str | None = None, shown: dict[str, str] | None = None) -> pd.DataFrame:
    """Validate ``data`` as ``layer`` and return it normalised, or raise once with every problem.

    Parameters
    ----------
    data
        A GeoDataFrame (a DataFrame for the households table) with user or canonical headers.
    layer
        The layer it is validated as (a name in :data:`layers.schemas.SCHEMAS`).
    extra
        What to do with columns the schema does not know: ``"error"``, ``"drop"`` or ``"keep"``.
    repair
        Repair invalid geometries with ``shapely.make_valid`` instead of reporting them.
    expect_china
        Flag coordinates outside China (off for workspaces made for use elsewhere).
    extent
        The workspace's lon/lat bounds; features farther than ``max_outside_km`` km are flagged.
    max_outside_km
        How far (km) outside ``extent`` a feature may lie.
    rows
        The row number the user sees for each row (CSV/XLSX: spreadsheet rows, header = 1).
    source
        The file the rows come from, named in messages.
    shown
        Canonical name → header as the user wrote it (for ``lon``/``lat`` too), used in messages.

    Returns
    -------
    pandas.DataFrame
        The rows with canonical names, types and choices, geometry in EPSG:4326.

    Raises
    ------
    layers.errors.LayerValidationError
        With every problem: row, field, message and the likely fix.
    """
    if extra not in {"error", "drop", "keep"}:
        raise ValueError(f"extra must be 'error', 'drop' or 'keep', not {extra!r}")
    schema = schemas.get(layer)
    rows = list(rows) if rows is not None else list(range(1, len(data) + 1))
    ctx = _Context(schema, rows, dict(shown or {}))
    if len(data) == 0:
        ctx.add(None, None, None, "there are no rows", "check that the right file and sheet/layer were given")
        raise LayerValidationError(layer, ctx.problems, source)
    mapping = _map_headers(ctx, data, extra)
    for user, canon in mapping.items():
        ctx.shown.setdefault(canon, user)

    out = pd.DataFrame(index=data.index)
    for user, canon in mapping.items():
        f = schema.by_name[canon]
        values: list[Any] = []
        for pos, v in enumerate(data[user].tolist()):
            if is_missing(v):
                if f.required:
                    ctx.add(pos, canon, None, f"{ctx.name(canon)} is empty", f"fill in {f.label or canon}")
                values.append(None)
            elif canon == "resolution_px" and isinstance(v, str) and RESOLUTION.match(v):
                w, h = RESOLUTION.match(v).groups()  # type: ignore[union-attr]
                values.append(_coerce(ctx, f, pos, w))
                out.loc[out.index[pos], "resolution_v_px"] = float(h)
            else:
                values.append(_coerce(ctx, f, pos, v))
        out[canon] = pd.Series(values, index=out.index, dtype=object)  # None stays None (no str-dtype NaN)
    if extra == "keep":
        known = set(mapping)
        for col in data.columns:
            if col not in known and not (isinstance(data, gpd.GeoDataFrame) and col == data.geometry.name):
                out[str(col)] = data[col].to_numpy()
    _check_ids(ctx, out)
    _check_codes(ctx, out)
    for given, needed, fix in ctx.schema.needs:  # a field that is meaningless without another one
        ctx.shown.setdefault(needed, schema.by_name[needed].label or needed)  # named as a user's sheet would
        lacking = out[needed].isna().to_numpy() if needed in out else np.ones(len(out), dtype=bool)
        for row in np.flatnonzero(out[given].notna().to_numpy() & lacking) if given in out else []:
            ctx.add(int(row), needed, None, f"{ctx.name(given)} is given but {ctx.name(needed)} is empty", fix)

    if schema.geometry is not None:
        if not isinstance(data, gpd.GeoDataFrame) or data.geometry.name not in data:
            ctx.add(None, "geometry", None, "the layer has no geometry",
                    "give 经度/纬度 columns or a GIS file (GeoPackage, GeoJSON, Shapefile, KML)")
            raise LayerValidationError(layer, ctx.problems, source)
        gs = data.geometry
        if gs.crs is None:
            gs = gs.set_crs(crs_policy.WGS84)
        elif not gs.crs.equals(crs_policy.WGS84):
            gs = gs.to_crs(crs_policy.WGS84)
        gs = _check_geometry(ctx, gs, repair=repair, expect_china=expect_china,
                             extent=extent, max_outside_km=max_outside_km)
    if ctx.problems:
        raise LayerValidationError(layer, ctx.problems, source)
    return _finish(schema, out, gs if schema.geometry is not None else None)


def _finish(schema: LayerSchema, out: pd.DataFrame, geometry: gpd.GeoSeries | None) -> pd.DataFrame:
    """Give every schema column its dtype (missing optional columns become nulls)."""
    cols: dict[str, Any] = {}
    for f in schema.fields:
        cells = out[f.name].tolist() if f.name in out else [None] * len(out)
        cols[f.name] = values.typed(cells, f.kind)
    extras = [c for c in out.columns if c not in schema.by_name]
    frame = pd.DataFrame(cols, index=out.index)
    for c in extras:
        frame[c] = out[c]
    frame = frame.reset_index(drop=True)
    if geometry is None:
        return frame
    return gpd.GeoDataFrame(frame, geometry=geometry.reset_index(drop=True), crs=crs_policy.WGS84)
