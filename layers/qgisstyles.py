"""Where QGIS looks for a layer's default style and field aliases, and how they are written there.

- In a GeoPackage: the ``layer_styles`` table (QGIS's own layout, registered in ``gpkg_contents`` as
  attributes) and ``gpkg_data_columns`` (the GeoPackage schema extension) for the aliases.
- In PostgreSQL: ``public.layer_styles``, which QGIS reads for every schema of the database (the
  aliases travel inside the QML).

The styles themselves (QML, SLD) are made by :mod:`api.exports.qgis`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

#: the table QGIS keeps styles in; not a layer of the workspace
STYLES_TABLE = "layer_styles"
_GPKG_DDL = ("CREATE TABLE IF NOT EXISTS layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, "
             "f_table_catalog TEXT(256), f_table_schema TEXT(256), f_table_name TEXT(256), "
             "f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT, "
             "useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), "
             "update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))")
_PG_DDL = ("CREATE TABLE IF NOT EXISTS public.layer_styles (id serial PRIMARY KEY, f_table_catalog varchar, "
           "f_table_schema varchar, f_table_name varchar, f_geometry_column varchar, stylename text, "
           "styleqml xml, stylesld xml, useasdefault boolean, description text, "
           "owner varchar(63) DEFAULT CURRENT_USER, ui xml, update_time timestamp DEFAULT CURRENT_TIMESTAMP, "
           "type varchar)")


def put_gpkg(con: sqlite3.Connection, table: str, geometry_column: str, qml: str, sld: str,
             aliases: Mapping[str, str], *, description: str = "Pingan Planner") -> None:
    """Make ``qml`` the default style of ``table`` in the GeoPackage open on ``con`` (replacing an
    earlier one of ours), and record ``aliases`` (column → name) in ``gpkg_data_columns``; inside the
    caller's transaction."""
    con.execute(_GPKG_DDL)
    con.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, last_change) VALUES "
                "('layer_styles', 'attributes', 'layer_styles', strftime('%Y-%m-%dT%H:%M:%fZ','now'))")
    con.execute("DELETE FROM layer_styles WHERE f_table_name = ? AND (owner = 'pingan' OR useAsDefault)", (table,))
    con.execute("INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                "styleName, styleQML, styleSLD, useAsDefault, description, owner) "
                "VALUES ('', '', ?, ?, ?, ?, ?, 1, ?, 'pingan')",
                (table, geometry_column, table, qml, sld, description))
    put_gpkg_aliases(con, table, aliases)


def put_gpkg_aliases(con: sqlite3.Connection, table: str, aliases: Mapping[str, str]) -> None:
    """``aliases`` (column → name) of ``table`` in ``gpkg_data_columns``, the extension registered."""
    if not aliases:
        return
    con.execute("CREATE TABLE IF NOT EXISTS gpkg_data_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, "
                "name TEXT, title TEXT, description TEXT, mime_type TEXT, constraint_name TEXT, "
                "CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name), CONSTRAINT gdc_tn UNIQUE (table_name, name))")
    con.execute("CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT, "
                "extension_name TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT NOT NULL, "
                "CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))")  # GeoPackage 1.2, table 17
    con.execute("CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (constraint_name TEXT NOT NULL, "
                "constraint_type TEXT NOT NULL, value TEXT, min NUMERIC, min_is_inclusive BOOLEAN, max NUMERIC, "
                "max_is_inclusive BOOLEAN, description TEXT, "
                "CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value))")  # the extension's pair
    for table_name in ("gpkg_data_columns", "gpkg_data_column_constraints"):
        con.execute("INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope) "
                    "SELECT ?, NULL, 'gpkg_schema', 'http://www.geopackage.org/spec121/#extension_schema', "
                    "'read-write' WHERE NOT EXISTS (SELECT 1 FROM gpkg_extensions WHERE table_name = ? "
                    "AND extension_name = 'gpkg_schema')",  # NULLs are distinct to UNIQUE: OR IGNORE would repeat
                    (table_name, table_name))
    con.execute("DELETE FROM gpkg_data_columns WHERE table_name = ?", (table,))
    seen: set[str] = set()
    for column, alias in aliases.items():
        name = alias if alias not in seen else f"{alias} ({column})"  # a name is unique within a table
        seen.add(name)
        con.execute("INSERT INTO gpkg_data_columns (table_name, column_name, name, title) VALUES (?, ?, ?, ?)",
                    (table, column, name, alias))


def put_postgres(con: Any, schema: str, table: str, geometry_column: str, qml: str, sld: str, *,
                 description: str = "Pingan Planner") -> None:
    """Make ``qml`` the default style of ``schema.table`` in ``public.layer_styles``, inside the
    caller's transaction (psycopg connection)."""
    con.execute(_PG_DDL)
    con.execute("DELETE FROM public.layer_styles WHERE f_table_catalog = current_database() "
                "AND f_table_schema = %s AND f_table_name = %s AND useasdefault", (schema, table))
    con.execute("INSERT INTO public.layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                "stylename, styleqml, stylesld, useasdefault, description, type) "
                "VALUES (current_database(), %s, %s, %s, %s, XMLPARSE(DOCUMENT %s), XMLPARSE(DOCUMENT %s), true, %s, "
                "%s)", (schema, table, geometry_column, table, qml, sld, description, None))
