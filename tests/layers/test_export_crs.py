"""Exported files say which coordinates they hold: GCJ-02 never passes for WGS 84, CGCS2000 is the GK zone."""

from __future__ import annotations

import json
import sqlite3
import zipfile

import pyogrio
import pytest
from pyproj import CRS

from api.exports import ExportSpec, Source, default_name, make
from layers import store
from layers.errors import ImportFormatError


@pytest.fixture(scope="module")
def source(demo_path):
    return Source.local(store.open_workspace(demo_path))


def _export(source, tmp_path, fmt, coords):
    suffix = {"shapefile": "zip"}.get(fmt, fmt)
    return make(source, ExportSpec(what="layer", layer="cameras", format=fmt, coords=coords),
                tmp_path / f"cams_{coords}.{suffix}")


def _crs(path, fmt) -> CRS:
    if fmt == "shapefile":
        with zipfile.ZipFile(path) as z:
            return CRS.from_wkt(z.read(next(n for n in z.namelist() if n.endswith(".prj"))).decode())
    if fmt == "geojson":
        return CRS.from_user_input(json.loads(path.read_text(encoding="utf-8")).get("crs", {}).get(
            "properties", {}).get("name", "OGC:CRS84"))
    return CRS.from_user_input(pyogrio.read_info(path)["crs"])


@pytest.mark.parametrize("fmt", ["gpkg", "shapefile"])
def test_gcj02_is_never_labelled_wgs84(source, tmp_path, fmt):
    out = _export(source, tmp_path, fmt, "gcj02")
    crs = _crs(out, fmt)
    assert crs.to_epsg() is None and "GCJ-02" in crs.name and not crs.equals(CRS.from_epsg(4326))
    if fmt == "gpkg":
        with sqlite3.connect(out) as con:
            (desc,) = con.execute("SELECT description FROM gpkg_contents").fetchone()
            srs = con.execute("SELECT srs_id FROM gpkg_geometry_columns").fetchone()[0]
        assert "not WGS 84" in desc and srs != 4326


def test_gcj02_geojson_says_so(source, tmp_path):
    doc = json.loads(_export(source, tmp_path, "geojson", "gcj02").read_text(encoding="utf-8"))
    assert "GCJ-02" in doc["crs"]["properties"]["name"] and "not WGS 84" in doc["pingan:coordinates"]
    assert "CRS84" not in json.dumps(doc["crs"])


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "shapefile"])
def test_cgcs2000_is_the_workspaces_gauss_krueger_zone(source, tmp_path, fmt):
    crs = _crs(_export(source, tmp_path, fmt, "cgcs2000"), fmt)
    assert crs.is_projected and crs.to_epsg(min_confidence=70) == 4549  # the demo's zone, CM 120°E
    geographic = _crs(_export(source, tmp_path, fmt, "cgcs2000-geographic"), fmt)
    assert geographic.is_geographic and geographic.to_epsg(min_confidence=70) == 4490


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "shapefile"])
def test_wgs84_is_wgs84(source, tmp_path, fmt):
    crs = _crs(_export(source, tmp_path, fmt, "wgs84"), fmt)
    assert crs.equals(CRS.from_epsg(4326)) or crs.equals(CRS.from_user_input("OGC:CRS84"))


def test_kml_refuses_other_coordinates_and_names_say_gcj02(source, tmp_path):
    with pytest.raises(ImportFormatError, match="KML is WGS 84 by definition"):
        _export(source, tmp_path, "kml", "EPSG:4549")
    with pytest.raises(ImportFormatError, match="KML is WGS 84"):
        _export(source, tmp_path, "kml", "gcj02")
    assert "_gcj02_" in default_name(ExportSpec(what="layer", layer="cameras", coords="gcj02"), source)
