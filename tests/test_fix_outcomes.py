"""Course part 2's figures, read from replays: outcomes, controls, timeline, tables.

Modules: smars_sim.analysis.fix_outcomes, .controls and .fix_tables (and the loss
curves' data in smars_sim.viz.fix_charts). Replays use ``Scenario.small()`` (3
servers, server 3 missed); nothing here asserts a calibrated figure.
"""

from __future__ import annotations

import pytest

from smars_sim import FLAG, Scenario
from smars_sim.analysis import controls
from smars_sim.analysis import fix_outcomes as fo
from smars_sim.analysis import fix_tables as ft
from smars_sim.analysis.runs import run
from smars_sim.core.fmt import usd
from smars_sim.core.pnl import minutes_to_stop
from smars_sim.viz import fix_charts as fc

SMALL = Scenario.small()


@pytest.fixture(scope="module")
def small() -> object:
    return run(SMALL)


def test_outcome_and_minutes_to_stop(small):
    out = fo.outcome(small)
    assert out["power_peg_parents"] > 0 and out["minutes_to_stop"] > 0
    assert out["loss"] == usd(small.summary.loss_usd)
    assert out["first_control"] == "none" and out["first_control_at"] == ""
    fixed = run(SMALL.with_(fixes=("dead-code",)))
    assert minutes_to_stop(fixed) is None  # Power Peg never ran
    assert fo.outcome(fixed)["minutes_to_stop"] is None
    assert fo.stop_point("fixed", fixed)["minutes_to_stop"] == 0.0  # plotted at the origin
    assert fo.outcome(fixed)["first_control"] == "codebase: Power Peg deleted"
    assert fo.outcome(fixed)["first_control_at"] == "before 1 Aug"


def test_control_events_skip_a_passing_canary_and_keep_the_abort():
    r = run(SMALL.with_(fixes=("verified-deploy",)))
    labels = [label for _, label, _ in controls.control_events(r)]
    assert labels[0] == "deploy automation: rollout aborted"
    assert "flag guard: flag change refused" in labels
    assert not any("canary analysis" in label for label in labels)  # it passed


def test_timeline_rows_group_a_run_of_the_same_action(small):
    rows = fo.timeline_rows(small)
    whats = [r["what"] for r in rows]
    assert "rollback: re-install (servers 1, 2)" in whats
    assert "stop server (servers 1, 2, 3)" in whats
    rollback = next(r for r in rows if str(r["what"]).startswith("rollback"))
    assert rollback["time"] == "09:35:00 to 09:35:10"
    ungrouped = fo.timeline_rows(small, group=False)
    assert len(ungrouped) > len(rows)
    assert all(r["who"] != "technician" for r in rows)
    assert len(fo.timeline_rows(small, limit=2)) == 2


def test_comparison_rows_have_one_column_per_replay(small):
    rows = fo.comparison_rows({"a": small, "b": small})
    assert list(rows[0]) == ["", "a", "b"]
    assert rows[0]["a"] == rows[0]["b"]


def test_loss_curves_data_is_positive_when_money_is_lost(small):
    data = fc.loss_curves_data({"as it happened": small})
    assert set(data.columns) >= {"time", "replay", "loss_usd", "loss_usd_m"}
    assert data["loss_usd"].iloc[-1] == pytest.approx(small.summary.loss_usd, rel=1e-6)


def test_build_rows_say_which_build_carries_power_peg():
    from smars_sim.core.builds import old_build, rlp_build

    rows = ft.build_rows([old_build(), rlp_build(with_power_peg=False)])
    assert [r["Power Peg inside"] for r in rows] == ["yes", "no"]


def test_evaluation_rows_explain_the_default():
    registry = ft.seeded_registry()
    retired = ft.evaluation_row(registry, FLAG)
    assert retired["value"] is False and retired["reason"] == "ERROR"
    assert "retired" in str(retired["message"])
    unknown = ft.evaluation_row(registry, "smars.no.such")
    assert unknown["error code"] == "FLAG_NOT_FOUND"


def test_controls_table_cites_the_rules():
    rows = fo.controls_table()
    rules = " ".join(str(r["rule"]) for r in rows)
    assert "15c3-5" in rules and "RTS 6 Art. 12" in rules and "¶21" in rules
    assert rows[-1]["control"] == "kill switch"


def test_control_actions_are_read_from_structured_fields(small):
    fixed = run(SMALL.with_(fixes=("kill-switch",), kill_at="09:31"))
    actions = controls.control_actions(fixed)
    assert actions and all(a.control == "kill-switch" for a in actions)
    assert {a.actor for a in actions} <= {"risk gate", "risk officer"}
    assert [(a.time, a.label, a.detail) for a in actions] == controls.control_events(fixed)
    assert controls.control_actions(small) == []  # no control in the day as it happened


def test_kill_delay_sweep_and_switch_rows(small):
    sweep = fo.kill_delay_sweep(SMALL, (1, 5))
    assert list(sweep.columns) == ["delay_min", "minutes_to_stop", "loss_usd", "what"]
    assert sweep["loss_usd"].iloc[0] < sweep["loss_usd"].iloc[1]
    rows = fo.kill_switch_rows({"none": small})
    assert rows[0]["Power Peg ran on"] == "servers 1, 2, 3"
    assert rows[0]["what the timeline says"] == "nothing"
    assert fo.stop_point("x", small)["minutes_to_stop"] == minutes_to_stop(small)
