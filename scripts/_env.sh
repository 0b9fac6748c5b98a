# Shared by scripts/demo.sh and scripts/test.sh: Debian packages (as root) and the virtualenv.
# shellcheck shell=bash
apt_install() {  # apt_install PKG... : install the missing ones when we are root on Debian
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian packages: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "note: Debian packages not installed (run as root to install): ${missing[*]}" >&2
  fi
}

use_venv() {  # create .venv with the system python3 unless a virtualenv is already active
  if [ -n "${VIRTUAL_ENV:-}" ]; then return 0; fi
  if [ ! -x .venv/bin/python ]; then
    python3 -c 'import ensurepip' 2>/dev/null || apt_install python3-venv
    python3 -m venv .venv
  fi
  # shellcheck disable=SC1091
  . .venv/bin/activate
  python -m pip install -q --upgrade pip
}
