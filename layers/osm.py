"""OpenStreetMap PBF extracts as workspace layers (through pyrosm).

- buildings: ``height`` (metres) and ``building:levels``; the ``building`` value as use.
- roads: every ``highway`` way, its class folded onto ours.
- targets: POIs a planner protects (schools, hospitals, banks, police, town halls,
  markets, stations, venues, bars), with a class and the DORI level they need.
- cameras: ``man_made=surveillance`` nodes with ``camera:direction`` (degrees or a
  compass point), ``camera:type`` (fixed/dome/panning) and ``height`` when present.
  ``camera:angle`` is *not* read as the field of view: in practice mappers use it for
  the tilt, the opening angle or the direction alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers import schemas
from layers.errors import ImportFormatError

COMPASS = {name: i * 22.5 for i, name in enumerate(
    ["N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE", "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW"])}
CAMERA_TYPES = {"fixed": "bullet", "dome": "dome", "panning": "ptz"}
#: OSM POI → (category, class, required DORI level)
POI_RULES: dict[tuple[str, str], tuple[str, str, str]] = {
    ("amenity", "school"): ("school", "1", "recognise"),
    ("amenity", "kindergarten"): ("kindergarten", "1", "recognise"),
    ("amenity", "university"): ("school", "2", "recognise"),
    ("amenity", "college"): ("school", "2", "recognise"),
    ("amenity", "hospital"): ("hospital", "1", "recognise"),
    ("amenity", "clinic"): ("hospital", "2", "observe"),
    ("amenity", "bank"): ("bank", "1", "identify"),
    ("amenity", "atm"): ("bank", "2", "identify"),
    ("amenity", "police"): ("police", "1", "recognise"),
    ("amenity", "townhall"): ("government", "1", "recognise"),
    ("amenity", "marketplace"): ("market", "2", "recognise"),
    ("amenity", "bus_station"): ("station", "1", "recognise"),
    ("amenity", "cinema"): ("venue", "2", "observe"),
    ("amenity", "theatre"): ("venue", "2", "observe"),
    ("amenity", "bar"): ("shop", "3", "observe"),
    ("amenity", "pub"): ("shop", "3", "observe"),
    ("amenity", "nightclub"): ("shop", "3", "observe"),
    ("shop", "supermarket"): ("market", "2", "recognise"),
    ("shop", "mall"): ("market", "2", "recognise"),
}
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def _tag(frame: pd.DataFrame, key: str) -> pd.Series:
    """A tag's values, from its own column or from pyrosm's JSON ``tags`` column."""
    col = frame[key] if key in frame else pd.Series([None] * len(frame), index=frame.index, dtype=object)
    if "tags" in frame:
        def from_json(text: Any) -> Any:
            if not isinstance(text, str):
                return None
            try:
                return json.loads(text).get(key)
            except (ValueError, AttributeError):
                return None
        col = col.where(col.notna(), frame["tags"].map(from_json))
    return col.astype(object).where(col.notna(), None)


def parse_number(value: Any) -> float | None:
    """'12', '12 m', '12.5m', '3;4' → the first number; None when there is none."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    m = _NUMBER.search(str(value))
    return float(m.group()) if m else None


def parse_direction(value: Any) -> float | None:
    """``camera:direction`` as degrees: '135', 'SE', '90;270' (first) → 0–360."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip().upper().split(";")[0]
    if text in COMPASS:
        return COMPASS[text]
    num = parse_number(text)
    return None if num is None else num % 360.0


def _osm_id(frame: pd.DataFrame, default_type: str) -> pd.Series:
    kind = frame["osm_type"] if "osm_type" in frame else pd.Series(default_type, index=frame.index)
    return "osm:" + kind.astype(str) + "/" + frame["id"].astype("int64").astype(str)


def _fold(values: pd.Series, choices: dict[str, str], fallback: str) -> pd.Series:
    def one(v: Any) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return fallback
        return choices.get(re.sub(r"[\s_\-]+", "", str(v).strip().lower()), fallback)
    return values.map(one)


def buildings(osm: Any) -> gpd.GeoDataFrame:
    """Buildings from an OSM file as a buildings layer (footprints, levels, height, address)."""
    b = osm.get_buildings()
    if b is None or b.empty:
        return gpd.GeoDataFrame({"id": []}, geometry=[], crs=4326)
    street = _tag(b, "addr:street").fillna("")
    number = _tag(b, "addr:housenumber").fillna("")
    address = (street + " " + number).str.strip()
    heights = _tag(b, "height").map(parse_number)
    levels = _tag(b, "building:levels").map(parse_number)
    frame = gpd.GeoDataFrame({
        "id": _osm_id(b, "way"),
        "name": _tag(b, "name"),
        "height_m": heights.where(heights.between(0, 700), None),
        "floors": levels.map(lambda v: int(v) if v is not None and 1 <= v <= 200 else None),
        "use": _fold(_tag(b, "building"), dict(schemas.BUILDING_USES), "other"),
        "address": address.where(address != "", None),
    }, geometry=b.geometry.array, crs=4326)
    return _polygonal(frame)


def _polygonal(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Repair invalid OSM polygons; drop (and list in ``attrs['dropped']``) what cannot be.

    OSM data cannot be fixed by the importing user, so a degenerate way (a 'polygon'
    of two points) is skipped with a note instead of failing the whole extract.
    """
    geom = frame.geometry.array
    bad = ~shapely.is_valid(geom)
    fixed = geom.copy()
    for i in np.flatnonzero(bad):
        parts = [p for p in shapely.get_parts(shapely.make_valid(geom[i]))
                 if p.geom_type in ("Polygon", "MultiPolygon") and p.area > 0]
        fixed[i] = shapely.union_all(parts) if parts else None
    keep = ~shapely.is_missing(fixed) & ~shapely.is_empty(fixed)
    out = frame.set_geometry(gpd.GeoSeries(fixed, index=frame.index, crs=frame.crs))[keep]
    out.attrs["dropped"] = frame.loc[~keep, "id"].tolist()
    out.attrs["repaired"] = int(bad.sum() - (~keep).sum())
    return out

def roads(osm: Any) -> gpd.GeoDataFrame:
    """Roads from an OSM file as a roads layer (class, name, width, lanes)."""
    r = osm.get_network(network_type="all")
    if r is None or r.empty:
        return gpd.GeoDataFrame({"id": []}, geometry=[], crs=4326)
    width = _tag(r, "width").map(parse_number)
    return gpd.GeoDataFrame({
        "id": _osm_id(r, "way"),
        "name": _tag(r, "name"),
        "class": _fold(_tag(r, "highway"), dict(schemas.ROAD_CLASSES), "other"),
        "width_m": width.where(width.between(0, 200), None),
    }, geometry=r.geometry.array, crs=4326)


def targets(osm: Any) -> gpd.GeoDataFrame:
    """Key targets from an OSM file (schools, hospitals, markets, stations …) with their categories."""
    p = osm.get_pois(custom_filter={"amenity": True, "shop": ["supermarket", "mall"]})
    if p is None or p.empty:
        return gpd.GeoDataFrame({"id": []}, geometry=[], crs=4326)
    rule = pd.Series([None] * len(p), index=p.index, dtype=object)
    for key in ("amenity", "shop"):
        vals = _tag(p, key)
        rule = rule.where(rule.notna(), vals.map(lambda v, k=key: POI_RULES.get((k, str(v)))))
    p, rule = p[rule.notna()], rule[rule.notna()]
    geom = p.geometry.array
    # a POI drawn as a line or ring: keep a point on it
    lines = np.isin(shapely.get_type_id(geom), [1, 2, 5])
    geom = np.where(lines, shapely.point_on_surface(geom), geom)
    ids = _osm_id(p, "node")
    names = _tag(p, "name")
    return gpd.GeoDataFrame({
        "id": ids,
        "name": names.where(names.notna(), rule.map(lambda r: r[0]) + " " + ids.str.split("/").str[-1]),
        "category": rule.map(lambda r: r[0]),
        "class": rule.map(lambda r: r[1]),
        "required_level": rule.map(lambda r: r[2]),
        "address": None,
    }, geometry=geom, crs=4326)


def cameras(osm: Any) -> gpd.GeoDataFrame:
    """Surveillance cameras mapped in an OSM file, with direction and type where tagged."""
    c = osm.get_data_by_custom_criteria(
        custom_filter={"man_made": ["surveillance"]}, filter_type="keep", keep_nodes=True,
        keep_ways=False, keep_relations=False,
        extra_attributes=["camera:direction", "direction", "camera:type", "height", "surveillance:type"])
    if c is None or c.empty:
        return gpd.GeoDataFrame({"id": []}, geometry=[], crs=4326)
    direction = _tag(c, "camera:direction")
    direction = direction.where(direction.notna(), _tag(c, "direction")).map(parse_direction)
    height = _tag(c, "height").map(parse_number)
    return gpd.GeoDataFrame({
        "id": _osm_id(c, "node"),
        "name": _tag(c, "name"),
        "kind": _tag(c, "camera:type").map(lambda v: CAMERA_TYPES.get(str(v).lower()) if v else None),
        "heading_deg": direction,
        "height_m": height.where(height.between(0, 150), None),
        "status": "active",
    }, geometry=c.geometry.array, crs=4326)


READERS: dict[str, Callable[[Any], gpd.GeoDataFrame]] = {
    "buildings": buildings, "roads": roads, "targets": targets, "cameras": cameras,
}


def read_pbf(path: str | Path, *, only: list[str] | None = None,
             progress: Callable[[str], None] | None = None) -> dict[str, gpd.GeoDataFrame]:
    """Read an OSM PBF extract into our layers (lon/lat, canonical fields, not yet validated)."""
    import pyrosm

    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        raise ImportFormatError(f"{path} is missing or empty")
    try:
        osm = pyrosm.OSM(str(path))
    except Exception as exc:
        raise ImportFormatError(f"{path.name} is not a readable OSM PBF file: {exc}") from exc
    out: dict[str, gpd.GeoDataFrame] = {}
    for name, reader in READERS.items():
        if only and name not in only:
            continue
        if progress:
            progress(name)
        frame = reader(osm)
        if not frame.empty:
            out[name] = frame.reset_index(drop=True)
    return out
