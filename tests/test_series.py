"""The series behind each chart (smars_sim.analysis.series): data that adds up.

Nothing here asserts a calibrated figure: values are checked against the replay's own
logs, never against typed-in numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smars_sim import Scenario, replay
from smars_sim.analysis import series as S
from smars_sim.analysis import tables
from smars_sim.core.clock import OPEN_NS, SECOND_NS


@pytest.fixture(scope="module")
def small():
    return replay(Scenario.small())


@pytest.fixture(scope="module")
def aug1():
    return replay(Scenario.aug1_2012(scale=0.01))


def test_clock_is_the_trading_day():
    assert S.clock(OPEN_NS) == pd.Timestamp("2012-08-01 09:30:00")
    assert list(S.clock([OPEN_NS, OPEN_NS + SECOND_NS])) == [
        pd.Timestamp("2012-08-01 09:30:00"),
        pd.Timestamp("2012-08-01 09:30:01"),
    ]


def test_child_order_times_are_sorted_with_their_servers(small):
    times, servers = S.child_order_times(small)
    children = tables.child_orders(small)
    assert len(times) == len(servers) == len(children)
    assert (np.diff(times) >= 0).all()
    assert sorted(servers.tolist()) == sorted(children["server"].tolist())


def test_metric_days_data_labels_both_mornings():
    one = pd.DataFrame({"time_ns": [OPEN_NS, OPEN_NS + SECOND_NS], "value": [1.0, 2.0]})
    data = S.metric_days_data(one, one)
    assert list(data["day"]) == ["1 Aug 2012 replay"] * 2 + ["normal morning"] * 2
    assert list(data["value"]) == [1.0, 2.0, 1.0, 2.0]


def test_order_rate_adds_up_to_the_child_order_log(aug1):
    data = S.order_rate_data(aug1, bin_s=15)
    servers = aug1.scenario.servers
    assert len(data) % servers == 0
    assert set(data["server_id"]) == set(range(1, servers + 1))
    children = tables.child_orders(aug1)
    in_window = children[children["time_ns"] >= OPEN_NS]
    # rates are per second and full-size: undo both to count child orders again
    counted = data["orders_per_s"].sum() * 15 * aug1.scenario.scale
    assert counted == pytest.approx(len(in_window), rel=1e-3)
    per_server = data.groupby("server_id")["orders_per_s"].sum() * 15 * aug1.scenario.scale
    expected = in_window.groupby("server").size()
    for server, n in expected.items():
        assert per_server[server] == pytest.approx(n, rel=1e-3)


def test_order_rate_not_full_size_counts_replay_orders(small):
    data = S.order_rate_data(small, bin_s=60, full_size=False)
    children = tables.child_orders(small)
    assert data["orders_per_s"].sum() * 60 == pytest.approx(
        (children["time_ns"] >= OPEN_NS).sum(), rel=1e-3
    )


def test_pnl_locked_in_ends_at_the_days_loss(aug1):
    data = S.pnl_data(aug1)
    assert set(data["series"]) == {S.LOCKED_IN, S.LAST_TRADE}
    locked = data[data["series"] == S.LOCKED_IN]
    assert locked["s"].is_monotonic_increasing
    assert locked["usd"].iloc[-1] == pytest.approx(-aug1.summary.loss_usd, rel=1e-6, abs=1)
    assert np.allclose(locked["usd_m"], locked["usd"] / 1e6, atol=1e-3)


def test_positions_match_the_executions(small):
    data = S.positions_data(small)
    assert set(data["side"]) == {"long", "short"}
    assert (data["usd"] >= 0).all()
    # at the last sample: recompute the net positions from the executions
    ex = tables.executions(small)
    last_t = int(max(s[0] for s in small.samples))
    upto = ex[ex["time_ns"] <= last_t]
    signed = upto["qty"] * np.where(upto["side"] == "buy", 1, -1)
    net = signed.groupby(upto["symbol"], observed=True).sum()
    last = data[data["s"] == data["s"].max()].set_index("side")
    assert last.loc["long", "symbols"] == int((net > 0).sum())
    assert last.loc["short", "symbols"] == int((net < 0).sum())


def test_prices_are_percent_from_the_open(aug1):
    top = S.top_symbols(aug1, 3)
    assert len(top) == 3
    traded = aug1.window["knight_shares"]
    named = S.documented_tickers()
    assert top[0] in named  # views lead with the stocks the record documents
    most = S.top_symbols(aug1, 3, lead_with_documented=False)
    assert traded[aug1.symbols.index(most[0])] == max(traded)
    data = S.prices_data(aug1, top)
    for symbol in top:
        rows = data[data["symbol"] == symbol]
        open_usd = aug1.open_price[aug1.symbols.index(symbol)] / 100
        expected = (rows["price_usd"] / open_usd - 1) * 100
        assert np.allclose(rows["pct"], expected, atol=0.01)


def test_documented_names_come_first_in_the_given_order():
    assert S.documented_first(["~S001", "WZE", "~S002", "CO"]) == ["WZE", "CO", "~S001", "~S002"]
    assert {"WZE", "CO", "EJ", "ARC", "CODE", "ANF", "HOG"} <= S.documented_tickers()
