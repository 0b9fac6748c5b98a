import pandas as pd
import pytest
import shapely

from api.workflows.coverage import compute_coverage, coverage_is_current
from api.workflows.views import compute_views, views_are_current
from api.workflows.whatif import WhatIf
from layers import store
from layers.errors import WorkspaceError
from tests.conftest import tiny_layers


def test_views_on_the_demo_are_stored_stamped_and_nested(demo_copy):
    ws = store.open_workspace(demo_copy)
    views = compute_views(ws)
    assert ws.has("views") and views_are_current(ws)
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
    assert not views_are_current(ws)


def test_two_and_a_half_d_sees_at_least_as_much_as_2d(demo_copy):
    ws = store.open_workspace(demo_copy)
    flat = compute_views(ws, mode="2d", write=False)
    tall = compute_views(ws, mode="2.5d", write=False)
    a = flat[flat["level"] == "detect"].set_index("camera").to_crs(ws.metric_crs()).area
    b = tall[tall["level"] == "detect"].set_index("camera").to_crs(ws.metric_crs()).area
    assert (b.reindex(a.index) >= a - 1e-6).all() and b.sum() > a.sum()


def test_settings_drive_the_model(tiny_path):
    ws = store.open_workspace(tiny_path)
    base = compute_views(ws, write=False)
    ws.update_settings(dori_profile="iec62676-4:2014-rounded", camera_defaults={"tilt_deg": 5.0})
    rounded = compute_views(ws, write=False)
    observe = lambda v: v.loc[v["level"] == "observe", "range_m"].iloc[0]  # noqa: E731
    assert observe(rounded) == pytest.approx(observe(base) * 62.5 / 63, rel=0.02)
    ws.update_settings(camera_defaults={"tilt": 5})
    with pytest.raises(WorkspaceError, match="unknown camera_defaults"):
        compute_views(ws)


def test_views_need_cameras_and_buildings(tmp_path):
    ws = store.open_workspace(tmp_path / "x.gpkg", create=True)
    ws.write("cameras", tiny_layers()["cameras"])
    with pytest.raises(WorkspaceError, match="no buildings layer"):
        compute_views(ws)


@pytest.fixture(scope="module")
def demo_coverage(module_demo):
    return module_demo, compute_coverage(module_demo)


def test_demo_coverage_is_consistent(demo_coverage):
    ws, result = demo_coverage
    grids, comms = result.grids, result.communities
    shares = grids[[c for c in grids if c.startswith("share_")]]
    assert ((shares >= 0) & (shares <= 1)).all().all()
    assert (grids["seen_identify_m2"] <= grids["seen_recognise_m2"] + 1e-6).all()
    assert (grids["seen_recognise_m2"] <= grids["seen_detect_m2"] + 1e-6).all()
    for col in ("public_m2", "seen_detect_m2", "road_m", "cameras_active", "uncovered_m2"):
        assert comms[col].sum() == pytest.approx(grids[col].sum())
        by_comm = grids.groupby("community_code")[col].sum()
        assert comms.set_index("community_code")[col].to_numpy() == pytest.approx(by_comm.to_numpy())
    spots = result.blind_spots
    total = spots["area_m2"].sum() + grids["seen_detect_m2"].sum()
    assert total == pytest.approx(grids["public_m2"].sum(), rel=1e-3)
    roads = ws.read("roads").to_crs(ws.metric_crs())
    assert grids["road_m"].sum() == pytest.approx(roads.length.sum(), rel=1e-4)  # boundary roads counted once
    counted = grids["cameras_active"].sum() + grids["cameras_faulty"].sum() + grids["cameras_planned"].sum()
    assert counted + result.indicators["cameras_outside_grids"] == len(ws.read("cameras"))  # each camera once
    assert {"intersection", "street", "off-street"} <= set(spots["kind"])
    ind = result.indicators
    assert 0 <= ind["class1_share"] <= 1 and ind["intersections"] > 0


def test_coverage_layers_are_stamped(demo_coverage):
    ws, _ = demo_coverage
    for layer in ("coverage_grids", "coverage_communities", "coverage_targets", "blind_spots"):
        assert ws.has(layer)
    assert coverage_is_current(ws)
    assert len(ws.read("coverage_grids")) == len(ws.read("grids"))


def test_stale_coverage_is_detected(demo_copy):
    ws = store.open_workspace(demo_copy)
    compute_coverage(ws)
    assert coverage_is_current(ws)
    ws.write("targets", ws.read("targets"))
    assert not coverage_is_current(ws)


def test_what_if_matches_a_full_recomputation(demo_copy):
    ws = store.open_workspace(demo_copy)
    session = WhatIf(ws, include_planned=False)
    before = session.model.grid_figures().set_index("code")
    lon, lat = ws.read("grids").set_index("code").geometry.loc["370285001201001"].representative_point().coords[0]
    grids, _ = session.set_camera("NEW-1", {"lon": lon, "lat": lat, "kind": "bullet", "heading_deg": 90.0,
                                                   "hfov_deg": 90.0, "height_m": 6.0, "tilt_deg": 10.0,
                                                   "resolution_px": 2560, "status": "active",
                                                   "point_class": "1"})
    assert "370285001201001" in set(grids["code"])
    after = grids.set_index("code")
    assert (after["seen_detect_m2"] >= before.loc[after.index, "seen_detect_m2"] - 1e-6).all()
    assert after.loc["370285001201001", "seen_detect_m2"] > before.loc["370285001201001", "seen_detect_m2"]
    assert after.loc["370285001201001", "cameras_active"] == before.loc["370285001201001", "cameras_active"] + 1
    full = session.model.grid_figures().set_index("code").loc[after.index]
    pd.testing.assert_frame_equal(after, full)
    grids, _ = session.set_camera("NEW-1", None)
    back = grids.set_index("code")
    pd.testing.assert_frame_equal(back, before.loc[back.index], check_exact=False, rtol=1e-9)
