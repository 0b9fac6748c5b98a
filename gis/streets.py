"""The street network as planning units: where roads meet, and the stretches between."""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROAD_WIDTHS_M = {"primary": 30.0, "secondary": 20.0, "tertiary": 12.0, "residential": 7.0, "service": 5.0,
                 "footway": 3.0, "other": 6.0}


def road_nodes(roads: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Where road stretches meet (after noding the network) and how many meet there."""
    if len(roads) == 0:
        return np.empty((0, 2)), np.empty(0, dtype=int)
    segments, _ = noded(roads, owners=False)
    nodes, _, degree = segment_ends(segments)
    return nodes, degree


def noded(roads: gpd.GeoDataFrame, *, owners: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The road network noded where roads cross: its stretches between nodes, and for each the row
    (position) of the road it lies on (the nearest road to its middle; empty when ``owners`` is False)."""
    segments = np.asarray(shapely.get_parts(shapely.node(shapely.union_all(roads.geometry.to_numpy()))), dtype=object)
    segments = segments[shapely.length(segments) > 1e-6]
    if not owners:
        return segments, np.empty(0, dtype=int)
    tree = shapely.STRtree(roads.geometry.to_numpy())
    return segments, tree.nearest(shapely.line_interpolate_point(segments, 0.5, normalized=True))


def segment_ends(segments: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The nodes of noded stretches (coordinates rounded to the millimetre), the node of each end
    (first the starts of all stretches, then their ends) and how many stretch ends meet at each node."""
    ends = np.concatenate([shapely.get_coordinates(shapely.get_point(segments, 0)),
                           shapely.get_coordinates(shapely.get_point(segments, -1))]).round(3)
    nodes, node_of, degree = np.unique(ends, axis=0, return_inverse=True, return_counts=True)
    return nodes, node_of.ravel(), degree


def street_units(roads: gpd.GeoDataFrame, widths: Mapping[str, float] = ROAD_WIDTHS_M) -> gpd.GeoDataFrame:
    """The street network as planning units: intersection discs and street stretches between them.

    Roads are noded where they cross; a node where three or more stretches meet is an
    intersection (a disc of the widest road's half width + 2 m); each stretch is a flat-capped
    corridor of its road's width minus the intersections.

    Parameters
    ----------
    roads
        Road centre lines (metric CRS) with ``class`` and optionally ``width_m`` and ``name``.
    widths
        Road width (m) by class, where a road gives none.

    Returns
    -------
    geopandas.GeoDataFrame
        One polygon per unit (metric CRS): kind (intersection or street) and name; intersections
        first.
    """
    if len(roads) == 0:
        return gpd.GeoDataFrame({"kind": [], "name": []}, geometry=[], crs=roads.crs)
    width = pd.to_numeric(roads.get("width_m"), errors="coerce").to_numpy(dtype=float) if "width_m" in roads else (
        np.full(len(roads), np.nan))
    cls = roads["class"].astype(object).to_numpy() if "class" in roads else np.full(len(roads), "other", dtype=object)
    width = np.where(np.isnan(width), [widths.get(str(c), widths["other"]) for c in cls], width)
    names = roads["name"].astype(object).to_numpy() if "name" in roads else np.full(len(roads), None, dtype=object)
    segments, owner = noded(roads)
    nodes, node_of, degree = segment_ends(segments)
    seg_owner = np.concatenate([owner, owner])
    by_node = np.argsort(node_of, kind="stable")  # the segment ends at each node, grouped (one pass, not n²)
    starts = np.searchsorted(node_of[by_node], np.arange(len(nodes) + 1))
    units_geom, units_kind, units_name = [], [], []
    for k in np.flatnonzero(degree >= 3).tolist():
        x, y = nodes[k]
        incident = np.unique(seg_owner[by_node[starts[k]:starts[k + 1]]])
        units_geom.append(shapely.buffer(shapely.Point(x, y), width[incident].max() / 2 + 2.0))
        units_kind.append("intersection")
        units_name.append("与".join(dict.fromkeys(str(n) for n in names[incident] if n)) + "路口")
    discs = np.array(units_geom, dtype=object)
    corridors = shapely.buffer(segments, width[owner] / 2, cap_style="flat")
    c_idx, d_idx = shapely.STRtree(discs).query(corridors, predicate="intersects")  # only the discs it meets
    cuts = np.searchsorted(c_idx, np.arange(len(segments) + 1))
    for k, road in enumerate(owner):
        near = np.sort(d_idx[cuts[k]:cuts[k + 1]])
        corridor = shapely.difference(corridors[k], shapely.union_all(discs[near])) if len(near) else corridors[k]
        if not shapely.is_empty(corridor):
            units_geom.append(corridor)
            units_kind.append("street")
            units_name.append(names[road])
    return gpd.GeoDataFrame({"kind": units_kind, "name": units_name}, geometry=units_geom, crs=roads.crs)

