"""Market makers (square-root impact that decays) and the other participants' flow.

The parameters here are the tests' own, not the calibrated ones: these tests check the
mechanism (direction, shape, decay), never a calibrated figure.
"""

from __future__ import annotations

import math
from random import Random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smars_sim import BUY, SELL
from smars_sim.core.clock import OPEN_NS, SECOND_NS
from smars_sim.core.liquidity import Background, LiquidityParams

PARAMS = LiquidityParams(
    half_spread_bps=10, step_bps=5, levels=3, level_shares=400, impact_coef=0.05, half_life_s=60
)


def test_fair_value_is_the_reference_without_flow(market):
    _, makers = market(prices=(10_000, 2_500), params=PARAMS)
    assert makers.fair_cents(0, OPEN_NS) == 10_000
    assert makers.fair_cents(1, OPEN_NS) == 2_500
    assert makers.net_flow(0, OPEN_NS) == 0


@pytest.mark.parametrize("side", [BUY, SELL])
def test_flow_leans_fair_value_by_a_square_root_law(market, side):
    _, makers = market(prices=(10_000,), depth=10_000, params=PARAMS)
    makers.on_taken(0, side, 2_500, OPEN_NS)
    one = math.log(makers.fair_cents(0, OPEN_NS) / 10_000)
    makers.on_taken(0, side, 7_500, OPEN_NS)  # four times the flow in all
    four = math.log(makers.fair_cents(0, OPEN_NS) / 10_000)
    assert one * side > 0  # buying raises the price, selling lowers it
    assert four / one == pytest.approx(2.0, rel=1e-9)  # sqrt(4)
    assert abs(one) == pytest.approx(PARAMS.impact_coef * math.sqrt(2_500 / 10_000), rel=1e-9)


def test_opposite_flow_cancels(market):
    _, makers = market(params=PARAMS)
    makers.on_taken(0, BUY, 1_000, OPEN_NS)
    makers.on_taken(0, SELL, 1_000, OPEN_NS)
    assert makers.fair_cents(0, OPEN_NS) == pytest.approx(10_000)


def test_flow_memory_halves_every_half_life(market):
    _, makers = market(params=PARAMS)
    makers.on_taken(0, BUY, 1_000, OPEN_NS)
    half_life = int(PARAMS.half_life_s * SECOND_NS)
    assert makers.net_flow(0, OPEN_NS) == pytest.approx(1_000)
    assert makers.net_flow(0, OPEN_NS + half_life) == pytest.approx(500)
    assert makers.net_flow(0, OPEN_NS + 3 * half_life) == pytest.approx(125)


def test_flow_memory_survives_rebasing_over_a_long_day(market):
    """The accumulator re-bases before exp() overflows; values must not change."""
    params = LiquidityParams(half_life_s=1.0)
    _, makers = market(params=params)
    makers.on_taken(0, BUY, 1_000, 0)
    later = 500 * SECOND_NS  # exp(500 * ln 2) overflows a float without the re-base
    makers.on_taken(0, BUY, 1_000, later)
    assert makers.net_flow(0, later) == pytest.approx(1_000, rel=1e-9)
    assert math.isfinite(makers.fair_cents(0, later + SECOND_NS))


def test_quotes_straddle_fair_value(market):
    exchange, makers = market(prices=(10_000,), params=PARAMS)
    exchange.open(OPEN_NS)
    bids, asks = exchange.books[0].depth(levels=10)
    half = round(10_000 * PARAMS.half_spread_bps / 1e4)
    step = round(10_000 * PARAMS.step_bps / 1e4)
    assert [p for p, _ in bids] == [10_000 - half - i * step for i in range(PARAMS.levels)]
    assert [p for p, _ in asks] == [10_000 + half + i * step for i in range(PARAMS.levels)]
    assert all(q == makers.level_qty for _, q in bids + asks)


def test_quote_size_grows_as_one_over_scale(market):
    _, full = market(params=PARAMS, scale=1.0)
    _, coarse = market(params=PARAMS, scale=0.01)
    assert coarse.level_qty == 100 * full.level_qty


def test_one_sided_buying_walks_the_price_up_and_it_comes_back(market):
    exchange, makers = market(prices=(10_000,), depth=5_000, params=PARAMS)
    exchange.open(OPEN_NS)
    now = OPEN_NS
    for _ in range(200):
        now += SECOND_NS // 10
        exchange.take_other(0, BUY, makers.level_qty, now)
    high = exchange.last(0)
    assert high > 10_000 * 1.02  # the price walked up
    assert makers.fair_cents(0, now) > 10_000
    later = now + int(20 * PARAMS.half_life_s * SECOND_NS)
    makers.refresh(later)  # after many half-lives the makers re-centre near the reference
    bid, ask = exchange.bbo(0)
    assert bid < 10_000 < ask
    assert makers.fair_cents(0, later) == pytest.approx(10_000, rel=1e-3)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([BUY, SELL]), st.integers(1, 3_000)), max_size=60))
def test_the_book_never_crosses_under_random_flow(flow):
    from smars_sim import Exchange
    from smars_sim.core.liquidity import MarketMakers

    exchange = Exchange(["S"])
    makers = MarketMakers(exchange, [1_000], [2_000.0], PARAMS, 1.0)
    exchange.makers = makers
    exchange.open(OPEN_NS)
    now = OPEN_NS
    for side, qty in flow:
        now += SECOND_NS // 20
        exchange.take_other(0, side, qty, now)
        if len(flow) % 5 == 0:
            makers.refresh(now)
        bid, ask = exchange.bbo(0)
        assert bid is not None and ask is not None, "a side of the book ran empty"
        assert 1 <= bid < ask
        assert exchange.others_position[0] + exchange.maker_position[0] == 0


def _background_run(rate: float, seconds: int, seed: int = 3) -> tuple[int, int, int]:
    """Run the other participants' prints; return (printed, book volume, makers' position)."""
    from smars_sim import Exchange
    from smars_sim.core.liquidity import MarketMakers

    exchange = Exchange(["S"])
    makers = MarketMakers(exchange, [5_000], [1e9], PARAMS, 1.0)
    exchange.makers = makers
    exchange.open(OPEN_NS)
    others = Background(exchange, [rate], 5.0, Random(seed))
    printed = 0
    for k in range(1, seconds // 5 + 1):
        printed += others.trade(OPEN_NS + k * 5 * SECOND_NS)
    return printed, exchange.books[0].volume, exchange.maker_position[0]


def test_background_prints_the_nominal_volume_without_touching_the_makers():
    """Prints add volume at the rate asked (gamma noise averages out); makers are untouched."""
    printed, volume, maker_position = _background_run(100.0, 3_600)
    assert printed == volume  # every printed share is in the book's volume
    assert printed == pytest.approx(100.0 * 3_600, rel=0.05)
    assert maker_position == 0  # two other participants crossing: no maker on either side


def test_background_prints_only_where_the_rate_is_positive():
    from smars_sim import Exchange
    from smars_sim.core.liquidity import MarketMakers

    exchange = Exchange(["A", "B", "C"])
    makers = MarketMakers(exchange, [1_000, 2_000, 3_000], [1e9] * 3, PARAMS, 1.0)
    exchange.makers = makers
    exchange.open(OPEN_NS)
    others = Background(exchange, [10.0, 0.0, 5.0], 5.0, Random(1))
    for k in range(1, 50):
        others.trade(OPEN_NS + k * 5 * SECOND_NS)
    volumes = [book.volume for book in exchange.books]
    assert volumes[0] > 0 and volumes[2] > 0
    assert volumes[1] == 0
