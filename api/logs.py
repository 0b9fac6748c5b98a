"""Logging: one logger per module (``logging.getLogger(__name__)``) under ``api``, ``layers`` and ``gis``.

Nothing is printed until a program asks for it: the CLI's ``-v``/``-vv`` and ``pingan serve
--log-level`` call :func:`configure_logging`; a library user configures ``logging`` as usual.
"""

from __future__ import annotations

import logging
import sys

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: int | str) -> None:
    """Our loggers (``api.*``, ``layers.*``, ``gis.*``) to stderr at ``level``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    for name in ("api", "layers", "gis"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper() if isinstance(level, str) else level)
        logger.propagate = False
