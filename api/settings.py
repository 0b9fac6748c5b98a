"""Service settings: one pydantic-settings class passed into ``create_app``.

Environment variables with the prefix ``PINGAN_`` override the defaults
(``PINGAN_WORKSPACE=workspace/demo.gpkg``, ``PINGAN_TILES_URL=http://intranet/tiles/{z}/{x}/{y}.png``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PINGAN_")

    #: a GeoPackage file, or a PostGIS workspace ``postgresql://user:password@host/db?workspace=name``
    workspace: str | Path = Path("workspace/demo.gpkg")
    lang: str = "zh"
    #: Basemap: none by default (the workspace's own roads and buildings draw the context and
    #: nothing leaves the machine); ``xyz`` (an intranet XYZ/WMTS template in ``tiles_url``),
    #: ``tianditu`` (needs ``tianditu_tk``), ``gaode`` (GCJ-02: overlays are shifted to match), ``osm``.
    basemap: str | None = None
    tiles_url: str | None = None
    tiles_attribution: str = ""
    #: datum of an ``xyz`` basemap's tiles: wgs84 (= cgcs2000 at map scale) or gcj02
    tiles_crs: str = "wgs84"
    tianditu_tk: str | None = None
    #: layers with more features than this are loaded by viewport from the API instead of inlined
    inline_limit: int = 5000
    #: users must log in (the default). Off only for a single user on this machine: every request
    #: then acts as a local administrator, and ``pingan serve`` refuses it on a non-loopback address.
    auth: bool = True
    session_hours: float = 8.0
    host: str = "127.0.0.1"
    port: int = 8000
    #: our loggers' level when the app is built (``pingan serve --log-level`` sets it); None leaves
    #: logging as the host program configured it
    log_level: str | None = None
