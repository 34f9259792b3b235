"""The Result: headline figures computed from the logs, the digest, close-out prices."""

from __future__ import annotations

from array import array

import pytest

from smars_sim import ParentOrder, Scenario, Simulation
from smars_sim.analysis import tables
from smars_sim.core.result import BUST_PCT, execution_digest

KEYS = {
    "scenario",
    "seed",
    "scale",
    "fixes",
    "servers",
    "stale_servers",
    "parent_orders",
    "parent_orders_received",
    "child_orders",
    "executions",
    "symbols_traded",
    "shares_traded",
    "long_usd",
    "long_symbols",
    "short_usd",
    "short_symbols",
    "loss_usd",
    "start",
    "stop",
    "duration_minutes",
    "bnet_emails",
    "pages",
    "impact_20_5",
    "impact_50_10",
    "busted_symbols",
    "execution_digest",
}


def test_summary_has_every_headline(small):
    assert set(small.summary.as_dict()) >= KEYS
    s = small.summary
    assert (s.scenario, s.seed, s.servers, s.stale_servers) == ("small", 1, 3, (3,))
    assert s.parent_orders_received == sum(1 for p in small.parents if p.retail)


def test_duration_is_stop_minus_start(small):
    from smars_sim import parse_time

    s = small.summary
    minutes = (parse_time(s.stop) - parse_time(s.start)) / 60e9
    assert s.duration_minutes == pytest.approx(minutes, abs=0.01)
    assert s.duration_minutes > 0


def _digest_inputs():
    journal = array("q", [1, 1, 100, 5, 2, 2, 101, 5])
    children = array("q", [0, 1, 0, 5, 2, 1, 1, 0, 5, 2])
    parents = [ParentOrder(1, 0, 1, 10, 0, server=3)]
    return journal, children, parents


def test_digest_is_stable_and_covers_every_input():
    journal, children, parents = _digest_inputs()
    base = execution_digest(journal, children, parents)
    assert base == execution_digest(array("q", journal), array("q", children), parents)
    assert len(base) == 64
    changed_exec = array("q", journal)
    changed_exec[3] += 1
    changed_child = array("q", children)
    changed_child[4] = 0
    moved = [ParentOrder(1, 0, 1, 10, 0, server=2)]
    flipped = [ParentOrder(1, 0, -1, 10, 0, server=3)]
    others = {
        execution_digest(changed_exec, children, parents),
        execution_digest(journal, changed_child, parents),
        execution_digest(journal, children, moved),
        execution_digest(journal, children, flipped),
        execution_digest(journal[:4], children, parents),
    }
    assert base not in others and len(others) == 5


def test_digest_of_a_result_matches_its_logs(small):
    assert small.summary.execution_digest == execution_digest(
        small.journal, small.children, small.parents
    )


def test_basket_prices_discount_longs_and_mark_up_shorts(aug1):
    discount = aug1.scenario.basket_discount_bps / 1e4
    longs = [i for i, q in enumerate(aug1.position) if q > 0]
    shorts = [i for i, q in enumerate(aug1.position) if q < 0]
    assert longs and shorts
    for i in longs:
        assert aug1.basket_price(i) == pytest.approx(aug1.close_fair[i] * (1 - discount))
    for i in shorts:
        assert aug1.basket_price(i) == pytest.approx(aug1.close_fair[i] * (1 + discount))


def test_symbol_moves_come_from_the_window(aug1):
    moves = aug1.symbol_moves()
    w = aug1.window
    assert len(moves) == len(aug1.symbols)
    window_end = aug1.scenario.t("window_end")
    samples = zip(aug1.samples, aug1.price_samples, strict=True)
    sampled = [p for (t, *_), p in samples if t < window_end]
    for i, (share, move) in enumerate(moves):
        if not w["volume"][i]:
            assert share == 0.0
            continue
        assert share == pytest.approx(100 * w["knight_shares"][i] / w["volume"][i])
        assert 0 <= share <= 100
        assert w["low"][i] <= w["high"][i]
        open_cents = aug1.open_price[i]
        # The move is read from the samples of the last trade price, on a fixed clock.
        high = max([open_cents] + [p[i] for p in sampled])
        low = min([open_cents] + [p[i] for p in sampled])
        assert move == pytest.approx(100 * max(high - open_cents, open_cents - low) / open_cents)
        # ...so it never exceeds the most extreme trade in the window.
        worst = max(w["high"][i] - open_cents, open_cents - w["low"][i])
        assert move <= 100 * worst / open_cents + 1e-9
    a, b, busted = aug1.impact_counts()
    assert a == sum(1 for s, m in moves if s > 20 and m > 5)
    assert b == sum(1 for s, m in moves if s > 50 and m > 10)
    # Busts look at every trade (the NYSE rule), not at samples.
    expected_busted = [
        i
        for i, o in enumerate(aug1.open_price)
        if w["knight_shares"][i]
        and w["volume"][i]
        and 100 * max(w["high"][i] - o, o - w["low"][i]) / o >= BUST_PCT
    ]
    assert aug1.busted_symbols() == expected_busted
    assert busted == len(expected_busted)
    assert (aug1.summary.impact_20_5, aug1.summary.impact_50_10) == (a, b)
    assert aug1.summary.busted_symbols == busted


def test_window_high_and_low_bound_every_trade_in_the_window(aug1):
    """Knight's own fills before the window end lie within each symbol's high and low."""
    ex = tables.executions(aug1)
    end = aug1.scenario.t("window_end")
    early = ex[ex["time_ns"] <= end]
    grouped = early.groupby("symbol", observed=True)["price_usd"].agg(["min", "max"])
    for symbol, row in grouped.iterrows():
        i = aug1.symbols.index(symbol)
        assert aug1.window["low"][i] <= round(row["min"] * 100)
        assert aug1.window["high"][i] >= round(row["max"] * 100)


def test_a_result_mid_replay_is_consistent():
    sim = Simulation(Scenario.small())
    sim.advance_to("09:32")
    partial = sim.result()
    assert partial.summary.child_orders == len(tables.child_orders(partial)) > 0
    assert (tables.child_orders(partial)["time_ns"] <= sim.now).all()
    assert partial.summary.stop <= "09:32:00.000"
    final = sim.run()
    assert final.summary.child_orders > partial.summary.child_orders
