"""Domain errors of the data layer.

Every error subclasses a builtin so callers that do not know our types still catch
them (``except ValueError``), and every message names the place and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one cell (or one row, or one column) of an input layer.

    ``row`` is the row as the user counts it: the spreadsheet row for CSV/XLSX files
    (header = row 1) and the 1-based feature number otherwise; ``None`` for a
    problem with the whole column or file.
    """

    row: int | None
    field: str | None
    value: object
    message: str
    fix: str = ""

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else "file"
        if self.field and not self.message.startswith(self.field):  # '纬度 121.3 is …' names it already
            where += f", {self.field}"
        text = f"{where}: {self.message}"
        if self.fix:
            text += f" — {self.fix}"
        return text


class LayerValidationError(ValueError):
    """A layer failed validation; ``problems`` lists every problem found."""

    max_shown = 50

    def __init__(self, layer: str, problems: list[Problem], source: str | None = None):
        self.layer = layer
        # file-level problems first, then rows in order (stable: a row's problems keep check order)
        self.problems = sorted(problems, key=lambda p: (p.row is not None, p.row or 0))
        self.source = source
        super().__init__(self._text())

    def _text(self) -> str:
        src = f" from {self.source}" if self.source else ""
        n = len(self.problems)
        head = f"layer '{self.layer}'{src}: {n} problem{'s' if n != 1 else ''} found, nothing was stored"
        lines = [head] + [f"  - {p}" for p in self.problems[: self.max_shown]]
        if n > self.max_shown:
            lines.append(f"  … and {n - self.max_shown} more (see .problems)")
        return "\n".join(lines)


class UnknownLayerError(KeyError):
    """A layer name that is not part of the data model or not in the workspace."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want plain text
        return str(self.args[0])


class WorkspaceError(RuntimeError):
    """The workspace cannot be opened, read or written (damaged, locked, wrong kind)."""


class WorkspaceExistsError(FileExistsError, WorkspaceError):
    """Creating a workspace where one exists already (the CLI's exit 6, "file exists")."""


class ImportFormatError(ValueError):
    """A file cannot be read as the format it claims to be (empty, truncated, unknown)."""
