"""q2 · Write the alert: a rule over the live metrics that pages before the loss passes $1M.

The learner writes ``alert(live) -> bool``. The replay's metrics (``tables.pnl(result)``: one
row every 5 s) are fed to it as they would arrive: at each sample the rule sees the
rows up to and including that sample, never a later one. It is scored by when it
first fires (and what had been lost by then) on bad mornings, and by whether it
fires at all on normal ones (a false alarm).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..analysis import tables
from ..core.clock import OPEN_NS, format_time
from .learner import call, test_case
from .scenarios import describe, replayed

name = "q2"
title = "Write the alert"
points = 6

#: The alert must fire before the loss passes this.
BUDGET_USD = 1_000_000.0


def live_metrics(scenario_name: str) -> pd.DataFrame:
    """The live metrics of a named morning (a copy of ``tables.pnl(result)``)."""
    return tables.pnl(replayed(scenario_name)).copy()


def example_live_metrics() -> dict[str, pd.DataFrame]:
    """The two example mornings' live metrics, 09:30-09:45: the bad one and a normal one."""
    return {"1 Aug 2012": live_metrics("aug-15"), "a normal morning": live_metrics("aug-noflag-15")}


def _loss(live: pd.DataFrame, i: int) -> float:
    return max(0.0, -float(live["realisable_usd"].iloc[i]))


@dataclass(frozen=True, slots=True)
class Alarm:
    """When an alert rule first fired on a morning.

    Attributes:
        time: ``"HH:MM:SS"`` of the first sample at which the rule fired.
        seconds_after_open: How long after 09:30 that was.
        loss_usd: The loss locked in at that sample (closing the position then).
    """

    time: str
    seconds_after_open: float
    loss_usd: float

    def __str__(self) -> str:
        return (
            f"fired at {self.time} ({self.seconds_after_open:,.0f} s after the open), "
            f"loss then ${self.loss_usd:,.0f}"
        )


def first_alarm(alert: Any, live: pd.DataFrame) -> Alarm | None:
    """Feed ``live`` to ``alert`` one sample at a time; return when it first fires.

    The rule sees ``live.iloc[: i + 1]`` (a copy) at sample ``i``: the past and the
    present, never the future.

    Returns:
        The first alarm, or ``None`` if the rule never fired.
    """
    for i in range(len(live)):
        verdict = call(alert, live.iloc[: i + 1], what="alert")
        if verdict is None:
            raise AssertionError(
                "alert returned None; it must return True or False (is a `return` missing?)."
            )
        try:
            fired = bool(verdict)
        except ValueError:  # a pandas Series or array has no single truth value
            raise AssertionError(
                f"alert must return True or False; it returned a {type(verdict).__name__} "
                "(use .iloc[-1] to look at the latest row, or .any())."
            ) from None
        if fired:
            t = int(live["time_ns"].iloc[i])
            return Alarm(format_time(t), (t - OPEN_NS) / 1e9, _loss(live, i))
    return None


def _fires_in_time(alert: Any, scenario_name: str) -> str:
    live = live_metrics(scenario_name)
    alarm = first_alarm(alert, live)
    crossed = live.loc[-live["realisable_usd"] >= BUDGET_USD, "time_ns"]
    when = format_time(int(crossed.iloc[0])) if len(crossed) else "never"
    assert alarm is not None, (
        f"alert never fired, and the loss passed ${BUDGET_USD:,.0f} at {when}. Look at how "
        "fast child_orders grows after the open, or at realisable_usd (pnl_usd, marked at "
        "the last trade, looks like a profit all morning)."
    )
    assert alarm.loss_usd < BUDGET_USD, (
        f"alert {alarm}, which is over the ${BUDGET_USD:,.0f} budget (the loss passed it at "
        f"{when}). Fire earlier: a runaway shows in the order count well before the loss."
    )
    return f"{describe(scenario_name)}: {alarm}"


def _stays_quiet(alert: Any, scenario_name: str) -> str:
    alarm = first_alarm(alert, live_metrics(scenario_name))
    assert alarm is None, (
        f"false alarm: alert fired at {alarm.time if alarm else ''} on a morning where nothing "
        "was wrong "
        "(the loss stayed a few thousand dollars). The opening auction and ordinary orders "
        "make child_orders jump too: compare rates, not totals, or hold for a while."
    )
    return f"{describe(scenario_name)}: silent (no false alarm)"


# --------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------
@test_case(f"the example morning: fires before the loss passes ${BUDGET_USD:,.0f}", timeout=30)
def fires_on_the_example(alert):
    return _fires_in_time(alert, "aug-15")


@test_case("a normal morning (nobody turned the flag on): no false alarm", timeout=30)
def quiet_on_a_normal_morning(alert):
    return _stays_quiet(alert, "aug-noflag-15")


@test_case(hidden=True, variant=describe("aug-stale3-seed7-15"), timeout=30)
def fires_on_another_stale_server(alert):
    _fires_in_time(alert, "aug-stale3-seed7-15")


@test_case(hidden=True, variant=describe("aug-stale6-seed11-15"), timeout=30)
def fires_on_another_seed(alert):
    _fires_in_time(alert, "aug-stale6-seed11-15")


@test_case(hidden=True, variant=describe("aug-deployed-seed7-15"), timeout=30)
def quiet_when_the_deploy_was_complete(alert):
    _stays_quiet(alert, "aug-deployed-seed7-15")


@test_case(hidden=True, variant=describe("aug-busy-normal-15"), timeout=30)
def quiet_on_a_busy_normal_morning(alert):
    _stays_quiet(alert, "aug-busy-normal-15")
