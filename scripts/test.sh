#!/usr/bin/env bash
# Install what the tests need and run them all: ruff, mypy, then pytest (extra args go to pytest).
# As root on Debian (CI) it installs Chromium, the CJK fonts and PostgreSQL with PostGIS (the
# tests start a private cluster of their own on a loopback port); elsewhere, tests that need
# them skip with their reason (and fail when CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_env.sh
if command -v dpkg >/dev/null; then apt_install chromium fonts-noto-cjk postgresql-15-postgis-3 gdal-bin; fi
use_venv
python -m pip install -q -e ".[test]"
# GDAL's GeoPackage validator (pure Python; without its 'gdal' dependency, which would build GDAL)
python -m pip install -q --no-deps "gdal-utils==3.13.3.0"
echo "== ruff" && ruff check .
echo "== mypy" && mypy gis layers api
# two workers (PYTEST_WORKERS=0 for one process); a test file's tests stay on one worker, so its
# module fixtures are built once
echo "== pytest" && python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadfile "$@"
