#!/usr/bin/env bash
# Install Pingan Planner, build the demo workspace (a town in 莱西市) and serve its map at
# http://127.0.0.1:8000 (Ctrl+C stops). Arguments go to `pingan demo` (e.g. --force, --port 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_env.sh
if command -v dpkg >/dev/null; then apt_install fonts-noto-cjk; fi  # Chinese text on printed maps
use_venv
python -m pip install -q -e .
exec pingan demo workspace/demo.gpkg --serve "$@"
