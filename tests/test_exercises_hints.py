"""Exercises 04, 05 and 06 (issue 15, item 8): hints that fit the bug, a blank notebook
that shows no traceback, and a hidden variant the blunt fill-count kill cannot pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smars_sim.exercises import QUESTIONS
from tools.exercise_builder.notebooks import exercises
from tools.exercise_builder.verify import run_notebook

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = exercises(ROOT / "exercises")
BY_KEY = {q.key: ex for q in QUESTIONS.values() for ex in EXERCISES if ex.stem == q.notebook}


@pytest.fixture(autouse=True, scope="module")
def _no_ipython_left_behind():
    yield
    from IPython.core.interactiveshell import InteractiveShell

    if InteractiveShell.initialized():
        InteractiveShell.clear_instance()


def _attempt(key: str, code: str):
    """Run a notebook's set-up cells, then ``code`` as the learner's answer; return the report."""
    ex = BY_KEY[key]
    nb = json.loads(ex.learner.read_text(encoding="utf-8"))
    setup = [c for c in nb["cells"] if "setup" in c.get("metadata", {}).get("tags", [])]
    answer = {"cell_type": "code", "id": "attempt", "metadata": {}, "source": code}
    nb["cells"] = [*setup, answer]
    run = run_notebook(ex.learner, nb)
    assert not [c.error for c in run.cells if c.error is not None]
    return run.report(key)


REGISTRY = """
class Registry:
    {state}
    def __init__(self):
        {init}
    def create(self, key):
        {create}
        self.flags[key] = False
    def set(self, key, on):
        if key not in self.flags:
            raise ValueError(f"{{key}} unknown")
        self.flags[key] = on
    def is_on(self, key):
        return self.flags.get(key, False)
    def retire(self, key, reason):
        if key not in self.flags:
            raise ValueError(f"{{key}} unknown")
        del self.flags[key]
        self.dead.add(key)
    def bind(self, key, build):
        if key not in self.flags:
            raise ValueError(f"{{key}} unknown")
"""


def test_q4_a_registry_that_refuses_everything_is_told_so_not_blamed_on_class_state():
    code = REGISTRY.format(
        state="",
        init="self.flags, self.dead = {}, set()",
        create='raise ValueError(f"{key} refused")',
    )
    text = _attempt("q4", code).text()
    assert "Even a fresh Registry() refuses to create a key nobody has used" in text
    assert "live in the class" not in text


def test_q4_a_registry_whose_flags_live_in_the_class_is_told_that():
    code = REGISTRY.format(
        state="flags, dead = {}, set()  # shared by every Registry()",
        init="pass",
        create=(
            "if key in self.flags or key in self.dead:\n"
            '            raise ValueError(f"{key} refused")'
        ),
    )
    text = _attempt("q4", code).text()
    assert "its flags live in the class instead of the instance" in text
    assert "Even a fresh Registry() refuses" not in text


def test_q5_the_blank_notebook_shows_no_traceback_before_the_learner_acts():
    run = run_notebook(BY_KEY["q5"].learner)
    assert [(c.id, c.error) for c in run.cells if c.error is not None] == []
    nb = json.loads(BY_KEY["q5"].learner.read_text(encoding="utf-8"))
    assert not [c for c in nb["cells"] if "raises-exception" in c["metadata"].get("tags", [])]
    # ... and the check still fails every check with a hint, without a traceback
    report = run.report("q5")
    assert not any(o.passed for o in report.outcomes)
    assert "Traceback" not in report.text()


BLUNT = """
class RiskPolicy:
    def __init__(self):
        self.fills = 0
    def allow(self, order):
        return True
    def on_fill(self, fill):
        self.fills += 1
        return self.fills >= {n}  # kill after a number of fills in total
"""

PER_PARENT = """
class RiskPolicy:
    def __init__(self):
        self.out = {}
    def allow(self, order):
        return True
    def on_fill(self, fill):
        self.out[fill.parent_id] = self.out.get(fill.parent_id, 0) + fill.filled
        return self.out[fill.parent_id] > fill.parent_qty  # orders out vs orders in
"""


@pytest.mark.parametrize("n", [350, 500])
def test_q6_a_blunt_fill_count_kill_passes_the_examples_and_fails_a_busy_normal_day(n):
    report = _attempt("q6", BLUNT.format(n=n))
    visible = [o for o in report.outcomes if not o.case.hidden]
    assert all(o.passed for o in visible), report.text()
    failed = [o.case.variant for o in report.outcomes if o.case.hidden and not o.passed]
    assert any("very busy normal day" in v for v in failed), report.text()
    assert "passes the example, fails on a variant: " in report.text()


def test_q6_orders_out_against_orders_in_passes_the_busy_normal_day():
    report = _attempt("q6", PER_PARENT)
    assert report.passed, report.text()
