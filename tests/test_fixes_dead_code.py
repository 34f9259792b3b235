"""The ``dead-code`` fix: builds without Power Peg, the coverage report, the vulture demo."""

from __future__ import annotations

import ast

import pytest
from fix_variants import SMALL_VARIANTS, unfixed_loss

from smars_sim import Scenario, Simulation, replay
from smars_sim.core.router import power_peg
from smars_sim.fixes.dead_code import (
    coverage_report,
    delete_dead_branch,
    pin_flag_read,
    production_day,
    vulture_demo,
)

_unfixed_loss = unfixed_loss


def test_no_build_contains_power_peg():
    sim = Simulation(Scenario.small(fixes=("dead-code",)))
    assert not sim.old_build.contains(power_peg)
    assert not sim.new_build.contains(power_peg)
    assert all(not srv.build.contains("power_peg") for srv in sim.fleet.servers)
    # The stale server still runs the *old* build: the fix is in the code, not the deploy.
    assert sim.fleet.server(3).build is sim.old_build


def test_stale_server_routes_standard_and_the_timeline_says_why():
    result = replay(Scenario.small(fixes=("dead-code",)))
    stale = [p for p in result.parents if p.server == 3 and p.path]
    assert stale and {p.path for p in stale} == {"standard"}
    assert not any(p.ran_power_peg for p in result.parents)
    assert result.summary.parent_orders == 0  # no parent ever reached Power Peg
    deleted = [e for e in result.timeline if e.action == "Power Peg deleted"]
    assert deleted and "contain no Power Peg" in deleted[0].detail


@pytest.mark.parametrize(("name", "kw"), SMALL_VARIANTS)
def test_loss_at_most_one_percent_over_variants(name, kw):
    fixed = replay(Scenario.named(name, fixes=("dead-code",), **kw)).summary
    assert fixed.parent_orders == 0
    assert fixed.loss_usd <= 0.01 * _unfixed_loss(name, **kw)


# ------------------------------------------------------------------ coverage
def test_production_day_coverage_finds_power_peg_never_ran():
    sim = production_day(Scenario.aug1_2012(scale=0.01))
    report = coverage_report(sim)
    # Compiled into every server's build...
    peg_rows = [r for r in report.rows if r.path == "power_peg"]
    assert len(peg_rows) == 8 and all(r.compiled for r in peg_rows)
    # ...and never run: the "dead in production" profile of 2003-2012.
    assert report.hits("power_peg") == 0
    assert report.candidates() == ["power_peg"]
    assert report.hits("standard") > 0
    assert "<- never ran" in report.format()


def test_coverage_of_the_incident_shows_power_peg_ran_on_the_stale_server():
    sim = Simulation(Scenario.small())
    sim.run()
    report = coverage_report(sim)
    ran = {r.server: r.child_orders for r in report.rows if r.path == "power_peg"}
    assert ran[3] > 0  # the stale server's Power Peg, until the operators' actions
    assert "power_peg" not in report.candidates()
    # Child orders per path add up to the child-order log.
    assert sum(r.child_orders for r in report.rows) == len(sim.fleet.children) // 5


# ------------------------------------------------------------------- vulture
@pytest.fixture(scope="module")
def demo():
    return vulture_demo()


def test_vulture_is_silent_while_a_flag_read_guards_power_peg(demo):
    step = demo[0]
    assert step.name == "as is"
    assert not step.mentions("power_peg")
    assert not step.mentions("unsatisfiable")
    assert "if flags.get(flag, False):" in step.source


def test_vulture_reports_the_pinned_branch_at_100_percent(demo):
    step = demo[1]
    assert "if False:" in step.source
    unsatisfiable = [f for f in step.findings if "unsatisfiable 'if' condition" in f]
    assert unsatisfiable and "(100% confidence)" in unsatisfiable[0]
    assert step.exit_code == 3  # a CI gate fails here


def test_vulture_reports_power_peg_unused_once_the_branch_is_gone(demo):
    step = demo[2]
    assert "if False:" not in step.source
    assert "return power_peg" not in step.source
    assert any("unused function 'power_peg'" in f for f in step.findings)
    ast.parse(step.source)  # still valid Python
    assert "def power_peg(" in step.source  # deleting it is the person's job


def test_the_demo_works_on_a_copy(demo, tmp_path):
    from smars_sim.core import router

    with open(router.__file__, encoding="utf-8") as fh:
        assert "if flags.get(flag, False):" in fh.read()  # the package is untouched
    assert demo[0].source.count("return power_peg") == 1


def test_piranha_rewrites_touch_only_the_flag_read():
    source = (
        "__all__ = [\n    'keep',\n    'peg',\n]\n\n\n"
        "def route(flags, flag):\n"
        "    # a comment that must survive\n"
        "    if flags[flag]:\n"
        "        return peg\n"
        "    return keep\n"
    )
    pinned = pin_flag_read(source, function="route")
    assert "    if False:\n" in pinned and "# a comment that must survive" in pinned
    cleaned = delete_dead_branch(pinned, function="route")
    assert "return peg" not in cleaned and "'peg'" not in cleaned and "'keep'" in cleaned
    ast.parse(cleaned)


def test_piranha_refuses_when_there_is_nothing_to_rewrite():
    with pytest.raises(ValueError, match="flag read"):
        pin_flag_read("def route(flags, flag):\n    return 1\n", function="route")
    with pytest.raises(ValueError, match="if False"):
        delete_dead_branch("def route(flags, flag):\n    return 1\n", function="route")
    with pytest.raises(ValueError, match="no function"):
        pin_flag_read("x = 1\n", function="route")
