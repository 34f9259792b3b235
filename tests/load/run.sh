#!/usr/bin/env bash
# The JupyterHub load test, in its own venv (never the learner's .venv):
#   bash tests/load/run.sh --learners 10 --json load.json
# The venv holds jupyterhub plus this clone's course (`pip install -e '.[course]'`).
# It is made once per clone and kept: by default it is named after the clone's path
# ($TMPDIR/smars-load-venv-<hash>), because an editable install points at one clone.
# With $SMARS_LOAD_VENV set, the venv is re-pointed whenever another clone uses it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO="$(pwd -P)"
KEY="$(printf '%s' "$REPO" | sha256sum | cut -c1-12)"
VENV="${SMARS_LOAD_VENV:-${TMPDIR:-/tmp}/smars-load-venv-$KEY}"
STAMP="$VENV/.smars-load-installed"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$REPO" ] \
  || [ tests/load/requirements.txt -nt "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  echo "== load test venv: $VENV (course from $REPO)"
  "${PYTHON:-python3}" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -r tests/load/requirements.txt -e '.[course]'
  printf '%s' "$REPO" > "$STAMP"
fi
if [ ! -x tests/load/node_modules/.bin/configurable-http-proxy ]; then
  echo "== npm ci (tests/load: configurable-http-proxy)"
  (cd tests/load && npm ci --no-audit --no-fund)
fi
exec "$VENV/bin/python" tests/load/hub_load.py "$@"
