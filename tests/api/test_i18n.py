"""The one message catalogue: every key in both languages, the same fields in both, no other catalogue."""

import re
import string
from pathlib import Path

import pytest

from api import i18n

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize("key", sorted(i18n.CATALOGUE))
def test_every_key_has_chinese_and_english_with_the_same_fields(key):
    zh, en = i18n.CATALOGUE[key]
    assert zh.strip(), f"{key} lacks its Chinese text"
    assert en.strip() or key.endswith("unit"), f"{key} lacks its English text"  # 个/处 have no English word

    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    assert fields(zh) == fields(en), f"{key}: {{fields}} differ between zh and en"
    words = re.sub(r"\{\w+\}", "", zh)  # the {fields} are filled in, not read
    assert re.search(r"[\u4e00-\u9fff]", words) or not re.search(r"[A-Za-z]{4,}", words), f"{key}: zh is not Chinese"


def test_texts_fill_fields_and_fall_back():
    assert i18n.t("en", "table.targets", k=2) == "Class-2 key targets covered"
    assert i18n.t("fr", "level.red") == "红"  # an unknown language reads Chinese
    assert i18n.t("en", "no.such.key") == "no.such.key"
    assert i18n.texts("en", "level") == {"red": "red", "yellow": "yellow", "green": "green"}


def test_no_module_keeps_a_catalogue_of_its_own():
    """Texts per language live in api/i18n.py only (a dict keyed by "zh"/"en" elsewhere is a second one)."""
    found = []
    for path in [*ROOT.glob("api/**/*.py"), *ROOT.glob("gis/**/*.py"), *ROOT.glob("layers/**/*.py")]:
        if path.name == "i18n.py":
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"""["']zh["']\s*:\s*[({"']""", text) and re.search(r"""["']en["']\s*:\s*[({"']""", text):
            found.append(str(path.relative_to(ROOT)))
    assert not found, f"texts kept outside the catalogue: {found}"


def test_a_status_is_called_the_same_in_pages_and_printed_maps():
    assert i18n.t("zh", "active") == "在用" == i18n.t("zh", "baseline_active")
