"""Camera models (gis.catalogue): a camera naming a model gets the model's facts, its own fields win,
a zoom lens without a field of view is taken at its wide end, and wrong names or fields are refused."""

import geopandas as gpd
import pytest
from shapely.geometry import Point

from gis import catalogue
from gis import footprint as fp

PTZ = catalogue.CameraModel("hik-ptz", "海康威视", "DS-2DE4425IW-DE", "ptz", 2560, 1440, '1/2.8"', 4.8, 120.0,
                            59.5, 2.6, 100.0, 0.005)
BULLET = catalogue.CameraModel("unv-bullet", "宇视", "IPC2124LB-SF28-A", "bullet", 2560, 1440, '1/3"', 2.8, 2.8,
                               97.0, 97.0, 30.0, 0.01)
MODELS = {m.id: m for m in (PTZ, BULLET)}


def cams(**cols):
    n = len(next(iter(cols.values())))
    return gpd.GeoDataFrame({"id": [f"C{i}" for i in range(n)], **cols},
                            geometry=[Point(i * 10.0, 0) for i in range(n)], crs=32651)


def test_a_model_fills_what_the_camera_leaves_empty_and_the_camera_wins():
    given = cams(model=["unv-bullet", "ipc2124lb-sf28-a", None], resolution_px=[None, 1920, 1920],
                 heading_deg=[0.0, 0.0, 0.0])
    out, notes, problems = catalogue.fill(given, MODELS)
    assert problems == [] and notes == ["", "", ""]
    assert out["resolution_px"].tolist()[:2] == [2560, 1920]  # the camera's own 1920 wins; by maker code too
    assert out["kind"].tolist()[:2] == ["bullet", "bullet"] and out["ir_range_m"].tolist()[:2] == [30.0, 30.0]
    assert out["hfov_deg"].tolist()[:2] == [97.0, 97.0] and out["sensor"].iat[0] == '1/3"'  # the datasheet's
    params = fp.resolve(given.assign(focal_mm=[None, 2.8, None]), fp.Assumptions(models=MODELS))
    assert params["hfov_deg"].iat[0] == 97.0
    # a camera giving its focal length gets the model's sensor: 2.8 mm on 1/3" (6.0 mm diagonal, 5.23 mm
    # wide at 16:9) is 2·atan(2.615/2.8) = 86.1°
    assert params["hfov_deg"].iat[1] == pytest.approx(86.1, abs=0.1)
    assert params["res_h"].tolist() == [2560, 1920, 1920]


def test_a_zoom_lens_without_a_field_of_view_is_at_its_wide_end_and_said_so():
    given = cams(model=["DS-2DE4425IW-DE", "hik-ptz"], hfov_deg=[None, 20.0], heading_deg=[90.0, 90.0])
    params = fp.resolve(given, fp.Assumptions(models=MODELS, ptz_mode="presets"))
    assert params["hfov_deg"].tolist() == [59.5, 20.0]
    assert "zoom lens of DS-2DE4425IW-DE at its wide end" in params["assumed"].iat[0]
    assert "zoom" not in params["assumed"].iat[1]


def test_unknown_models_and_impossible_fields_of_view_are_refused_by_camera():
    given = cams(model=["no-such", "hik-ptz"], hfov_deg=[None, 70.0], heading_deg=[0.0, 0.0])
    with pytest.raises(fp.CameraParameterError) as err:
        fp.resolve(given, fp.Assumptions(models=MODELS))
    text = str(err.value)
    assert "camera C0: unknown model 'no-such' (the catalogue has hik-ptz, unv-bullet" in text
    assert "camera C1: a field of view of 70° is outside the lens of DS-2DE4425IW-DE (2.6–59.5°)" in text
