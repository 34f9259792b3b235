"""Widget panels (smars_sim.ui.widgets), headless: click, set values, read the state back.

Most tests use ``Scenario.small()`` (3 servers, server 3 missed), which replays in a
fraction of a second. The timing tests use the notebooks' default scale.
"""

from __future__ import annotations

import time

import altair as alt
import pytest

from smars_sim import Scenario, replay
from smars_sim.core.clock import OPEN_NS, SECOND_NS, format_time, parse_time
from smars_sim.ui import widgets as sw

SMALL = Scenario.small()


@pytest.fixture(scope="module")
def small():
    return sw.run(SMALL)


pytestmark = pytest.mark.usefixtures("offline_renderer")


def _timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


# --------------------------------------------------------------------------- basics
def test_notebook_scale_is_a_constant():
    assert sw.NOTEBOOK_SCALE == 0.01
    assert sw.notebook_scenario().scale == sw.NOTEBOOK_SCALE
    assert sw.notebook_scenario(scale=0.02).scale == 0.02


def test_run_caches_identical_scenarios(small):
    assert sw.run(Scenario.small()) is small
    assert sw.run(Scenario.small(seed=2)) is not small


def test_normal_morning_has_no_incident():
    normal = sw.normal_morning(SMALL)
    assert normal.stale_servers == () and normal.rollback_at is None
    assert normal.stop_all_at is None
    result = sw.run(normal)
    assert result.summary.parent_orders == 0  # Power Peg never ran
    assert result.summary.bnet_emails == 0


def test_check_setup_passes_here_and_names_the_fix():
    lines = sw.check_setup().splitlines()
    assert lines and all(line.startswith("OK") for line in lines)
    _ = alt.renderers.enable("html")
    text = sw.check_setup()
    assert "PROBLEM  altair draws charts offline" in text
    assert "alt.renderers.enable('jupyter', offline=True)" in text


def test_panel_display_has_widget_and_text_fallback():
    check = sw.RenderCheck()
    bundle = check._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "docs/setup.md" in bundle["text/plain"]
    view = sw.show(alt.Chart(alt.Data(values=[{"a": 1}])).mark_point().properties(title="T"))
    assert isinstance(view.chart, alt.JupyterChart)
    assert "T" in view._repr_mimebundle_()["text/plain"]


def test_render_check_button_updates_label_and_chart():
    check = sw.RenderCheck()
    assert check.describe() == "clicks: 0; bars in the chart: 0"
    check.button.click()
    check.button.click()
    assert "<b>2</b>" in check.label.value
    assert len(check.view.chart.chart.data) == 2
    check.reset()
    assert check.describe() == "clicks: 0; bars in the chart: 0"


# --------------------------------------------------------------------------- 01
def test_parent_tracer_follows_each_kind_of_order(small):
    tracer = sw.ParentTracer(small)
    labels = list(tracer.examples)
    assert len(labels) == 4
    stale = tracer.examples[labels[0]]
    text = "\n".join(tracer.trace(stale))
    assert "route_pre_rlp()" in text and "power_peg()" in text and "server 3" in text
    good = tracer.examples[labels[1]]
    text = "\n".join(tracer.trace(good))
    assert "rlp()" in text and "rollback re-installs" in text  # re-routed after the rollback
    rejected = "\n".join(tracer.trace(tracer.examples[labels[3]]))
    assert "rejected" in rejected and "BNET" in rejected
    standard = "\n".join(tracer.trace(tracer.examples[labels[2]]))
    assert "standard()" in standard


def test_parent_tracer_dropdown_changes_steps_and_chart(small):
    tracer = sw.ParentTracer(small)
    ids = list(tracer.examples.values())
    tracer.dropdown.value = ids[2]
    assert tracer.current == ids[2]
    assert f"#{ids[2]}" in tracer.steps.value
    fills = tracer.view.data
    ex = small.executions
    assert fills["filled"].iloc[-1] == ex[ex["parent_id"] == ids[2]]["qty"].sum()
    with pytest.raises(ValueError, match="no parent order"):
        tracer.trace(10_000)


def test_flag_explorer_shows_the_two_meanings():
    flags = sw.FlagExplorer()
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
    book = sw.BookViewer(SMALL, symbols=["AAA", "BBB"])
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


# --------------------------------------------------------------------------- 02
def test_deploy_checklist_and_checks():
    deploy = sw.DeployDay(SMALL)
    assert deploy.missed() == [1, 2, 3]  # nothing copied yet
    deploy.technician_button.click()
    assert deploy.missed() == [3]
    rows = {r["check"]: r["reveals"] for r in deploy.check_rows()}
    assert rows["Ask the technician"] == "no"
    assert rows["Spot-check server 1's build"] == "no"
    assert rows["Send a test order with the flag off"] == "no"
    assert rows["Compare every server's build hash with the release"] == "YES"
    assert rows["Send a test retail order to each server with the flag on"] == "YES"
    assert "power_peg()" in deploy.fleet_html.value
    deploy.boxes[0].value = False  # miss server 1 as well: the spot check now sees it
    rows = {r["check"]: r["reveals"] for r in deploy.check_rows()}
    assert rows["Spot-check server 1's build"] == "YES"
    deploy.all_button.click()
    assert deploy.missed() == []
    assert {r["reveals"] for r in deploy.check_rows()} == {"no"}
    assert "power_peg()" not in deploy.fleet_html.value


def test_deploy_run_the_morning_uses_the_fleet():
    deploy = sw.DeployDay(SMALL)
    deploy.technician()
    deploy.run_button.click()
    missed = sw.run(SMALL.with_(stale_servers=(3,)))
    assert deploy.runs[-1]["fleet"] == "missed: 3"
    assert deploy.runs[-1]["bnet_emails"] == missed.summary.bnet_emails
    deploy.copy_all()
    clean = deploy.run_morning()
    assert clean.scenario.stale_servers == () and clean.scenario.rollback_at is None
    assert [r["fleet"] for r in deploy.runs] == ["missed: 3", "missed: none"]
    assert len(deploy.view.data) == 2
    assert "Worst so far: missed: 3" in deploy.view.describe()
    deploy.reset_button.click()
    assert deploy.runs == [] and deploy.missed() == [1, 2, 3]


# --------------------------------------------------------------------------- 03
def test_inbox_mixes_bnet_rejects_with_ordinary_mail(small):
    mail = sw.Inbox(small)
    before_open = [e for e in small.emails if e[0] < OPEN_NS]
    assert (mail.mail["kind"] == "BNET reject").sum() == len(before_open)
    assert (mail.mail["kind"] == "other e-mail").sum() > len(before_open)
    mail.at("09:30")
    assert mail.time.value == OPEN_NS
    found = mail.find("power peg")
    assert len(found) == len(before_open)
    assert f"{len(before_open)} match 'power peg'" in mail.counts_text()
    mail.find("")
    mail.at("08:05")
    assert 0 < len(mail.visible()) < len(mail.mail)
    assert mail.visible()["time_ns"].max() <= parse_time("08:05")
    assert sw.inbox(small).equals(mail.mail)  # invented mail is the same every time


def test_playback_slider_drives_the_chart_parameter(small):
    playback = sw.Playback(small)
    assert playback.chart.params.t == 0
    playback.slider.value = 300
    assert playback.chart.params.t == 300
    assert "09:35:00" in playback.clock_label.value
    assert playback.visible("pnl")["s"].max() <= 300
    playback.play.value = 600  # Play is linked to the slider
    assert playback.slider.value == 600 and playback.chart.params.t == 600
    playback.at("09:31:07")
    assert playback.slider.value == 60  # snapped to the 15 s step
    assert playback.status_text().startswith("09:31:00:")
    playback.seek(10_000)
    assert playback.slider.value == playback.max_s


# --------------------------------------------------------------------------- 04
def test_alert_designer_rule_fires_on_the_incident_not_on_a_normal_morning(small):
    designer = sw.AlertDesigner(small)
    designer.set_rule("shares_out_per_in", threshold=2)
    fired = designer.fired("incident")
    assert fired is not None and fired >= OPEN_NS
    assert designer.fired("normal") is None
    assert f"fires at {format_time(fired)}" in designer.verdict.value
    designer.hold.value = 60
    assert designer.fired("incident") >= fired + 60 * SECOND_NS
    designer.threshold.value = 10**designer.threshold.max
    assert "never fires" in designer.verdict_text()


def test_alert_designer_metric_change_resets_the_threshold(small):
    designer = sw.AlertDesigner(small)
    for key, metric in sw.F.METRICS.items():
        designer.metric.value = key
        assert designer.threshold.value == pytest.approx(metric.default, rel=1e-6)
        assert designer.view.data is not None and set(designer.view.data["day"]) == {
            "1 Aug 2012 replay",
            "normal morning",
        }
    designer.set_rule("bnet_emails_10min", threshold=1)
    assert designer.fired("incident") < OPEN_NS  # the e-mails came before the open


# --------------------------------------------------------------------------- 05
def test_responder_stops_servers_and_rolls_back():
    console = sw.Responder(SMALL)
    assert format_time(console.sim.now) == "09:30:00"
    console.advance_buttons[0].click()
    assert format_time(console.sim.now) == "09:31:00"
    console.stop_buttons[2].click()  # server 3, the missed one
    step = int(console.step_s * SECOND_NS)
    assert console.sim.now == parse_time("09:31") + step
    assert not console.sim.fleet.server(3).running
    assert console.stop_buttons[2].disabled
    assert "server 3 stopped" in console.log.value
    console.rollback_button.click()
    assert console.rollback_button.disabled
    console.advance(5)
    builds = {s.build.version for s in console.sim.fleet.servers}
    assert builds == {"2011.12-pre-rlp"}
    for k in (1, 2):
        console.stop(k)
    assert "All stopped" in console.status_text()
    console.reset_button.click()
    assert format_time(console.sim.now) == "09:30:00" and not console.actions
    assert all(s.running for s in console.sim.fleet.servers)


def test_responder_never_runs_past_the_end():
    console = sw.Responder(SMALL)
    for _ in range(10):
        console.advance(5)
    assert console.sim.now == console.sim.end
    console.stop(1)
    assert console.sim.now == console.sim.end
    assert "window is over" in console.status_text() or "All stopped" in console.status_text()


def test_plan_comparison_adds_and_clears_plans():
    plans = sw.PlanComparison(SMALL)
    presets = len(plans.rows())
    assert presets == len(sw.preset_plans(SMALL))
    plans.action.value = "halt"
    plans.at.value = "09:33"
    plans.add_button.click()
    rows = plans.rows()
    assert len(rows) == presets + 1 and rows[-1]["kind"] == "yours"
    halted = replay(SMALL.with_(rollback_at=None, stop_all_at=None, halt_at="09:33"))
    assert rows[-1]["loss_usd_m"] == pytest.approx(halted.summary.loss_usd / 1e6, abs=1e-3)
    assert len(plans.view.data) == presets + 1
    plans.add()  # the same plan again replaces it
    assert len(plans.rows()) == presets + 1
    plans.clear_button.click()
    assert len(plans.rows()) == presets


def test_stop_only_the_stale_server_plan():
    plan = sw.Plan("stop 3", "stop_stale", "09:32")
    result = plan.run(SMALL)
    assert any(e.action == "stop server" and e.server == 3 for e in result.timeline)
    assert sw.minutes_to_stop(result) <= 2.0


def test_views_for_static_charts(small):
    rollback = sw.rollback_view(small)
    assert "after the rollback" in rollback.describe()
    loss = sw.show(sw.loss_and_alerts(small))
    assert "The loss locked in reaches" in loss.describe()
    share = sw.server_share_view(small.executions, n_servers=3)
    assert "Server 3 busy from" in share.describe()


# --------------------------------------------------------------------------- timing
def test_every_action_answers_within_a_second_at_notebook_scale():
    """Each widget action, at the default scale, with its replay already cached."""
    result = sw.day()
    sw.run(sw.normal_morning(result.scenario))
    playback = sw.Playback(result)
    designer = sw.AlertDesigner(result)
    deploy = sw.DeployDay()
    console = sw.Responder()
    plans = sw.PlanComparison()
    deploy.technician()
    sw.run(deploy.scenario_for_fleet())
    sw.Plan("x", "halt", "09:40").run(plans.base)
    actions = {
        "playback slider": lambda: setattr(playback.slider, "value", 900),
        "alert metric": lambda: setattr(designer.metric, "value", "gross_position_usd"),
        "alert threshold": lambda: setattr(designer.threshold, "value", 1e7),
        "deploy checkbox": lambda: setattr(deploy.boxes[2], "value", False),
        "deploy technician": deploy.technician_button.click,
        "deploy run": deploy.run_button.click,
        "console advance": console.advance_buttons[1].click,
        "console stop": console.stop_buttons[7].click,
        "plan add": lambda: plans.add(sw.Plan("x", "halt", "09:40")),
    }
    slow = {name: t for name, t in ((n, _timed(a)) for n, a in actions.items()) if t >= 1.0}
    assert not slow, slow
