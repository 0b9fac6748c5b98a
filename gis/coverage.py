"""Coverage analytics: what the cameras see of each grid's public space, roads and key targets.

Everything works in the metric CRS on camera views from :mod:`gis.visibility` (one polygon
per camera and DORI level, nested). *Public space* is a grid minus its building footprints.

- Seen area per level: public space ∩ the union of the views of that level.
- k-coverage (≥ 2 cameras) at one level, built in one pass: ``K ← K ∪ (v ∩ U); U ← U ∪ v``.
- Roads: length inside the grid and length seen per level, by road class.
- Targets: a point is covered when it lies in the union of views at its required level; a
  polygon when at least ``polygon_share`` of its public part is seen at that level.
- Blind spots: every uncovered piece of public space (so blind-spot area + covered area =
  public area exactly); pieces of at least ``min_area`` m² are ranked by a priority that
  combines size, the targets near them and the grid's risk weight.

:class:`CoverageModel` keeps the views in an ``rtree`` index that is updated in place, so
adding, moving or deleting one camera recomputes only the grids and targets it touches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from rtree import index as rtree_index

from gis import blindspots, capture, ptz, shapes, targets
from gis.camera import DORI_LEVELS
from gis.crs import require_metric
from gis.indicators import rank_spots
from gis.public import PublicSpace


@dataclass(frozen=True)
class Options:
    """How coverage is counted: which camera statuses cover, the DORI levels for blind spots and
    redundancy, the smallest ranked blind spot (m²), the share of a polygon target that must be seen,
    the distance (m) within which a target raises a blind spot's priority, and the level a target
    needs when it names none."""

    covering_statuses: tuple[str, ...] = ("active",)
    blind_spot_level: str = "detect"
    redundancy_level: str = "detect"
    min_area_m2: float = 25.0
    polygon_share: float = 0.8
    near_m: float = 30.0
    default_required_level: str = "recognise"
    capture_rules: Mapping[str, capture.CaptureRule] = field(default_factory=lambda: dict(capture.RULES))


@dataclass
class CoverageModel:
    """Grids, targets and camera views held in memory for repeated, incremental coverage queries.

    Methods take grid and target *rows* (positions); the figures they return are labelled with the
    caller's own index of ``grids`` and ``targets``.

    ``views`` is indexed by camera id with one polygon column per DORI level (metric CRS);
    ``cameras`` has ``id``, ``status`` and ``point_class``.
    """

    grids: gpd.GeoDataFrame  # code, community_code, geometry (metric)
    buildings: gpd.GeoSeries
    roads: gpd.GeoDataFrame  # class, geometry
    targets: gpd.GeoDataFrame  # id, name, category, class, required_level, geometry
    cameras: pd.DataFrame
    views: pd.DataFrame
    options: Options = field(default_factory=Options)
    grid_weight: Mapping[str, float] | None = None
    #: street units (:func:`gis.streets.street_units` of the whole network) when given, else built
    #: from ``roads``; a partition passes the city's units that meet it, in the city's order
    units: gpd.GeoDataFrame | None = None
    #: the views of PTZ presets (a ``preset_views`` layer: camera, preset, share, level, geometry;
    #: metric): the time shares of what those cameras see (:mod:`gis.ptz`)
    presets: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        require_metric("coverage", grids=self.grids, buildings=self.buildings, roads=self.roads,
                       targets=self.targets, units=self.units)
        #: the caller's labels of the grids and targets: the figures come back under them
        self.grid_index, self.target_index = self.grids.index, self.targets.index
        self.grids = self.grids.reset_index(drop=True)
        self.space = PublicSpace(self.grids, self.buildings, self.roads, self.units)
        self.units = self.space.units
        self._grid_tree, self._unit_geoms = self.space.grid_tree, self.space.unit_geoms
        self._bld_geoms, self._bld_tree = self.space.building_geoms, self.space.building_tree
        self.targets = self.targets.reset_index(drop=True)
        blds = self._bld_geoms
        t_idx, tb_idx = self._bld_tree.query(self.targets.geometry.to_numpy(), predicate="intersects")
        self.target_areas = [  # each target's public part (buildings removed)
            g if g.geom_type == "Point" else shapes.difference(g, shapes.union(blds[np.sort(tb_idx[t_idx == i])]))
            for i, g in enumerate(self.targets.geometry.to_numpy())]
        self.cameras = self.cameras.reset_index(drop=True)
        self._status = dict(zip(self.cameras["id"], self.cameras["status"].fillna("active"), strict=True))
        self._home: dict[str, int] = {}  # camera -> the one grid row it stands in (-1: outside every grid)
        if "geometry" in self.cameras:
            for cam, point in zip(self.cameras["id"], self.cameras["geometry"], strict=True):
                self._home[cam] = self._grid_of(point)
        self._index = rtree_index.Index()
        self._ids: dict[int, str] = {}
        self._keys: dict[str, int] = {}
        self._bounds: dict[str, tuple[float, ...]] = {}
        self.views = self.views.copy()
        self.tours = ptz.tours_of(self.presets, DORI_LEVELS)
        for cam in self.views.index:
            self._insert(str(cam))

    def public_of(self, i: int) -> shapely.Geometry:
        """Grid row ``i`` minus the building footprints in it (:meth:`gis.public.PublicSpace.public_of`)."""
        return self.space.public_of(i)

    @property
    def public(self) -> gpd.GeoSeries:
        """Every grid's public space (aligned to ``grids``)."""
        return self.space.public

    def roads_of(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """The road pieces of grid row ``i`` and their weights (:meth:`gis.public.PublicSpace.roads_of`)."""
        return self.space.roads_of(i)

    def own_part(self, k: int) -> shapely.Geometry:
        """Street unit ``k``'s own part (:meth:`gis.public.PublicSpace.own_part`)."""
        return self.space.own_part(k)

    # ---- the dynamic index ---------------------------------------------------------------------
    def view(self, cam: str, level: str) -> shapely.Geometry:
        """One camera's view at one level."""
        return cast(shapely.Geometry, self.views.at[cam, level])

    def outer_view(self, cam: str) -> shapely.Geometry:
        """One camera's outermost (detect) view: all it sees at all (a PTZ: at some time)."""
        return self.view(cam, DORI_LEVELS[0])

    def _grid_of(self, point: shapely.Geometry) -> int:
        """The grid a camera stands in; on a shared boundary, the first grid (so it counts once)."""
        if point is None or shapely.is_empty(point):
            return -1
        hits = self._grid_tree.query(point, predicate="intersects")
        return int(hits.min()) if len(hits) else -1

    def cameras_outside(self) -> int:
        """Cameras standing outside every grid (counted nowhere else)."""
        return sum(1 for cam in self.cameras["id"] if self._home.get(cam, -1) == -1)

    def is_covering(self, cam: str) -> bool:
        """Whether camera ``cam``'s status counts toward coverage (``options.covering_statuses``)."""
        return self._status.get(cam, "active") in self.options.covering_statuses

    def _insert(self, cam: str) -> None:
        geom = self.outer_view(cam)
        if geom is None or shapely.is_empty(geom) or not self.is_covering(cam):
            return
        key = self._keys.setdefault(cam, len(self._keys))
        self._ids[key] = cam
        self._bounds[cam] = tuple(float(v) for v in shapely.bounds(geom))
        self._index.insert(key, self._bounds[cam])

    def _remove(self, cam: str) -> None:
        if cam in self._bounds:
            self._index.delete(self._keys[cam], self._bounds.pop(cam))

    def cameras_near(self, geom: shapely.Geometry) -> list[str]:
        """Cameras whose outer view's box meets ``geom``'s, in the order they were added (so unions
        are built in one order whatever the index returns)."""
        return [self._ids[k] for k in sorted(self._index.intersection(tuple(shapely.bounds(geom))))]

    def set_camera(self, cam: str, views: Mapping[str, shapely.Geometry] | None, *, status: str | None = None,
                   point_class: str | None = None,
                   location: shapely.Geometry | None = None,
                   optics: Mapping[str, float] | None = None,
                   tour: Mapping[str, ptz.Tour] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Add, move (same id, new views) or delete one camera, and recompute only what it touches.

        Parameters
        ----------
        cam
            The camera's id.
        views
            Its view polygon per DORI level (metric CRS); None deletes the camera.
        status
            Its status (a moved camera keeps its own when None).
        point_class
            Its point class (kept when None).
        location
            Where it stands, for the grid it counts in (kept when None).
        optics
            Where it stands mounted and its image (:data:`gis.capture.OPTICS`), for face and plate capture.
        tour
            A PTZ camera's tour: (time share, view) per preset, per DORI level (:mod:`gis.ptz`); a
            camera without one is always on.

        Returns
        -------
        grids : pandas.DataFrame
            The new figures of the grids the old and new views meet (see :meth:`grid_figures`).
        targets : pandas.DataFrame
            The new coverage of the targets they meet (see :meth:`target_coverage`).
        """
        before = self.cameras[self.cameras["id"] == cam]
        if len(before):
            status = status or str(before["status"].iat[0])
            point_class = point_class or cast(str | None, before["point_class"].iat[0])
        status = status or "active"
        touched = [self.outer_view(cam)] if cam in self.views.index else []
        self._remove(cam)
        self.cameras = self.cameras[self.cameras["id"] != cam]
        self._status.pop(cam, None)
        old_home = self._home.pop(cam, -1)
        self.tours.pop(cam, None)
        if views is None:
            self.views = self.views.drop(index=cam, errors="ignore")
        else:
            seen = {str(level): views.get(str(level), shapely.Polygon()) for level in self.views.columns}
            self.views = pd.concat([self.views.drop(index=cam, errors="ignore"),
                                    pd.DataFrame([seen], index=[cam], columns=self.views.columns)])
            record: dict[str, list[object]] = {"id": [cam], "status": [status], "point_class": [point_class]}
            if location is not None:
                record["geometry"] = [location]
            record.update({k: [float(v)] for k, v in (optics or {}).items()})
            self.cameras = pd.concat([self.cameras, pd.DataFrame(record)], ignore_index=True)
            self._status[cam] = status
            if tour:
                self.tours[cam] = {str(level): list(tour.get(str(level), [])) for level in DORI_LEVELS}
            self._home[cam] = self._grid_of(location) if location is not None else -1
            self._insert(cam)
            touched.append(self.outer_view(cam))
        area = shapes.union(touched)
        homes = {h for h in (old_home, self._home.get(cam, -1)) if h >= 0}  # camera counts change there
        if shapely.is_empty(area) and not homes:
            return self.grid_figures([]), self.target_coverage([])
        grids = np.union1d(self._grid_tree.query(area, predicate="intersects"), sorted(homes)).astype(int)
        t_tree = shapely.STRtree(self.targets.geometry.to_numpy())
        targets = t_tree.query(area, predicate="intersects")
        return self.grid_figures(grids), self.target_coverage(targets)

    # ---- figures -------------------------------------------------------------------------------------
    def level_unions(self, region: shapely.Geometry, levels: Iterable[str]) -> dict[str, shapely.Geometry]:
        """What the covering cameras near ``region`` see of it, per level (one union each)."""
        cams = self.cameras_near(region)
        sub = self.views.loc[cams] if cams else self.views.iloc[:0]
        return {level: shapes.union(shapes.intersection(sub[level].to_numpy(), region)) if len(sub)
                else shapely.Polygon() for level in levels}

    def seen_time(self, region: shapely.Geometry, public: shapely.Geometry, level: str) -> float:
        """The time-averaged area (m²) of ``public`` (within ``region``) seen at ``level``: fixed
        cameras all the time, PTZ tours for the shares of their presets (:func:`gis.ptz.expected_area`)."""
        near = self.cameras_near(region)
        always = [self.view(c, level) for c in near if c not in self.tours]
        fixed = shapes.union(shapes.intersection(np.array(always, dtype=object), region)) if always else (
            shapely.Polygon())
        return ptz.expected_area(public, fixed, [self.tours[c][level] for c in near if c in self.tours])

    def redundant(self, region: shapely.Geometry) -> shapely.Geometry:
        """The part of ``region`` seen by two or more covering cameras at the redundancy level."""
        seen: shapely.Geometry = shapely.Polygon()
        twice: shapely.Geometry = shapely.Polygon()
        for cam in self.cameras_near(region):
            v = shapes.intersection(self.view(cam, self.options.redundancy_level), region)
            if shapely.is_empty(v):
                continue
            twice = shapes.union2(twice, shapes.intersection(v, seen))
            seen = shapes.union2(seen, v)
        return twice

    def grid_figures(self, rows: Iterable[int] | None = None) -> pd.DataFrame:
        """Coverage figures of grids: areas, roads and cameras, per DORI level.

        Parameters
        ----------
        rows
            Grid rows (positions); all when None.

        Returns
        -------
        pandas.DataFrame
            One row per grid, under the caller's index of ``grids``, always with the same columns:
            public_m2, seen_<level>_m2, share_<level>, seen_time_m2 and share_time (the time-averaged
            seen area at the blind-spot level: below seen_<level>_m2 where only PTZ tours look),
            redundant_m2, road_m, road_seen_<level>_m,
            cameras_<status>, cameras_class<n>, uncovered_m2 (areas in m², lengths in m).
        """
        rows = range(len(self.grids)) if rows is None else list(rows)
        cams = self.cameras
        homes = np.array([self._home.get(c, -1) for c in cams["id"]], dtype=int)
        statuses = cams["status"].fillna("active").to_numpy() if len(cams) else np.empty(0, dtype=object)
        cam_classes = cams["point_class"].astype(object).to_numpy() if len(cams) else np.empty(0, dtype=object)
        records = []
        for i in rows:
            grid = self.grids.geometry.iat[i]
            public = self.public_of(i)
            unions = self.level_unions(grid, DORI_LEVELS)
            rec: dict[str, object] = {"code": self.grids["code"].iat[i],
                                      "community_code": self.grids["community_code"].iat[i],
                                      "public_m2": float(shapely.area(public))}
            for level in DORI_LEVELS:
                seen = shapes.intersection(public, unions[level])
                rec[f"seen_{level}_m2"] = float(shapely.area(seen))
            spot = self.options.blind_spot_level  # without a PTZ tour near, the time average is the seen area
            rec["seen_time_m2"] = self.seen_time(grid, public, spot) if any(
                c in self.tours for c in self.cameras_near(grid)) else rec[f"seen_{spot}_m2"]
            rec["redundant_m2"] = float(shapely.area(shapes.intersection(public, self.redundant(grid))))
            roads, weights = self.roads_of(i)
            rec["road_m"] = float((shapely.length(roads) * weights).sum()) if len(roads) else 0.0
            for level in DORI_LEVELS:
                rec[f"road_seen_{level}_m"] = (float((shapely.length(shapes.lines_each(shapes.intersection(
                    roads, unions[level]))) * weights).sum()) if len(roads) else 0.0)
            here = homes == i  # cameras standing in this grid, whatever their status
            for status in ("active", "faulty", "planned"):
                rec[f"cameras_{status}"] = int((statuses[here] == status).sum())
            for cls in ("1", "2", "3"):
                rec[f"cameras_class{cls}"] = int((cam_classes[here] == cls).sum())
            records.append(rec)
        columns = ["code", "community_code", "public_m2", *(f"seen_{lv}_m2" for lv in DORI_LEVELS), "seen_time_m2",
                   "redundant_m2",
                   "road_m", *(f"road_seen_{lv}_m" for lv in DORI_LEVELS),
                   *(f"cameras_{st}" for st in ("active", "faulty", "planned")),
                   *(f"cameras_class{cls}" for cls in "123")]
        # the same columns for no grid as for many (an empty selection is still a table of figures)
        out = pd.DataFrame.from_records(records, columns=columns, index=self.grid_index[list(rows)])
        for level in DORI_LEVELS:
            out[f"share_{level}"] = np.where(out["public_m2"] > 0, out[f"seen_{level}_m2"] / out["public_m2"], 0.0)
        out["share_time"] = np.where(out["public_m2"] > 0, out["seen_time_m2"] / out["public_m2"], 0.0)
        out["share_redundant"] = np.where(out["public_m2"] > 0, out["redundant_m2"] / out["public_m2"], 0.0)
        out["uncovered_m2"] = out["public_m2"] - out[f"seen_{self.options.blind_spot_level}_m2"]
        return out

    def target_coverage(self, rows: Iterable[int] | None = None) -> pd.DataFrame:
        """Coverage of key targets at their required level, their face or plate capture, and the
        share of the time they are seen (:mod:`gis.targets`).

        Parameters
        ----------
        rows
            Target rows (positions); all when None.

        Returns
        -------
        pandas.DataFrame
            One row per target, under the caller's index of ``targets``: id, name, category, class,
            required_level, best_level (the highest level seen), share_required (the share of a
            polygon's public part seen at the required level), cameras, time_share (the share of
            the time it is seen at the required level: below 1 where only PTZ tours see it),
            capture (face, plate or None), capture_share, capture_cameras, captured
            (:func:`gis.capture.of_target`), and covered (the required level reached, and captured
            when a capture is asked).
        """
        return targets.target_coverage(self, rows)

    def blind_spots(self, rows: Iterable[int] | None = None) -> gpd.GeoDataFrame:
        """Uncovered public space, one polygon per piece, ranked by priority.

        Parameters
        ----------
        rows
            Grid rows (positions); all when None.

        Returns
        -------
        geopandas.GeoDataFrame
            One row per piece (metric CRS): grid_code, kind (intersection, street, off-street), name,
            area_m2, ranked (at least ``min_area_m2``), near_targets, priority, rank.
        """
        return rank_spots(self.spot_pieces(rows))

    def spot_pieces(self, rows: Iterable[int] | None = None) -> gpd.GeoDataFrame:
        """The blind-spot pieces of the given grid rows with their priorities, not yet ranked
        (:func:`gis.blindspots.spot_pieces`)."""
        return blindspots.spot_pieces(self, rows)
