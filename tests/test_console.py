"""The incident console (smars_sim.ui.console_model and its view smars_sim.ui.console)."""

from __future__ import annotations

import pytest

from smars_sim import Scenario
from smars_sim.ui.console import IncidentConsole, _usd, sparkline_svg
from smars_sim.ui.console_model import (
    DEFAULT_SPEED,
    KILL_BLOCKED,
    KILL_HALTED,
    SPEEDS,
    ConsoleModel,
    default_scenario,
)


@pytest.fixture(scope="module")
def played() -> ConsoleModel:
    """The default console played from 09:29:30 for one real minute at 30× (to 09:59:30)."""
    model = ConsoleModel()
    for _ in range(120):
        model.tick(0.5)
    return model


def test_default_scenario_leaves_the_operators_to_the_class() -> None:
    s = default_scenario()
    assert s.name == "aug1-2012" and s.scale == 0.01
    assert s.rollback_at is None and s.stop_all_at is None
    scripted = default_scenario(scripted=True)
    assert scripted.rollback_at is not None and scripted.stop_all_at is not None


def test_console_starts_before_the_open_at_30x() -> None:
    model = ConsoleModel()
    assert model.clock == "09:29:30"
    assert model.speed == DEFAULT_SPEED == 30 and 30 in SPEEDS
    rows = model.fleet_rows()
    assert [r.server for r in rows] == list(range(1, 9))
    assert all(r.running and r.orders_per_s == 0 for r in rows)
    # The missed server is the only one not on the release build.
    assert [r.server for r in rows if r.odd_build] == [8]
    assert rows[7].version == "2011.12-pre-rlp" and rows[0].version == "2012.07-rlp"
    assert rows[7].short_hash != rows[0].short_hash and len(rows[0].short_hash) == 12
    # The pre-market e-mails from the stale server are already in the feed.
    assert model.email_count() > 0
    assert any("server 8 e-mail" in a.line() for a in model.alerts())


def test_tick_advances_speed_times_real_time() -> None:
    model = ConsoleModel(speed=30)
    assert model.tick(0.5) == 15 * 10**9
    assert model.clock == "09:29:45"
    model.set_speed(120)
    model.tick(0.5)
    assert model.clock == "09:30:45"
    with pytest.raises(ValueError, match="speed"):
        model.set_speed(0)


def test_fleet_panel_shows_the_stale_server_trading(played: ConsoleModel) -> None:
    assert played.clock == "09:59:30"
    rows = {r.server: r for r in played.fleet_rows()}
    assert rows[8].orders_per_s > 0  # Power Peg on server 8
    assert all(rows[i].orders_per_s == 0 for i in range(1, 8))
    text = rows[8].text()
    assert "server 8" in text and "running" in text and "≠ release" in text


def test_pnl_positions_and_history(played: ConsoleModel) -> None:
    assert played.closeout_pnl_usd() < -1e6  # losing millions by 10:00
    # Marked at the last trade it looks far better: Knight's buying lifted those prices.
    assert played.pnl_usd() > played.closeout_pnl_usd()
    long_usd, short_usd = played.exposure_usd()
    assert long_usd > 0 and short_usd > 0
    top = played.positions(5)
    assert len(top) == 5
    assert abs(top[0][2]) >= abs(top[-1][2])
    history = played.pnl_history()
    assert len(history) == 121  # the start and one point per tick
    assert history[-1][1] < history[0][1]


def test_stop_server_acts_at_once_and_stops_its_orders() -> None:
    model = ConsoleModel(start_at="09:35")
    assert model.fleet_rows()[7].orders_per_s > 0
    model.stop_server(8)
    row = model.fleet_rows()[7]
    assert not row.running and row.state == "stopped" and row.orders_per_s == 0
    assert model.alerts(1)[0].line() == "09:35:00 console: stop server (server 8)"
    children = len(model.sim.fleet.children)
    model.tick(2)
    assert len(model.sim.fleet.children) == children  # nothing else sends child orders


def test_kill_switch_stops_every_server() -> None:
    model = ConsoleModel(start_at="09:40")
    mechanism = model.kill_switch()
    assert mechanism in (KILL_BLOCKED, KILL_HALTED)
    assert model.kill_switch_used == mechanism
    assert not any(r.running for r in model.fleet_rows())
    assert any("KILL SWITCH" in a.line() for a in model.alerts())
    position = list(model.sim.fleet.ledger.position)
    model.tick(10)
    assert model.sim.fleet.ledger.position == position  # Knight trades no more


def test_the_kill_switch_changes_nothing_until_pressed() -> None:
    from smars_sim import Simulation

    model = ConsoleModel(Scenario.small(), start_at="08:59")
    while not model.done:
        model.tick(60)
    plain = Simulation(Scenario.small()).run().summary.execution_digest
    assert model.sim.result().summary.execution_digest == plain


def test_replay_ends_and_stops_ticking() -> None:
    model = ConsoleModel(Scenario.small(), start_at="09:44")
    while not model.done:
        model.tick(60)
    assert model.tick(1) == 0


def test_sparkline_is_plain_svg() -> None:
    svg = sparkline_svg([(0, 0.0), (10, -5.0), (20, -3.0)])
    assert (
        svg.startswith("<svg")
        and "polyline" in svg
        and "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )
    assert "empty" in sparkline_svg([(0, 1.0)])


def test_widgets_drive_the_model() -> None:
    console = IncidentConsole(start_at="09:34")
    assert "09:34:00" in console.header.value
    assert "PAUSED" in console.status.value
    console.play_button.value = True
    assert console.timer.playing and "LIVE 30×" in console.status.value
    console.speed.value = 60
    console.timer.value += 1  # a tick from the browser's timer
    assert console.model.clock == "09:34:30"
    assert "09:34:30" in console.header.value
    console.stop_buttons[7].click()
    assert console.stop_buttons[7].disabled
    assert "stopped" in console.fleet_lines[7].value
    console.kill_button.click()
    assert all(b.disabled for b in console.stop_buttons)
    assert "kill switch:" in console.status.value
    console.play_button.value = False
    assert not console.timer.playing and "PAUSED" in console.status.value
    console.timer.value += 1  # a late tick while paused does nothing
    assert console.model.clock == "09:34:30"
    console.restart_button.click()
    assert console.model.clock == "09:34:00"
    assert not any(b.disabled for b in console.stop_buttons)


def _console_usd_before_fmt(value: float) -> str:
    """The console's own formatter before it went through ``core.fmt.usd`` (the reference)."""
    sign = "−" if value < 0 else ""
    value = abs(value)
    if value >= 1e9:
        return f"{sign}${value / 1e9:,.2f}B"
    if value >= 1e6:
        return f"{sign}${value / 1e6:,.1f}M"
    return f"{sign}${value:,.0f}"


@pytest.mark.parametrize(
    "value",
    [
        0,
        950,
        -950,
        12_345,
        999_999,
        1e6,
        12.34e6,
        -12.34e6,
        949.9e6,
        960e6,
        999.96e6,
        1e9,
        1.234e9,
        -1.234e9,
        3.456e9,
        -0.4,
        461.7e6,
    ],
)
def test_console_dollars_read_as_before(value: float) -> None:
    # The console formats through core.fmt (usd_report), the kit's one formatter. It
    # reads as before everywhere but where an amount rounds up to the next unit: there
    # it says the next unit, as every other view does ("$1.0M", not "$999,999").
    rounds_up = {999_999: "$1.0M", 999.96e6: "$1.00B"}
    expected = rounds_up.get(value, _console_usd_before_fmt(value))
    assert _usd(value) == expected


def test_console_dollars_examples() -> None:
    assert (_usd(1.23e9), _usd(12.3e6), _usd(950), _usd(-4.5e6)) == (
        "$1.23B",
        "$12.3M",
        "$950",
        "−$4.5M",
    )
