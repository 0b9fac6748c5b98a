"""What every ``pingan`` command shares: the typer app, the consoles, the workspace argument, errors as exit codes."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from api.logs import configure_logging
from api.workflows.progress import Step
from layers.errors import ImportFormatError, LayerValidationError, UnknownLayerError, WorkspaceError
from layers.store import Store, open_workspace

app = typer.Typer(help="Pingan Planner: grids, risk and video coverage for community safety planning.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
# tables keep their columns when piped: the terminal's width, or 160 columns without one
_WIDTH = shutil.get_terminal_size((160, 24)).columns if sys.stdout.isatty() else 160
# no markup: messages carry user text (names, paths, field names like [a-z_]) that Rich would eat
out = Console(soft_wrap=True, width=_WIDTH, markup=False)
err = Console(stderr=True, soft_wrap=True, width=_WIDTH, markup=False)
DEFAULT_WORKSPACE = "workspace/demo.gpkg"
EXIT_CODES: dict[type[Exception], int] = {
    LayerValidationError: 2, OSError: 2, ImportFormatError: 2, ValueError: 2, UnknownLayerError: 3,
    WorkspaceError: 4, PermissionError: 5, FileExistsError: 6}

WorkspaceOpt = Annotated[str, typer.Option(help="Workspace (a .gpkg file or a postgresql:// URI)")]
Workspace = Annotated[str, typer.Argument(
    help="The workspace: a GeoPackage file, or postgresql://user:password@host:port/database?workspace=name")]


def _version(shown: bool) -> None:
    if shown:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"pingan {version('pingan-planner')}")
        except PackageNotFoundError:  # run from a checkout that was never installed
            print("pingan (not installed: run `pip install -e .`)")
        raise typer.Exit()


@app.callback()
def options(verbose: Annotated[int, typer.Option("--verbose", "-v", count=True,
                                                 help="Say more on stderr: -v what is done, -vv every detail")] = 0,
            show_version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                       help="Print the version and stop")] = False,
            as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object on stdout "
                                                                  "(progress stays on stderr)")] = False,
            ) -> None:
    """Pingan Planner: grids, risk and video coverage for community safety planning."""
    _MODE["json"] = as_json
    configure_logging(logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG)


_MODE = {"json": False}


def _plain(value: Any) -> Any:
    """``value`` as JSON can hold it: frames as lists of records (without geometry), numbers as
    numbers, NaN as null, times as ISO 8601, anything else as its text."""
    if isinstance(value, pd.DataFrame):
        frame = pd.DataFrame(value.drop(columns=[c for c in value.columns if c == "geometry"]))
        return [_plain(r) for r in frame.to_dict("records")]
    if isinstance(value, pd.Series):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        return value.isoformat()
    return value if isinstance(value, str) else str(value)


def emit(data: Mapping[str, Any]) -> bool:
    """With ``pingan --json``: print ``data`` as one JSON object on stdout and return True, and the
    command prints nothing else; else return False, and the command prints for people."""
    if not _MODE["json"]:
        return False
    sys.stdout.write(json.dumps(_plain(data), ensure_ascii=False) + "\n")
    sys.stdout.flush()
    return True


def people_table(*headers: str, **options: Any) -> Table:
    """A table for people: box-drawn on a terminal, plain columns when piped or with ``NO_COLOR``."""
    if not sys.stdout.isatty() or os.environ.get("NO_COLOR"):
        options = {"box": None, "show_edge": False, "pad_edge": False, **options}
    return Table(*headers, **options)


def json_mode() -> bool:
    """Whether the command runs as ``pingan --json``."""
    return _MODE["json"]


def say(text: str) -> None:
    """A line for people: on stdout, or on stderr with ``--json`` (stdout is the JSON alone)."""
    (err if _MODE["json"] else out).print(text, highlight=False)


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn domain errors into one readable message and a non-zero exit code."""
    try:
        yield
    except tuple(EXIT_CODES) as exc:
        # the message as plain text: Rich markup would eat '[a-z_]' in it (field names, paths)
        err.print(Text.assemble(("error: ", "bold red"), str(exc)), highlight=False)
        code = next((EXIT_CODES[t] for t in type(exc).__mro__ if t in EXIT_CODES), 1)  # the closest class wins
        raise typer.Exit(code) from None


@contextmanager
def progress_steps(title: str) -> Iterator[Step]:
    """A :class:`~api.workflows.progress.Step` for the terminal (on stderr): each step named on its
    own line, and a live line with the step, a bar, done/total, the time taken and the time left
    while a counted step runs (a terminal only: piped, just the lines)."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("·"), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(title, total=None)
        current: list[str | None] = [None]

        def step(name: str, done: int | None = None, total: int | None = None, /) -> None:
            if name != current[0]:  # a new step: its line, and the bar (and its clock) restarted
                current[0] = name
                err.print(f"  · {name}", highlight=False)
                bar.reset(task, total=total, description=f"{title}: {name}")
            if done is not None:
                bar.update(task, completed=done, total=total)

        yield step


def open_store(path: str | Path) -> Store:
    return open_workspace(path)


def redact(uri: str) -> str:
    """A URI without its password, for messages and the audit log."""
    from layers.pgsql import redact

    return redact(uri)
