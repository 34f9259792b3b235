"""Response plans replayed (smars_sim.analysis.plans): presets, your plans, minutes to stop."""

from __future__ import annotations

from smars_sim import Scenario, replay
from smars_sim.analysis.plans import Plan, minutes_to_stop, preset_plans

SMALL = Scenario.small()


def test_stop_only_the_stale_server_plan():
    plan = Plan("stop 3", "stop_stale", "09:32")
    result = plan.run(SMALL)
    assert any(e.action == "stop server" and e.server == 3 for e in result.timeline)
    assert minutes_to_stop(result) <= 2.0


def test_presets_start_with_what_happened():
    plans = preset_plans(SMALL)
    assert plans[0].label.startswith("What happened")
    assert plans[0].rollback_at is not None and plans[1].rollback_at is None
    assert {p.action for p in plans} == {"stop_all", "stop_stale", "halt"}


def test_a_halt_plan_is_the_replay_with_that_halt():
    result = Plan("halt", "halt", "09:33").run(SMALL)
    same = replay(SMALL.with_(rollback_at=None, stop_all_at=None, halt_at="09:33"))
    assert result.summary.loss_usd == same.summary.loss_usd


def test_minutes_to_stop_is_none_when_power_peg_never_ran():
    normal = replay(SMALL.with_(stale_servers=(), rollback_at=None, stop_all_at=None))
    assert minutes_to_stop(normal) is None
