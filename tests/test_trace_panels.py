"""Notebook 01's panels (smars_sim.ui.trace_panels), headless: the tracer, the flag, the book."""

from __future__ import annotations

import pytest

from smars_sim import Scenario
from smars_sim.analysis import tables
from smars_sim.analysis.runs import run
from smars_sim.core.clock import OPEN_NS
from smars_sim.ui.trace_panels import BookViewer, FlagExplorer, ParentTracer

SMALL = Scenario.small()


@pytest.fixture(scope="module")
def small():
    return run(SMALL)


pytestmark = pytest.mark.usefixtures("offline_renderer")


def test_parent_tracer_follows_each_kind_of_order(small):
    tracer = ParentTracer(small)
    labels = list(tracer.examples)
    assert len(labels) == 4
    stale = tracer.examples[labels[0]]
    text = "\n".join(tracer.trace(stale))
    assert "route_pre_rlp()" in text and "power_peg()" in text and "server 3" in text
    good = tracer.examples[labels[1]]
    text = "\n".join(tracer.trace(good))
    # SEC ¶27, as the kit reads it: the rollback does not take back an order resting in
    # the RLP; parents arriving after it meet Power Peg on the re-installed servers.
    assert "rlp()" in text and "so there it stays" in text
    assert "rollback re-installs" not in text
    rollback = small.scenario.t("rollback_at")
    late = next(p for p in small.parents if p.received > rollback and p.server != 3)
    text = "\n".join(tracer.trace(late.id))
    assert "route_pre_rlp()" in text and "power_peg()" in text
    rejected = "\n".join(tracer.trace(tracer.examples[labels[3]]))
    assert "rejected" in rejected and "BNET" in rejected
    standard = "\n".join(tracer.trace(tracer.examples[labels[2]]))
    assert "standard()" in standard


def test_parent_tracer_dropdown_changes_steps_and_chart(small):
    tracer = ParentTracer(small)
    ids = list(tracer.examples.values())
    tracer.dropdown.value = ids[2]
    assert tracer.current == ids[2]
    assert f"#{ids[2]}" in tracer.steps.value
    fills = tracer.view.data
    ex = tables.executions(small)
    assert fills["filled"].iloc[-1] == ex[ex["parent_id"] == ids[2]]["qty"].sum()
    with pytest.raises(ValueError, match="no parent order"):
        tracer.trace(10_000)


def test_flag_explorer_shows_the_two_meanings():
    flags = FlagExplorer()
    paths = {r["build"]: r["code path"] for r in flags.rows()}
    assert paths == {"2011.12-pre-rlp": "power_peg()", "2012.07-rlp": "rlp()"}
    flags.flag_toggle.value = False
    assert {r["code path"] for r in flags.rows()} == {"standard()"}
    assert "standard()" in flags.table.value
    flags.flag_toggle.value = True
    flags.order_toggle.value = False
    paths = {r["build"]: r["code path"] for r in flags.rows()}
    assert paths == {"2011.12-pre-rlp": "power_peg()", "2012.07-rlp": "standard()"}


def test_book_viewer_before_and_after_the_open():
    book = BookViewer(SMALL, symbols=["AAA", "BBB"])
    book.time.value = book.times[0]
    assert "empty before the open" in book.summary()
    assert book.depth().empty
    book.time.value = OPEN_NS
    depth = book.depth()
    assert set(depth["side"]) == {"bid", "offer"}
    assert (
        depth[depth["side"] == "bid"]["price_usd"].max()
        < depth[depth["side"] == "offer"]["price_usd"].min()
    )
    book.symbol.value = "BBB"
    assert book.summary().startswith("BBB at 09:30:00")
    assert book.view.data.equals(book.depth())
