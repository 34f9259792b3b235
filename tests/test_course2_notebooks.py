"""Course part 2 (notebooks 06-10) as saved: the same rules as part 1's notebooks.

* Saved after *Restart Kernel and Run All* (``tools/build_notebooks.py``): execution
  counts 1..N, no error output, no widget state.
* Each opens with questions, learning objectives, a time estimate and what the learner
  will do, and ends with key points and a link to the next notebook.
* Each cites industry practice with a link to its source.
* Charts are drawn offline; no cell is excused from nbval's comparison.
* No number is typed into the prose, and no ``$`` can turn into maths.
* After the set-up cells, each cell uses only names from them or from itself; the slow
  test re-runs every cell in reverse order and checks that the outputs are the same.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from notebook_checks import names_not_from_setup, typed_numbers

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "course"
PART2 = [
    "06_dead_code",
    "07_flag_reuse",
    "08_deploy_verification",
    "09_kill_switch",
    "10_what_if",
]
NOTEBOOKS = [COURSE / f"{name}.ipynb" for name in PART2]
SETUP_TAG = "setup"
_ADDRESS = re.compile(r"at 0x[0-9a-f]+")
HEADER = re.compile(r"\*\*Teaching:\*\* (\d+) min · \*\*Exercises:\*\* (\d+) min")
#: The minutes of the sections marked optional, after the core's (issue 15: a 3-hour core).
OPTIONAL = re.compile(r" · \*\*Optional:\*\* (\d+) min")
#: The core minutes of 06-10 together (00-05 have at most 110; the course at most 210).
PART_TWO_CORE_MINUTES = 100


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _code(nb: nbformat.NotebookNode) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"  # random model ids: nbval skips it


def _output_text(output) -> str:
    if output.output_type == "stream":
        return output.text
    if output.output_type == "error":
        return "\n".join(output.traceback)
    return "\n".join(str(v) for k, v in output.get("data", {}).items() if k != WIDGET_VIEW)


def _cell_text(cell) -> str:
    """A cell's outputs as one text (a print may arrive in one stream chunk or several)."""
    return _ADDRESS.sub("", "".join(_output_text(o) for o in cell.outputs))


def test_the_five_notebooks_exist():
    assert all(p.exists() for p in NOTEBOOKS), [p.name for p in NOTEBOOKS if not p.exists()]


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
    assert "widgets" not in nb.metadata
    assert "application/vnd.jupyter.widget-state+json" not in path.read_text()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_opens_with_objectives_time_and_tasks(path):
    text = _read(path).cells[0].source
    assert re.match(rf"# {path.stem[:2]} · \S", text)
    assert HEADER.search(text)
    for heading in ("## Questions", "## Learning objectives", "## What you will do"):
        assert heading in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_ends_with_key_points_and_next_link(path):
    last = _read(path).cells[-1]
    assert last.cell_type == "markdown" and "## Key points" in last.source
    links = re.findall(r"\]\(([^)]+)\)", last.source)
    index = NOTEBOOKS.index(path)
    if index + 1 < len(NOTEBOOKS):
        assert NOTEBOOKS[index + 1].name in links
    else:
        assert "README.md" in links
    for link in links:
        assert (COURSE / link).exists(), link


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_cites_industry_practice_with_sources(path):
    text = "\n".join(c.source for c in _read(path).cells if c.cell_type == "markdown")
    assert "**The practice.**" in text or "How the best teams" in text or "rules ask" in text
    assert len(re.findall(r"\]\(https?://", text)) >= 2, "cite the practice's sources"


def test_part_two_fits_a_three_hour_workshop():
    total = 0
    for path in NOTEBOOKS:
        teaching, exercises = map(int, HEADER.search(_read(path).cells[0].source).groups())
        total += teaching + exercises
    assert total <= 180


def test_part_two_core_fits_its_share_of_a_three_hour_course():
    """The core minutes (teaching + exercises) of 06-10 add up to at most 100; deeper
    material is in sections marked optional, whose minutes the header states apart."""
    total = 0
    for path in NOTEBOOKS:
        text = _read(path).cells[0].source
        teaching, exercises = map(int, HEADER.search(text).groups())
        assert OPTIONAL.search(text), f"{path.name}: state the optional minutes"
        total += teaching + exercises
    assert total <= PART_TWO_CORE_MINUTES


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_optional_sections_are_marked(path):
    """Every heading after the first that is not core says so: "Optional" in its title."""
    nb = _read(path)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    if OPTIONAL.search(nb.cells[0].source).group(1) != "0":
        assert re.search(r"^## Optional", text, flags=re.MULTILINE), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_cell_drives_a_panel_it_did_not_create(path):
    """State after Run All (issue 15): a panel displayed for the learner is left as the text
    describes it. A cell that demonstrates a panel in code drives an instance of its own."""
    code = _code(_read(path))
    displayed = {c.source.strip() for c in code if c.source.strip().isidentifier()}
    for cell in code:
        if SETUP_TAG in cell.metadata.get("tags", []):
            continue
        for name in displayed:
            if cell.source.strip() == name:
                continue
            assert not re.search(rf"(?<![\w.]){name}\.", cell.source), (
                f"{path.name}: a cell drives the displayed panel {name!r}:\n{cell.source[:200]}"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_charts_render_offline_and_no_cell_is_excused(path):
    nb = _read(path)
    assert '_ = alt.renderers.enable("jupyter", offline=True)' in _code(nb)[0].source
    for cell in _code(nb):
        assert "nbval-ignore-output" not in cell.metadata.get("tags", [])
        assert "NBVAL_IGNORE_OUTPUT" not in cell.source
        for output in cell.outputs:
            text = _output_text(output)
            assert "cdn.jsdelivr" not in text and "https://cdn" not in text
            assert "application/vnd.vegalite" not in output.get("data", {})


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_dollar_sign_can_turn_into_maths(path):
    unescaped = re.compile(r"(?<!\\)\$")
    for cell in _read(path).cells:
        if cell.cell_type == "markdown":
            assert not unescaped.search(re.sub(r"`[^`]*`", "", cell.source)), cell.source[:60]
            continue
        for output in cell.outputs:
            text = output.get("data", {}).get("text/markdown", "")
            assert not unescaped.search(text), text[:80]


_ALLOWED_DIGITS = [
    r"`[^`]*`",  # code
    r"\]\([^)]*\)",  # link targets
    r"^#+ \d\d ",  # the notebook's number in its title
    r"\[\d\d · ",  # ... and in links to notebooks
    HEADER.pattern + OPTIONAL.pattern,
    r"\(\d+ min\)",  # exercise headings
    r"¶\d+",  # SEC paragraph citations
    r"\b1 August( 2012)?",  # the day itself
    r"^\s*\d+\. ",  # numbered lists
    r"\b\d\d_[a-z_]+\b",  # notebook names
]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_number_is_typed_into_the_prose(path):
    """Figures belong in code cells: loaded with their source, or computed."""
    assert typed_numbers(_read(path), _ALLOWED_DIGITS) == [], path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_cells_depend_only_on_the_setup_cells(path):
    assert names_not_from_setup(_read(path), SETUP_TAG) == [], path.name


def test_the_kill_switch_notebook_shows_the_kill_switch_first():
    """The browser test presses the first button named like "kill" in notebook 09."""
    sources = [c.source.strip() for c in _code(_read(COURSE / "09_kill_switch.ipynb"))]
    displayed = [s for s in sources if s.isidentifier()]
    assert displayed[0] == "drill"
    # ... and it must still be enabled after Run All: no cell presses that drill's button.
    assert not any("drill.kill" in s or "drill.advance" in s for s in sources)


def test_course_readme_and_instructor_notes_list_part_two():
    readme = (COURSE / "README.md").read_text()
    instructor = (COURSE / "INSTRUCTOR.md").read_text()
    for path in NOTEBOOKS:
        teaching, exercises = HEADER.search(_read(path).cells[0].source).groups()
        lines = [x for x in readme.splitlines() if f"]({path.name})" in x]
        assert any(f"({teaching} + {exercises} min)" in x for x in lines), path.name
        assert f"]({path.name})" in instructor, path.name


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_cells_rerun_in_any_order_give_the_same_output(path):
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
                first[index] = _cell_text(cell)
        for index in reversed(list(first)):
            cell = nb.cells[index]
            if SETUP_TAG in cell.metadata.get("tags", []):
                continue
            client.execute_cell(cell, index)
            again = _cell_text(cell)
            assert again == first[index], cell.source[:80]
