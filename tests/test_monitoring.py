"""PMON as it was: post-trade, lagging under load, no limits shown, no action."""

from __future__ import annotations

import pytest

from smars_sim import Scenario, replay
from smars_sim.core.clock import parse_time
from smars_sim.core.monitoring import pmon_view


@pytest.fixture(scope="module")
def aug1():
    return replay(Scenario.aug1_2012(scale=0.01))


def test_positions_match_the_ledger_once_the_lag_has_passed(aug1):
    view = pmon_view(aug1, parse_time("10:30"))  # well after the last execution
    shown = {row.symbol: row.position for row in view.rows}
    expected = {s: q for s, q in zip(aug1.symbols, aug1.position, strict=True) if q}
    assert shown == expected
    assert not view.automatic_action


def test_lag_grows_with_load(aug1):
    quiet = pmon_view(aug1, parse_time("09:20"))
    busy = pmon_view(aug1, parse_time("10:05"))
    assert quiet.lag_s == pytest.approx(1.0)  # no executions before the open
    assert busy.lag_s > quiet.lag_s
    assert busy.as_of < busy.time


def test_the_limit_nobody_saw_is_exceeded_within_minutes(aug1):
    view = pmon_view(aug1, parse_time("09:35"))
    assert view.limit_usd == 2_000_000  # record: the 33 Account's limit
    assert view.over_limit
    assert "not shown" in view.describe()
    assert view.rows == tuple(sorted(view.rows, key=lambda r: (-abs(r.value_usd), r.symbol)))


def test_nothing_before_the_open(aug1):
    view = pmon_view(aug1, parse_time("09:00"))
    assert view.rows == ()
    assert not view.over_limit


def test_bad_lag_is_refused(aug1):
    with pytest.raises(ValueError, match="lag parameters must be >= 0"):
        pmon_view(aug1, parse_time("10:00"), base_lag_s=-1)
