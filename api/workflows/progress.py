"""How an analysis tells its caller how far it is: one callable, a step's name and, for a long
step, how many of how many are done (the CLI draws a bar with the time left; a job records it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Step(Protocol):
    """``step(name)`` starts a step; ``step(name, done, total)`` says how far a counted one is."""

    def __call__(self, name: str, done: int | None = None, total: int | None = None, /) -> None:
        """Report step ``name`` (and, when counted, ``done`` of ``total``)."""


def quiet(name: str, done: int | None = None, total: int | None = None, /) -> None:
    """A :class:`Step` that reports nowhere (the default)."""


def counter(step: Step, name: str) -> Callable[[int, int], None]:
    """The ``progress(done, total)`` callback of a computation, reported as step ``name``."""

    def tick(done: int, total: int) -> None:
        step(name, done, total)

    return tick
