"""Every "¶N" cited in the course's Markdown resolves to a sourced row of a record table.

A paragraph of the SEC order cited in ``course/``, ``exercises/``, ``docs/`` or
``README.md`` (Markdown files and notebooks' Markdown cells) must have a row in
``data/record_figures.csv``, ``timeline.csv``, ``named_tickers.csv`` or
``mechanism.csv`` whose ``source`` cites the same paragraph, so every citation a learner
reads can be followed to a row with its status and source.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
RECORD_TABLES = ("record_figures", "timeline", "named_tickers", "mechanism")
#: "¶27", "¶ 27", and ranges "¶22–24", "¶14-¶16".
PARAGRAPH = re.compile(r"¶\s*(\d+)(?:\s*[–-]\s*¶?\s*(\d+))?")


def _paragraphs(text: str) -> set[int]:
    found: set[int] = set()
    for match in PARAGRAPH.finditer(text):
        first = int(match.group(1))
        last = int(match.group(2) or first)
        found.update(range(first, max(first, last) + 1))
    return found


def _markdown() -> list[tuple[str, str]]:
    """(path, Markdown text) for every Markdown file and notebook Markdown cell."""
    out: list[tuple[str, str]] = [("README.md", (REPO / "README.md").read_text("utf-8"))]
    for folder in ("course", "exercises", "docs"):
        for path in sorted((REPO / folder).rglob("*.md")):
            out.append((str(path.relative_to(REPO)), path.read_text("utf-8")))
        for path in sorted((REPO / folder).rglob("*.ipynb")):
            if ".ipynb_checkpoints" in path.parts:
                continue
            cells = json.loads(path.read_text("utf-8"))["cells"]
            for i, cell in enumerate(cells):
                if cell["cell_type"] == "markdown":
                    out.append((f"{path.relative_to(REPO)} cell {i}", "".join(cell["source"])))
    return out


def _cited() -> dict[int, list[str]]:
    cited: dict[int, list[str]] = {}
    for where, text in _markdown():
        for n in _paragraphs(text):
            cited.setdefault(n, []).append(where)
    return cited


def _sourced() -> set[int]:
    sourced: set[int] = set()
    for name in RECORD_TABLES:
        with (DATA / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if "[SEC]" in row["source"]:
                    sourced |= _paragraphs(row["source"])
    return sourced


def test_the_pattern_reads_single_paragraphs_and_ranges():
    assert _paragraphs("SEC ¶27, ¶1 ¶17 and ¶22–24; ¶14-¶16") == {1, 14, 15, 16, 17, 22, 23, 24, 27}


def test_something_is_cited():
    assert len(_cited()) >= 5


@pytest.mark.parametrize("paragraph", sorted(_cited()))
def test_every_cited_paragraph_has_a_sourced_row(paragraph):
    where = _cited()[paragraph]
    assert paragraph in _sourced(), (
        f"¶{paragraph} is cited in {', '.join(sorted(set(where))[:5])} but no row of "
        f"data/{{{', '.join(RECORD_TABLES)}}}.csv cites it in its source; add the row "
        "(with status, source and a quote of at most 15 words) if the record supports it"
    )
