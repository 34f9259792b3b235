"""q1 · Find the rogue server: forensics on the executions log.

The learner writes ``find_rogue(executions)``. It returns ``None`` when no server ran
away, else ``{"server": int, "since": "HH:MM:SS", "symbols": set of tickers}``.

The truth is read from the replay's own child-order log, which records the code
path of every order (the learner only sees the executions): the rogue server is
the one whose Power Peg orders executed, "since" is its first Power Peg execution
(to the minute), and the symbols are those its Power Peg orders traded.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import pandas as pd

from ..analysis import tables
from ..core.clock import format_time, parse_time
from .learner import call, test_case
from .scenarios import describe, replayed

name = "q1"
title = "Find the rogue server"
points = 7

#: How far "since" may be from the truth: the question asks for the minute.
SINCE_TOLERANCE_S = 60


def example_executions() -> pd.DataFrame:
    """The executions log of the example morning (1 Aug 2012 at 1%, 08:00-09:40); a copy."""
    return tables.executions(replayed("aug")).copy()


def truth(scenario_name: str) -> dict[str, Any] | None:
    """The right answer for a named scenario, from the child-order log's code paths."""
    result = replayed(scenario_name)
    children = tables.child_orders(result)
    peg = set(children.loc[children["path"] == "power_peg", "child_id"])
    ex = tables.executions(result)
    rows = ex[ex["child_id"].isin(peg)]
    if rows.empty:
        return None
    servers = sorted(set(rows["server"]))
    assert len(servers) == 1, f"{scenario_name}: more than one rogue server {servers}"
    return {
        "server": int(servers[0]),
        "since": int(rows["time_ns"].min()),
        "symbols": {str(s) for s in rows["symbol"]},
    }


# --------------------------------------------------------------------------
# Reading the learner's answer
# --------------------------------------------------------------------------
def _as_int(value: Any) -> int | None:
    try:
        if isinstance(value, bool):
            return None
        as_int = int(value)
        return as_int if as_int == value else None
    except (TypeError, ValueError):
        return None


def _as_ns(value: Any) -> int | None:
    """A time of day as ns since midnight: "HH:MM[:SS]", ns, a time or a timestamp."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            return parse_time(value.strip())
        except ValueError:
            return None
    if isinstance(value, pd.Timestamp | _dt.datetime):
        value = value.time()
    if isinstance(value, _dt.time):
        return (
            value.hour * 3600 + value.minute * 60 + value.second
        ) * 10**9 + value.microsecond * 1000
    if isinstance(value, pd.Timedelta | _dt.timedelta):
        return int(pd.Timedelta(value).value)
    return _as_int(value)


def _as_symbols(value: Any) -> set[str] | None:
    if isinstance(value, str | bytes) or value is None:
        return None
    try:
        return {str(s) for s in value}
    except TypeError:
        return None


def _short(symbols: set[str], n: int = 4) -> str:
    items = sorted(symbols)
    shown = ", ".join(items[:n])
    return shown + (f", ... ({len(items)} in all)" if len(items) > n else "")


def _answer(find_rogue: Any, scenario_name: str) -> Any:
    executions = tables.executions(replayed(scenario_name))  # call() hands over a deep copy
    got = call(find_rogue, executions)
    if got is not None and not isinstance(got, dict):
        raise AssertionError(
            f"find_rogue must return a dict with keys 'server', 'since' and 'symbols' "
            f"(or None); it returned a {type(got).__name__}."
        )
    if isinstance(got, dict):
        missing = [k for k in ("server", "since", "symbols") if k not in got]
        assert not missing, (
            f"the dict find_rogue returned has no key {missing[0]!r}; it needs 'server', "
            "'since' and 'symbols'."
        )
    return got


def _compare(
    got: dict[str, Any] | None, want: dict[str, Any] | None, parts: tuple[str, ...]
) -> None:
    """Assert that ``got`` matches ``want`` on ``parts``; the message is the hint."""
    if want is None:
        assert got is None, (
            f"no server ran away, so find_rogue should return None; it returned server "
            f"{got.get('server')!r}. On a normal day every server trades a little at the "
            "open and then stops: look for one that stands out by far (executions per "
            "parent order, or after the first minute)."
            if isinstance(got, dict)
            else ""
        )
        return
    assert got is not None, (
        f"server {want['server']} ran away, but find_rogue returned None. Look at "
        "executions per server, or per parent order: one server's parents were worked far "
        "more than the others'."
    )
    if "server" in parts:
        server = _as_int(got["server"])
        assert server is not None, (
            f"'server' should be a whole number; find_rogue returned {got['server']!r}."
        )
        assert server == want["server"], (
            f"expected server {want['server']}, find_rogue returned {server}. Look at "
            "executions.groupby('server').size(), then at the executions after the open."
        )
    if "since" in parts:
        since = _as_ns(got["since"])
        assert since is not None, (
            f"'since' should be a time such as '09:31:00'; find_rogue returned {got['since']!r}."
        )
        assert abs(since - want["since"]) <= SINCE_TOLERANCE_S * 10**9, (
            f"expected a time within a minute of {format_time(want['since'])}, find_rogue "
            f"returned {format_time(since)}. Take the time of the rogue server's first "
            "runaway execution (its executions' time_ns), not a fixed time."
        )
    if "symbols" in parts:
        symbols = _as_symbols(got["symbols"])
        assert symbols is not None, (
            f"'symbols' should be a set of tickers; find_rogue returned {got['symbols']!r}."
        )
        extra, lacking = symbols - want["symbols"], want["symbols"] - symbols
        assert not extra and not lacking, (
            f"expected the {len(want['symbols'])} tickers server {want['server']} traded "
            f"({_short(want['symbols'])}); find_rogue returned {len(symbols)}"
            + (f", {len(extra)} too many (e.g. {_short(extra, 2)})" if extra else "")
            + (f", {len(lacking)} missing (e.g. {_short(lacking, 2)})" if lacking else "")
            + ". Keep only the rogue server's rows, then take their 'symbol' column."
        )


def _info(got: dict[str, Any] | None) -> str:
    if got is None:
        return "no rogue server"
    return (
        f"server {_as_int(got['server'])} since {format_time(_as_ns(got['since']) or 0)}, "
        f"{len(_as_symbols(got['symbols']) or ())} symbols"
    )


# --------------------------------------------------------------------------
# The checks (otter style: parameters name the learner's objects)
# --------------------------------------------------------------------------
@test_case("the example morning: which server")
def server_on_the_example(find_rogue):
    got = _answer(find_rogue, "aug")
    _compare(got, truth("aug"), ("server",))


@test_case("the example morning: since when")
def since_on_the_example(find_rogue):
    got = _answer(find_rogue, "aug")
    _compare(got, truth("aug"), ("since",))


@test_case("the example morning: which symbols")
def symbols_on_the_example(find_rogue):
    got = _answer(find_rogue, "aug")
    _compare(got, truth("aug"), ("symbols",))
    return f"example morning: {_info(got)}"


@test_case("a normal morning (the release reached every server): no rogue server")
def none_on_a_normal_morning(find_rogue):
    got = _answer(find_rogue, "aug-deployed")
    _compare(got, None, ())


def _variant(find_rogue: Any, scenario_name: str) -> None:
    _compare(
        _answer(find_rogue, scenario_name), truth(scenario_name), ("server", "since", "symbols")
    )


@test_case(hidden=True, variant=describe("aug-stale3-seed7"))
def another_stale_server(find_rogue):
    _variant(find_rogue, "aug-stale3-seed7")


@test_case(hidden=True, variant=describe("aug-stale5-late"))
def a_later_runaway(find_rogue):
    _variant(find_rogue, "aug-stale5-late")


@test_case(hidden=True, variant=describe("aug-noflag-seed3"))
def a_morning_without_the_flag(find_rogue):
    _variant(find_rogue, "aug-noflag-seed3")
