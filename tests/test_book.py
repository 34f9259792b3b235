"""The order book against a reference model: price-time priority, conservation, no crossed book.

The reference model is deliberately naive: a list of resting orders, each with an arrival
sequence number, searched in full on every operation. The book under test uses heaps,
deques and lazy deletion; any disagreement is a bug in one of them.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smars_sim.core.book import BUY, FILL_FIELDS, SELL, OrderBook

NOW = 1_000


# ----------------------------------------------------------------------------- the model
@dataclass
class Resting:
    order_id: int
    side: int
    price: int
    qty: int
    seq: int


@dataclass
class Model:
    """A sorted-list order book: the obviously-correct version."""

    resting: list[Resting] = field(default_factory=list)
    seq: int = 0
    fills: list[tuple[int, int, int]] = field(default_factory=list)  # taker id, price, qty
    shares_in: int = 0
    filled: int = 0
    cancelled: int = 0
    dropped: int = 0

    def side(self, side: int) -> list[Resting]:
        """Resting orders of one side, in priority order (best price, then oldest)."""
        orders = [o for o in self.resting if o.side == side]
        return sorted(orders, key=lambda o: (-o.price * side, o.seq))

    def best(self, side: int) -> int | None:
        orders = self.side(side)
        return orders[0].price if orders else None

    def match(self, order_id: int, side: int, limit: int | None, qty: int) -> list[tuple]:
        """Fill ``qty`` against the opposite side; return ``(resting_id, price, qty)`` fills."""
        opposite = self.side(-side)
        if not opposite:
            return []
        if limit is None:
            limit = opposite[0].price  # at the touch: only the best price on arrival
        fills = []
        for order in opposite:
            if not qty:
                break
            crosses = order.price <= limit if side == BUY else order.price >= limit
            if not crosses:
                break
            take = min(qty, order.qty)
            order.qty -= take
            qty -= take
            fills.append((order.order_id, order.price, take))
            self.fills.append((order_id, order.price, take))
            self.filled += take
        self.resting = [o for o in self.resting if o.qty > 0]
        return fills

    def take(self, order_id: int, side: int, limit: int | None, qty: int) -> list[tuple]:
        self.shares_in += qty
        fills = self.match(order_id, side, limit, qty)
        self.dropped += qty - sum(f[2] for f in fills)
        return fills

    def add(self, order_id: int, side: int, price: int, qty: int) -> list[tuple]:
        self.shares_in += qty
        fills = self.match(order_id, side, price, qty)
        left = qty - sum(f[2] for f in fills)
        if left:
            self.seq += 1
            self.resting.append(Resting(order_id, side, price, left, self.seq))
        return fills

    def post(self, order_id: int, side: int, price: int, qty: int) -> int | None:
        """Post-only with a price slide: one cent inside the opposite touch if it would cross."""
        opposite = self.best(-side)
        if opposite is not None and (price >= opposite if side == BUY else price <= opposite):
            price = opposite - side
        if price < 1:
            return None
        self.shares_in += qty
        self.seq += 1
        self.resting.append(Resting(order_id, side, price, qty, self.seq))
        return price

    def cancel(self, order_id: int) -> int:
        for order in self.resting:
            if order.order_id == order_id:
                self.resting.remove(order)
                self.cancelled += order.qty
                return order.qty
        return 0

    def depth(self, side: int) -> list[tuple[int, int]]:
        levels: dict[int, int] = {}
        for order in self.side(side):
            levels[order.price] = levels.get(order.price, 0) + order.qty
        return list(levels.items())  # already in priority order


# ------------------------------------------------------------------------- the checks
def check_against_model(book: OrderBook, model: Model) -> None:
    bid, ask = book.best_bid(), book.best_ask()
    assert bid == model.best(BUY)
    assert ask == model.best(SELL)
    if bid is not None and ask is not None:
        assert bid < ask, f"crossed book: bid {bid} >= ask {ask}"
    bids, asks = book.depth(levels=1_000)
    assert bids == model.depth(BUY)
    assert asks == model.depth(SELL)
    # Every resting order, with its remaining quantity, side and price.
    assert {oid: (o[1], o[3], o[4]) for oid, o in book.orders.items()} == {
        o.order_id: (o.qty, o.side, o.price) for o in model.resting
    }
    assert book.resting_qty() == sum(o.qty for o in model.resting)
    # Conservation: every share that came in filled (on both sides), rests, was
    # cancelled or was dropped by an immediate-or-cancel order.
    assert model.shares_in == (
        2 * model.filled + book.resting_qty() + model.cancelled + model.dropped
    )
    assert book.volume == model.filled
    prices = [price for _, price, _ in model.fills]
    if prices:
        assert book.last_price == prices[-1]
        assert book.high == max(prices)
        assert book.low == min(prices)
    else:
        assert (book.last_price, book.high, book.low) == (None, 0, 0)


def journal_fills(journal: array, start: int) -> list[tuple[int, int, int, int]]:
    width = len(FILL_FIELDS)
    rows = journal[start:]
    return [tuple(rows[i : i + width]) for i in range(0, len(rows), width)]


# --------------------------------------------------------------------- the operations
PRICES = st.integers(min_value=95, max_value=105)  # a small band: many levels collide
QTYS = st.integers(min_value=1, max_value=30)
SIDES = st.sampled_from([BUY, SELL])
OPS = st.one_of(
    st.tuples(st.just("add"), SIDES, PRICES, QTYS),
    st.tuples(st.just("take"), SIDES, st.one_of(st.none(), PRICES), QTYS),
    st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=60)),
    st.tuples(st.just("post"), SIDES, PRICES, QTYS),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(OPS, min_size=1, max_size=80))
def test_book_matches_reference_model(ops):
    book = OrderBook(0)
    model = Model()
    journal = array("q")
    next_id = 1
    for op in ops:
        start = len(journal)
        model_fills_before = len(model.fills)
        if op[0] == "add":
            _, side, price, qty = op
            oid, next_id = next_id, next_id + 1
            filled, notional = book.add(oid, side, price, qty, owner=7, now=NOW, journal=journal)
            expected = model.add(oid, side, price, qty)
            assert filled == sum(q for _, _, q in expected)
            assert notional == sum(p * q for _, p, q in expected)
            if filled < qty:
                assert book.orders[oid][2] == 7  # the remainder rests, with its owner
            else:
                assert oid not in book.orders
        elif op[0] == "take":
            _, side, limit, qty = op
            oid, next_id = next_id, next_id + 1
            filled, notional, last = book.take(oid, side, limit, qty, NOW, journal)
            expected = model.take(oid, side, limit, qty)
            assert filled == sum(q for _, _, q in expected)
            assert notional == sum(p * q for _, p, q in expected)
            assert last == (expected[-1][1] if expected else 0)
            assert oid not in book.orders  # immediate-or-cancel: nothing rests
        elif op[0] == "post":
            _, side, price, qty = op
            oid, next_id = next_id, next_id + 1
            order = book.post(oid, side, price, qty, owner=9)
            expected_price = model.post(oid, side, price, qty)
            assert order is not None and order is book.orders[oid]
            assert order == [oid, qty, 9, side, expected_price]  # rests whole, never trades
        else:
            # Cancel an id that was issued (it may have filled or been cancelled
            # already) or one that never existed.
            target = op[1]
            assert book.cancel(target) == model.cancel(target)
        # The journal logged exactly the model's fills, in order, at the resting prices.
        assert journal_fills(journal, start) == [
            (NOW, oid, price, qty) for oid, price, qty in model.fills[model_fills_before:]
        ]
        check_against_model(book, model)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(PRICES, QTYS), min_size=1, max_size=20),
    SIDES,
    st.one_of(st.none(), PRICES),
    st.integers(min_value=1, max_value=400),
)
def test_fills_come_best_price_then_oldest_first(resting, side, limit, qty):
    """Each fill's resting order is the best-priced, oldest one still there."""
    book = OrderBook(0)
    arrival = {}
    for i, (price, size) in enumerate(resting, start=1):
        book.add(i, -side, price, size, owner=0, now=NOW)
        arrival[i] = (price, size)
    before = {oid: o[1] for oid, o in book.orders.items()}
    journal = array("q")
    book.take(999, side, limit, qty, NOW, journal)
    after = {oid: book.orders[oid][1] if oid in book.orders else 0 for oid in before}
    touched = [oid for oid in before if after[oid] < before[oid]]
    untouched = [oid for oid in before if after[oid] == before[oid]]
    # Priority key: better price first (lower ask for a buyer), then arrival.
    key = {oid: (arrival[oid][0] * side, oid) for oid in before}
    # At most one order is partly filled, and it is the last touched in priority order.
    partial = [oid for oid in touched if after[oid] > 0]
    assert len(partial) <= 1
    if touched and untouched:
        # Every untouched order ranks below every touched one.
        assert max(key[o] for o in touched) < min(key[o] for o in untouched)
    if partial:
        assert key[partial[0]] == max(key[o] for o in touched)
    fills = journal_fills(journal, 0)
    fill_prices = [price for _, _, price, _ in fills]
    assert fill_prices == sorted(fill_prices, key=lambda p: p * side)
    assert sum(q for *_, q in fills) == sum(before[o] - after[o] for o in before)


# ------------------------------------------------------------------------ unit cases
def test_take_at_touch_fills_only_the_best_level():
    book = OrderBook(0)
    book.add(1, SELL, 101, 10, owner=0, now=0)
    book.add(2, SELL, 100, 5, owner=0, now=0)
    book.add(3, SELL, 100, 5, owner=0, now=0)
    filled, notional, last = book.take(10, BUY, None, 50, now=5)
    assert (filled, notional, last) == (10, 1000, 100)
    assert book.best_ask() == 101  # the next level was not touched
    assert book.depth()[1] == [(101, 10)]


def test_take_at_touch_sells_at_the_bid():
    book = OrderBook(0)
    book.add(1, BUY, 99, 10, owner=0, now=0)
    book.add(2, BUY, 98, 10, owner=0, now=0)
    assert book.take(10, SELL, None, 4, now=5) == (4, 396, 99)
    assert book.depth()[0] == [(99, 6), (98, 10)]


def test_take_on_an_empty_side_or_outside_the_limit_fills_nothing():
    book = OrderBook(0)
    assert book.take(1, BUY, None, 10, now=0) == (0, 0, 0)
    book.add(2, SELL, 105, 10, owner=0, now=0)
    assert book.take(3, BUY, 104, 10, now=0) == (0, 0, 0)
    assert book.volume == 0 and book.last_price is None


def test_journal_rows_are_time_order_id_price_qty():
    assert FILL_FIELDS == ("time", "order_id", "price", "qty")
    book = OrderBook(0)
    book.add(1, SELL, 100, 3, owner=0, now=0)
    book.add(2, SELL, 101, 4, owner=0, now=0)
    journal = array("q")
    book.take(42, BUY, 101, 6, now=777, journal=journal)
    assert list(journal) == [777, 42, 100, 3, 777, 42, 101, 3]


def test_add_that_crosses_fills_then_rests_the_remainder():
    book = OrderBook(0)
    book.add(1, SELL, 100, 3, owner=0, now=0)
    journal = array("q")
    assert book.add(2, BUY, 101, 5, owner=9, now=3, journal=journal) == (3, 300)
    assert list(journal) == [3, 2, 100, 3]
    assert book.best_bid() == 101 and book.best_ask() is None
    assert book.orders[2][1] == 2  # the rest of the buy order rests at its limit


def test_high_low_last_volume_track_every_fill():
    book = OrderBook(0)
    book.add(1, SELL, 100, 10, owner=0, now=0)
    book.add(2, SELL, 102, 10, owner=0, now=0)
    # One buy sweeps two levels: both prices traded.
    book.take(3, BUY, 102, 15, now=1)
    assert (book.low, book.high, book.last_price, book.volume) == (100, 102, 102, 15)
    book.add(4, BUY, 90, 10, owner=0, now=0)
    book.add(5, BUY, 95, 10, owner=0, now=0)
    # One sell sweeps down from 95 to 90.
    book.take(6, SELL, 90, 12, now=2)
    assert (book.low, book.high, book.last_price, book.volume) == (90, 102, 90, 27)


def test_a_buy_below_the_low_and_a_sell_above_the_high_move_them():
    book = OrderBook(0)
    book.add(1, SELL, 100, 10, owner=0, now=0)
    book.take(2, BUY, None, 5, now=0)
    book.cancel(1)
    book.add(3, SELL, 80, 10, owner=0, now=0)
    book.take(4, BUY, None, 5, now=0)  # a buy at 80, under the low of 100
    assert book.low == 80
    book.add(5, BUY, 120, 10, owner=0, now=0)
    book.take(6, SELL, None, 5, now=0)  # a sell at 120, over the high of 100
    assert book.high == 120


def test_prints_off_the_book_track_last_high_and_low_through_repeated_prices():
    book = OrderBook(0)
    for price, last, high, low in [
        (100, 100, 100, 100),
        (100, 100, 100, 100),  # the same price again: nothing moves
        (90, 90, 100, 90),
        (90, 90, 100, 90),
        (110, 110, 110, 90),
        (100, 100, 110, 90),
    ]:
        book.print_trade(price, 5)
        assert (book.last_price, book.high, book.low) == (last, high, low)
    assert book.volume == 30 and book.orders == {}


def test_cancel_returns_remaining_qty_once():
    book = OrderBook(0)
    book.add(1, BUY, 100, 10, owner=0, now=0)
    book.take(2, SELL, None, 4, now=0)
    assert book.cancel(1) == 6
    assert book.cancel(1) == 0
    assert book.cancel(12345) == 0
    assert book.best_bid() is None and book.depth() == ([], [])


def test_a_level_emptied_by_cancels_and_refilled_keeps_working():
    book = OrderBook(0)
    book.add(1, SELL, 100, 10, owner=0, now=0)
    book.cancel(1)  # leaves a stale heap key for 100
    book.add(2, SELL, 101, 10, owner=0, now=0)
    assert book.best_ask() == 101
    book.add(3, SELL, 100, 5, owner=0, now=0)  # the level comes back
    assert book.best_ask() == 100
    assert book.take(4, BUY, 101, 12, now=0) == (12, 5 * 100 + 7 * 101, 101)
    assert book.depth()[1] == [(101, 3)]


def test_depleted_orders_are_reported_when_tracked():
    book = OrderBook(0, track_depleted=True)
    book.add(1, SELL, 100, 5, owner=0, now=0)
    book.add(2, SELL, 100, 5, owner=0, now=0)
    book.take(3, BUY, None, 7, now=0)
    assert [o[0] for o in book.depleted] == [1]  # order 2 is only partly filled
    assert OrderBook(0).depleted is None


def test_post_slides_inside_the_touch_and_never_trades():
    book = OrderBook(0)
    book.add(1, SELL, 1_000, 50, owner=1, now=NOW)
    book.add(2, BUY, 990, 50, owner=1, now=NOW)
    bid = book.post(3, BUY, 1_005, 10, owner=2)  # would cross the 1,000 offer
    ask = book.post(4, SELL, 980, 10, owner=2)  # would cross the bid, now 999
    assert bid is not None and bid[4] == 999
    assert ask is not None and ask[4] == 1_000
    assert book.volume == 0 and book.best_bid() == 999 and book.best_ask() == 1_000
    assert book.post(5, BUY, 1_200, 10, owner=2) == [5, 10, 2, BUY, 999]  # joins the level


def test_post_has_no_room_below_a_one_cent_offer():
    book = OrderBook(0)
    book.add(1, SELL, 1, 50, owner=1, now=NOW)
    assert book.post(2, BUY, 5, 10, owner=2) is None
    assert 2 not in book.orders and book.best_bid() is None
