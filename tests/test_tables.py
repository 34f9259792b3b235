"""The pandas tables: columns, dtypes, joins, and the parquet writer."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from smars_sim import Scenario, Simulation
from smars_sim.analysis import tables as tables_module
from smars_sim.analysis.output import write_set

COLUMNS = {
    "parent_orders": {
        "parent_id": "int64",
        "received_ns": "int64",
        "received": "object",
        "symbol": "object",
        "side": "object",
        "qty": "int64",
        "retail": "bool",
        "for_open": "bool",
        "server": "int64",
        "path": "object",
        "filled_qty": "int64",
        "child_orders": "int64",
        "ran_power_peg": "bool",
        "rejected": "object",
    },
    "child_orders": {
        "child_id": "int64",
        "time_ns": "int64",
        "server": "int64",
        "parent_id": "int64",
        "symbol": "category",
        "side": "category",
        "price_usd": "float64",
        "qty": "int64",
        "path": "category",
    },
    "executions": {
        "time_ns": "int64",
        "server": "int64",
        "child_id": "int64",
        "parent_id": "int64",
        "symbol": "category",
        "side": "category",
        "price_usd": "float64",
        "qty": "int64",
    },
    "positions": {
        "symbol": "object",
        "synthetic": "bool",
        "position": "int64",
        "open_usd": "float64",
        "last_usd": "float64",
        "market_value_usd": "float64",
        "basket_price_usd": "float64",
        "knight_volume_pct": "float64",
        "max_move_pct": "float64",
    },
    "pnl": {
        "time_ns": "int64",
        "time": "object",
        "cash_usd": "float64",
        "pnl_usd": "float64",
        "realisable_usd": "float64",
        "child_orders": "int64",
        "executions": "int64",
    },
    "alerts": {
        "time_ns": "int64",
        "time": "object",
        "channel": "object",
        "source": "object",
        "symbol": "object",
        "text": "object",
    },
    "actions": {
        "time_ns": "int64",
        "time": "object",
        "actor": "object",
        "action": "object",
        "server": "int64",
        "detail": "object",
    },
}


def _kind(dtype) -> str:
    """A dtype's family: pandas may store text as object or as its string dtype."""
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_string_dtype(dtype) or getattr(dtype, "kind", "") == "O":
        return "object"
    return str(dtype)


@pytest.mark.parametrize("name", list(COLUMNS))
def test_columns_and_dtypes(small, name):
    frame = getattr(tables_module, name)(small)
    assert len(frame) > 0, name
    assert {c: _kind(t) for c, t in frame.dtypes.items()} == COLUMNS[name]


@pytest.mark.parametrize("name", list(COLUMNS))
def test_tables_before_any_trading_have_the_same_columns(name):
    """A result taken before the open (nothing traded yet) keeps every table's columns."""
    sim = Simulation(Scenario.small())
    sim.advance_to("09:00")
    frame = getattr(tables_module, name)(sim.result())
    assert list(frame.columns) == list(COLUMNS[name]), name


def test_executions_join_to_their_child_and_parent(small):
    ex = tables_module.executions(small)
    children = tables_module.child_orders(small)
    parents = {p.id: p for p in small.parents}
    assert len(ex) == len(small.journal) // 4
    # Row by row against the raw logs.
    journal = np.frombuffer(small.journal, dtype="<i8").reshape(-1, 4)
    raw_children = np.frombuffer(small.children, dtype="<i8").reshape(-1, 5)
    assert (ex["time_ns"].to_numpy() == journal[:, 0]).all()
    assert (ex["child_id"].to_numpy() == journal[:, 1]).all()
    assert (np.rint(ex["price_usd"].to_numpy() * 100) == journal[:, 2]).all()
    assert (ex["qty"].to_numpy() == journal[:, 3]).all()
    assert (ex["parent_id"].to_numpy() == raw_children[journal[:, 1] - 1, 1]).all()
    for row in ex.sample(n=min(500, len(ex)), random_state=0).itertuples(index=False):
        parent = parents[row.parent_id]
        assert row.server == parent.server  # server = the parent's server
        assert row.symbol == small.symbols[parent.symbol]
        assert row.side == ("buy" if parent.side > 0 else "sell")
        child = children.iloc[row.child_id - 1]
        assert child.child_id == row.child_id and child.parent_id == row.parent_id
        assert child.server == row.server and child.symbol == row.symbol


def test_child_orders_match_the_raw_log(small):
    children = tables_module.child_orders(small)
    raw = np.frombuffer(small.children, dtype="<i8").reshape(-1, 5)
    assert (children["time_ns"].to_numpy() == raw[:, 0]).all()
    assert (children["parent_id"].to_numpy() == raw[:, 1]).all()
    assert (children["qty"].to_numpy() == raw[:, 3]).all()
    codes = {"standard": 0, "rlp": 1, "power_peg": 2}
    assert (children["path"].map(codes).astype(int).to_numpy() == raw[:, 4]).all()
    assert list(children["symbol"].cat.categories) == small.symbols


def test_parent_orders_count_their_child_orders(small):
    parents = tables_module.parent_orders(small).set_index("parent_id")
    counts = tables_module.child_orders(small).groupby("parent_id").size()
    for pid, row in parents.iterrows():
        assert row["child_orders"] == counts.get(pid, 0)
    assert len(parents) == len(small.parents)


def test_positions_list_traded_symbols(aug1):
    pos = tables_module.positions(aug1)
    traded = set(tables_module.executions(aug1)["symbol"].astype(str))
    assert set(pos["symbol"]) == traded
    for row in pos.itertuples(index=False):
        i = aug1.symbols.index(row.symbol)
        assert row.position == aug1.position[i]
        assert row.market_value_usd == pytest.approx(row.position * row.last_usd)
        # Longs are sold at fair less the basket discount, shorts bought back at fair plus it.
        discount = aug1.scenario.basket_discount_bps / 1e4
        fair = aug1.close_fair[i] / 100
        if row.position > 0:
            assert row.basket_price_usd == pytest.approx(fair * (1 - discount))
        elif row.position < 0:
            assert row.basket_price_usd == pytest.approx(fair * (1 + discount))


def test_alerts_are_in_time_order(small):
    alerts = tables_module.alerts(small)
    assert alerts["time_ns"].is_monotonic_increasing
    assert set(alerts["channel"]) <= {"email", "page"}
    assert (alerts["channel"] == "email").sum() == len(small.emails)


def test_prices_table_is_one_column_per_symbol(small):
    prices = tables_module.prices(small)
    assert list(prices.columns) == ["time_ns", *small.symbols]
    assert len(prices) == len(tables_module.pnl(small))
    assert (prices["time_ns"].to_numpy() == tables_module.pnl(small)["time_ns"].to_numpy()).all()


def test_write_set_round_trips(small, tmp_path):
    paths = write_set(small, str(tmp_path / "out"))
    assert len(paths) == 7
    for path in paths:
        name = os.path.basename(path).removesuffix(".parquet")
        assert len(pd.read_parquet(path)) == len(getattr(tables_module, name)(small))


def test_write_set_cleans_up_when_a_table_fails(small, tmp_path, monkeypatch):
    """A failure part-way leaves neither partial files nor a partial set of tables."""
    calls = {"n": 0}
    original = pd.DataFrame.to_parquet

    def flaky(self, path, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full (simulated)")
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", flaky)
    out = tmp_path / "out"
    with pytest.raises(OSError, match="disk full"):
        write_set(small, str(out))
    # The set is written beside the target and moved in whole: the target was never
    # created and no temporary folder is left.
    assert list(tmp_path.iterdir()) == []
    assert not out.exists()


def test_write_set_refuses_a_directory_where_a_table_goes(small, tmp_path):
    out = tmp_path / "out"
    (out / "pnl.parquet").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"pnl\.parquet"):
        write_set(small, str(out))
    assert sorted(p.name for p in out.iterdir()) == ["pnl.parquet"]
