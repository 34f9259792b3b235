# smars-sim: set-up, tests, lint and the course servers.
# Every target works from a fresh clone, and with `make -C path/to/repo TARGET`.

SHELL   := /bin/bash
PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings

# Notebooks checked by nbval (only those that exist are passed to pytest).
NOTEBOOKS = $(wildcard course/*.ipynb exercises/solutions/*.ipynb)
NBVAL_OPTS = --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:randomly

# `jupyter lab` refuses to start as root without --allow-root.
ALLOW_ROOT = $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.DEFAULT_GOAL := help
.PHONY: help install test lint format lab bench console class-board exercises reset-exercises clean distclean lite

help:
	@echo "make install          create .venv and install -e '.[course,test]'"
	@echo "make test             unit tests, nbval over the notebooks, browser tests, browser edition"
	@echo "make lint             ruff check, ruff format --check, mypy"
	@echo "make format           ruff format + ruff check --fix"
	@echo "make lab              JupyterLab on my-course/, your own copy of course/"
	@echo "make console          Voila on course/console.ipynb"
	@echo "make class-board CLASS_DB=path/to/class.db   Voila on the instructor's class board"
	@echo "make bench            python benchmarks/run.py"
	@echo "make lite             build the browser edition (JupyterLite) into _build/lite/"
	@echo "make exercises        build the exercise notebooks"
	@echo "make reset-exercises EX=NAME   reset one exercise"
	@echo "make clean / distclean         remove build artefacts (distclean: also .venv)"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip

# Re-run the install only when pyproject.toml changes.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -e '.[course,test]'
	@# Silence JupyterLab's "official Jupyter news?" toast in this venv.
	mkdir -p $(LAB_SETTINGS)
	printf '%s\n' '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}' > $(LAB_SETTINGS)/overrides.json
	touch $@

install: $(STAMP)

# pytest exits 5 when it collects no test: the notebook and browser steps treat
# that as "nothing to run", the unit-test step does not.
test: $(STAMP)
	$(BIN)/pytest tests --ignore=tests/browser --ignore=tests/lite
	@nbs="$(NOTEBOOKS)"; \
	if [ -z "$$nbs" ]; then \
	  echo "nbval: no notebooks in course/ or exercises/solutions/, skipping"; \
	else \
	  echo "nbval: $$nbs"; \
	  rc=0; $(BIN)/pytest $(NBVAL_OPTS) $$nbs || rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "nbval: no cells collected, skipping"; \
	  elif [ $$rc -ne 0 ]; then exit $$rc; fi; \
	fi
	@if [ ! -d tests/browser ]; then \
	  echo "browser tests: no tests/browser directory, skipping"; \
	else \
	  rc=0; $(BIN)/pytest tests/browser -m browser || rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "browser tests: none collected, skipping"; \
	  elif [ $$rc -ne 0 ]; then exit $$rc; fi; \
	fi
	@# The browser edition: build the site, then run it in Chromium offline (a
	@# subset of the notebooks; SMARS_LITE_NOTEBOOKS=all for every one, docs/lite.md).
	$(MAKE) lite
	$(BIN)/pytest tests/lite -m lite

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Lab serves the whole repository (the course links to exercises/) and opens on the
# learner's own copy, my-course/ (untracked; tools/learner_copy.py makes it on the first
# run and adds new notebooks later), so Lab's autosave never rewrites a tracked notebook
# and `git pull` of course updates never conflicts. nbval and CI run on course/.
# Before Lab starts, the two things a kernel would otherwise make beside itself: the
# full-size execution log notebook 04 reads (a full-day replay, ~10 s once) and the
# chart bundle. Built here, no kernel's memory sits beside them (docs/jupyterhub.md,
# "Memory"); once built, each is only checked (its sha256), in well under a second.
# glibc's malloc returns every block over 128 kB to the system when it is freed (by
# default it stops doing so after the first large free): a kernel that once held
# notebook 04's big table then gives it back (docs/jupyterhub.md, "Memory").
LEAN_MALLOC := MALLOC_MMAP_THRESHOLD_=131072

lab: $(STAMP)
	$(PY) tools/learner_copy.py
	$(PY) -m smars_sim.analysis.execution_log build-cache
	$(PY) -m smars_sim.viz.offline build
	$(LEAN_MALLOC) $(BIN)/jupyter lab $(ALLOW_ROOT) --ServerApp.root_dir="$(CURDIR)" my-course/00_welcome.ipynb

bench: $(STAMP)
	$(PY) benchmarks/run.py

# smars-offline (share/jupyter/voila/templates/) is Voila's lab template without
# its Font Awesome CDN links, so the console makes no request off the machine.
console: $(STAMP)
	$(LEAN_MALLOC) JUPYTER_PATH=$(CURDIR)/share/jupyter $(BIN)/voila course/console.ipynb --no-browser \
	  --template=smars-offline \
	  --MappingKernelManager.cull_idle_timeout=600 \
	  --MappingKernelManager.cull_interval=60

# The instructor's class board (tools/class_board.ipynb), offline like the console.
# CLASS_DB defaults to $SMARS_CLASS_DB; on a hub, set SMARS_CLASS_BOARD_URL and
# SMARS_CLASS_TOKEN instead (docs/jupyterhub.md, "The class board").
CLASS_DB ?= $(SMARS_CLASS_DB)
BOARD_PORT ?= 8866
class-board: $(STAMP)
	@if [ -z "$(CLASS_DB)" ] && [ -z "$$SMARS_CLASS_BOARD_URL" ]; then \
	  echo "make class-board: set CLASS_DB=path/to/class.db (or SMARS_CLASS_BOARD_URL)"; exit 2; fi
	SMARS_CLASS_DB="$(if $(CLASS_DB),$(abspath $(CLASS_DB)))" JUPYTER_PATH=$(CURDIR)/share/jupyter \
	  $(BIN)/voila tools/class_board.ipynb --no-browser --template=smars-offline \
	  --Voila.ip=127.0.0.1 --port=$(BOARD_PORT)

exercises: $(STAMP)
	$(PY) -m tools.exercise_builder build

reset-exercises: $(STAMP)
	$(PY) -m tools.exercise_builder reset $(EX)

# The browser edition (docs/lite.md): a static JupyterLite site in _build/lite/.
# Its own venv (JupyterLite must not share the course's), Pyodide from npm
# (tools/lite/package-lock.json), every served file pinned in tools/lite/lite-lock.json.
LITE_VENV := _build/lite-venv
LITE_STAMP := $(LITE_VENV)/.installed

$(LITE_STAMP): tools/lite/requirements.lock
	$(PYTHON) -m venv $(LITE_VENV)
	$(LITE_VENV)/bin/python -m pip install --require-hashes -r tools/lite/requirements.lock
	touch $@

tools/lite/node_modules/.package-lock.json: tools/lite/package-lock.json
	cd tools/lite && npm ci --no-audit --no-fund

lite: $(LITE_STAMP) tools/lite/node_modules/.package-lock.json
	$(LITE_VENV)/bin/python tools/lite/build.py

clean:
	rm -rf build dist _build .pytest_cache .mypy_cache .ruff_cache .hypothesis .benchmarks test-artifacts
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name '*.egg-info' -o -name .ipynb_checkpoints \) -type d -print0 \
	  | xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV)
