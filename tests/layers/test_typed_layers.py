"""Each layer is stored as one geometry type (its Multi form where it allows one), and times as
GeoPackage DATETIMEs in UTC with Z: on both stores, through whole writes, edits and exports."""

import sqlite3

import geopandas as gpd
import pandas as pd
import psycopg
import pytest
import shapely
from shapely.geometry import Polygon

from gis import shapes
from layers import gpkgsql, store, validate
from layers.exporting import export_frame
from tests.conftest import tiny_layers
from tests.layers.test_postgis import backend  # noqa: F401  (the fixture: a workspace on each store)

DECLARED = {"grids": "MULTIPOLYGON", "communities": "MULTIPOLYGON", "buildings": "MULTIPOLYGON",
            "roads": "MULTILINESTRING", "cameras": "POINT", "incidents": "POINT", "targets": "GEOMETRY"}


def _declared(ws, request) -> dict[str, str]:
    """The geometry type each layer's column declares, read from the store's own catalogue."""
    if str(ws.uri).endswith(".gpkg"):
        with sqlite3.connect(ws.path) as con:
            return dict(con.execute("SELECT table_name, geometry_type_name FROM gpkg_geometry_columns").fetchall())
    with psycopg.connect(request.getfixturevalue("postgis_uri")) as con:
        rows = con.execute("SELECT f_table_name, type FROM geometry_columns WHERE f_table_schema = %s",
                           (ws.schema,)).fetchall()
    return {t.removeprefix("t_"): g for t, g in rows if t.startswith("t_")}


def test_one_type_per_layer_and_rows_promoted(backend, request):  # noqa: F811
    layers = {n: validate.validate(f, n) for n, f in tiny_layers().items()}
    backend.write_many(layers)
    declared = _declared(backend, request)
    for name, kind in DECLARED.items():
        if name in layers:
            assert declared[name].upper() == kind, name
    grids = backend.read("grids")
    assert set(grids.geom_type) == {"MultiPolygon"}
    original = layers["grids"].geometry.to_numpy()
    assert shapely.equals(grids.geometry.to_numpy(), original).all()  # the same shapes, one part each
    # an edit sending a plain Polygon is stored as the layer's type
    row = grids.iloc[[0]].copy()
    code = str(row["code"].iloc[0])
    w, s, e, n = row.geometry.iloc[0].bounds
    row = row.set_geometry(gpd.GeoSeries([Polygon([(w, s), (e, s), (e, n), (w, n)])], index=row.index, crs=4326))
    backend.edit("grids", "code", code, lambda current: validate.validate(row, "grids"))
    assert backend.row("grids", "code", code).geometry.geom_type == "MultiPolygon"


def test_times_are_utc_with_z_in_the_geopackage_and_local_when_read(tmp_path):
    ws = store.open_workspace(tmp_path / "ws.gpkg", create=True)
    incidents = validate.validate(tiny_layers()["incidents"], "incidents")
    ws.write("incidents", incidents)
    with sqlite3.connect(tmp_path / "ws.gpkg") as con:
        stored = [r[0] for r in con.execute("SELECT time FROM incidents")]
        kind = con.execute("SELECT type FROM pragma_table_info('incidents') WHERE name = 'time'").fetchone()[0]
    local = incidents["time"].iloc[0]
    assert kind == "DATETIME"
    assert stored[0] == (local - pd.Timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert ws.read("incidents")["time"].tolist() == incidents["time"].tolist()
    # an edit writes the same form, and the layer still reads back whole
    row = ws.read("incidents").iloc[[0]].copy()
    row["time"] = pd.Timestamp("2026-05-01 23:15")
    ws.edit("incidents", "id", str(row["id"].iloc[0]), lambda current: validate.validate(row, "incidents"))
    with sqlite3.connect(tmp_path / "ws.gpkg") as con:
        assert "2026-05-01T15:15:00.000Z" in {r[0] for r in con.execute("SELECT time FROM incidents")}
    assert pd.Timestamp("2026-05-01 23:15") in set(ws.read("incidents")["time"])
    # times written before they were UTC (no zone) are read as the local times they were
    legacy, utc = gpkgsql.local_times(["2025-01-02T03:04:05.000", "2025-01-01T19:04:05.000Z"])
    assert legacy == utc == pd.Timestamp("2025-01-02 03:04:05")


def test_exports_declare_the_layers_type_and_utc_times(tmp_path):
    frame = validate.validate(tiny_layers()["grids"], "grids")
    out = export_frame(frame, tmp_path / "grids.gpkg", layer="grids")
    with sqlite3.connect(out) as con:
        assert con.execute("SELECT geometry_type_name FROM gpkg_geometry_columns").fetchone()[0] == "MULTIPOLYGON"
    incidents = validate.validate(tiny_layers()["incidents"], "incidents")
    out = export_frame(incidents, tmp_path / "incidents.gpkg", layer="incidents")
    with sqlite3.connect(out) as con:
        assert all(r[0].endswith("Z") for r in con.execute("SELECT time FROM incidents"))


@pytest.mark.parametrize(("kinds", "one"), [(["Polygon"], "Polygon"), (["Polygon", "MultiPolygon"], "MultiPolygon"),
                                            (["Point", "LineString"], None), (["GeometryCollection"], None)])
def test_one_type(kinds, one):
    assert shapes.one_type(kinds) == one


def test_promotion_keeps_empties_and_missing():
    geoms = shapes.promoted([Polygon(), None, Polygon([(0, 0), (1, 0), (1, 1)])], "MultiPolygon")
    assert geoms[0].geom_type == "MultiPolygon" and geoms[0].is_empty
    assert geoms[1] is None and geoms[2].geom_type == "MultiPolygon"
