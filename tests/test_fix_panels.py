"""Course part 2 panels (smars_sim.ui.fix_panels, flag_panels, deploy_panels, kill_panels),
headless: build, click, set values, read back.

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

from smars_sim import FLAG, Scenario, fixes
from smars_sim.analysis import controls
from smars_sim.analysis import fix_outcomes as fo
from smars_sim.analysis import fix_tables as ft
from smars_sim.analysis.runs import run
from smars_sim.core.clock import OPEN_NS, parse_time
from smars_sim.fixes import contrasts, dead_code
from smars_sim.fixes import flag_registry as flags
from smars_sim.fixes import verified_deploy as deploy
from smars_sim.ui import deploy_panels, flag_panels, kill_panels
from smars_sim.ui import fix_panels as fp
from smars_sim.ui.panel import show
from smars_sim.viz import fix_charts as fc

SMALL = Scenario.small()
RLP = "the RLP release"
BAD = "a bad release (made up): the flag reaches Power Peg"
STALE = "the stale build with the flag on (server 8 on the day)"


pytestmark = pytest.mark.usefixtures("offline_renderer")


@pytest.fixture(scope="module")
def small() -> object:
    return run(SMALL)


def test_fix_replay_rejects_an_unknown_fix():
    with pytest.raises(ValueError, match="unknown fix"):
        fp.FixReplay("no-such-fix", ("off", "on"), SMALL)


def test_dead_code_replay_toggle_and_missed_server():
    panel = fp.DeadCodeReplay(SMALL)
    assert panel.scenario().fixes == ("dead-code",)
    assert fo.outcome(panel.result())["power_peg_parents"] == 0
    panel.toggle.value = False  # as clicking "Power Peg kept" does
    assert panel.scenario().fixes == ()
    assert fo.outcome(panel.result())["power_peg_parents"] > 0
    panel.missed.value = 1
    assert panel.scenario().stale_servers == (1,)
    assert {p.server for p in panel.result().parents if p.ran_power_peg} >= {1}
    panel.set(fixed=True, missed=2)
    assert "Power Peg ran on no server" in panel.describe()
    data = panel.view.data
    assert set(data["replay"]) == {fo.AS_IT_HAPPENED, "yours"}
    assert "yours" in panel.table.value and "Timeline" not in panel.table.value


def test_dead_code_replay_server_paths_show_the_stale_server_routing_standard():
    panel = fp.DeadCodeReplay(SMALL)
    rows = panel.server_paths(at="09:33")
    stale = [r for r in rows if r["server"] == 3]
    assert stale and {r["path"] for r in stale} == {"standard"}
    panel.set(fixed=False)
    assert "power_peg" in {r["path"] for r in panel.server_paths(at="09:33") if r["server"] == 3}


def test_flag_replay_old_build_reads_the_tombstoned_key():
    panel = fp.FlagReplay(SMALL)
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


def test_coverage_view_marks_power_peg_as_never_run():
    report = dead_code.coverage_report(dead_code.production_day(SMALL))
    view = fp.coverage_view(report)
    assert "power_peg" in view.describe() and "0 hits" in view.describe()
    data = view.data
    assert set(data[data["path"] == "power_peg"]["status"]) == {"never ran"}
    rows = ft.coverage_rows(report)
    assert {r["path"] for r in rows} == {"standard", "power_peg"}


def test_vulture_steps_panel_shows_the_diff_of_each_step():
    panel = fp.VultureSteps()
    assert "exit code 0" in panel.describe()
    panel.picker.value = 2  # as clicking step 2 does
    assert "+    if False:" in panel.diff_text()
    assert "exit code 3" in panel.describe() and "if False" in panel.diff.value
    panel.show_step(4)
    assert "-def power_peg" in panel.diff_text()


def test_flag_console_refuses_the_old_key_with_the_registry_message():
    console = flag_panels.FlagConsole()
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
    assert [r["key"] for r in ft.registry_rows(console.registry)] == [FLAG]


def test_stale_flag_report_reads_only_the_trading_code():
    report = flag_panels.StaleFlagReport()
    findings = {f.key: f for f in report.audit()}
    assert set(findings) == {FLAG}
    files = {ref.split(":")[0] for ref in findings[FLAG].references}
    assert files and all(f.split("/")[-1] in ft.TRADING_CODE for f in files)
    later = {f.key: f for f in report.audit(flags.TRADE_DATE + timedelta(weeks=6))}
    assert "past its expiry" in later[flags.RLP_FLAG].reasons[0]
    assert report.slider.value == date(2012, 9, 12)
    assert "2 stale flag(s)" in report.describe()


def test_deploy_lab_controls_and_replay():
    lab = deploy_panels.DeployLab(SMALL)
    assert lab.missed == [3] and lab.replayable()
    assert "rollout FAILED" in lab.describe()
    result = lab.result()
    assert fo.outcome(result)["power_peg_parents"] == 0
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
    # the notebooks' scale: enough parents for the test to decide
    judge = deploy_panels.CanaryJudge()
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


def test_kill_drill_button_engages_the_kill_switch():
    drill = kill_panels.KillDrill(SMALL.with_(rollback_at=None, stop_all_at=None))
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
def kill_lab() -> kill_panels.KillSwitchLab:
    return kill_panels.KillSwitchLab()


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
    assert controls.control_events(auto)[0][1] == "risk gate: kill switch engaged: reconciliation"
    kill_lab.set(delay=10, executions=100)
    assert "repeated-execution throttle" in kill_lab.describe()
    assert set(kill_lab.points()["what"]) == {
        fo.AS_IT_HAPPENED,
        "your kill after 10 min",
        "your automated limits",
    }
    with pytest.raises(ValueError, match="unknown control"):
        kill_lab.set(speed=3)


def test_reconciliation_data_and_view(small):
    data = fo.reconciliation_data(small)
    assert data["shares_out"].is_monotonic_increasing
    assert (data["time_ns"] >= OPEN_NS).all()
    assert data["parents_over"].iloc[-1] == sum(1 for p in small.parents if p.ran_power_peg)
    view = fp.reconciliation_view(small)
    assert "over-executed at 09:30" in view.describe()


def test_contrast_replays_and_exchange_view():
    firm = contrasts.contrast_replay(SMALL, "firm", at="09:31")
    inside = contrasts.contrast_replay(SMALL, "in-binary", at="09:31")
    assert firm.summary.loss_usd < inside.summary.loss_usd
    with pytest.raises(ValueError, match="kind"):
        contrasts.contrast_replay(SMALL, "nope")
    view = kill_panels.ExchangeView(SMALL.with_(window_end="10:15"))
    rows = {r["kill switch"]: r for r in view.rows()}
    assert rows["kill command inside the release"]["Power Peg ran on"] != "no server"
    view.limit.value = (250e6, "gross")  # as choosing it does
    assert "exchange's notional limit" in view.describe()


@pytest.fixture(scope="module")
def small_table() -> pd.DataFrame:
    return ft.what_if_table(SMALL)


def test_what_if_table_rows_and_heatmap(small_table):
    assert len(small_table) == 16
    rows = ft.what_if_rows(small_table)
    assert rows[0]["fixes"] == "none" and rows[0]["at"] == ""
    chart = fc.fix_heatmap(small_table)
    assert "No fix" in show(chart).describe()
    layers = ft.single_layer_rows(small_table)
    assert [r["fix"] for r in layers] == ["none", *fixes.AVAILABLE]
    assert ft.what_if_table(SMALL) is not small_table  # a copy: safe to change


def test_swiss_cheese_closes_layers(small_table):
    cheese = fp.SwissCheese(small_table)
    assert cheese.fixes == () and "passes through all four" in cheese.describe()
    cheese.toggles["kill-switch"].value = True  # as clicking the layer does
    assert cheese.fixes == ("kill-switch",)
    assert "kill-switch" in cheese.describe()
    cheese.set("dead-code")
    assert cheese.row()["fixes"] == "dead-code"
    assert "(before 1 Aug)" in cheese.summary_text()


def test_cached_actions_answer_within_a_second(kill_lab):
    """Every control's replay is cached once seen: then it redraws within a second."""
    panels = {
        "dead code": fp.DeadCodeReplay(),
        "deploy lab": deploy_panels.DeployLab(),
        "judge": deploy_panels.CanaryJudge(),
        "exchange": kill_panels.ExchangeView(),
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
