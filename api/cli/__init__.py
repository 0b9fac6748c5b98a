"""The ``pingan`` command line (typer). Each command calls the same functions as the API.

One module per group of commands; importing them registers their commands on :data:`app`.
"""

from __future__ import annotations

import sys
from typing import Any

# isort: off
# the commands are listed in the order their modules register them: workspace, exports, analysis, patrol, service
from api.cli import workspace
from api.cli import exports
from api.cli import analysis
from api.cli import design
from api.cli import patrol
from api.cli import service
from api.cli.common import app
# isort: on

__all__ = ["analysis", "app", "design", "exports", "main", "patrol", "service", "workspace"]


def main(argv: list[str] | None = None) -> Any:
    return app(argv if argv is not None else sys.argv[1:])
