"""The game day (smars_sim.ui.gameday_model, drawn by smars_sim.ui.gameday), headless.

The game replays ``Scenario.aug1_2012(scale=0.01)`` like the notebook; a full game takes
about a second. Scores are compared with each other (a fast responder loses less than
a slow one), never with calibrated figures.
"""

from __future__ import annotations

import pytest

from smars_sim import Scenario
from smars_sim.analysis.series import clock, live_loss_data, live_order_rate_data
from smars_sim.core.clock import OPEN_NS, SECOND_NS, format_time, parse_time
from smars_sim.ui import gameday as gd

pytestmark = pytest.mark.usefixtures("offline_renderer")


def _fast() -> gd.GameDayModel:
    model = gd.GameDayModel()
    model.advance(1)
    model.stop_server(8)
    model.kill_switch()
    return model


def _slow() -> gd.GameDayModel:
    model = gd.GameDayModel()
    model.advance(15)
    model.rollback()
    model.advance(10)
    for server in range(8, 0, -1):
        model.stop_server(server)
    return model


@pytest.fixture(scope="module")
def fast() -> gd.GameDayModel:
    return _fast()


@pytest.fixture(scope="module")
def slow() -> gd.GameDayModel:
    return _slow()


def test_the_game_starts_before_the_open_with_the_response_left_to_you():
    model = gd.GameDayModel()
    assert model.clock == "09:29:30" and model.speed == 30
    s = model.scenario
    assert s.rollback_at is None and s.stop_all_at is None and s.scale == 0.01
    assert model.log == [] and not model.over


def test_a_stop_takes_a_person_some_seconds(fast):
    stop = fast.log[0]
    assert (stop.what, stop.server) == ("stop server", 8)
    assert stop.effective - stop.time == int(fast.step_s * SECOND_NS)
    assert stop.sending and stop.sending[0][0] == 8  # what the fleet panel showed
    assert stop.emails > 0 and stop.loss_usd > 0
    assert "(done 09:30:50)" in stop.line()


def test_actions_are_logged_once(fast):
    kinds = [a.what for a in fast.log]
    assert kinds == ["stop server", "kill switch"]
    model = gd.GameDayModel()
    model.advance(2)
    model.rollback()
    model.rollback()  # a second press does nothing
    model.kill_switch()
    model.kill_switch()
    model.stop_server(3)  # the kill stopped every server: nothing left to stop
    assert [a.what for a in model.log].count("rollback") == 1
    assert [a.what for a in model.log].count("kill switch") == 1


def test_fast_responder_loses_less_and_stops_sooner(fast, slow):
    f, s = fast.score(), slow.score()
    assert f.loss_usd < s.loss_usd / 10
    assert f.minutes_to_stop < s.minutes_to_stop
    assert f.actions == 2 and s.actions == 9
    assert f.first_action_min == pytest.approx(0.5)
    assert "SCORE: loss" in f.text() and "min after the open" in f.text()


def test_finish_is_final(fast):
    result = fast.finish()
    assert fast.over and fast.finish() is result
    before = len(fast.log)
    fast.stop_server(1)
    fast.advance(5)
    assert len(fast.log) == before and fast.tick(1.0) == 0


def test_no_action_runs_the_whole_window():
    model = gd.GameDayModel()
    score = model.score()
    assert score.actions == 0 and score.first_action_min is None
    assert score.minutes_to_stop > 40
    assert "No action was taken" in model.debrief()


def test_debrief_is_written_from_the_log(slow):
    text = slow.debrief()
    for heading in (
        "What happened",
        "What helped",
        "What made it harder",
        "Follow-ups",
        "Questions for the team",
        "SCORE:",
    ):
        assert heading in text
    assert "stop servers 8, 7, 6, 5, 4, 3, 2, 1" in text  # one line for the run of stops
    assert f"rollback at {format_time(slow.log[0].time)}" in text
    assert "SEC order ¶27" in text
    assert "blame" not in text.lower().replace("blameless", "")


def test_debrief_of_a_kill_mentions_the_kill_switch(fast):
    text = fast.debrief()
    assert "A kill switch existed in this exercise" in text
    assert "rollback" not in text.split("What made it harder")[1].split("Follow-ups")[0]


def test_game_day_widget_buttons():
    game = gd.GameDay()
    assert game.kill_button.description == "KILL SWITCH"
    assert len(game.stop_buttons) == 8
    game.advance_button.click()
    assert game.model.clock == "09:30:30"
    assert "(differs)" in game.describe()
    game.stop_buttons[7].click()
    assert game.stop_buttons[7].disabled  # a person is on it
    assert "stopping" in game.describe()
    game.kill_button.click()
    assert game.kill_button.disabled
    game.finish_button.click()
    assert game.model.over and "BLAMELESS DEBRIEF" in game.result_html.value
    assert all(b.disabled for b in game.stop_buttons)
    game.restart_button.click()
    assert game.model.clock == "09:29:30" and game.result_html.value == ""
    assert not game.kill_button.disabled


def test_game_day_without_hints_does_not_mark_the_odd_server():
    game = gd.GameDay(hints=False)
    game.advance(1)
    assert "(differs)" not in game.describe()


def test_playback_ticks_at_the_chosen_speed():
    game = gd.GameDay()
    game.speed.value = 60  # as clicking "60x" does
    assert game.model.speed == 60
    game.step(0.5)
    assert game.model.sim.now == parse_time("09:30:00")
    game.play_button.value = True
    assert game.timer.playing and game.play_button.description == "Pause"
    game.timer.value = 1  # a tick from the browser's timer
    assert game.model.sim.now == parse_time("09:30:30")
    game.play_button.value = False
    assert not game.timer.playing


def test_score_text_finishes_the_game():
    game = gd.GameDay()
    text = game.score_text()
    assert game.model.over and text.startswith("SCORE:")


def test_dashboard_chart_data_grows_with_the_clock():
    model = gd.GameDayModel()
    model.advance(3)
    rates = live_order_rate_data(model.sim, bin_s=30)
    assert rates["time"].max() >= clock(OPEN_NS + 2 * 60 * SECOND_NS)
    loss = live_loss_data(model.pnl_history())
    assert loss["time"].min() >= clock(OPEN_NS) and len(loss) > 1
    chart = gd.dashboard_chart(model)
    assert "Loss locked in" in str(chart.to_dict())


def test_record_line_cites_its_sources():
    line = gd.record_line()
    assert "SEC ¶1" in line and "$460M" in line


def test_game_on_another_scenario():
    model = gd.GameDayModel(Scenario.small(rollback_at=None, stop_all_at=None))
    model.advance(10)
    model.kill_switch()
    assert model.score().minutes_to_stop < 10
