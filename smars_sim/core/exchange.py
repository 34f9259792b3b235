"""The exchange: one venue with a limit order book per symbol.

It holds orders that arrive before 09:30 and releases them, in arrival order, at
the open. It publishes each symbol's best bid and offer and last trade. Market
makers (``liquidity.MarketMakers``) own every resting order; everyone else sends
immediate-or-cancel orders that take liquidity.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from itertools import count
from typing import TYPE_CHECKING, Protocol

from .book import OrderBook

if TYPE_CHECKING:
    from .liquidity import MarketMakers

__all__ = ["Exchange", "OrderSender"]


class OrderSender(Protocol):
    """Whoever sent an order that the exchange held until the open."""

    def on_released(self, tag: int, qty: int, filled: int, notional: int, now: int) -> None:
        """Called at the open with the outcome of a held order."""


class Exchange:
    """A venue with one price-time order book per symbol.

    Args:
        symbols: Ticker of each symbol; a symbol's index is its id.

    Attributes:
        books: The order book of each symbol, by index.
        is_open: Whether the regular session has opened.
        ids: The order-id sequence shared by every participant.
        makers: The market makers (set by the simulation).
    """

    __slots__ = (
        "_flow",
        "_held",
        "_makers",
        "_net_taken",
        "books",
        "ids",
        "is_open",
        "others_position",
        "symbols",
    )

    def __init__(self, symbols: list[str]) -> None:
        self.symbols = list(symbols)
        self.books = [OrderBook(i, track_depleted=True) for i in range(len(symbols))]
        self.is_open = False
        self.ids: Iterator[int] = count(1)
        # Set by the simulation before anything trades (through ``makers``); typed as
        # always present because the hot path reads it for every order.
        self._makers: MarketMakers = None  # type: ignore[assignment]
        self._flow: list[float] = []
        self._net_taken: list[int] = []
        #: Net shares the other participants hold, per symbol (from their own orders).
        self.others_position = [0] * len(symbols)
        self._held: list[tuple[int, int, int, int | None, int, array | None, OrderSender, int]] = []

    @property
    def makers(self) -> MarketMakers:
        """The market makers who quote in every book (set by the simulation)."""
        if self._makers is None:
            raise RuntimeError("the exchange has no market makers yet")
        return self._makers

    @makers.setter
    def makers(self, makers: MarketMakers) -> None:
        self._makers = makers
        # Server.send_child updates these lists directly (MarketMakers keeps them in place).
        self._flow = makers.flow
        self._net_taken = makers.net_taken

    @property
    def maker_position(self) -> list[int]:
        """Net shares the market makers hold, per symbol.

        Every execution has a maker on one side, so the makers hold the opposite of
        everything takers took from them. With Knight's own ledger and the other
        participants' positions this sums to zero in every symbol (an invariant the
        tests check: the three are tallied in different places).
        """
        if self._makers is None:
            return [0] * len(self.symbols)
        return [-q for q in self._net_taken]

    # ----------------------------------------------------------- market data
    def bbo(self, symbol: int) -> tuple[int | None, int | None]:
        """Best bid and best offer of a symbol, in cents."""
        book = self.books[symbol]
        return book.best_bid(), book.best_ask()

    def last(self, symbol: int) -> int | None:
        """Last trade price of a symbol, in cents (``None`` before any trade)."""
        return self.books[symbol].last_price

    # --------------------------------------------------------------- orders
    def send(
        self,
        symbol: int,
        order_id: int,
        side: int,
        limit: int | None,
        qty: int,
        now: int,
        journal: array | None,
        sender: OrderSender,
        tag: int,
    ) -> tuple[int, int, int] | None:
        """Send an immediate-or-cancel order.

        Args:
            symbol: Symbol index.
            order_id: The order's id.
            side: ``BUY`` or ``SELL``.
            limit: Worst acceptable price in cents, or ``None`` to take at the touch.
            qty: Shares.
            now: Simulated time, ns.
            journal: Where executions are logged (see ``OrderBook.take``).
            sender: Told the outcome later if the order is held until the open.
            tag: The sender's own reference for the order.

        Returns:
            ``(filled, notional_cents, last_fill_price)``, or ``None`` if the order is
            held until the open.
        """
        if not self.is_open:
            self._held.append((symbol, order_id, side, limit, qty, journal, sender, tag))
            return None
        return self.match(symbol, order_id, side, limit, qty, now, journal)

    def match(
        self,
        symbol: int,
        order_id: int,
        side: int,
        limit: int | None,
        qty: int,
        now: int,
        journal: array | None = None,
    ) -> tuple[int, int, int]:
        """Match an immediate-or-cancel order in the open session.

        The makers note the flow taken from them (it leans their fair value) and
        replace any level that was taken. ``Server.send_child`` inlines this for
        SMARS's child orders, which are millions.

        Returns:
            ``(filled, notional_cents, last_fill_price)``.
        """
        book = self.books[symbol]
        result = book.take(order_id, side, limit, qty, now, journal)
        filled = result[0]
        if filled:
            self._makers.on_taken(symbol, side, filled, now)
            if book.depleted:
                self._makers.replenish(symbol, now)
        return result

    def take_other(self, symbol: int, side: int, qty: int, now: int) -> int:
        """A marketable order from another participant: it takes what the touch offers."""
        filled = self.match(symbol, next(self.ids), side, None, qty, now)[0]
        self.others_position[symbol] += side * filled
        return filled

    def open(self, now: int) -> None:
        """Open the regular session: makers quote, then held orders are released in order."""
        self.is_open = True
        self.makers.quote_all(now)
        held, self._held = self._held, []
        for symbol, order_id, side, limit, qty, journal, sender, tag in held:
            result = self.send(symbol, order_id, side, limit, qty, now, journal, sender, tag)
            assert result is not None  # the session is open now, so nothing is held
            sender.on_released(tag, qty, result[0], result[1], now)

    @property
    def held_count(self) -> int:
        """Orders waiting for the open."""
        return len(self._held)
