"""Notebooks 03 and 04's panels (smars_sim.ui.detect_panels), headless: inbox, playback, alert."""

from __future__ import annotations

import pytest

from smars_sim import Scenario
from smars_sim.analysis import forensics as F
from smars_sim.analysis.inbox import inbox
from smars_sim.analysis.runs import run
from smars_sim.core.clock import OPEN_NS, SECOND_NS, format_time, parse_time
from smars_sim.ui.detect_panels import AlertDesigner, Inbox, Playback

SMALL = Scenario.small()


@pytest.fixture(scope="module")
def small():
    return run(SMALL)


pytestmark = pytest.mark.usefixtures("offline_renderer")


def test_inbox_mixes_bnet_rejects_with_ordinary_mail(small):
    mail = Inbox(small)
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
    assert inbox(small).equals(mail.mail)  # invented mail is the same every time


def test_playback_slider_drives_the_chart_parameter(small):
    playback = Playback(small)
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


def test_alert_designer_rule_fires_on_the_incident_not_on_a_normal_morning(small):
    designer = AlertDesigner(small)
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
    designer = AlertDesigner(small)
    for key, metric in F.METRICS.items():
        designer.metric.value = key
        assert designer.threshold.value == pytest.approx(metric.default, rel=1e-6)
        assert designer.view.data is not None and set(designer.view.data["day"]) == {
            "1 Aug 2012 replay",
            "normal morning",
        }
    designer.set_rule("bnet_emails_10min", threshold=1)
    assert designer.fired("incident") < OPEN_NS  # the e-mails came before the open
