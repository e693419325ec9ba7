# Sourced by scripts/start and scripts/test: make .venv with Python >= 3.11 and install into it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
find_python() {
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return
    fi
  done
  echo "microdesk needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
  exit 1
}
if [ ! -x .venv/bin/python ]; then
  "$(find_python)" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
install_project() {  # $1: the pip target, e.g. '.' or '.[dev]'
  # Editable install: code changes need no reinstall, so pip runs again only when
  # pyproject.toml changed since the last install of this target.
  local name="${1//[^a-z]/}"
  local stamp=".venv/.installed-${name:-runtime}"
  local want
  want="$(.venv/bin/python -c 'import hashlib,sys; print(hashlib.sha256(open("pyproject.toml","rb").read()).hexdigest())')"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return
  fi
  # setuptools warns about editable installs on every build; the layout is deliberate
  PYTHONWARNINGS=ignore .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$1"
  echo "$want" >"$stamp"
}
