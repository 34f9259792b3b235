"""A limit order book with price-time priority, for one symbol.

This is the matching engine of the simulated exchange. It is deliberately plain
Python so that learners can read it, and shaped for speed because the replay
pushes millions of orders through it:

* Each price level is a ``deque`` of resting orders, oldest first (time priority).
* Each side keeps a heap of *keys* to find the best price (price priority).
  Bids are keyed by ``-price`` and asks by ``+price``, so both heaps are
  min-heaps and one matching loop serves both sides.
* A resting order is a small ``list`` ``[order_id, qty, owner, side, price]``;
  filling it mutates ``qty`` in place instead of building new objects.

Prices are integer cents and quantities integer shares. Executions always happen
at the *resting* order's price.
"""

from __future__ import annotations

import struct
from array import array
from collections import deque
from heapq import heappop, heappush

__all__ = ["BUY", "FILL_FIELDS", "SELL", "OrderBook", "Side"]

#: Buy side (a bid). Sides are +1/-1 so that ``side * qty`` is a signed position change.
BUY = 1
#: Sell side (an offer).
SELL = -1
Side = int

_NOTHING = (0, 0, 0)  # what take() returns when nothing fills

#: Fields of one execution in a journal (a flat native-endian ``array('q')``).
FILL_FIELDS = ("time", "order_id", "price", "qty")
_pack_fill = struct.Struct("=4q").pack

# Index of each field in a resting-order list.
_ID, _QTY, _OWNER, _SIDE, _PRICE = range(5)


class OrderBook:
    """A price-time priority limit order book for one symbol.

    Attributes:
        symbol: The symbol's index on the exchange.
        bids: Price level (cents) -> deque of resting buy orders.
        asks: Price level (cents) -> deque of resting sell orders.
        last_price: Price of the last execution, or ``None`` before any trade.
        high: Highest execution price so far (0 before any trade).
        low: Lowest execution price so far (0 before any trade).
        volume: Shares executed in this book so far.
        depleted: If not ``None``, resting orders that were filled completely are
            appended here; market makers drain it to replenish their quotes.
    """

    __slots__ = (
        "_ask_keys",
        "_bid_keys",
        "asks",
        "bids",
        "depleted",
        "high",
        "last_price",
        "low",
        "orders",
        "symbol",
        "volume",
    )

    def __init__(self, symbol: int = 0, *, track_depleted: bool = False) -> None:
        self.symbol = symbol
        self.bids: dict[int, deque[list[int]]] = {}
        self.asks: dict[int, deque[list[int]]] = {}
        self._bid_keys: list[int] = []  # -price, min-heap => highest bid first
        self._ask_keys: list[int] = []  # +price, min-heap => lowest ask first
        self.orders: dict[int, list[int]] = {}
        self.depleted: list[list[int]] | None = [] if track_depleted else None
        self.last_price: int | None = None
        self.high = 0  # highest and lowest execution price so far (0 before any)
        self.low = 0
        self.volume = 0

    # ------------------------------------------------------------------ queries
    def best_bid(self) -> int | None:
        """Highest resting bid price in cents, or ``None`` if there are no bids."""
        keys, levels = self._bid_keys, self.bids
        while keys and -keys[0] not in levels:
            heappop(keys)  # a level emptied by cancels leaves a stale key behind
        return -keys[0] if keys else None

    def best_ask(self) -> int | None:
        """Lowest resting ask price in cents, or ``None`` if there are no asks."""
        keys, levels = self._ask_keys, self.asks
        while keys and keys[0] not in levels:
            heappop(keys)
        return keys[0] if keys else None

    def depth(self, levels: int = 5) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Aggregate quantity at the best price levels.

        Args:
            levels: How many levels per side.

        Returns:
            ``(bids, asks)``: lists of ``(price, total_qty)``, best first.
        """
        bids = sorted(self.bids, reverse=True)[:levels]
        asks = sorted(self.asks)[:levels]
        return (
            [(p, sum(o[_QTY] for o in self.bids[p])) for p in bids],
            [(p, sum(o[_QTY] for o in self.asks[p])) for p in asks],
        )

    def resting_qty(self) -> int:
        """Total shares resting on both sides (used by conservation tests)."""
        return sum(o[_QTY] for o in self.orders.values())

    # ---------------------------------------------------------------- matching
    def take(
        self,
        order_id: int,
        side: Side,
        limit: int | None,
        qty: int,
        now: int,
        journal: array | None = None,
    ) -> tuple[int, int, int]:
        """Match an immediate-or-cancel order against the opposite side.

        Fills happen at the resting orders' prices, best price first and, within
        a price, oldest order first. Whatever cannot fill at ``limit`` or better
        is cancelled (nothing rests).

        Args:
            order_id: The incoming order's id.
            side: ``BUY`` or ``SELL``.
            limit: Worst acceptable price in cents, or ``None`` for "at the touch":
                the best opposite price when the order arrives (buy at the offer,
                sell at the bid).
            qty: Shares wanted.
            now: Simulated time in ns, stamped on the executions.
            journal: If given, each execution appends four integers to it:
                ``now, order_id, price, qty`` (see ``FILL_FIELDS``).

        Returns:
            ``(filled_qty, notional_cents, last_fill_price)``; the price is 0 if
            nothing filled.
        """
        if side > 0:
            levels, keys = self.asks, self._ask_keys
        else:
            levels, keys = self.bids, self._bid_keys
        # Find the touch, dropping keys of levels that cancels emptied. A key is
        # the price times the side's sign (bids are keyed by -price), so
        # ``key * side`` turns it back into a price.
        while keys:
            key = keys[0]
            price = key * side
            level = levels.get(price)
            if level is not None:
                break
            heappop(keys)
        else:
            return _NOTHING
        if limit is None:
            bound = key  # at the touch: only the best price on arrival
        else:
            bound = limit * side
            if key > bound:
                return _NOTHING
        resting = level[0]
        available = resting[_QTY]
        if available > qty:
            # The common case, kept short because the replay runs it millions of
            # times: the oldest order at the touch is larger than this one, so one
            # partial fill of it does everything. The loop below is the general case.
            resting[_QTY] = available - qty
            if journal is not None:
                journal.frombytes(_pack_fill(now, order_id, price, qty))
            self.volume += qty
            if price != self.last_price:
                # Most takes trade at the same price as the one before (a level is
                # taken a little at a time), and then last, high and low stand.
                self.last_price = price
                if price > self.high:
                    self.high = price
                if price < self.low or not self.low:
                    self.low = price
            return qty, qty * price, price
        first = price  # the first fill's price: with the last, the range this order traded
        remaining = qty
        notional = 0
        log = journal.frombytes if journal is not None else None
        depleted = self.depleted
        orders = self.orders
        while True:
            while level:
                resting = level[0]
                available = resting[_QTY]
                if available > remaining:  # partial fill of the resting order
                    resting[_QTY] = available - remaining
                    notional += remaining * price
                    if log is not None:
                        log(_pack_fill(now, order_id, price, remaining))
                    remaining = 0
                    break
                level.popleft()
                del orders[resting[_ID]]
                resting[_QTY] = 0
                if depleted is not None:
                    depleted.append(resting)
                remaining -= available
                notional += available * price
                if log is not None:
                    log(_pack_fill(now, order_id, price, available))
                if not remaining:
                    break
            if not level:
                heappop(keys)
                del levels[price]
            if not remaining:
                break
            # Next price level, if it is within the limit.
            while keys:
                key = keys[0]
                level = levels.get(key * side)
                if level is not None:
                    break
                heappop(keys)
            else:
                break
            if key > bound:
                break
            price = key * side
        done = qty - remaining
        if not done:
            return _NOTHING
        self.volume += done
        self.last_price = price
        # Fills walk away from the touch: a buy traded from ``first`` up to ``price``,
        # a sell from ``first`` down to ``price``. Both ends can set a new high or low.
        low, high = (first, price) if side > 0 else (price, first)
        if high > self.high:
            self.high = high
        if low < self.low or not self.low:
            self.low = low
        return done, notional, price

    def print_trade(self, price: int, qty: int) -> None:
        """Record a trade that happened off this book (e.g. two other participants crossing).

        It updates the market data (volume, last price, high, low) and nothing else.
        """
        self.volume += qty
        if price != self.last_price:  # as in take: otherwise last, high and low stand
            self.last_price = price
            if price > self.high:
                self.high = price
            if price < self.low or not self.low:
                self.low = price

    def add(
        self,
        order_id: int,
        side: Side,
        price: int,
        qty: int,
        owner: int,
        now: int,
        journal: array | None = None,
    ) -> tuple[int, int]:
        """Submit a limit order: match what crosses, rest the remainder.

        Args:
            order_id: Unique order id (the caller allocates ids).
            side: ``BUY`` or ``SELL``.
            price: Limit price in cents (must be positive).
            qty: Shares (must be positive).
            owner: Who owns the order (an integer participant id).
            now: Simulated time in ns.
            journal: Passed to :meth:`take` for the crossing part.

        Returns:
            ``(filled_qty, notional_cents)`` of the part that executed on arrival.
        """
        if side > 0:
            opposite, levels, keys = self._ask_keys, self.bids, self._bid_keys
        else:
            opposite, levels, keys = self._bid_keys, self.asks, self._ask_keys
        if opposite and opposite[0] <= price * side:
            filled, notional, _ = self.take(order_id, side, price, qty, now, journal)
            qty -= filled
            if not qty:
                return filled, notional
        else:
            filled = notional = 0
        order = [order_id, qty, owner, side, price]
        self.orders[order_id] = order
        level = levels.get(price)
        if level is None:
            levels[price] = deque((order,))
            heappush(keys, -price * side)
        else:
            level.append(order)
        return filled, notional

    def post(self, order_id: int, side: Side, price: int, qty: int, owner: int) -> list[int] | None:
        """Rest a post-only limit order, sliding its price so that it never trades.

        An order that would cross is re-priced one cent inside the opposite touch
        (a "price slide", as venues offer to liquidity providers). Market makers
        quote this way: they never trade with each other or with themselves.

        Args:
            order_id: Unique order id.
            side: ``BUY`` or ``SELL``.
            price: Wanted limit price in cents.
            qty: Shares (must be positive).
            owner: Who owns the order.

        Returns:
            The resting order (``[order_id, qty, owner, side, price]``), or ``None``
            for a bid with no room below the offer (it would have to be under 1 cent).
        """
        if side > 0:
            keys, opposite = self._ask_keys, self.asks
            while keys and keys[0] not in opposite:
                heappop(keys)  # stale key of a level emptied by cancels
            if keys and price >= keys[0]:
                price = keys[0] - 1
            if price < 1:
                return None
            levels, own_keys = self.bids, self._bid_keys
        else:
            keys, opposite = self._bid_keys, self.bids
            while keys and -keys[0] not in opposite:
                heappop(keys)
            if keys and price <= -keys[0]:
                price = 1 - keys[0]
            levels, own_keys = self.asks, self._ask_keys
        order = [order_id, qty, owner, side, price]
        self.orders[order_id] = order
        level = levels.get(price)
        if level is None:
            levels[price] = deque((order,))
            heappush(own_keys, -price * side)
        else:
            level.append(order)
        return order

    def cancel(self, order_id: int) -> int:
        """Cancel a resting order.

        Args:
            order_id: The order to cancel.

        Returns:
            The quantity cancelled, or 0 if the order was not resting (already
            filled or cancelled).
        """
        order = self.orders.pop(order_id, None)
        if order is None:
            return 0
        levels = self.bids if order[_SIDE] > 0 else self.asks
        price = order[_PRICE]
        level = levels[price]
        level.remove(order)
        if not level:
            del levels[price]  # its heap key goes stale and is skipped lazily
        qty = order[_QTY]
        order[_QTY] = 0
        return qty
