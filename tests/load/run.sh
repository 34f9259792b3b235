#!/usr/bin/env bash
# The JupyterHub load test, in its own venv (never the learner's .venv):
#   bash tests/load/run.sh --learners 10 --json load.json
# The venv ($SMARS_LOAD_VENV, default /tmp/smars-load-venv) holds jupyterhub plus
# the course (`pip install -e '.[course]'`); it is made once and kept.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
VENV="${SMARS_LOAD_VENV:-${TMPDIR:-/tmp}/smars-load-venv}"
STAMP="$VENV/.smars-load-installed"
if [ ! -f "$STAMP" ] || [ tests/load/requirements.txt -nt "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  echo "== load test venv: $VENV"
  "${PYTHON:-python3}" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -r tests/load/requirements.txt -e '.[course]'
  touch "$STAMP"
fi
if [ ! -x tests/load/node_modules/.bin/configurable-http-proxy ]; then
  echo "== npm ci (tests/load: configurable-http-proxy)"
  (cd tests/load && npm ci --no-audit --no-fund)
fi
exec "$VENV/bin/python" tests/load/hub_load.py "$@"
