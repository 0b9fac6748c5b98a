"""The one message catalogue: every text a user reads, Chinese by default, English on request.

Pages, printed maps, tables and exported files all take their words from here (``t(lang, key)``),
so a status, a level or a column is called the same everywhere. Each key has its Chinese and its
English text side by side; a test checks that none is missing. Keys are grouped by the output
they first served (``print.``, ``table.``, ``column.``, ``level.``, ``watermark.``; page texts have
no prefix). Texts may hold ``{fields}`` that :func:`t` fills in.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

#: key → (Chinese, English), kept in ``api/messages.toml`` (one table, both languages side by side)
CATALOGUE: dict[str, tuple[str, str]] = {
    key: (str(texts[0]), str(texts[1]))
    for key, texts in tomllib.loads((Path(__file__).parent / "messages.toml").read_text(encoding="utf-8")).items()}
LANGS = ("zh", "en")
#: language → key → text (what the pages' scripts are given)
MESSAGES: dict[str, dict[str, str]] = {lang: {k: v[i] for k, v in CATALOGUE.items()} for i, lang in enumerate(LANGS)}


def lang_of(value: str | None, default: str = "zh") -> str:
    """The language asked for if the catalogue has it, else ``default``."""
    return value if value in MESSAGES else default


def t(lang: str, key: str, **fields: Any) -> str:
    """The text of ``key`` in ``lang`` (Chinese for an unknown language), its ``{fields}`` filled in.

    An unknown key is returned as it is, so a missing text shows as its key rather than failing."""
    text = MESSAGES.get(lang, MESSAGES["zh"]).get(key, key)
    return text.format(**fields) if fields else text


def texts(lang: str, prefix: str) -> dict[str, str]:
    """The texts of one group (``texts("en", "print")`` → {"risk": "Grid risk levels", …})."""
    head = prefix + "."
    return {k[len(head):]: v for k, v in MESSAGES.get(lang, MESSAGES["zh"]).items() if k.startswith(head)}
