"""The ``verified-deploy`` fix: hash reports, the flag gate, the canary and its judge."""

from __future__ import annotations

import math

import pytest
from fix_variants import SMALL_VARIANTS, unfixed_loss

from smars_sim import Scenario, Simulation, replay
from smars_sim.core.builds import Build, old_build
from smars_sim.core.router import power_peg, route_pre_rlp, standard
from smars_sim.fixes.verified_deploy import (
    METRICS,
    Rollout,
    canary_samples,
    judge,
    mann_whitney_p,
)

_unfixed_loss = unfixed_loss


def _rollout(sim: Simulation) -> Rollout:
    rollout = sim.deploy.__self__  # the fix installs Rollout.run as the deploy procedure
    assert isinstance(rollout, Rollout)
    return rollout


def test_missed_server_fails_verification_and_the_flag_is_refused():
    sim = Simulation(Scenario.small(fixes=("verified-deploy",)))
    rollout = _rollout(sim)
    assert rollout.status == "failed"
    assert rollout.problems == [
        f"server 3 reports {sim.old_build.short_hash} ({sim.old_build.version}), "
        f"not {sim.new_build.short_hash}"
    ]
    # Aborted and rolled back: the fleet is consistent again, on the stable build.
    assert {srv.build.sha256 for srv in sim.fleet.servers} == {sim.old_build.sha256}
    result = sim.run()
    refused = [e for e in result.timeline if e.action == "flag change refused"]
    assert len(refused) == 1 and "is not on the whole fleet" in refused[0].detail
    assert refused[0].time == sim.scenario.t("flag_on_at")
    assert not any(e.action == "flag on" for e in result.timeline)
    assert not any(p.ran_power_peg for p in result.parents)
    aborted = [e for e in result.timeline if e.action == "rollout aborted"]
    assert aborted and "fleet verification failed" in aborted[0].detail
    assert any(page[1] == "deploy automation" for page in result.pages)


def test_the_canary_goes_first_and_is_analysed_before_promotion():
    sim = Simulation(Scenario.small(fixes=("verified-deploy",)))
    rollout = _rollout(sim)
    assert rollout.analysis is not None and rollout.analysis.verdict == "PASS"
    steps = [(e.action, e.server) for e in sim.fleet.timeline if e.actor == "deploy automation"]
    assert steps[:3] == [("release manifest", 0), ("deploy + verify", 1), ("canary analysis", 1)]
    assert ("deploy + verify", 2) in steps[3:]


def test_a_stale_canary_is_caught_before_any_analysis():
    sim = Simulation(Scenario.small(fixes=("verified-deploy",), stale_servers=(1,)))
    rollout = _rollout(sim)
    assert rollout.status == "failed" and rollout.analysis is None
    assert rollout.problems[0].startswith("server 1 reports")
    assert all(srv.build is sim.old_build for srv in sim.fleet.servers)


def test_a_missing_report_fails_the_deploy():
    sim = Simulation(Scenario.small(stale_servers=()))
    sim.set_builds(sim.old_build, sim.new_build)
    rollout = Rollout(sim, unreachable=(2,), analyse=False)
    rollout.run()
    assert rollout.status == "failed"
    assert rollout.problems == ["server 2 sent no hash report"]
    assert rollout.guard(sim.rlp_flag, True, 0) is not None


def test_a_complete_rollout_lets_the_flag_on_and_the_gate_checks_live():
    sim = Simulation(Scenario.small(fixes=("verified-deploy",), stale_servers=()))
    rollout = _rollout(sim)
    assert rollout.status == "succeeded" and rollout.problems == []
    assert rollout.guard(sim.rlp_flag, True, 0) is None
    assert rollout.guard("some.other.flag", True, 0) is None  # not the release's flag
    assert rollout.guard(sim.rlp_flag, False, 0) is None  # switching off is always allowed
    sim.fleet.server(2).build = sim.old_build  # someone re-installs the old build by hand
    reason = rollout.guard(sim.rlp_flag, True, 0)
    assert reason is not None and "server 2 reports" in reason


def test_a_canary_that_reaches_power_peg_fails_and_is_rolled_back():
    # The 5 parents of Scenario.small() are too few for a significant test: use aug1.
    sim = Simulation(Scenario.aug1_2012(scale=0.01, stale_servers=()))
    bad = Build("2012.07-bad", route_pre_rlp, (standard, power_peg), sim.rlp_flag, "bad release")
    sim.set_builds(sim.old_build, bad)
    rollout = Rollout(sim)
    rollout.run()
    analysis = rollout.analysis
    assert analysis is not None and analysis.verdict == "FAIL" and analysis.score == 0
    critical = next(m for m in analysis.metrics if m.critical)
    assert critical.name == "child_orders_per_filled_parent"
    assert critical.classification == "High"
    assert rollout.status == "failed"
    assert all(srv.build is sim.old_build for srv in sim.fleet.servers)  # never promoted
    assert any("canary analysis FAIL" in e.detail for e in sim.fleet.timeline)


def test_canary_samples_measure_one_servers_share():
    s = Scenario.small(stale_servers=())
    base = canary_samples(s, old_build(), s.flag, flags_on=False, server=1)
    peg = canary_samples(s, old_build(), s.flag, flags_on=True, server=1)
    assert set(base) == {m.name for m in METRICS}
    assert len(base["order_rate"]) == len(peg["order_rate"]) == 10  # 5 min in 30 s buckets
    assert max(peg["child_orders_per_filled_parent"]) > max(base["child_orders_per_filled_parent"])
    assert sum(peg["order_rate"]) > sum(base["order_rate"])


# ---------------------------------------------------------------------- judge
def test_mann_whitney_matches_the_textbook():
    assert mann_whitney_p([1, 2, 3], [4, 5, 6]) == pytest.approx(0.0809, abs=1e-4)
    assert mann_whitney_p([1, 1, 1], [1, 1, 1]) == 1.0
    assert mann_whitney_p([0] * 10, [1] * 10) < 1e-4
    assert mann_whitney_p([], [1]) == 1.0


def _samples(**overrides: list[float]) -> dict[str, list[float]]:
    base = {m.name: [1.0, 1.1, 0.9, 1.0, 1.05, 0.95, 1.0, 1.0, 1.1, 0.9] for m in METRICS}
    base.update(overrides)
    return base


def test_judge_verdicts():
    high = [5.0, 5.5, 4.5, 5.0, 5.2, 4.8, 5.0, 5.1, 4.9, 5.0]
    low = [0.0] * 10
    assert judge(_samples(), _samples()).verdict == "PASS"
    assert judge(_samples(), _samples(order_rate=low)).verdict == "PASS"  # fewer is fine
    marginal = judge(_samples(), _samples(order_rate=high))
    assert (marginal.verdict, marginal.score) == ("MARGINAL", 75.0)
    two = judge(_samples(), _samples(order_rate=high, net_notional=high))
    assert (two.verdict, two.score) == ("FAIL", 50.0)
    critical = judge(_samples(), _samples(child_orders_per_filled_parent=high))
    assert (critical.verdict, critical.score) == ("FAIL", 0.0)
    assert "critical" in critical.reason


def test_judge_no_data_fails_and_small_noise_passes():
    empty = {m.name: [] for m in METRICS}
    nodata = judge(empty, empty)
    assert nodata.verdict == "FAIL" and all(m.classification == "Nodata" for m in nodata.metrics)
    assert math.isnan(nodata.metrics[0].ratio)
    noisy = judge(_samples(), _samples(order_rate=[1.2, 1.0, 1.3, 0.9, 1.1] * 2))
    assert noisy.verdict == "PASS"  # within the allowed increase
    assert "verdict PASS" in noisy.summary()


@pytest.mark.parametrize(("name", "kw"), SMALL_VARIANTS)
def test_loss_at_most_one_percent_over_variants(name, kw):
    fixed = replay(Scenario.named(name, fixes=("verified-deploy",), **kw)).summary
    assert fixed.parent_orders == 0
    assert fixed.loss_usd <= 0.01 * _unfixed_loss(name, **kw)
