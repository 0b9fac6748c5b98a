"""GeoJSON documents of layer rows, as every API answer writes them (RFC 7946 and OGC API – Features)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer

from layers.store import json_value

#: the default CRS of GeoJSON and of OGC API – Features (lon/lat on WGS84)
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def crs_uri(crs: CRS) -> str:
    """The OGC URI of ``crs`` (CRS84 for OGC:CRS84, else its EPSG code)."""
    if crs == CRS.from_user_input("OGC:CRS84"):
        return CRS84
    epsg = crs.to_epsg()
    if epsg is None:
        raise ValueError(f"{crs.name} has no EPSG code, so it has no OGC URI")
    return f"http://www.opengis.net/def/crs/EPSG/0/{epsg}"


def crs_of_uri(uri: str) -> CRS:
    """The CRS an OGC URI (or ``EPSG:code``, ``OGC:CRS84``) names; ValueError otherwise."""
    text = uri.strip().strip("[]")
    if text.rstrip("/") in (CRS84, "OGC:CRS84", "CRS84"):
        return CRS.from_user_input("OGC:CRS84")
    for prefix in ("http://www.opengis.net/def/crs/EPSG/0/", "https://www.opengis.net/def/crs/EPSG/0/", "EPSG:"):
        if text.upper().startswith(prefix.upper()) and text[len(prefix):].isdigit():
            return CRS.from_epsg(int(text[len(prefix):]))
    raise ValueError(f"unknown CRS '{uri}': give an OGC URI such as {CRS84} or "
                     "http://www.opengis.net/def/crs/EPSG/0/4326")


def in_crs(geoms: np.ndarray, crs: CRS) -> np.ndarray:
    """Lon/lat geometries in ``crs``, coordinates in the CRS's own axis order (lat, lon for EPSG:4326;
    northing, easting for the CGCS2000 Gauss–Krüger zones), as OGC API – Features Part 2 asks."""
    if crs == CRS.from_user_input("OGC:CRS84"):
        return geoms
    to = Transformer.from_crs("OGC:CRS84", crs)  # not always_xy: the target's authority axis order

    def move(xy: np.ndarray) -> np.ndarray:
        a, b = to.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([a, b])

    return np.asarray(shapely.transform(geoms, move))


def feature_key(frame: gpd.GeoDataFrame, layer: str) -> str:
    """The field that names a feature of ``layer``: its key (``code`` for communities and grids, else
    ``id``), else the first of code, id and rank whose values are unique (result layers are keyed by
    grid code; blind spots and proposal views by rank); "" when none is."""
    preferred = "code" if layer in ("communities", "grids") else "id"
    return next((k for k in (preferred, "code", "id", "rank") if k in frame and frame[k].is_unique), "")


def feature_collection(frame: gpd.GeoDataFrame, key: str, matched: int, crs: CRS | None = None
                       ) -> dict[str, Any]:
    """``frame`` (lon/lat) as a FeatureCollection: each feature with its ``id`` (the field ``key``, from
    :func:`feature_key`; none when it is ""), polygons counter-clockwise (RFC 7946), in ``crs`` when given, and how
    many features matched and came back (as OGC API – Features says it)."""
    geoms = shapely.orient_polygons(frame.geometry.to_numpy(), exterior_cw=False)
    if crs is not None:
        geoms = in_crs(geoms, crs)
    out = gpd.GeoDataFrame(frame.drop(columns=frame.geometry.name), geometry=gpd.GeoSeries(geoms, index=frame.index))
    doc = out.to_geo_dict(na="null", drop_id=True)
    if key:
        for feature, value in zip(doc["features"], frame[key].to_numpy(), strict=True):
            feature["id"] = json_value(value)
    doc["numberMatched"], doc["numberReturned"] = matched, len(frame)
    return doc
