"""Maps in a Jupyter notebook, offline: the page's own Leaflet, scripts and styles inlined into
an ``<iframe srcdoc>``, so a notebook shows the same map as the app without the server or the
internet."""

from __future__ import annotations

import html

import folium

from api.exports.offline import inline_assets


class InlineMap:
    """A rendered page that Jupyter displays (``_repr_html_``) and that can be saved as one file."""

    def __init__(self, page: str, height: int = 520):
        self.page = page
        self.height = height

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{html.escape(self.page, quote=True)}" style="width:100%;height:{self.height}px;'
                'border:1px solid #ccc" sandbox="allow-scripts allow-popups allow-downloads"></iframe>')

    def save(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.page)

    def __len__(self) -> int:
        return len(self.page)


def show(m: folium.Map, height: int = 520) -> InlineMap:
    """Display a page builder's map (``api.maps.*_map``) inline; nothing is fetched from the internet."""
    return InlineMap(inline_assets(m.get_root().render()), height)
