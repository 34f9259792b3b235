"""The ``kill-switch`` fix: the pre-trade risk gate, its throttles, and the fleet-wide kill."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import pytest
from fix_variants import SMALL_VARIANTS, unfixed_loss

from smars_sim import Result, Scenario, Simulation, parse_time, replay
from smars_sim.cli import main
from smars_sim.fixes.kill_switch import RiskGate, RiskLimits

MANUAL = RiskLimits.manual_only()


_unfixed_loss = unfixed_loss


def _aug1_unfixed() -> float:
    return _unfixed_loss("aug1-2012", scale=0.01)


def _aug1(**kw: object) -> Scenario:
    return Scenario.aug1_2012(scale=0.01, **kw)


def _gate(sim: Simulation) -> RiskGate:
    assert isinstance(sim.fleet.gate, RiskGate)
    return sim.fleet.gate


def _params(limits: RiskLimits | None) -> dict[str, RiskLimits]:
    """``Scenario.fix_params`` for these kill-switch limits (none: the fix's defaults)."""
    return {} if limits is None else {"kill-switch": limits}


@cache
def _run(limits: RiskLimits | None = None) -> tuple[Simulation, Result]:
    """The aug1 replay (scale 0.01) with the kill-switch fix and these limits, run once."""
    sim = Simulation(_aug1(fixes=("kill-switch",), fix_params=_params(limits)))
    return sim, sim.run()


def test_default_limits_stop_the_incident_and_the_timeline_says_which_control():
    sim, result = _run()
    assert result.summary.loss_usd <= 0.10 * _aug1_unfixed()
    gate = _gate(sim)
    assert gate.killed_at is not None
    kills = [e for e in result.timeline if e.action.startswith("kill switch engaged")]
    assert len(kills) == 1
    assert kills[0].action == "kill switch engaged: reconciliation"
    assert "orders out > orders in" in kills[0].detail
    assert any(p[1] == "reconciliation" and p[0] == gate.killed_at for p in result.pages)


def test_the_kill_blocks_every_server_at_once_and_cancels_working_orders():
    sim, result = _run()
    killed = _gate(sim).killed_at
    assert killed is not None
    assert all(not srv.running and srv.stopped_at == killed for srv in sim.fleet.servers)
    assert all(not srv.working for srv in sim.fleet.servers)
    assert sim.fleet.rlp_resting == {}  # resting RLP orders cancelled
    times = result.children[0::5]
    assert max(times) <= killed  # no child order after the kill
    cancelled = [p for p in result.parents if p.rejected.startswith("cancelled: kill switch")]
    assert cancelled and all(p.filled_qty < p.qty for p in cancelled)
    over = [p for p in result.parents if p.rejected.startswith("over-executed")]
    assert len(over) == 1 and over[0].filled_qty > over[0].qty  # the breach itself


@pytest.mark.parametrize(
    ("limits", "control", "stops"),
    [
        (replace(MANUAL, reconcile=True), "reconciliation", True),
        (replace(MANUAL, capital_threshold_usd=25e6), "capital threshold", True),
        (replace(MANUAL, max_messages_per_s=50.0), "message-rate throttle", True),
        (replace(MANUAL, max_executions_per_parent=100), "repeated-execution throttle", True),
        (replace(MANUAL, price_collar_pct=10.0), "price collar", False),
    ],
)
def test_each_control_alone(limits, control, stops):
    sim, result = _run(limits)
    gate = _gate(sim)
    fired = [e for e in gate.events if e.control == control]
    assert fired, f"{control} never fired"
    assert any(
        e.actor in ("risk gate", "risk officer") and control in e.action for e in result.timeline
    )
    loss = result.summary.loss_usd
    if stops:
        assert loss <= 0.10 * _aug1_unfixed()
    else:
        # Per-order checks only reject single orders: Power Peg keeps going.
        assert gate.rejected[control] > 0
        assert loss > 0.10 * _aug1_unfixed()


def test_capital_threshold_counts_orders_sent_and_warns_first():
    sim, result = _run(replace(MANUAL, capital_threshold_usd=25e6))
    gate = _gate(sim)
    warns = [e for e in gate.events if e.action == "warn"]
    assert [e.detail.split("%")[0] for e in warns] == ["50", "75", "90"]
    assert gate.gross_sent_usd <= 25e6
    assert all(e.time <= gate.killed_at for e in warns)  # type: ignore[operator]
    assert sum(1 for p in result.pages if p[1] == "capital threshold") == 4


def test_a_throttle_disables_until_a_designated_person_re_enables():
    limits = replace(MANUAL, max_executions_per_parent=100)
    sim = Simulation(_aug1(fixes=("kill-switch",), fix_params=_params(limits), rollback_at=None))
    sim.advance_to("09:35")
    gate = _gate(sim)
    assert list(gate.disabled) == [8]
    assert not sim.fleet.server(8).running and sim.fleet.server(7).running
    blocked = sim.fleet.server(8)
    assert not blocked.working
    with pytest.raises(ValueError, match="may not re-enable"):
        gate.reenable("the stale server's developer", sim.now, server=8)
    with pytest.raises(ValueError, match="not disabled"):
        gate.reenable("risk officer", sim.now, server=3)
    sim.advance_to("09:40")
    assert list(gate.disabled) == [8]  # still disabled: nobody re-enabled it
    gate.reenable("risk officer", sim.now, server=8)
    assert sim.fleet.server(8).running and not gate.disabled
    result = sim.run()
    assert any(
        e.actor == "risk officer" and e.action == "trading re-enabled" for e in result.timeline
    )


def test_after_the_kill_only_designated_staff_turn_trading_back_on():
    sim = Simulation(Scenario.small(fixes=("kill-switch",), kill_at="09:31"))
    sim.advance_to("09:32")
    gate = _gate(sim)
    assert gate.killed_at is not None
    with pytest.raises(ValueError, match="designated staff: risk officer, head of trading"):
        gate.reenable("", sim.now)
    gate.reenable("head of trading", sim.now)
    assert gate.killed_at is None and all(srv.running for srv in sim.fleet.servers)
    result = sim.run()
    entry = [e for e in result.timeline if e.action == "trading re-enabled"]
    assert entry and entry[0].actor == "head of trading" and "all servers" in entry[0].detail


def test_per_order_size_and_value_limits_reject_single_orders():
    limits = replace(MANUAL, max_order_shares=150)
    sim = Simulation(Scenario.small(fixes=("kill-switch",), fix_params=_params(limits)))
    sim.run()
    gate = _gate(sim)
    assert gate.rejected["size limit"] > 0 and gate.killed_at is None
    limits = replace(MANUAL, max_order_usd=20.0)
    sim = Simulation(Scenario.small(fixes=("kill-switch",), fix_params=_params(limits)))
    sim.run()
    assert _gate(sim).rejected["order value limit"] > 0


def test_limits_scale_with_the_replay():
    gate = Simulation(_aug1(fixes=("kill-switch",))).fleet.gate
    assert isinstance(gate, RiskGate)
    d = RiskLimits()
    assert gate.max_shares == pytest.approx(d.max_order_shares / 0.01)  # type: ignore[operator]
    assert gate.refill_per_ns * 1e9 == pytest.approx(d.max_messages_per_s * 0.01)  # type: ignore[operator]
    assert gate.max_executions == d.min_count


def test_bnet_rejects_page_someone():
    result = replay(Scenario.small(fixes=("kill-switch",)))
    bnet = [p for p in result.pages if p[1] == "BNET rejects"]
    assert bnet and result.emails
    assert bnet[0][0] >= result.emails[0][0]
    assert "Power Peg disabled" in bnet[0][2]


# ------------------------------------------------------------------ manual kill
def test_manual_kill_without_the_fix_installs_only_the_kill_switch():
    sim = Simulation(_aug1(kill_at="09:40"))
    gate = _gate(sim)
    assert gate.limits == RiskLimits.manual_only()
    result = sim.run()
    assert gate.killed_at == parse_time("09:40")
    kills = [e for e in result.timeline if e.action == "kill switch engaged: manual kill"]
    assert kills and kills[0].actor == "risk officer" and kills[0].time == gate.killed_at
    assert max(result.children[0::5]) <= gate.killed_at
    assert result.summary.loss_usd < _aug1_unfixed()


# ------------------------------------------------------------------- variants
@pytest.mark.parametrize(("name", "kw"), SMALL_VARIANTS)
def test_loss_at_most_ten_percent_over_variants(name, kw):
    fixed = replay(Scenario.named(name, fixes=("kill-switch",), **kw)).summary
    assert fixed.loss_usd <= 0.10 * _unfixed_loss(name, **kw)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"capital_threshold_usd": -1.0}, "capital_threshold_usd -1.0 is impossible"),
        ({"max_order_shares": 0}, "max_order_shares 0 is impossible"),
        ({"max_messages_per_s": 0.0}, "max_messages_per_s 0.0 is impossible"),
        ({"price_collar_pct": 150.0}, "below 100"),
        ({"message_burst": 0}, "message_burst 0"),
        ({"warn_at_pct": (90.0, 50.0)}, "increasing"),
        ({"designated_staff": ()}, "named person"),
    ],
)
def test_impossible_limits_are_refused(change, fragment):
    with pytest.raises(ValueError, match=fragment):
        replace(RiskLimits(), **change).validate()
    with pytest.raises(ValueError, match=fragment):
        Scenario.small(
            fixes=("kill-switch",), fix_params={"kill-switch": replace(RiskLimits(), **change)}
        ).validate()


def test_kill_time_outside_the_day_is_refused():
    with pytest.raises(ValueError, match="kill-at 07:00:00 is outside the simulated day"):
        Scenario.small(kill_at="07:00").validate()
    with pytest.raises(ValueError, match="outside the simulated day"):
        Scenario.small(kill_at="12:00").validate()
    with pytest.raises(ValueError, match="not a clock time"):
        Scenario.small(kill_at="9h30").validate()


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--kill-at", "07:00"], "kill-at 07:00:00 is outside the simulated day"),
        (["--kill-at", "25:00"], "not a clock time"),
        (["--fix", "kill-switch", "--limit", "capital_threshold_usd=-5"], "impossible"),
        (["--fix", "kill-switch", "--limit", "max_order_shares=0"], "impossible"),
        (["--fix", "kill-switch", "--limit", "bogus=1"], "NAME=VALUE"),
        (["--fix", "kill-switch", "--limit", "max_order_shares=many"], "not a valid int"),
        (["--fix", "kill-swich"], "unknown fix 'kill-swich'"),
        (["--limit", "max_order_shares=10"], "add --fix kill-switch"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(capsys, argv, fragment):
    code = main(["replay", "--scenario", "small", *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and fragment in err and "Traceback" not in err


def test_cli_kill_at_and_limits_reach_the_replay(capsys):
    import json

    code = main(
        ["replay", "--scenario", "small", "--kill-at", "09:31", "--json"],
    )
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["pages"] >= 1
    code = main(
        ["replay", "--scenario", "small", "--fix", "kill-switch", "--limit", "reconcile=off",
         "--limit", "capital_threshold_usd=off", "--json"]
    )  # fmt: skip
    assert code == 0 and json.loads(capsys.readouterr().out)["fixes"] == ["kill-switch"]
