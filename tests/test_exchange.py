"""The exchange: orders held until the open, released in order, and who holds which shares."""

from __future__ import annotations

from array import array

import pytest

from smars_sim import BUY, SELL
from smars_sim.core.clock import OPEN_NS


class Sender:
    def __init__(self) -> None:
        self.released: list[tuple[int, int, int, int, int]] = []

    def on_released(self, tag, qty, filled, notional, now):
        self.released.append((tag, qty, filled, notional, now))


def test_orders_before_the_open_are_held_then_released_in_arrival_order(market):
    exchange, _ = market(prices=(10_000, 5_000))
    sender = Sender()
    journal = array("q")
    assert not exchange.is_open
    assert exchange.send(0, 101, BUY, None, 50, 1, journal, sender, tag=1) is None
    assert exchange.send(1, 102, SELL, None, 30, 2, journal, sender, tag=2) is None
    assert exchange.send(0, 103, BUY, None, 20, 3, journal, sender, tag=3) is None
    assert exchange.held_count == 3
    assert len(journal) == 0 and exchange.books[0].volume == 0  # nothing traded yet
    exchange.open(OPEN_NS)
    assert exchange.is_open and exchange.held_count == 0
    assert [r[0] for r in sender.released] == [1, 2, 3]
    for _tag, qty, filled, notional, now in sender.released:
        assert now == OPEN_NS
        assert 0 < filled <= qty and notional > 0
    # Released orders traded at the open, and the journal names them by order id.
    ids = journal[1::4]
    assert list(dict.fromkeys(ids)) == [101, 102, 103]
    assert set(journal[0::4]) == {OPEN_NS}


def test_open_quotes_every_book(market):
    exchange, makers = market(prices=(10_000, 2_000))
    assert exchange.bbo(0) == (None, None)
    exchange.open(OPEN_NS)
    for symbol, price in enumerate((10_000, 2_000)):
        bid, ask = exchange.bbo(symbol)
        assert bid is not None and ask is not None
        assert bid < price < ask
        bids, asks = exchange.books[symbol].depth(levels=100)
        assert len(bids) == len(asks) == makers.params.levels
    assert exchange.last(0) is None


def test_knight_fills_move_the_makers_position(market):
    exchange, _ = market()
    exchange.open(OPEN_NS)
    sender = Sender()
    journal = array("q")
    filled, notional, price = exchange.send(0, 7, BUY, None, 100, OPEN_NS + 1, journal, sender, 7)
    assert filled == 100 and notional == 100 * price
    assert exchange.last(0) == price
    assert exchange.maker_position == [-100]
    assert exchange.others_position == [0]
    exchange.send(0, 8, SELL, None, 40, OPEN_NS + 2, journal, sender, 8)
    assert exchange.maker_position == [-60]
    assert sender.released == []  # only held orders are reported back


def test_other_participants_positions(market):
    exchange, _ = market()
    exchange.open(OPEN_NS)
    assert exchange.take_other(0, BUY, 70, OPEN_NS + 1) == 70
    assert exchange.take_other(0, SELL, 20, OPEN_NS + 2) == 20
    assert exchange.others_position == [50]
    assert exchange.maker_position == [-50]


def test_limit_orders_that_cannot_fill_do_not_trade(market):
    exchange, _ = market()
    exchange.open(OPEN_NS)
    bid, ask = exchange.bbo(0)
    sender = Sender()
    assert exchange.send(0, 10, SELL, ask, 100, OPEN_NS, None, sender, 10) == (0, 0, 0)
    assert exchange.send(0, 9, BUY, bid, 100, OPEN_NS + 1, None, sender, 9) == (0, 0, 0)
    assert exchange.maker_position == [0]
    assert exchange.books[0].volume == 0


@pytest.mark.parametrize("side", [BUY, SELL])
def test_taken_levels_are_replenished(market, side):
    exchange, makers = market()
    exchange.open(OPEN_NS)
    level = makers.level_qty
    sender = Sender()
    for i in range(10):
        exchange.send(0, 1000 + i, side, None, level, OPEN_NS + i, None, sender, i)
    book = exchange.books[0]
    ladder_bids, ladder_asks = makers.ladders[0]
    # The ladder is whole again: one resting maker order per level and side.
    assert len(ladder_bids) == len(ladder_asks) == makers.params.levels
    assert {o[0] for o in (*ladder_bids, *ladder_asks)} == set(book.orders)
    assert all(o[1] == level for o in book.orders.values())
    bid, ask = exchange.bbo(0)
    assert bid < ask
    assert exchange.maker_position == [-side * 10 * level]
