"""The building blocks of the data model: a field, a layer's schema, and the tables of spellings
that map what users write (Chinese, English, synonyms) to the stored value."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Field:
    """One attribute of a layer.

    ``kind`` is one of ``str``, ``int``, ``float``, ``enum``, ``tags``, ``datetime``,
    ``code`` (a digit string kept as text so leading zeros survive) or ``worker`` (text naming who
    answers for an area: a staff or role id; a phone or ID-card number is refused) or ``presets`` (a PTZ
    tour, :func:`gis.ptz.parse`).
    ``choices`` maps every accepted spelling (English key, Chinese word, synonyms)
    to the canonical key that is stored.
    """

    name: str
    kind: str = "str"
    required: bool = False
    label: str = ""
    aliases: tuple[str, ...] = ()
    choices: Mapping[str, str] | None = None
    min: float | None = None
    max: float | None = None
    hint: str = ""

    def canonical_choice(self, value: str) -> str | None:
        """The stored form of ``value`` for a field with choices (Chinese or English, any case), or None."""
        if self.choices is None:
            return value
        return self.choices.get(norm_choice(value))


@dataclass(frozen=True)
class LayerSchema:
    """A layer's schema: its name and label, the geometry types it allows, its fields, and its id field."""

    name: str
    label: str
    geometry: tuple[str, ...] | None
    fields: tuple[Field, ...]
    id_field: str | None = "id"
    description: str = ""
    #: (field, the field it needs, the fix): a row giving the first must give the second
    needs: tuple[tuple[str, str, str], ...] = ()
    by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    @property
    def required(self) -> list[str]:
        """The names of the fields every row must have."""
        return [f.name for f in self.fields if f.required]

    @property
    def columns(self) -> list[str]:
        """The names of every field, in the schema's order."""
        return [f.name for f in self.fields]


def norm_choice(value: str) -> str:
    """A spelling as it is looked up: trimmed, lower case, without spaces, underscores or dashes."""
    return re.sub(r"[\s_\-]+", "", str(value).strip().lower())


def choices(table: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Every spelling of every key (normalised as :func:`norm_choice` does) mapped to its key."""
    out: dict[str, str] = {}
    for key, spellings in table.items():
        for s in (key, *spellings):
            out[norm_choice(s)] = key
    return out
