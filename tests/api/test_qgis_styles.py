"""Exports open styled in QGIS: layer_styles (QML + SLD) and field aliases in a GeoPackage, .qml/.sld
beside a Shapefile, with the pages' colours and words."""

from __future__ import annotations

import shutil
import sqlite3
import xml.etree.ElementTree as ET
import zipfile

import pyogrio
import pytest

from api.exports import ExportSpec, Source, make, qgis
from api.maps.displays import LEVEL_COLOURS, STATUS_COLOURS
from layers import store
from layers.errors import UnknownLayerError
from layers.geopackage import GeoPackageStore
from tests.conftest import BACKENDS, copied_workspace, debian_gdal_validates


@pytest.fixture(scope="module")
def source(analysed_path, tmp_path_factory):
    path = tmp_path_factory.mktemp("styled") / "ws.gpkg"
    shutil.copyfile(analysed_path, path)
    return Source.local(store.open_workspace(path))


def _rgb(hex_colour: str) -> str:
    h = hex_colour.lstrip("#")
    return f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)}"


def _styles(path):
    with sqlite3.connect(path) as con:
        styles = {r[0]: r[1:] for r in con.execute(
            "SELECT f_table_name, f_geometry_column, styleQML, styleSLD, useAsDefault FROM layer_styles")}
        aliases = dict(con.execute("SELECT column_name, name FROM gpkg_data_columns"))
        ext = con.execute("SELECT extension_name FROM gpkg_extensions WHERE table_name = 'gpkg_data_columns'"
                          ).fetchall()
    return styles, aliases, ext


def test_risk_geopackage_opens_red_yellow_green(source, tmp_path):
    out = make(source, ExportSpec(what="layer", layer="risk", format="gpkg"), tmp_path / "risk.gpkg")
    styles, aliases, ext = _styles(out)
    geom_column, text, sld, default = styles["risk"]
    assert default == 1 and geom_column == "geom"
    doc = ET.fromstring(text.split(">", 1)[1])  # the QML after its DOCTYPE
    renderer = doc.find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "level"
    cats = {c.get("value"): (c.get("label"), c.get("symbol")) for c in renderer.iter("category")}
    assert {v: label for v, (label, _) in cats.items()} == {"red": "红", "yellow": "黄", "green": "绿"}
    colours = {s.get("name"): s.find(".//Option[@name='color']").get("value") for s in renderer.iter("symbol")}
    for level, (_, symbol) in cats.items():
        assert colours[symbol].startswith(_rgb(LEVEL_COLOURS[level]))
    assert ET.fromstring(sld).tag.endswith("StyledLayerDescriptor")
    assert aliases["level"] == "风险等级" and aliases["incident_rate"] == "警情率(起/千人)"
    assert ext == [("gpkg_schema",)]
    assert "risk" in {name for name, _ in pyogrio.list_layers(out)}  # still a plain GeoPackage to GDAL
    assert len(pyogrio.read_dataframe(out, layer="risk")) == len(source.read("risk"))


def test_camera_styles_in_english_and_beside_a_shapefile(source, tmp_path):
    source_en = Source.local(source.store, lang="en")
    out = make(source_en, ExportSpec(what="layer", layer="cameras", format="gpkg"), tmp_path / "cams.gpkg")
    styles, aliases, _ = _styles(out)
    renderer = ET.fromstring(styles["cameras"][1].split(">", 1)[1]).find("renderer-v2")
    labels = {c.get("value"): c.get("label") for c in renderer.iter("category")}
    assert labels["active"] == "active" and set(labels) == set(STATUS_COLOURS)
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in "".join(aliases.values()) + "".join(labels.values()))
    shp = make(source, ExportSpec(what="layer", layer="cameras", format="shapefile"), tmp_path / "cams.zip")
    with zipfile.ZipFile(shp) as z:
        names = set(z.namelist())
        assert {"cameras.shp", "cameras.qml", "cameras.sld"} <= names
        assert 'attr="status"' in z.read("cameras.qml").decode()


def test_a_layer_without_a_style_gets_aliases_only(source, tmp_path):
    out = make(source, ExportSpec(what="layer", layer="roads", format="gpkg"), tmp_path / "roads.gpkg")
    with sqlite3.connect(out) as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "layer_styles" not in tables


@pytest.fixture(scope="module", params=BACKENDS)
def workspace(request, analysed_path, tmp_path_factory):
    return copied_workspace(request, analysed_path, "styles", tmp_path_factory)


def test_the_workspace_opens_styled_in_qgis(workspace, request):
    uri, ws = workspace
    qgis.style_workspace(ws)  # what `pingan coverage` and `pingan risk` do after writing their layers
    qgis.style_workspace(ws)  # once per layer, however often
    if isinstance(ws, GeoPackageStore):
        with sqlite3.connect(uri) as con:
            rows = con.execute("SELECT f_table_name, styleQML, useAsDefault FROM layer_styles").fetchall()
    else:
        import psycopg

        dsn = request.getfixturevalue("postgis_uri")
        with psycopg.connect(dsn) as con:
            rows = con.execute("SELECT f_table_name, styleqml::text, useasdefault FROM public.layer_styles "
                               "WHERE f_table_schema = 'styles'").fetchall()
        rows = [(name.removeprefix("t_"), text, default) for name, text, default in rows]
    by_layer = {name: text for name, text, default in rows if default}
    assert len(rows) == len(by_layer) == len(qgis.STYLES)
    assert 'attr="level"' in by_layer["risk"] and 'attr="status"' in by_layer["cameras"]
    assert "layer_styles" not in {info.name for info in ws.layers()}
    with pytest.raises(UnknownLayerError):
        ws.read("layer_styles")
    with pytest.raises(ValueError, match="cannot be a layer name"):
        ws.write("layer_styles", ws.read("grids"))


def test_an_analysis_styles_the_geopackage_it_writes(analysed_path):
    with sqlite3.connect(analysed_path) as con:
        styled = {r[0] for r in con.execute("SELECT f_table_name FROM layer_styles")}
    assert styled == {"coverage_grids", "blind_spots", "cameras", "risk"}


def test_the_workspace_and_its_geopackages_pass_debians_gdal_validator(analysed_path, source, tmp_path):
    """GeoPackage 1.2 with its R-tree triggers, the schema extension complete, no empty shapes: what
    Debian 12's GDAL 3.6 (and its QGIS) check."""
    debian_gdal_validates(analysed_path)
    for layer in ("risk", "coverage_grids", "cameras", "blind_spots", "roads", "coverage_communities"):
        out = make(source, ExportSpec(what="layer", layer=layer, format="gpkg"), tmp_path / f"{layer}.gpkg")
        debian_gdal_validates(out)
