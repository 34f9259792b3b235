"""The notebooks' cached replays (smars_sim.analysis.runs): scale, cache, a normal morning."""

from __future__ import annotations

import pytest

from smars_sim import Scenario
from smars_sim.analysis.runs import NOTEBOOK_SCALE, normal_morning, notebook_scenario, run

SMALL = Scenario.small()


@pytest.fixture(scope="module")
def small():
    return run(SMALL)


def test_notebook_scale_is_a_constant():
    assert NOTEBOOK_SCALE == 0.01
    assert notebook_scenario().scale == NOTEBOOK_SCALE
    assert notebook_scenario(scale=0.02).scale == 0.02


def test_run_caches_identical_scenarios(small):
    assert run(Scenario.small()) is small
    assert run(Scenario.small(seed=2)) is not small


def test_normal_morning_has_no_incident():
    normal = normal_morning(SMALL)
    assert normal.stale_servers == () and normal.rollback_at is None
    assert normal.stop_all_at is None
    result = run(normal)
    assert result.summary.parent_orders == 0  # Power Peg never ran
    assert result.summary.bnet_emails == 0


def test_loss_by_rollback_time():
    """The rollback's time is not public: the course shows the loss as a function of it."""
    from smars_sim.analysis.runs import ROLLBACK_TIMES, loss_by_rollback

    assert ROLLBACK_TIMES[0] == "09:35" and ROLLBACK_TIMES[-1] == "10:00"
    rows = loss_by_rollback(("09:35", "09:45", "10:00"))
    assert [t for t, _ in rows] == ["09:35", "09:45", "10:00"]
    losses = [loss for _, loss in rows]
    # An earlier rollback puts the morning's arriving parents on Power Peg sooner (¶27).
    assert losses[0] > losses[1] > losses[2] > 0


def test_rollback_table_marks_the_replays_own_time():
    """Notebook 05's table: one row per time, the scenario's rollback time marked once."""
    from smars_sim.analysis.runs import day, loss_by_rollback, rollback_table
    from smars_sim.core.fmt import hhmm, usd

    times = ("09:40", "09:45", "09:50")
    rows = rollback_table(day(), times)
    assert [r["rollback at"] for r in rows] == list(times)
    assert [r["loss"] for r in rows] == [usd(loss) for _, loss in loss_by_rollback(times)]
    marked = [r["rollback at"] for r in rows if r[""]]
    assert marked == [hhmm(day().scenario.t("rollback_at"))]  # the kit's choice
    assert rollback_table(day(rollback_at="10:00"), times)[1][""] == ""
