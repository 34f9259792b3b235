"""The minutes a notebook states at its top, from a timed walkthrough: the method, as code.

A notebook's core time is what a learner spends on its core path, measured as:

* **reading**: the words of its markdown cells and of its Markdown and text outputs,
  outside the sections marked optional, at :data:`WORDS_PER_MINUTE`;
* **running**: its Run All time in JupyterLab in Chromium, measured
  (:data:`MEASURED_RUN_ALL_S`, from ``tests/browser/test_laptop_widths.py`` at
  1920×1080: open, Run All, measure every output);
* **hands-on**: :data:`PANEL_MINUTES` per interactive panel the text asks the learner
  to use (a widget output): the walkthrough did each described interaction in the
  browser (``tests/browser/test_lab_interactions.py`` does them too; every redraw
  took under a second), so this allowance is the learner's looking and deciding;
* **exercises**: :data:`EXERCISE_MINUTES` per core exercise (a numbered item of the
  "Exercises" cell before its "Optional" part).

The header states ``Teaching`` = reading + running + hands-on and ``Exercises`` =
the exercise allowance, each rounded up to a whole minute. ``course/INSTRUCTOR.md``
gives the table this prints (``python tools/course_minutes.py``).
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "course"

#: A careful reading rate for technical prose with numbers in it.
WORDS_PER_MINUTE = 150
#: Looking at a panel, trying what the text describes and deciding what it shows.
PANEL_MINUTES = 2.0
#: One core exercise: read it, try it, write or say the answer.
EXERCISE_MINUTES = 3.0
#: Run All in JupyterLab in Chromium, seconds: the duration of
#: ``test_laptop_widths.py::test_no_output_is_cut_off[1920x1080-NN]`` (open the
#: notebook, Run All, measure every output), so an upper bound. Measured on the
#: 2-core course machine shared with other jobs, notebook 04 with its full-size
#: cache built (a cold cache adds about ten seconds once).
MEASURED_RUN_ALL_S: dict[str, float] = {
    "00": 14.4,
    "01": 20.4,
    "02": 16.4,
    "03": 15.3,
    "04": 20.2,
    "05": 17.4,
    # 06-10: Run All in Lab, from the click to the kernel going idle
    # (tests/browser/test_lab_state_after_run_all.py's walkthrough, same machine).
    "06": 9.1,
    "07": 12.2,
    "08": 10.8,
    "09": 15.3,
    "10": 21.6,
}
#: The line at the top of every notebook.
HEADER = re.compile(r"\*\*Teaching:\*\* (\d+) min · \*\*Exercises:\*\* (\d+) min")
#: Where a notebook's optional material starts (a heading or a bold lead-in).
OPTIONAL = re.compile(r"^(#+ |\*\*)Optional", re.M)
WIDGET = "application/vnd.jupyter.widget-view+json"


@dataclass(frozen=True, slots=True)
class Minutes:
    """One notebook's measured core time."""

    notebook: str
    words: int
    run_all_s: float
    panels: int
    exercises: int
    #: The optional sections, at the same rates (their cells are run by Run All too).
    optional_minutes: int = 0

    @property
    def teaching(self) -> int:
        """Reading, running and hands-on, rounded up."""
        minutes = self.words / WORDS_PER_MINUTE + self.run_all_s / 60
        return math.ceil(minutes + self.panels * PANEL_MINUTES)

    @property
    def exercise(self) -> int:
        """The core exercises' allowance, rounded up."""
        return math.ceil(self.exercises * EXERCISE_MINUTES)

    @property
    def total(self) -> int:
        return self.teaching + self.exercise


def _words(text: str) -> int:
    return len(re.findall(r"[A-Za-z0-9$%.,'’-]+", text))


def _text(value: str | list[str]) -> str:
    return "".join(value) if isinstance(value, list) else value


def _exercises(text: str) -> int:
    return len(re.findall(r"^\d+\. ", text, re.M))


def measure(path: Path) -> Minutes:
    """The core and optional time of one notebook (its stored outputs are Run All's).

    A notebook is read section by section: a ``## `` heading starts a section, core
    unless the heading says "Optional"; inside a core section, a line that starts
    "**Optional" (or a deeper "Optional" heading) makes the rest of it optional.
    Numbered items count as exercises in a section headed "Exercises" (core) or
    "Optional exercises".
    """
    nb = json.loads(path.read_text())
    core = Tally()
    extra = Tally()
    optional = in_exercises = False
    for cell in nb["cells"]:
        source = _text(cell["source"])
        if cell["cell_type"] == "markdown":
            for part in re.split(r"(?m)^(?=## )", source):
                if part.startswith("## "):
                    optional = part.startswith("## Optional")
                    in_exercises = bool(re.match(r"## (Optional )?[Ee]xercises?\b", part))
                cut = None if optional else OPTIONAL.search(part)
                head, tail = (part[: cut.start()], part[cut.start() :]) if cut else (part, "")
                (extra if optional else core).add(head, in_exercises)
                if cut:
                    optional = True
                    extra.add(tail, in_exercises)
            continue
        tally = extra if optional else core
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET in data:
                tally.panels += 1
                continue
            tally.words += _words(_text(data.get("text/markdown") or out.get("text") or ""))
    key = path.name[:2]
    return Minutes(
        path.stem,
        core.words,
        MEASURED_RUN_ALL_S.get(key, 0.0),
        core.panels,
        core.exercises,
        optional_minutes=extra.minutes(),
    )


@dataclass(slots=True)
class Tally:
    """Words, panels and exercises of one part (core or optional) of a notebook."""

    words: int = 0
    panels: int = 0
    exercises: int = 0

    def add(self, text: str, in_exercises: bool) -> None:
        self.words += _words(text)
        if in_exercises:
            self.exercises += _exercises(text)

    def minutes(self) -> int:
        """Reading, hands-on and exercises at the core's rates, rounded up."""
        return math.ceil(
            self.words / WORDS_PER_MINUTE
            + self.panels * PANEL_MINUTES
            + self.exercises * EXERCISE_MINUTES
        )


def stated(path: Path) -> tuple[int, int]:
    """The ``(teaching, exercises)`` minutes a notebook states at its top."""
    nb = json.loads(path.read_text())
    match = HEADER.search(_text(nb["cells"][0]["source"]))
    if match is None:
        raise ValueError(f"{path.name}: no 'Teaching: N min · Exercises: N min' line")
    return int(match.group(1)), int(match.group(2))


def table(keys: list[str]) -> str:
    """The Markdown table of measured minutes for notebooks ``keys`` (e.g. ``["00", ...]``)."""
    lines = [
        "| notebook | words | Run All (s) | panels | core exercises "
        "| teaching | exercises | total | optional |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    total = optional = 0
    for key in keys:
        m = measure(next(COURSE.glob(f"{key}_*.ipynb")))
        total += m.total
        lines.append(
            f"| {m.notebook} | {m.words} | {m.run_all_s:.0f} | {m.panels} | {m.exercises} | "
            f"{m.teaching} | {m.exercise} | {m.total} | {m.optional_minutes} |"
        )
        optional += m.optional_minutes
    lines.append(f"| **total** | | | | | | | **{total}** | {optional} |")
    return "\n".join(lines)


#: The whole header line (teaching, exercises and the optional sections' minutes).
FULL_HEADER = re.compile(
    r"\*\*Teaching:\*\* \d+ min · \*\*Exercises:\*\* \d+ min( · \*\*Optional:\*\* \d+ min)?"
)


def header(m: Minutes) -> str:
    """The line a notebook states at its top, from its measurement."""
    return (
        f"**Teaching:** {m.teaching} min · **Exercises:** {m.exercise} min"
        f" · **Optional:** {m.optional_minutes} min"
    )


def write_headers(keys: list[str]) -> list[str]:
    """Restate each notebook's header from its measurement; return the names changed.

    Only the header line of the first cell changes (the notebook's JSON is rewritten
    with the one-space indent and key order Jupyter saves).
    """
    changed = []
    for key in keys:
        path = next(COURSE.glob(f"{key}_*.ipynb"))
        nb = json.loads(path.read_text())
        first = _text(nb["cells"][0]["source"])
        new = FULL_HEADER.sub(header(measure(path)), first, count=1)
        if new == first:
            continue
        # Keep the cell's own form: one string, or a list of lines.
        was_text = isinstance(nb["cells"][0]["source"], str)
        nb["cells"][0]["source"] = new if was_text else new.splitlines(keepends=True)
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        changed.append(path.name)
    return changed


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--write"]:
        print("\n".join(write_headers(args[1:] or list(MEASURED_RUN_ALL_S))) or "no change")
    else:
        print(table(args or list(MEASURED_RUN_ALL_S)))
