"""QGIS styles for exported layers, so that a file opens in QGIS looking as it does on the pages:
risk red / yellow / green, coverage graded by the share seen, cameras by status, blind spots in red.

A GeoPackage export carries its style in the ``layer_styles`` table QGIS reads and writes (QML, with
an SLD beside it for other tools) and Chinese (or English) field aliases in ``gpkg_data_columns``
(the GeoPackage schema extension); a Shapefile export carries ``<layer>.qml`` and ``<layer>.sld``
beside its ``.shp``. Colours, class breaks and words are the pages' own (:mod:`api.maps.displays`,
:mod:`api.i18n`).
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from api.i18n import CATALOGUE, t
from api.maps.displays import COVERAGE_BREAKS, COVERAGE_COLOURS, LEVEL_COLOURS, STATUS_COLOURS
from layers import qgisstyles, schemas
from layers.store import Store

BLIND_SPOT_COLOUR = "#b2182b"
OUTLINE = "#505050"


@dataclass(frozen=True)
class Style:
    """How one layer is drawn: by category of ``field``, by ranges of it, or with one symbol."""

    kind: str  # "categorized", "graduated" or "single"
    symbol: str  # "fill", "marker" or "line"
    field: str = ""
    #: (value or (lower, upper), colour, catalogue key of the label)
    classes: tuple[tuple[object, str, str], ...] = ()
    colour: str = ""
    opacity: float = 0.7


def _coverage_classes() -> tuple[tuple[object, str, str], ...]:
    return tuple(((lo, hi), colour, "")
                 for lo, hi, colour in zip(COVERAGE_BREAKS[:-1], COVERAGE_BREAKS[1:], COVERAGE_COLOURS, strict=True))


#: the layers exported with a style
STYLES: dict[str, Style] = {
    "risk": Style("categorized", "fill", "level", tuple((lv, LEVEL_COLOURS[lv], f"level.{lv}")
                                                        for lv in ("red", "yellow", "green"))),
    "coverage_grids": Style("graduated", "fill", "share_detect", _coverage_classes()),
    "cameras": Style("categorized", "marker", "status", tuple((s, c, s) for s, c in STATUS_COLOURS.items()),
                     opacity=1.0),
    "blind_spots": Style("single", "fill", colour=BLIND_SPOT_COLOUR, opacity=0.6),
}


def _rgba(hex_colour: str, opacity: float = 1.0) -> str:
    h = hex_colour.lstrip("#")
    return f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{round(255 * opacity)}"


def _symbol(name: str, kind: str, colour: str, opacity: float) -> str:
    if kind == "marker":
        layer = ("SimpleMarker", {"color": _rgba(colour), "outline_color": _rgba("#ffffff"), "name": "circle",
                                  "size": "2.6", "outline_width": "0.3"})
    elif kind == "line":
        layer = ("SimpleLine", {"line_color": _rgba(colour), "line_width": "0.6"})
    else:
        layer = ("SimpleFill", {"color": _rgba(colour, opacity), "outline_color": _rgba(OUTLINE),
                                "outline_width": "0.26", "style": "solid"})
    options = "".join(f'<Option type="QString" name="{k}" value="{v}"/>' for k, v in layer[1].items())
    return (f'<symbol type="{kind}" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
            f'<layer class="{layer[0]}" enabled="1" locked="0" pass="0"><Option type="Map">{options}</Option>'
            "</layer></symbol>")


def _label(key: str, value: object, lang: str) -> str:
    if isinstance(value, tuple):
        lo, hi = value
        return f"{lo:.0%}–{hi:.0%}"
    return t(lang, key) if key else str(value)


def _aliases(layer: str, columns: list[str], lang: str) -> dict[str, str]:
    """Field → what people call it: the schema's label (Chinese) or the field's own name (English)."""
    schema = schemas.SCHEMAS.get(layer)
    labels = {f.name: f.label for f in schema.fields if f.label} if schema else {}
    out = {}
    for c in columns:
        if lang == "zh" and c in labels:
            out[c] = labels[c]
        elif key := next((k for k in (f"column.{c}", f"indicator.{c}") if k in CATALOGUE), None):
            out[c] = t(lang, key)
    return out


def qml(layer: str, columns: list[str], lang: str = "zh") -> str:
    """The layer's QGIS style (QML, QGIS 3) with its field aliases."""
    style = STYLES[layer]
    if style.kind == "single":
        renderer = (f'<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
                    f"<symbols>{_symbol('0', style.symbol, style.colour, style.opacity)}</symbols></renderer-v2>")
    else:
        symbols = "".join(_symbol(str(i), style.symbol, colour, style.opacity)
                          for i, (_, colour, _) in enumerate(style.classes))
        if style.kind == "categorized":
            items = "".join(f'<category symbol="{i}" value={quoteattr(str(v))} label={quoteattr(_label(k, v, lang))} '
                            'render="true"/>' for i, (v, _, k) in enumerate(style.classes))
            body = f"<categories>{items}</categories>"
        else:
            items = "".join(f'<range symbol="{i}" lower="{v[0]}" upper="{v[1]}" '  # type: ignore[index]
                            f'label={quoteattr(_label(k, v, lang))} render="true"/>'
                            for i, (v, _, k) in enumerate(style.classes))
            body = f"<ranges>{items}</ranges>"
        extra = ' graduatedMethod="GraduatedColor"' if style.kind == "graduated" else ""
        renderer = (f'<renderer-v2 type="{style.kind}Symbol" attr="{style.field}"{extra} symbollevels="0" '
                    f'enableorderby="0" forceraster="0">{body}<symbols>{symbols}</symbols></renderer-v2>')
    aliases = "".join(f'<alias field={quoteattr(c)} index="{i}" name={quoteattr(a)}/>'
                      for i, (c, a) in enumerate(_aliases(layer, columns, lang).items()))
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
            f'<qgis version="3.28.0" styleCategories="Symbology|Fields">{renderer}<aliases>{aliases}</aliases></qgis>')


def _sld_symbolizer(kind: str, colour: str, opacity: float) -> str:
    if kind == "marker":
        return ("<se:PointSymbolizer><se:Graphic><se:Mark><se:WellKnownName>circle</se:WellKnownName><se:Fill>"
                f'<se:SvgParameter name="fill">{colour}</se:SvgParameter></se:Fill></se:Mark>'
                "<se:Size>9</se:Size></se:Graphic></se:PointSymbolizer>")
    return (f'<se:PolygonSymbolizer><se:Fill><se:SvgParameter name="fill">{colour}</se:SvgParameter>'
            f'<se:SvgParameter name="fill-opacity">{opacity}</se:SvgParameter></se:Fill><se:Stroke>'
            f'<se:SvgParameter name="stroke">{OUTLINE}</se:SvgParameter>'
            '<se:SvgParameter name="stroke-width">0.5</se:SvgParameter></se:Stroke></se:PolygonSymbolizer>')


def sld(layer: str, lang: str = "zh") -> str:
    """The layer's style as an OGC SLD 1.1 (Symbology Encoding) document, for tools other than QGIS."""
    style = STYLES[layer]
    rules = []
    if style.kind == "single":
        rules.append(f"<se:Rule><se:Name>{layer}</se:Name>{_sld_symbolizer(style.symbol, style.colour, style.opacity)}"
                     "</se:Rule>")
    for value, colour, key in style.classes:
        label = _label(key, value, lang)
        if isinstance(value, tuple):
            test = (f"<ogc:And><ogc:PropertyIsGreaterThanOrEqualTo><ogc:PropertyName>{style.field}</ogc:PropertyName>"
                    f"<ogc:Literal>{value[0]}</ogc:Literal></ogc:PropertyIsGreaterThanOrEqualTo>"
                    f"<ogc:PropertyIsLessThan><ogc:PropertyName>{style.field}</ogc:PropertyName>"
                    f"<ogc:Literal>{value[1]}</ogc:Literal></ogc:PropertyIsLessThan></ogc:And>")
        else:
            test = (f"<ogc:PropertyIsEqualTo><ogc:PropertyName>{style.field}</ogc:PropertyName>"
                    f"<ogc:Literal>{value}</ogc:Literal></ogc:PropertyIsEqualTo>")
        rules.append(f"<se:Rule><se:Name>{label}</se:Name><ogc:Filter>{test}</ogc:Filter>"
                     f"{_sld_symbolizer(style.symbol, colour, style.opacity)}</se:Rule>")
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<StyledLayerDescriptor version="1.1.0" xmlns="http://www.opengis.net/sld" '
            'xmlns:se="http://www.opengis.net/se" xmlns:ogc="http://www.opengis.net/ogc">'
            f"<NamedLayer><se:Name>{layer}</se:Name><UserStyle><se:Name>{layer}</se:Name>"
            f"<se:FeatureTypeStyle>{''.join(rules)}</se:FeatureTypeStyle></UserStyle></NamedLayer>"
            "</StyledLayerDescriptor>")


def style_geopackage(path: Path, layer: str, lang: str = "zh") -> None:
    """Write the layer's style into ``layer_styles`` and its field aliases into ``gpkg_data_columns``
    of the GeoPackage file at ``path`` (an export; one transaction; a layer without a style of its
    own gets the aliases only)."""
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        geom = con.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (layer,)).fetchone()
        columns = [r[1] for r in con.execute(f'PRAGMA table_info("{layer}")')
                   if r[1] not in ("fid", geom[0] if geom else None)]
        aliases = _aliases(layer, columns, lang)
        if layer in STYLES and geom is not None:
            qgisstyles.put_gpkg(con, layer, geom[0], qml(layer, columns, lang), sld(layer, lang), aliases)
        else:
            qgisstyles.put_gpkg_aliases(con, layer, aliases)


def style_workspace(store: Store, layers: list[str] | None = None, lang: str = "zh") -> None:
    """Give the workspace's styled layers (all of :data:`STYLES`, or ``layers``) their QGIS styles, so
    that the workspace itself opens styled in QGIS (GeoPackage or PostGIS)."""
    for layer in layers or list(STYLES):
        if layer not in STYLES:
            continue
        columns = [str(c) for c in store.read(layer, where="1 = 0").columns if c != "geometry"] if store.has(
            layer) else []
        store.put_style(layer, qml(layer, columns, lang), sld(layer, lang), _aliases(layer, columns, lang))


def style_files(directory: Path, name: str, layer: str, columns: list[str], lang: str = "zh") -> None:
    """``<name>.qml`` and ``<name>.sld`` beside a Shapefile in ``directory`` (for a layer with a style)."""
    if layer in STYLES:
        (directory / f"{name}.qml").write_text(qml(layer, columns, lang), encoding="utf-8")
        (directory / f"{name}.sld").write_text(sld(layer, lang), encoding="utf-8")


def dress(kind: str, where: Path, name: str, columns: list[str], *, layer: str, lang: str = "zh") -> None:
    """Style an export as :func:`layers.exporting.export_frame` writes it (GeoPackage or Shapefile)."""
    if kind == "gpkg":
        style_geopackage(where, name, lang)
    elif kind == "shapefile":
        style_files(where, name, layer, columns, lang)
