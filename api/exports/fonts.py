"""A font with Chinese glyphs for printed maps, or a clear error: never tofu boxes.

Looks for ``PINGAN_CJK_FONT`` (a font file or a family name) first, then the CJK families
Debian, Windows and macOS ship (Noto/Source Han Sans, WenQuanYi, Microsoft YaHei, SimHei,
PingFang), then any installed font that holds the glyphs a map needs. Rendering is
watched for matplotlib's missing-glyph warnings, which become an error naming the
characters.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from matplotlib import font_manager

PREFERRED = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
             "Microsoft YaHei", "SimHei", "PingFang SC", "Hiragino Sans GB", "Noto Serif CJK SC", "AR PL UMing CN")
PROBE = "网格风险等级图红黄绿社区视频覆盖盲区北比例尺导出"
INSTALL_HINT = ("install a CJK font (Debian/Ubuntu: apt-get install fonts-noto-cjk; it is installed by "
                "scripts/demo.sh and scripts/test.sh) or set PINGAN_CJK_FONT to a .ttf/.otf/.ttc file")


class FontMissingError(OSError):
    """No font with Chinese glyphs is installed (or the one named cannot be used)."""


class MissingGlyphError(OSError):
    """A character of the map's text is in none of the fonts: it would print as a box."""


def _covers(path: str, text: str = PROBE) -> bool:
    from matplotlib.ft2font import FT2Font

    try:
        font = FT2Font(path)
    except (OSError, RuntimeError, ValueError):
        return False
    return all(font.get_char_index(ord(ch)) for ch in text)


@lru_cache(maxsize=1)
def cjk_family() -> str:
    """The family name matplotlib should draw Chinese text with."""
    wanted = os.environ.get("PINGAN_CJK_FONT", "").strip()
    if wanted:
        if Path(wanted).is_file():
            if not _covers(wanted):
                raise FontMissingError(f"PINGAN_CJK_FONT={wanted} has no Chinese glyphs: {INSTALL_HINT}")
            font_manager.fontManager.addfont(wanted)
            return font_manager.FontProperties(fname=wanted).get_name()
        if not any(f.name == wanted for f in font_manager.fontManager.ttflist):
            raise FontMissingError(f"PINGAN_CJK_FONT names the font family '{wanted}', which is not installed: "
                                   f"{INSTALL_HINT}")
        return wanted
    for attempt in range(2):
        fonts = font_manager.fontManager.ttflist
        by_name = {f.name: f for f in fonts}
        for name in PREFERRED:
            if name in by_name and _covers(by_name[name].fname):
                return name
        for f in sorted(fonts, key=lambda f: f.name):
            if any(k in f.name for k in ("CJK", "Han", "Hei", "Song", "Kai", "Ming", "GB")) and _covers(f.fname):
                return f.name
        if attempt == 0:  # a font installed after matplotlib built its cache: look once more
            font_manager.fontManager = font_manager._load_fontmanager(  # type: ignore[attr-defined]
                try_read_cache=False)
    raise FontMissingError(f"no font with Chinese glyphs found, so the map's text would print as boxes: "
                           f"{INSTALL_HINT}")


@contextmanager
def glyph_guard() -> Iterator[Callable[[], list[str]]]:
    """Turn matplotlib's "Glyph … missing from font(s)" warnings into a MissingGlyphError."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield lambda: [str(w.message) for w in caught]
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    if missing:
        raise MissingGlyphError(f"{len(missing)} character(s) have no glyph in the map fonts "
                                f"({'; '.join(sorted(set(missing))[:5])}): {INSTALL_HINT}")
