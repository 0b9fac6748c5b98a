"""How an analysis tells its caller how far it is: one callable, a step's name and, for a long
step, how many of how many are done (the CLI draws a bar with the time left; a job records it)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Protocol


class Step(Protocol):
    """``step(name)`` starts a step; ``step(name, done, total)`` says how far a counted one is."""

    def __call__(self, name: str, done: int | None = None, total: int | None = None, /) -> None:
        """Report step ``name`` (and, when counted, ``done`` of ``total``)."""


def quiet(name: str, done: int | None = None, total: int | None = None, /) -> None:
    """A :class:`Step` that reports nowhere (the default)."""


def as_step(progress: Callable[..., object] | None) -> Step:
    """``progress`` as a :class:`Step`: itself when it takes a count, else called with each step's name
    only (``print``, ``list.append``, a one-argument function), the counts left out."""
    if progress is None:
        return quiet
    try:
        inspect.signature(progress).bind("step", 1, 2)
    except TypeError:
        named: list[str] = []

        def by_name(name: str, done: int | None = None, total: int | None = None, /) -> None:
            if not named or named[-1] != name:
                named.append(name)
                progress(name)

        return by_name
    except ValueError:  # a builtin without a signature (print takes any number)
        pass
    return progress  # type: ignore[return-value]


def counter(step: Step, name: str) -> Callable[[int, int], None]:
    """The ``progress(done, total)`` callback of a computation, reported as step ``name``."""

    def tick(done: int, total: int) -> None:
        step(name, done, total)

    return tick
