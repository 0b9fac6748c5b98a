import pytest
import shapely

from api import services
from layers import store
from layers.errors import WorkspaceError
from tests.conftest import tiny_layers


def test_views_on_the_demo_are_stored_stamped_and_nested(demo_copy):
    ws = store.open_workspace(demo_copy)
    views = services.compute_views(ws)
    assert ws.has("views") and services.views_are_current(ws)
    stored = ws.read("views")
    assert len(stored) == len(views) and set(stored["level"]) == {"detect", "observe", "recognise", "identify"}
    assert stored["camera"].nunique() == len(ws.read("cameras"))  # every camera sees something
    metric = stored.to_crs(ws.metric_crs())
    for _, group in metric.groupby("camera"):
        by_level = dict(zip(group["level"], group.geometry, strict=True))
        if "identify" in by_level:
            assert by_level["identify"].difference(by_level["detect"]).area < 1e-3
    buildings = shapely.union_all(ws.read("buildings").to_crs(ws.metric_crs()).geometry.to_numpy())
    assert shapely.intersection(shapely.union_all(metric.geometry.to_numpy()), buildings).area < 1.0
    ws.write("cameras", ws.read("cameras"))  # any new version of an input makes the views stale
    assert not services.views_are_current(ws)


def test_two_and_a_half_d_sees_at_least_as_much_as_2d(demo_copy):
    ws = store.open_workspace(demo_copy)
    flat = services.compute_views(ws, mode="2d", write=False)
    tall = services.compute_views(ws, mode="2.5d", write=False)
    a = flat[flat["level"] == "detect"].set_index("camera").to_crs(ws.metric_crs()).area
    b = tall[tall["level"] == "detect"].set_index("camera").to_crs(ws.metric_crs()).area
    assert (b.reindex(a.index) >= a - 1e-6).all() and b.sum() > a.sum()


def test_settings_drive_the_model(tiny_path):
    ws = store.open_workspace(tiny_path)
    base = services.compute_views(ws, write=False)
    ws.update_settings(dori_profile="iec62676-4:2014-rounded", camera_defaults={"tilt_deg": 5.0})
    rounded = services.compute_views(ws, write=False)
    observe = lambda v: v.loc[v["level"] == "observe", "range_m"].iloc[0]  # noqa: E731
    assert observe(rounded) == pytest.approx(observe(base) * 62.5 / 63, rel=0.02)
    ws.update_settings(camera_defaults={"tilt": 5})
    with pytest.raises(WorkspaceError, match="unknown camera_defaults"):
        services.compute_views(ws)


def test_views_need_cameras_and_buildings(tmp_path):
    ws = store.open_workspace(tmp_path / "x.gpkg", create=True)
    ws.write("cameras", tiny_layers()["cameras"])
    with pytest.raises(WorkspaceError, match="no buildings layer"):
        services.compute_views(ws)
