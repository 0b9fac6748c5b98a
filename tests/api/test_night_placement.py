"""Placement after dark (`pingan place --light night`): the existing cameras cover what their night views
see, and candidates are judged by their night ranges (their lamp, or the night setting's), so the night
plan starts from less covered demand and its proposals see no farther than by day."""

from __future__ import annotations

import shutil

import pytest
import shapely

from api.workflows.placement import place
from layers import store


@pytest.fixture(scope="module")
def plans(analysed_path, tmp_path_factory):
    path = tmp_path_factory.mktemp("night-place") / "demo.gpkg"
    shutil.copyfile(analysed_path, path)
    ws = store.open_workspace(path)
    kw = {"budget": 40_000.0, "models": ["bullet-12mm"], "heading_step_deg": 90.0, "seconds": 5.0}
    return ws, place(ws, light="day", write=False, **kw), place(ws, light="night", **kw)


def test_the_night_plan_starts_from_the_night_coverage(plans):
    _, day, night = plans
    assert night.demand == day.demand + day.already_covered - night.already_covered  # the same demand points
    assert night.already_covered < day.already_covered  # the cameras see less after dark


def test_night_candidates_see_no_farther_than_by_day(plans):
    import geopandas as gpd

    from api.workflows.whatif import WhatIf

    ws, _, night = plans
    assert len(night.proposals) and night.cost <= 40_000.0
    assert (ws.get_meta("placement") or {})["light"] == "night"
    first = night.proposals.iloc[0]
    frame = gpd.GeoDataFrame({"id": ["P1"], "model": ["bullet-12mm"], "heading_deg": [first["heading_deg"]],
                              "height_m": [first["height_m"]], "tilt_deg": [first["tilt_deg"]]},
                             geometry=[first.geometry], crs=night.proposals.crs)
    by_day, _ = WhatIf(ws, light="day").camera_views(frame)
    after_dark, _ = WhatIf(ws, light="night").camera_views(frame)
    # the stored proposal's view is the night one, inside the day one (the 30 m lamp assumed cuts it)
    assert shapely.area(after_dark["detect"]) == pytest.approx(shapely.area(night.views["detect"].iat[0]), rel=1e-6)
    assert shapely.area(shapely.difference(after_dark["detect"], by_day["detect"])) < 1e-6
    assert shapely.area(after_dark["detect"]) < shapely.area(by_day["detect"])
    with pytest.raises(ValueError, match="unknown light 'dusk'"):
        place(ws, budget=1.0, light="dusk", write=False)
