"""The course notebooks as saved: structure, hygiene and robustness.

* Saved after *Restart Kernel and Run All* (``tools/build_notebooks.py``): execution
  counts 1..N, no error outputs, no widget state in the metadata.
* Each opens with questions, learning objectives, a time estimate and what the
  learner will do; each ends with key points and a link to the next notebook.
* No output loads anything from a CDN; charts use altair's offline renderer.
* Few cells are excused from nbval's output comparison (``nbval-ignore-output``).
* No number is typed into the prose: figures come from code cells (sourced from
  ``data/`` or computed by the replay), so none can drift.
* After the set-up cell(s), every code cell uses only names from the set-up cells
  or from itself, so cells can run in any order. The slow test runs each notebook,
  then runs its cells again in reverse order and checks that every output is the same.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from notebook_checks import names_not_from_setup, typed_numbers

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "course"
#: Part 1 of the course (this file's scope); later parts have their own checks.
NOTEBOOKS = sorted(COURSE.glob("0[0-5]_*.ipynb"))
IGNORE_TAG = "nbval-ignore-output"
SETUP_TAG = "setup"
MAX_IGNORED_PER_NOTEBOOK = 1
MAX_IGNORED_TOTAL = 5


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _code(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"  # random model ids: never compared


def _output_text(output) -> str:
    if output.output_type == "stream":
        return output.text
    if output.output_type == "error":
        return "\n".join(output.traceback)
    data = output.get("data", {})
    return "\n".join(str(v) for k, v in data.items() if k != WIDGET_VIEW)


def test_the_six_notebooks_exist():
    names = [p.stem for p in NOTEBOOKS]
    assert names[:6] == [
        "00_welcome",
        "01_meet_smars",
        "02_deploy_day",
        "03_market_open",
        "04_detect",
        "05_respond",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_saved_after_restart_and_run_all(path):
    nb = _read(path)
    nbformat.validate(nb)
    counts = [c.execution_count for c in _code(nb)]
    assert counts == list(range(1, len(counts) + 1)), "re-run tools/build_notebooks.py"
    for cell in _code(nb):
        assert cell.source.strip(), "empty code cell"
        for output in cell.outputs:
            assert output.output_type != "error", cell.source[:80]
            if output.output_type == "stream":
                assert output.name == "stdout", f"stderr output in: {cell.source[:80]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_widget_state_saved(path):
    nb = _read(path)
    assert "widgets" not in nb.metadata
    text = path.read_text()
    assert "application/vnd.jupyter.widget-state+json" not in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_opens_with_objectives_time_and_tasks(path):
    first = _read(path).cells[0]
    assert first.cell_type == "markdown"
    text = first.source
    assert re.match(rf"# {path.stem[:2]} · \S", text)
    assert re.search(r"\*\*Teaching:\*\* \d+ min · \*\*Exercises:\*\* \d+ min", text)
    for heading in ("## Questions", "## Learning objectives", "## What you will do"):
        assert heading in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_ends_with_key_points_and_next_link(path):
    last = _read(path).cells[-1]
    assert last.cell_type == "markdown"
    assert "## Key points" in last.source
    links = re.findall(r"\]\(([^)]+)\)", last.source)
    assert links, "no link to the next notebook"
    later = [p for p in sorted(COURSE.glob("[0-9][0-9]_*.ipynb")) if p.name > path.name]
    if later:
        assert later[0].name in links, f"{path.name} should link to {later[0].name}"
    else:
        assert "README.md" in links
    for link in links:
        assert (COURSE / link).exists(), link


def test_time_estimates_fit_the_first_half_of_a_three_hour_core():
    total = 0
    for path in NOTEBOOKS:
        text = _read(path).cells[0].source
        teaching, exercises = map(
            int, re.search(r"Teaching:\*\* (\d+) min · \*\*Exercises:\*\* (\d+) min", text).groups()
        )
        total += teaching + exercises
    assert total <= 110  # 00-05; 06-10 have 100 (issue 15: at most 210 for 00-10)


def test_welcome_explains_the_kit_and_checks_rendering():
    nb = _read(COURSE / "00_welcome.ipynb")
    text = "\n".join(c.source for c in nb.cells)
    for needed in ("Run order", "Widgets", "exercises/", "Reset", "docs/setup.md"):
        assert needed in text, needed
    sources = [c.source for c in _code(nb)]
    assert any("check_setup()" in s for s in sources)
    assert any("RenderCheck()" in s for s in sources)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_charts_render_offline(path):
    nb = _read(path)
    setup = _code(nb)[0].source
    assert '_ = alt.renderers.enable("jupyter", offline=True)' in setup
    for cell in _code(nb):
        for call in re.findall(r"renderers\.enable\(([^)]*)\)", cell.source):
            assert "offline=True" in call or "svg" in call, call
        for output in cell.outputs:
            text = _output_text(output)
            assert "cdn.jsdelivr" not in text and "https://cdn" not in text
            assert not re.search(r"<script[^>]+src=[\"']https?:", text)
            assert "application/vnd.vegalite" not in output.get("data", {})


def test_few_cells_ignore_their_output():
    total = 0
    for path in NOTEBOOKS:
        tagged = [
            c
            for c in _code(_read(path))
            if IGNORE_TAG in c.metadata.get("tags", [])
            or c.source.lstrip().startswith("# NBVAL_IGNORE_OUTPUT")
        ]
        assert len(tagged) <= MAX_IGNORED_PER_NOTEBOOK, path.name
        total += len(tagged)
    assert total <= MAX_IGNORED_TOTAL


_ALLOWED_DIGITS = [
    r"`[^`]*`",  # code
    r"\]\([^)]*\)",  # link targets
    r"^#+ 0\d ",  # the notebook's number in its title
    r"\[0\d · ",  # ... and in links to notebooks
    r"\*\*Teaching:\*\* \d+ min · \*\*Exercises:\*\* \d+ min( · \*\*Optional:\*\* \d+ min)?",
    r"\(\d+ min\)",  # exercise headings
    r"¶\d+",  # SEC paragraph citations
    r"\b1 August( 2012)?",  # the day itself
    r"^\s*\d+\. ",  # numbered lists
    r"\b0\d_[a-z_]+\b",  # notebook names
]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_dollar_sign_can_turn_into_maths(path):
    """JupyterLab typesets text between two ``$`` as LaTeX: every ``$`` must be escaped.

    In a Markdown output the escape must be doubled (see ``smars_sim.ui.panel.md``).
    """
    unescaped = re.compile(r"(?<!\\\\)\$")
    for cell in _read(path).cells:
        if cell.cell_type == "markdown":
            assert not unescaped.search(re.sub(r"`[^`]*`", "", cell.source)), cell.source[:60]
            continue
        for output in cell.outputs:
            text = output.get("data", {}).get("text/markdown", "")
            assert not unescaped.search(text), text[:80]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_number_is_typed_into_the_prose(path):
    """Figures belong in code cells: loaded with their source, or computed."""
    assert typed_numbers(_read(path), _ALLOWED_DIGITS) == [], path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_cells_depend_only_on_the_setup_cells(path):
    assert names_not_from_setup(_read(path), SETUP_TAG) == [], path.name


_ADDRESS = re.compile(r"at 0x[0-9a-f]+")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_cells_rerun_in_any_order_give_the_same_output(path, tmp_path):
    """Run the notebook, then every non-set-up cell again, last first: same outputs."""
    from nbclient import NotebookClient

    nb = _read(path)
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(COURSE)}},
        store_widget_state=False,
    )
    with client.setup_kernel():
        first = {}
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, index)
                first[index] = _ADDRESS.sub("", "".join(_output_text(o) for o in cell.outputs))
        for index in reversed(list(first)):
            cell = nb.cells[index]
            if SETUP_TAG in cell.metadata.get("tags", []):
                continue
            client.execute_cell(cell, index)
            again = _ADDRESS.sub("", "".join(_output_text(o) for o in cell.outputs))
            assert again == first[index], cell.source[:80]


def test_course_readme_lists_every_notebook_with_its_times():
    readme = (COURSE / "README.md").read_text()
    for path in NOTEBOOKS:
        line = next((x for x in readme.splitlines() if f"]({path.name})" in x), None)
        assert line, f"README.md has no line for {path.name}"
        header = _read(path).cells[0].source
        teaching, exercises = re.search(
            r"Teaching:\*\* (\d+) min · \*\*Exercises:\*\* (\d+) min", header
        ).groups()
        assert f"({teaching} + {exercises} min)" in line, path.name


def test_instructor_notes_cover_the_workshop():
    text = (COURSE / "INSTRUCTOR.md").read_text()
    for needed in ("## Timings", "## Discussion questions", "## Pitfalls", "## Resetting"):
        assert needed in text
    assert "../docs/setup.md" in text
    # Each plan is a table of "| h:mm | minutes | ..." rows that fills its length exactly.
    plans = (
        ("### The 2-hour plan", 120),
        ("### The 3-hour plan", 180),
        ("### The 3½-hour plan", 210),
    )
    for heading, length in plans:
        assert heading in text, heading
        plan = text.split(heading, 1)[1].split("\n#", 1)[0]
        rows = re.findall(r"^\| (\d):(\d\d) \| (\d+) \|", plan, flags=re.MULTILINE)
        assert rows, heading
        clock = 0
        for hours, mins, minutes in rows:
            assert int(hours) * 60 + int(mins) == clock, (
                f"{heading}: the clock skips at {hours}:{mins}"
            )
            clock += int(minutes)
        assert clock == length, f"{heading} fills {clock} minutes, not {length}"
