"""What-if sessions: add, move or delete cameras and get the changed figures at once."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from api.workflows.coverage import coverage_model
from api.workflows.settings import assumptions
from api.workflows.views import after_dark
from gis import camera, capture, mounting, ptz, visibility
from gis import footprint as fp
from layers.store import Store


class WhatIf:
    """An interactive session: add, move or delete cameras and get the changed figures at once."""

    #: the grid figures the session started from, kept up to date by the what-if routes
    figures: pd.DataFrame

    def __init__(self, store: Store, *, include_planned: bool = True, light: str = "day"):
        settings = store.settings()
        self.settings, self.light = settings, light
        self.metric = store.metric_crs()
        self.model = coverage_model(store, include_planned=include_planned, light=light)
        blds = store.features("buildings").to_crs(self.metric)
        heights = visibility.building_heights(blds["height_m"], blds["floors"], float(settings["storey_height_m"]))
        self.obstacles = visibility.Obstacles.build(blds.geometry.to_numpy(), heights)
        self.assume = assumptions(settings)
        self.ppm = camera.profile(str(settings["dori_profile"]), settings.get("dori_profiles"))
        self.target = float(settings["target_height_m"])
        self.form = str(settings["dori_form"])
        self.occlusion = str(settings["occlusion"])

    def camera_views(self, cam: gpd.GeoDataFrame) -> tuple[dict[str, shapely.Geometry], dict[str, ptz.Tour]]:
        """Views of one camera given as a one-row frame of camera fields (with its id) in the metric CRS,
        and a PTZ's tour per level ((time share, view) per preset; {} for a fixed camera)."""
        rows = ptz.expand(cam).reset_index(drop=True)
        params = fp.resolve(rows, self.assume)
        ranges = fp.level_ranges(params, self.ppm, self.target, form=self.form)
        if self.light == "night":
            params, ranges = after_dark(rows, params, ranges, self.target, self.settings)
        seen = visibility.visible(params, ranges, self.obstacles, target_height=self.target, mode=self.occlusion,
                                  presets=tuple(self.assume.ptz_presets_deg))
        views, presets = ptz.combine(seen, rows)
        return dict(views.iloc[0]), ptz.tours_of(gpd.GeoDataFrame(presets, geometry="geometry"),
                                                 camera.DORI_LEVELS).get(str(cam["id"].iat[0]), {})

    def set_camera(self, cam_id: str, fields: dict[str, Any] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Place, move or delete one camera and get the figures it changes.

        Parameters
        ----------
        cam_id
            The camera's id (an existing one is moved).
        fields
            Its position as ``lon``/``lat`` (degrees, WGS84) or ``x``/``y`` (metres, the workspace's metric
            CRS) and any camera fields (heading_deg, hfov_deg, height_m, status, point_class …); None
            deletes the camera.

        Returns
        -------
        grids : pandas.DataFrame
            The new figures of the grids the change touches.
        targets : pandas.DataFrame
            The new coverage of the targets it touches.
        """
        if fields is None:
            return self.model.set_camera(cam_id, None)
        data = dict(fields)
        if "lon" in data and "lat" in data:
            point = gpd.GeoSeries.from_xy([data.pop("lon")], [data.pop("lat")], crs=4326).to_crs(self.metric).iat[0]
        else:
            point = shapely.Point(data.pop("x"), data.pop("y"))
        frame = gpd.GeoDataFrame({k: [v] for k, v in data.items()}, geometry=[point], crs=self.metric).assign(
            id=cam_id)
        placed = mounting.mount(fp.resolve(frame, self.assume), self.obstacles.geoms, self.obstacles.tree)
        if bool(placed["indoor"].iat[0]):
            raise ValueError(f"camera {cam_id} would stand inside a building ({placed['assumed'].iat[0]}): "
                             "place it on a street, or on a wall (within 0.5 m of it)")
        views, tour = self.camera_views(frame)
        return self.model.set_camera(cam_id, views, status=data.get("status"), point_class=data.get("point_class"),
                                     location=point, optics=dict(capture.optics(placed).iloc[0]), tour=tour)
