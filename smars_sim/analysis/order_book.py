"""Order books recorded through the morning: depth, best prices and last trade, by minute.

Notebook 01's book viewer (:class:`smars_sim.ui.trace_panels.BookViewer`) shows these.
A replay is run once with a snapshot of the chosen symbols' books each minute; the
depth is reported in full-size shares (a 1% replay's book holds 1% of the shares).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from ..core.clock import OPEN_NS, SECOND_NS, format_time, parse_time
from ..core.scenario import Scenario
from ..fixes import Simulation

__all__ = ["BookRecord", "Snapshot"]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One symbol's book at one moment."""

    #: Orders held at the exchange for the opening auction (the whole exchange).
    held: int
    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]
    last: int | None


class BookRecord:
    """Each minute's book of some symbols, from one replay of ``scenario``.

    Args:
        scenario: The morning to replay.
        symbols: Tickers to record (default: the first 12).
        levels: Price levels kept on each side.
    """

    def __init__(
        self, scenario: Scenario, symbols: Sequence[str] | None = None, levels: int = 3
    ) -> None:
        self.scenario = scenario
        self.levels = levels
        tickers = [s.ticker for s in scenario.symbols]
        self.symbols = list(symbols) if symbols else tickers[:12]
        self.index = {t: tickers.index(t) for t in self.symbols}
        pre_open = OPEN_NS - SECOND_NS
        end = parse_time(scenario.window_end)
        self.times = [pre_open, *range(OPEN_NS, end + 1, 60 * SECOND_NS)]
        self.snapshots = self._record()

    def _record(self) -> dict[int, dict[str, Snapshot]]:
        cache_key = (repr(self.scenario), tuple(self.symbols), self.levels)
        if cache_key in _BOOK_CACHE:
            return _BOOK_CACHE[cache_key]
        sim = Simulation(self.scenario)
        out: dict[int, dict[str, Snapshot]] = {}

        def snap(now: int) -> None:
            books = sim.exchange.books
            out[now] = {}
            for ticker, i in self.index.items():
                bids, asks = books[i].depth(self.levels)
                out[now][ticker] = Snapshot(
                    sim.exchange.held_count, bids, asks, books[i].last_price
                )

        for t in self.times:
            sim.call_at(t, snap)
        sim.advance_to(self.times[-1])
        # one recording kept: a viewer is rebuilt for another scenario rarely
        _BOOK_CACHE.clear()
        _BOOK_CACHE[cache_key] = out
        return out

    def depth(self, symbol: str, time: int) -> pd.DataFrame:
        """Resting shares per price level (full-size equivalent) for a symbol at a time."""
        snap = self.snapshots[time][symbol]
        scale = self.scenario.scale
        rows = [("bid", p / 100, round(q * scale)) for p, q in snap.bids]
        rows += [("offer", p / 100, round(q * scale)) for p, q in snap.asks]
        return pd.DataFrame(rows, columns=["side", "price_usd", "shares"])

    def summary(self, symbol: str, time: int) -> str:
        """Best bid, best offer, spread and last trade, in words."""
        snap = self.snapshots[time][symbol]
        when = format_time(time)
        if not snap.bids and not snap.asks:
            return (
                f"{symbol} at {when}: the book is empty before the open; "
                f"{snap.held:,} orders wait at the exchange for the opening auction."
            )
        bid = snap.bids[0][0] if snap.bids else None
        ask = snap.asks[0][0] if snap.asks else None
        parts = [f"{symbol} at {when}:"]
        if bid is not None:
            parts.append(f"best bid ${bid / 100:,.2f}")
        if ask is not None:
            parts.append(f"best offer ${ask / 100:,.2f}")
        if bid is not None and ask is not None:
            parts.append(f"spread {ask - bid} cents")
        if snap.last is not None:
            parts.append(f"last trade ${snap.last / 100:,.2f}")
        return " ".join(parts[:1]) + " " + ", ".join(parts[1:]) + "."

    def takeaway(self, symbol: str, time: int) -> str:
        """The depth chart's takeaway: where the last trade stands against the open."""
        snap = self.snapshots[time][symbol]
        open_cents = self.scenario.symbols[self.index[symbol]].open_cents
        if not snap.bids and not snap.asks:
            return (
                "Nothing rests in the book before the open: "
                f"the makers start quoting at {format_time(OPEN_NS)[:5]}."
            )
        if snap.last is None:
            return f"No trade yet; the opening price is ${open_cents / 100:,.2f}."
        move = 100 * (snap.last / open_cents - 1)
        return f"Last trade {move:+.1f}% from the opening price (${open_cents / 100:,.2f})."


_BOOK_CACHE: dict[tuple, dict[int, dict[str, Snapshot]]] = {}
