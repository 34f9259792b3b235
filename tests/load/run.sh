#!/usr/bin/env bash
# The JupyterHub load test, in its own venv (never the learner's .venv), as root:
#   bash tests/load/run.sh --learners 10 --json load.json
# It runs the class recipe (docs/jupyterhub_config.py): the hub creates one system
# user per learner and runs each learner's server as that user, from this venv. So
# the venv is built on a Python that every user can run (Debian's /usr/bin/python3;
# a pyenv under /root is not one), and the course is installed into it as a copy
# (not editable), so learners never need to read this clone.
# The venv is made once per clone and kept: by default it is named after the clone's
# path ($TMPDIR/smars-load-venv-<hash>); $SMARS_LOAD_VENV names another. The course
# is reinstalled from this clone on every run (a few seconds).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO="$(pwd -P)"
KEY="$(printf '%s' "$REPO" | sha256sum | cut -c1-12)"
VENV="${SMARS_LOAD_VENV:-${TMPDIR:-/tmp}/smars-load-venv-$KEY}"
STAMP="$VENV/.smars-load-installed"

as_nobody() { (cd / && setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"); }
BASE=""
for py in ${SMARS_LOAD_PYTHON:-} /usr/bin/python3 "${PYTHON:-python3}"; do
  if as_nobody "$py" -I -c 'import sys, venv, ensurepip; assert sys.version_info >= (3, 11)' \
    >/dev/null 2>&1; then
    BASE="$(command -v "$py")"
    break
  fi
done
if [ -z "$BASE" ]; then
  echo "run.sh: no Python 3.11+ with venv that every user can run (learners' servers run as" \
    "their own users); set SMARS_LOAD_PYTHON" >&2
  exit 2
fi

WANT="$(printf '%s\n%s\n' "$REPO" "$BASE")"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ] \
  || [ tests/load/requirements.txt -nt "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  echo "== load test venv: $VENV (Python $BASE, course from $REPO)"
  if [ -e "$VENV" ] && [ ! -f "$VENV/pyvenv.cfg" ]; then
    echo "run.sh: $VENV exists and is not a venv; not touching it" >&2
    exit 2
  fi
  "$BASE" -m venv --clear "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -r tests/load/requirements.txt '.[course]'
  printf '%s' "$WANT" > "$STAMP"
fi
# This clone's course, as a copy in the venv (hatchling is in requirements.txt).
"$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation --force-reinstall .
if ! as_nobody "$VENV/bin/python" -I -c 'import jupyterhub, smars_sim' >/dev/null 2>&1; then
  echo "run.sh: another user cannot run $VENV (check the modes of its folders)" >&2
  exit 2
fi
if [ ! -x tests/load/node_modules/.bin/configurable-http-proxy ]; then
  echo "== npm ci (tests/load: configurable-http-proxy)"
  (cd tests/load && npm ci --no-audit --no-fund)
fi
exec "$VENV/bin/python" tests/load/hub_load.py "$@"
