"""The minutes each notebook states at its top are measured, not guessed (issue 15, item 5).

``tools/course_minutes.py`` is the method: reading at a stated rate, the measured Run
All time, a stated allowance per panel and per core exercise. Every notebook
states exactly what the method gives; the course's core fits 210 minutes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import course_minutes as cm

COURSE = Path(__file__).resolve().parents[1] / "course"
PART_1 = sorted(COURSE.glob("0[0-5]_*.ipynb"))
ALL = sorted(COURSE.glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_stated_minutes_are_the_measured_ones(path: Path) -> None:
    m = cm.measure(path)
    assert cm.stated(path) == (m.teaching, m.exercise), (
        f"{path.name} states {cm.stated(path)}, the walkthrough measures "
        f"({m.teaching}, {m.exercise}): run `python tools/course_minutes.py` and update it"
    )
    assert m.exercises >= 1 and m.words > 0


def test_the_first_part_fits_110_minutes() -> None:
    assert sum(sum(cm.stated(p)) for p in PART_1) <= 110


def test_the_whole_core_fits_210_minutes() -> None:
    notebooks = sorted(COURSE.glob("[0-9][0-9]_*.ipynb"))
    assert len(notebooks) == 11
    assert sum(sum(cm.stated(p)) for p in notebooks) <= 210


def test_optional_material_is_outside_the_minutes(tmp_path: Path) -> None:
    import json

    def nb(exercises: str) -> Path:
        cells = [
            {
                "cell_type": "markdown",
                "source": "# 99 · X\n\n**Teaching:** 1 min · **Exercises:** 3 min",
                "metadata": {},
            },
            {"cell_type": "markdown", "source": exercises, "metadata": {}},
        ]
        path = tmp_path / "99_x.ipynb"
        path.write_text(json.dumps({"cells": cells}))
        return path

    core = cm.measure(nb("## Exercises (3 min)\n\n1. One.\n2. Two."))
    with_optional = cm.measure(
        nb(
            "## Exercises (3 min)\n\n1. One.\n2. Two.\n\n**Optional, if you have time**\n\n"
            "3. A long optional question with many, many words in it."
        )
    )
    assert core.exercises == with_optional.exercises == 2
    assert core.words == with_optional.words


def test_instructor_notes_show_the_measured_table() -> None:
    notes = (COURSE / "INSTRUCTOR.md").read_text()
    assert cm.table([p.name[:2] for p in ALL]) in notes, (
        "INSTRUCTOR.md's minutes table is stale: paste `python tools/course_minutes.py`"
    )
