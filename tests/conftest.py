"""Shared fixtures: replays of the scenarios the tests check, each run once per session.

Replays are cheap only at small scale: ``Scenario.small()`` and
``Scenario.aug1_2012(scale=0.01)`` take about half a second each. Never go above
``scale=0.02`` in the unit tests.

Nothing here asserts a calibrated figure: these tests check mechanisms and invariants;
the headline numbers against the record are checked in tests/test_fidelity.py.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from smars_sim import Exchange, Result, Scenario, replay
from smars_sim.core.liquidity import LiquidityParams, MarketMakers

#: Scenarios every replay invariant is checked on (see tests/invariants.py).
SCENARIOS: dict[str, Callable[[], Scenario]] = {
    "small": Scenario.small,
    "small-stale-2": lambda: Scenario.small(stale_servers=(2,)),
    "small-stale-1-3": lambda: Scenario.small(stale_servers=(1, 3)),
    "small-no-stale": lambda: Scenario.small(stale_servers=()),
    "small-halt": lambda: Scenario.small(halt_at="09:33"),
    "aug1-0.01": lambda: Scenario.aug1_2012(scale=0.01),
    "aug1-0.01-seed-7": lambda: Scenario.aug1_2012(scale=0.01, seed=7),
}


class _Replays:
    """Replays computed on first use and kept for the session (results are read-only)."""

    def __init__(self) -> None:
        self._cache: dict[str, Result] = {}

    def __getitem__(self, name: str) -> Result:
        if name not in self._cache:
            self._cache[name] = replay(SCENARIOS[name]())
        return self._cache[name]


@pytest.fixture(scope="session")
def replays() -> _Replays:
    return _Replays()


@pytest.fixture(scope="session")
def small(replays: _Replays) -> Result:
    """``replay(Scenario.small())``: server 3 stale, rollback at 09:35, stop-all at 09:40."""
    return replays["small"]


@pytest.fixture(scope="session")
def aug1(replays: _Replays) -> Result:
    """``replay(Scenario.aug1_2012(scale=0.01))``."""
    return replays["aug1-0.01"]


@pytest.fixture
def market() -> Callable[..., tuple[Exchange, MarketMakers]]:
    """Build an exchange with market makers over a few symbols (not open yet)."""

    def build(
        prices: tuple[int, ...] = (10_000,),
        depth: float = 10_000.0,
        params: LiquidityParams | None = None,
        scale: float = 1.0,
    ) -> tuple[Exchange, MarketMakers]:
        exchange = Exchange([f"S{i}" for i in range(len(prices))])
        makers = MarketMakers(
            exchange, list(prices), [depth] * len(prices), params or LiquidityParams(), scale
        )
        exchange.makers = makers
        return exchange, makers

    return build


@pytest.fixture
def offline_renderer():
    """Charts use altair's offline ``jupyter`` renderer, as in the course; restored after."""
    import altair as alt  # only the presentation tests need it

    previous = alt.renderers.active
    _ = alt.renderers.enable("jupyter", offline=True)
    yield
    _ = alt.renderers.enable(previous)
