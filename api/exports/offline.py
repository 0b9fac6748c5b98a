"""The risk or coverage map as one HTML file that opens from a USB stick with no network.

The page is the app's own Folium page with every layer drawn inline (no viewport
requests), and Leaflet, the page scripts, the styles and their images inlined
(images as ``data:`` URIs). Nothing refers to a server: no ``/static`` path, no
``http(s)://`` asset, no tile layer (a basemap needs a network).
"""

from __future__ import annotations

import base64
import html
import mimetypes
import re
from collections.abc import Callable
from pathlib import Path

import folium
import xstatic.pkg.leaflet as xleaflet

from api.exports import cells
from api.exports.source import Source
from api.i18n import t
from api.maps import coverage, households
from api.maps.base import NO_BASEMAP, STATIC_PREFIX, page_html
from api.maps.displays import FrameCache
from api.maps.layers import Page

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
KINDS = ("risk", "coverage")
_SCRIPT = re.compile(r'<script src="(?P<url>[^"]+)"></script>')
_STYLE = re.compile(r'<link rel="stylesheet" href="(?P<url>[^"]+)"\s*/?>')
_CSS_URL = re.compile(r"url\((?P<q>['\"]?)(?P<url>[^'\")]+)(?P=q)\)")


class OfflineAssetError(OSError):
    """The page refers to an asset the offline file cannot carry."""


def _asset(url: str) -> Path:
    if url.startswith(f"{STATIC_PREFIX}/leaflet/"):
        path = Path(xleaflet.BASE_DIR) / url.removeprefix(f"{STATIC_PREFIX}/leaflet/")
    elif url.startswith(f"{STATIC_PREFIX}/"):
        path = STATIC_DIR / url.removeprefix(f"{STATIC_PREFIX}/")
    else:
        raise OfflineAssetError(f"the page loads '{url}', which an offline file cannot carry")
    if not path.is_file():
        raise OfflineAssetError(f"asset {url} is missing from the installation ({path})")
    return path


def _data_uri(path: Path) -> str:
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode()}"


def _css(path: Path) -> str:
    def embed(match: re.Match[str]) -> str:
        url = match["url"]
        if url.startswith(("data:", "#")):
            return match[0]
        return f'url("{_data_uri((path.parent / url).resolve())}")'

    return _CSS_URL.sub(embed, path.read_text(encoding="utf-8"))


def inline_assets(page: str) -> str:
    """Replace every script and stylesheet reference with its content."""
    left = re.findall(r'<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)="([^"]+)"', page)
    foreign = [u for u in left if not u.startswith(f"{STATIC_PREFIX}/")]
    if foreign:
        raise OfflineAssetError(f"the page loads {', '.join(sorted(set(foreign))[:5])}: not allowed offline")
    page = _SCRIPT.sub(lambda m: "<script>" + _asset(m["url"]).read_text(encoding="utf-8")
                       .replace("</script", "<\\/script") + "</script>", page)
    return _STYLE.sub(lambda m: "<style>" + _css(_asset(m["url"])) + "</style>", page)


def offline_html(source: Source, path: str | Path, *, kind: str = "risk",
                 progress: Callable[[str], None] | None = None) -> Path:
    """Write the ``kind`` map of the user's area as one self-contained HTML file."""
    step = progress or (lambda _name: None)
    source.require_export()
    if kind not in KINDS:
        raise ValueError(f"unknown map '{kind}': use {' or '.join(KINDS)}")
    if not source.may_read("grids"):
        raise ValueError("the map needs the grids layer: import or plan grids first")
    step("building the page")
    page = Page(source.store, source.lang, NO_BASEMAP, inline_limit=10**9, cache=FrameCache(), scope=source.scope)
    m = (households.household_map(page, households=False, title_key="risk_title", exports=False) if kind == "risk"
         else coverage.coverage_map(page, exports=False))
    note = t(source.lang, "offline_note").format(
        who=source.who, when=source.when,
        date=source.data_date(["grids", "risk", "coverage_grids", "cameras", "views"]) or "—")
    page_html(m).add_child(folium.Element(
        f'<div class="pingan-offline" id="pingan-offline" style="position:fixed;bottom:4px;left:8px;z-index:1000;'
        f'font-size:11px;color:#333;background:rgba(255,255,255,.85);padding:2px 6px">{html.escape(note)}</div>'))
    step("inlining assets")
    lang_attr = "zh-CN" if source.lang == "zh" else "en"
    text = inline_assets(m.get_root().render()).replace("<html>", f'<html lang="{lang_attr}">', 1)
    step("writing")
    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    out = cells.atomic(Path(path), write)
    source.audit(f"offline:{kind}", {"format": "html", "bytes": out.stat().st_size, "file": out.name})
    return out
