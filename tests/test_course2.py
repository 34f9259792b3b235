"""Course part 2 panels (smars_sim.course.part2), headless: build, click, set values, read back.

Most tests use ``Scenario.small()`` (3 servers, server 3 missed), which replays in a
fraction of a second; the kill-switch lab and the timing test use the notebooks' scale
(``Scenario.aug1_2012(scale=0.01)``), as the notebooks do. Nothing here asserts a
calibrated figure: the tests check mechanisms (which control acted, who kept sending,
what was refused), not headline numbers.
"""

from __future__ import annotations

import time
from datetime import date, timedelta

import pandas as pd
import pytest

from smars_sim import FLAG, Scenario, Simulation
from smars_sim.core.clock import OPEN_NS, parse_time
from smars_sim.course import part2 as c2
from smars_sim.fixes import dead_code
from smars_sim.fixes import flag_registry as flags
from smars_sim.fixes import verified_deploy as deploy
from smars_sim.ui import widgets as sw

SMALL = Scenario.small()
RLP = "the RLP release"
BAD = "a bad release (made up): the flag reaches Power Peg"
STALE = "the stale build with the flag on (server 8 on the day)"


pytestmark = pytest.mark.usefixtures("offline_renderer")


@pytest.fixture(scope="module")
def small() -> object:
    return sw.run(SMALL)


# ----------------------------------------------------------------- reading a replay
def test_outcome_and_minutes_to_stop(small):
    out = c2.outcome(small)
    assert out["power_peg_parents"] > 0 and out["minutes_to_stop"] > 0
    assert out["loss"] == sw.C.usd(small.summary.loss_usd)
    assert out["first_control"] == "none" and out["first_control_at"] == ""
    fixed = sw.run(SMALL.with_(fixes=("dead-code",)))
    assert c2.minutes_to_stop(fixed) == 0.0
    assert c2.outcome(fixed)["first_control"] == "codebase: Power Peg deleted"
    assert c2.outcome(fixed)["first_control_at"] == "before 1 Aug"


def test_control_events_skip_a_passing_canary_and_keep_the_abort():
    r = sw.run(SMALL.with_(fixes=("verified-deploy",)))
    labels = [label for _, label, _ in c2.control_events(r)]
    assert labels[0] == "deploy automation: rollout aborted"
    assert "flag guard: flag change refused" in labels
    assert not any("canary analysis" in label for label in labels)  # it passed


def test_timeline_rows_group_a_run_of_the_same_action(small):
    rows = c2.timeline_rows(small)
    whats = [r["what"] for r in rows]
    assert "rollback: re-install (servers 1, 2)" in whats
    assert "stop server (servers 1, 2, 3)" in whats
    rollback = next(r for r in rows if str(r["what"]).startswith("rollback"))
    assert rollback["time"] == "09:35:00 to 09:35:10"
    ungrouped = c2.timeline_rows(small, group=False)
    assert len(ungrouped) > len(rows)
    assert all(r["who"] != "technician" for r in rows)
    assert len(c2.timeline_rows(small, limit=2)) == 2


def test_comparison_rows_have_one_column_per_replay(small):
    rows = c2.comparison_rows({"a": small, "b": small})
    assert list(rows[0]) == ["", "a", "b"]
    assert rows[0]["a"] == rows[0]["b"]


def test_loss_curves_data_is_positive_when_money_is_lost(small):
    data = c2.loss_curves_data({"as it happened": small})
    assert set(data.columns) >= {"time", "replay", "loss_usd", "loss_usd_m"}
    assert data["loss_usd"].iloc[-1] == pytest.approx(small.summary.loss_usd, rel=1e-6)


# ------------------------------------------------------------------- fix replays (06, 07)
def test_fix_replay_rejects_an_unknown_fix():
    with pytest.raises(ValueError, match="unknown fix"):
        c2.FixReplay("no-such-fix", ("off", "on"), SMALL)


def test_dead_code_replay_toggle_and_missed_server():
    panel = c2.DeadCodeReplay(SMALL)
    assert panel.scenario().fixes == ("dead-code",)
    assert c2.outcome(panel.result())["power_peg_parents"] == 0
    panel.toggle.value = False  # as clicking "Power Peg kept" does
    assert panel.scenario().fixes == ()
    assert c2.outcome(panel.result())["power_peg_parents"] > 0
    panel.missed.value = 1
    assert panel.scenario().stale_servers == (1,)
    assert {p.server for p in panel.result().parents if p.ran_power_peg} >= {1}
    panel.set(fixed=True, missed=2)
    assert "Power Peg ran on no server" in panel.describe()
    data = panel.view.data
    assert set(data["replay"]) == {c2.AS_IT_HAPPENED, "yours"}
    assert "yours" in panel.table.value and "Timeline" not in panel.table.value


def test_dead_code_replay_server_paths_show_the_stale_server_routing_standard():
    panel = c2.DeadCodeReplay(SMALL)
    rows = panel.server_paths(at="09:33")
    stale = [r for r in rows if r["server"] == 3]
    assert stale and {r["path"] for r in stale} == {"standard"}
    panel.set(fixed=False)
    assert "power_peg" in {r["path"] for r in panel.server_paths(at="09:33") if r["server"] == 3}


def test_flag_replay_old_build_reads_the_tombstoned_key():
    panel = c2.FlagReplay(SMALL)
    rows = {r["build"]: r for r in panel.flags_read()}
    assert rows["2011.12-pre-rlp"]["reads key"] == FLAG
    assert rows["2011.12-pre-rlp"]["served"] is False
    assert rows["2012.07-rlp"]["reads key"] == flags.RLP_FLAG
    assert rows["2012.07-rlp"]["served"] is True
    panel.set(fixed=False)
    rows = {r["build"]: r for r in panel.flags_read()}
    assert rows["2011.12-pre-rlp"]["served"] is True  # the reused key: Power Peg on
    panel.set(fixed=True)
    assert "flag registry: retired key read" in panel.describe()


# ------------------------------------------------------------------------------ 06
def test_coverage_view_marks_power_peg_as_never_run():
    report = dead_code.coverage_report(dead_code.production_day(SMALL))
    view = c2.coverage_view(report)
    assert "power_peg" in view.describe() and "0 hits" in view.describe()
    data = view.data
    assert set(data[data["path"] == "power_peg"]["status"]) == {"never ran"}
    rows = c2.coverage_rows(report)
    assert {r["path"] for r in rows} == {"standard", "power_peg"}


def test_deletion_steps_end_with_a_clean_vulture_run():
    steps = c2.deletion_steps()
    assert [s.name for s in steps] == [
        "as is",
        "flag read pinned",
        "branch deleted",
        "function deleted",
    ]
    assert [s.exit_code for s in steps] == [0, 3, 3, 0]
    assert "unsatisfiable 'if'" in steps[1].findings[0]
    assert "unused function 'power_peg'" in steps[2].findings[0]
    assert "def power_peg" not in steps[3].source and "def standard" in steps[3].source
    compile(steps[3].source, "router.py", "exec")  # still valid Python


def test_delete_function_refuses_an_unknown_name():
    with pytest.raises(ValueError, match="no top-level function"):
        c2.delete_function("x = 1\n", "power_peg")


def test_vulture_steps_panel_shows_the_diff_of_each_step():
    panel = c2.VultureSteps()
    assert "exit code 0" in panel.describe()
    panel.picker.value = 2  # as clicking step 2 does
    assert "+    if False:" in panel.diff_text()
    assert "exit code 3" in panel.describe() and "if False" in panel.diff.value
    panel.show_step(4)
    assert "-def power_peg" in panel.diff_text()


def test_build_rows_say_which_build_carries_power_peg():
    from smars_sim.core.builds import old_build, rlp_build

    rows = c2.build_rows([old_build(), rlp_build(with_power_peg=False)])
    assert [r["Power Peg inside"] for r in rows] == ["yes", "no"]


# ------------------------------------------------------------------------------ 07
def test_flag_console_refuses_the_old_key_with_the_registry_message():
    console = c2.FlagConsole()
    assert console.create(FLAG) is False
    assert console.last.startswith("REFUSED") and "tombstoned" in console.last
    assert console.turn_on(FLAG) is False
    assert console.create("RLP_ENABLED") is False and "naming pattern" in console.last
    console.key.value = flags.RLP_FLAG  # as typing does
    console.buttons["create"].click()
    assert console.ok and console.last == f"OK: create {flags.RLP_FLAG!r}"
    console.buttons["on"].click()
    assert console.evaluate()["value"] is True
    console.buttons["retire"].click()
    console.buttons["create"].click()
    assert not console.ok and "cannot be created again" in console.last
    assert "REFUSED" in console.message.value
    console.reset_button.click()
    assert [r["key"] for r in c2.registry_rows(console.registry)] == [FLAG]


def test_evaluation_rows_explain_the_default():
    registry = c2.seeded_registry()
    retired = c2.evaluation_row(registry, FLAG)
    assert retired["value"] is False and retired["reason"] == "ERROR"
    assert "retired" in str(retired["message"])
    unknown = c2.evaluation_row(registry, "smars.no.such")
    assert unknown["error code"] == "FLAG_NOT_FOUND"


def test_stale_flag_report_reads_only_the_trading_code():
    report = c2.StaleFlagReport()
    findings = {f.key: f for f in report.audit()}
    assert set(findings) == {FLAG}
    files = {ref.split(":")[0] for ref in findings[FLAG].references}
    assert files and all(f.split("/")[-1] in c2.TRADING_CODE for f in files)
    later = {f.key: f for f in report.audit(flags.TRADE_DATE + timedelta(weeks=6))}
    assert "past its expiry" in later[flags.RLP_FLAG].reasons[0]
    assert report.slider.value == date(2012, 9, 12)
    assert "2 stale flag(s)" in report.describe()


# ------------------------------------------------------------------------------ 08
def test_check_deploy_catches_each_case():
    day = c2.check_deploy(SMALL, missed=[3])
    rows = {r["server"]: r for r in day.fleet_rows()}
    assert day.status == "failed" and day.flag_gate
    assert rows[3]["match"] == "NO" and rows[1]["match"] == "yes"
    assert all(r["build after the rollout"] == "2011.12-pre-rlp" for r in rows.values())
    canary = c2.check_deploy(SMALL, missed=[1])
    assert [r["match"] for r in canary.fleet_rows()] == ["NO", "-", "-"]
    silent = c2.check_deploy(SMALL, unreachable=[2])
    assert {r["server"]: r["reported"] for r in silent.fleet_rows()}[2] == "(no report)"
    assert silent.status == "failed"
    fine = c2.check_deploy(SMALL)
    assert fine.status == "succeeded" and fine.flag_gate is None
    assert "allowed" in fine.summary()
    bad = c2.check_deploy(SMALL, release=BAD)
    assert bad.status == "failed" and bad.rollout.analysis.verdict == "FAIL"
    assert any(line.startswith("PAGE") for line in bad.log())
    assert c2.check_deploy(SMALL, missed=[3]) is day  # cached


def test_bad_release_is_flagged_as_made_up():
    build = c2.bad_release()
    assert build.contains("power_peg") and "made-up" in build.notes


def test_deploy_lab_controls_and_replay():
    lab = c2.DeployLab(SMALL)
    assert lab.missed == [3] and lab.replayable()
    assert "rollout FAILED" in lab.describe()
    result = lab.result()
    assert c2.outcome(result)["power_peg_parents"] == 0
    lab.missed_buttons[0].value = True  # as clicking "miss 1" does
    assert lab.missed == [1, 3]
    lab.set(missed=[], unreachable=0, release=RLP)
    assert lab.result() is None and "Nothing missed" in lab.outcome_text()
    assert "SUCCEEDED" in lab.summary_html.value
    lab.set(missed=[], unreachable=2, release=RLP)
    assert "no hash report" in lab.describe()
    lab.set(missed=[], unreachable=0, release=BAD)
    assert "canary analysis FAIL" in lab.outcome_text()
    assert lab.view.widget.layout.display == "none"


def test_canary_judge_verdicts():
    judge = c2.CanaryJudge()  # the notebooks' scale: enough parents for the test to decide
    judge.set(candidate=RLP)
    assert judge.analysis().verdict == "PASS"
    judge.set(candidate=STALE)
    assert judge.analysis().verdict == "FAIL"
    assert "critical metric" in judge.describe()
    judge.set(
        candidate=STALE,
        critical=False,
        child_orders_per_filled_parent=9999.0,
        net_notional=9999.0,
    )
    a = judge.analysis()
    assert a.verdict == "MARGINAL" and 75 <= a.score < 95
    assert "pauses" in judge.verdict_html.value
    judge.set()  # back to the judge's defaults
    assert judge.critical.value is deploy.METRICS[0].critical
    with pytest.raises(ValueError, match="unknown metric"):
        judge.set(no_such_metric=1.0)
    data = judge.view.data  # one row per metric: from the baseline's mean to the canary's
    assert {"baseline", "canary", "result"} <= set(data.columns) and len(data) == 3


# ------------------------------------------------------------------------------ 09
def test_controls_table_cites_the_rules():
    rows = c2.controls_table()
    rules = " ".join(str(r["rule"]) for r in rows)
    assert "15c3-5" in rules and "RTS 6 Art. 12" in rules and "¶21" in rules
    assert rows[-1]["control"] == "kill switch"


def test_kill_drill_button_engages_the_kill_switch():
    drill = c2.KillDrill(SMALL.with_(rollback_at=None, stop_all_at=None))
    assert drill.killed_at() is None and "not pressed" in drill.describe()
    drill.advance_buttons[0].click()
    drill.kill_button.click()
    assert drill.killed_at() == parse_time("09:31")
    assert "kill switch engaged" in drill.describe()
    assert drill.kill_button.disabled
    assert drill.kill_button.description == "KILL SWITCH"
    assert all(not s.running for s in drill.model.sim.fleet.servers)
    drill.reset_button.click()
    assert drill.killed_at() is None and not drill.kill_button.disabled


@pytest.fixture(scope="module")
def kill_lab() -> c2.KillSwitchLab:
    return c2.KillSwitchLab()


def test_kill_switch_lab_loss_grows_with_the_delay(kill_lab):
    sweep = kill_lab.sweep()
    assert list(sweep["delay_min"]) == sorted(sweep["delay_min"])
    losses = list(sweep["loss_usd"])
    assert losses[0] < losses[-1] / 10
    kill_lab.set(delay=2)
    early = kill_lab.manual().summary.loss_usd
    kill_lab.set(delay=30)
    assert kill_lab.manual().summary.loss_usd > early


def test_kill_switch_lab_automated_limits(kill_lab):
    kill_lab.set(delay=10)
    assert kill_lab.limits() is None and kill_lab.automated() is None
    assert "all off" in kill_lab.describe()
    kill_lab.reconcile.value = True  # as ticking the box does
    auto = kill_lab.automated()
    assert c2.control_events(auto)[0][1] == "risk gate: kill switch engaged: reconciliation"
    kill_lab.set(delay=10, executions=100)
    assert "repeated-execution throttle" in kill_lab.describe()
    assert set(kill_lab.points()["what"]) == {
        c2.AS_IT_HAPPENED,
        "your kill after 10 min",
        "your automated limits",
    }
    with pytest.raises(ValueError, match="unknown control"):
        kill_lab.set(speed=3)


def test_reconciliation_data_and_view(small):
    data = c2.reconciliation_data(small)
    assert data["shares_out"].is_monotonic_increasing
    assert (data["time_ns"] >= OPEN_NS).all()
    assert data["parents_over"].iloc[-1] == sum(1 for p in small.parents if p.ran_power_peg)
    view = c2.reconciliation_view(small)
    assert "over-executed at 09:30" in view.describe()


def test_exchange_kill_switch_blocks_every_server_once_tripped():
    sim = Simulation(SMALL)
    gate = c2.ExchangeKillSwitch(sim, 50_000.0, measure="gross")
    assert sim.fleet.gate is gate
    result = sim.run()
    assert gate.tripped_at is not None and gate.refused > 0
    warnings = [d for _, c, d in result.pages if c == gate.ACTOR and d.startswith("warning")]
    assert len(warnings) == len(gate.WARN_AT)
    assert any(e.actor == gate.ACTOR for e in result.timeline)
    last_child = max(p.last_child or 0 for p in result.parents)
    assert last_child <= gate.tripped_at
    with pytest.raises(ValueError, match="measure"):
        c2.ExchangeKillSwitch(Simulation(SMALL), 1.0, measure="median")
    with pytest.raises(ValueError, match="positive"):
        c2.ExchangeKillSwitch(Simulation(SMALL), 0.0)


def test_in_binary_kill_leaves_the_stale_server_running():
    sim = Simulation(SMALL.with_(rollback_at=None, stop_all_at=None))
    c2.press_in_binary_kill(sim, "09:31")
    result = sim.run()
    running = {s.id for s in sim.fleet.servers if s.running}
    assert running == {3}
    note = next(e for e in result.timeline if e.actor == "in-binary kill")
    assert "servers 1, 2 obeyed" in note.detail and "server 3 runs" in note.detail
    assert c2.minutes_to_stop(result) > 1


def test_contrast_replays_and_exchange_view():
    firm = c2.contrast_replay(SMALL, "firm", at="09:31")
    inside = c2.contrast_replay(SMALL, "in-binary", at="09:31")
    assert firm.summary.loss_usd < inside.summary.loss_usd
    with pytest.raises(ValueError, match="kind"):
        c2.contrast_replay(SMALL, "nope")
    view = c2.ExchangeView(SMALL.with_(window_end="10:15"))
    rows = {r["kill switch"]: r for r in view.rows()}
    assert rows["kill command inside the release"]["Power Peg ran on"] != "no server"
    view.limit.value = (250e6, "gross")  # as choosing it does
    assert "exchange's notional limit" in view.describe()


# ------------------------------------------------------------------------------ 10
@pytest.fixture(scope="module")
def small_table() -> pd.DataFrame:
    return c2.what_if_table(SMALL)


def test_what_if_table_rows_and_heatmap(small_table):
    assert len(small_table) == 16
    rows = c2.what_if_rows(small_table)
    assert rows[0]["fixes"] == "none" and rows[0]["at"] == ""
    chart = c2.fix_heatmap(small_table)
    assert "No fix" in sw.show(chart).describe()
    layers = c2.single_layer_rows(small_table)
    assert [r["fix"] for r in layers] == ["none", *c2.AVAILABLE]
    assert c2.what_if_table(SMALL) is not small_table  # a copy: safe to change


def test_swiss_cheese_closes_layers(small_table):
    cheese = c2.SwissCheese(small_table)
    assert cheese.fixes == () and "passes through all four" in cheese.describe()
    cheese.toggles["kill-switch"].value = True  # as clicking the layer does
    assert cheese.fixes == ("kill-switch",)
    assert "kill-switch" in cheese.describe()
    cheese.set("dead-code")
    assert cheese.row()["fixes"] == "dead-code"
    assert "(before 1 Aug)" in cheese.summary_text()


# -------------------------------------------------------------------------- timing
def test_cached_actions_answer_within_a_second(kill_lab):
    """Every control's replay is cached once seen: then it redraws within a second."""
    panels = {
        "dead code": c2.DeadCodeReplay(),
        "deploy lab": c2.DeployLab(),
        "judge": c2.CanaryJudge(),
        "exchange": c2.ExchangeView(),
    }
    actions = {
        "fix toggle": lambda: panels["dead code"].toggle.set_trait(
            "value", not panels["dead code"].toggle.value
        ),
        "missed server": lambda: setattr(panels["deploy lab"].missed_buttons[4], "value", True),
        "judge candidate": lambda: setattr(panels["judge"].candidate, "value", RLP),
        "delay slider": lambda: setattr(kill_lab.delay, "value", 5),
        "reconcile box": lambda: setattr(kill_lab.reconcile, "value", True),
        "exchange time": lambda: setattr(panels["exchange"].at, "value", "09:50"),
    }
    for action in actions.values():  # warm the caches, as the notebook's first view does
        action()
    panels["dead code"].toggle.value = True
    panels["deploy lab"].missed_buttons[4].value = False
    panels["judge"].candidate.value = STALE
    kill_lab.set(delay=10)
    panels["exchange"].at.value = "09:40"
    slow = {}
    for name, action in actions.items():
        start = time.perf_counter()
        action()
        took = time.perf_counter() - start
        if took >= 1.0:
            slow[name] = round(took, 2)
    assert not slow, slow
