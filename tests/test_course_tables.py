"""Tables in notebooks 06-10 are real HTML tables with every value whole (issue 15, item 4)."""

from __future__ import annotations

from html import escape as html_escape

from smars_sim.analysis.fix_outcomes import timeline_rows
from smars_sim.analysis.runs import run
from smars_sim.course import nb09_kill_switch
from smars_sim.ui.fix_panels import timeline_html
from smars_sim.ui.text import html_table, table, text_table

LONG = "a detail far longer than any column, " * 8


def test_a_table_shows_as_html_with_its_text_form_for_plain_text() -> None:
    rows = [{"control": "price collar", "on breach": LONG}, {"control": "kill", "on breach": "x"}]
    shown = table(rows)
    # The whole table, in a wrapper that keeps MathJax off its dollar amounts.
    assert shown._repr_html_() == (
        f"<div class='tex2jax_ignore smars-table'>{html_table(rows)}</div>"
    )
    assert repr(shown) == text_table(rows)
    assert LONG.strip() in shown._repr_html_() and "…" not in shown._repr_html_()
    assert "<table>" in shown._repr_html_()


def test_the_controls_table_of_09_keeps_every_cell_whole() -> None:
    rows = nb09_kill_switch.controls_table()
    html = nb09_kill_switch.table(rows)._repr_html_()
    for row in rows:
        for value in row.values():
            assert html_escape(str(value)) in html


def test_the_timeline_table_cuts_no_detail() -> None:
    result = run(_base())
    html = timeline_html(result, limit=50)
    rows = timeline_rows(result, limit=50)
    assert max(len(str(r["detail"])) for r in rows) > 200  # the case that used to be cut
    for row in rows:
        assert html_escape(str(row["detail"])) in html
    assert "…" not in html


def _base():
    from smars_sim.analysis.fix_outcomes import base_scenario

    return base_scenario().with_(fixes=("verified-deploy",))
