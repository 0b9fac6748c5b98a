"""Patrol routes for handhelds: GPX 1.1 (gpxpy), one track per unit and its stops as waypoints in order,
with the arrival time and dwell in each waypoint's description (WGS84, as GPX requires)."""

from __future__ import annotations

import geopandas as gpd
import gpxpy
import gpxpy.gpx
import shapely

from api.i18n import t


def routes_gpx(routes: gpd.GeoDataFrame, stops: gpd.GeoDataFrame, *, lang: str = "zh") -> str:
    """The routes (and their stops) as a GPX document.

    Parameters
    ----------
    routes
        ``patrol_routes`` rows (any CRS: written in WGS84).
    stops
        ``patrol_stops`` rows of the same routes.
    lang
        The language of the names and descriptions.

    Returns
    -------
    str
        GPX 1.1 XML (UTF-8 text).
    """
    doc = gpxpy.gpx.GPX()
    doc.creator = "Pingan Planner"
    doc.name = t(lang, "patrol.gpx_name")
    routes = routes.to_crs(4326)
    stops = stops.to_crs(4326) if len(stops) else stops
    for _, r in routes.iterrows():
        track = gpxpy.gpx.GPXTrack(name=f"{r['unit']} {r['slot']}",
                                   description=t(lang, "patrol.route_text", station=r["station"], stops=int(r["stops"]),
                                                 km=f"{float(r['km']):.2f}", start=r["start"], end=r["end"]))
        segment = gpxpy.gpx.GPXTrackSegment()
        for x, y in shapely.get_coordinates(r.geometry):
            segment.points.append(gpxpy.gpx.GPXTrackPoint(latitude=round(float(y), 7), longitude=round(float(x), 7)))
        track.segments.append(segment)
        doc.tracks.append(track)
        mine = stops[(stops["unit"] == r["unit"]) & (stops["slot"] == r["slot"])].sort_values("order") if len(
            stops) else stops
        for _, s in mine.iterrows():
            doc.waypoints.append(gpxpy.gpx.GPXWaypoint(
                latitude=round(float(s.geometry.y), 7), longitude=round(float(s.geometry.x), 7),
                name=f"{r['unit']} #{int(s['order'])} {s['arrive']}",
                description=t(lang, "patrol.stop_text", street=s["street"] or "", arrive=s["arrive"],
                              dwell=f"{float(s['dwell_minutes']):.0f}")))
    return doc.to_xml(version="1.1")
