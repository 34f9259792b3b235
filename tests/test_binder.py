"""binder/requirements.txt (repo2docker) is the learner install from pyproject, pinned."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
BINDER = REPO / "binder"


def _generator():  # binder/make_requirements.py, imported by path
    spec = importlib.util.spec_from_file_location(
        "make_requirements", BINDER / "make_requirements.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pins() -> dict[str, str]:
    pins = {}
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([A-Za-z0-9.+!-]+)", line)
        assert match, f"binder/requirements.txt: {line!r} is not an exact pin (name==version)"
        pins[canonicalize_name(match[1])] = match[2]
    return pins


def test_binder_pins_exactly_pyprojects_learner_install() -> None:
    wanted: list[Requirement] = _generator().learner_requirements()
    pins = _pins()
    names = {canonicalize_name(r.name) for r in wanted}
    assert set(pins) == names, (
        f"missing from binder: {sorted(names - set(pins))}; "
        f"not in pyproject: {sorted(set(pins) - names)}. "
        "Run `.venv/bin/python binder/make_requirements.py`."
    )
    for req in wanted:
        pinned = pins[canonicalize_name(req.name)]
        assert req.specifier.contains(pinned, prereleases=True), (
            f"binder pins {req.name}=={pinned}, outside pyproject's {req.specifier}"
        )


def test_binder_stays_lean() -> None:
    pins = _pins()
    for heavy in ("jupyterlite-core", "jupyterlite-pyodide-kernel", "pytest", "playwright", "mypy"):
        assert heavy not in pins
    post = (BINDER / "postBuild").read_text()
    assert "pip install --no-cache-dir --no-deps ." in post  # the package, not new dependencies
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"  # pyproject needs >=3.11
