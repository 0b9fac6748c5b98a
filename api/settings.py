"""Service settings: one pydantic-settings class passed into ``create_app``.

Environment variables with the prefix ``PINGAN_`` override the defaults
(``PINGAN_WORKSPACE=workspace/demo.gpkg``, ``PINGAN_TILES_URL=http://intranet/tiles/{z}/{x}/{y}.png``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PINGAN_")

    workspace: Path = Path("workspace/demo.gpkg")
    lang: str = "zh"
    #: XYZ tile URL template of an intranet basemap; none by default (the workspace's own
    #: roads and buildings draw the context, and nothing leaves the machine).
    tiles_url: str | None = None
    tiles_attribution: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
