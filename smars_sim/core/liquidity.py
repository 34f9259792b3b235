"""Background liquidity: market makers and the other participants' order flow.

Market makers quote a small ladder around their *fair value* on each side of every
book and replenish a level as soon as it is taken. Their fair value leans in the
direction of recent aggressive flow: it is the symbol's reference price moved by a
power of the *decaying* net signed volume taken from them (the exponent is
calibrated; 0.5 would be the empirical "square-root law" of market impact), plus a
smaller permanent part. So one-sided flow, like Power Peg's, walks the price, and
most of the impact fades once the flow stops.

The other participants trade with each other, in balanced random sizes, at the
touch. They provide the rest of each symbol's volume (so Knight's share of volume
can be measured); they do not move the makers' fair value.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from random import Random
from typing import TYPE_CHECKING

from .book import BUY, SELL

if TYPE_CHECKING:
    from .exchange import Exchange

__all__ = ["Background", "LiquidityParams", "MarketMakers"]

#: Cap on the makers' log-price lean: at most about x5 up or /5 down. WZE, the most
#: extreme name in the record, went about 4x (from $3.60 to $14.76).
_MAX_LEAN = math.log(5)

#: Participant id of the market makers (they own every resting order).
MARKET_MAKER = 0


@dataclass(frozen=True, slots=True)
class LiquidityParams:
    """How the market makers quote. Each value is a calibrated input (data/calibration.csv).

    Attributes:
        half_spread_bps: Half the quoted spread, in basis points of price (at least 1 cent).
        step_bps: Distance between ladder levels, in basis points (at least 1 cent).
        levels: Ladder levels per side.
        level_shares: Shares quoted at each level, at scale 1 (divided by the scale).
        impact_coef: Log-price displacement per unit of (net flow / symbol depth) ** exponent.
        impact_exponent: How displacement grows with net flow; 0.5 is the square-root law.
        permanent_coef: Like ``impact_coef``, for all net flow so far: the part of the
            impact that never fades.
        half_life_s: Half-life of the net-flow memory, in seconds.
        refresh_s: How often makers re-centre a ladder that drifted off fair value.
    """

    half_spread_bps: float = 10.0
    step_bps: float = 5.0
    levels: int = 3
    level_shares: int = 400
    impact_coef: float = 0.05
    impact_exponent: float = 0.5
    permanent_coef: float = 0.0
    half_life_s: float = 240.0
    refresh_s: float = 1.0


def _quote_targets(fair: float, half: int) -> tuple[int, int]:
    """The makers' best bid and offer (cents) around a fair value: >= 1 cent, never crossed."""
    bid = math.floor(fair) - half
    if bid < 1:
        bid = 1
    ask = math.ceil(fair) + half
    if ask <= bid:
        ask = bid + 1
    return bid, ask


class MarketMakers:
    """The market makers of every symbol on one exchange.

    Args:
        exchange: The exchange whose books they quote in.
        reference_cents: Each symbol's undisturbed value (its opening price), in cents.
        depth_shares: Each symbol's impact depth: the net flow (shares) that moves
            its fair value by ``impact_coef`` in log terms.
        params: Quoting parameters.
        scale: Replay scale; quote sizes grow as ``1/scale``.
    """

    __slots__ = (
        "_decay_per_ns",
        "_epoch",
        "_growth",
        "_half",
        "_ids",
        "_now",
        "_step",
        "depth",
        "exchange",
        "flow",
        "ladders",
        "level_qty",
        "net_taken",
        "params",
        "reference",
    )

    def __init__(
        self,
        exchange: Exchange,
        reference_cents: list[int],
        depth_shares: list[float],
        params: LiquidityParams,
        scale: float,
    ) -> None:
        self.exchange = exchange
        self.params = params
        self.reference = list(reference_cents)
        self.depth = [max(1.0, float(d)) for d in depth_shares]
        n = len(reference_cents)
        # Net signed shares taken from the makers, decaying with the half-life. Kept
        # as acc[s] = sum(q * exp(k * t)) so that recording a fill needs no exp():
        # the growth factor exp(k * now) is computed once per timestamp.
        self.flow = [0.0] * n
        #: All net signed shares taken so far, per symbol (the permanent part of impact).
        self.net_taken = [0] * n
        self._decay_per_ns = math.log(2) / (params.half_life_s * 1e9)
        self._epoch = 0  # growth factors are taken relative to this time (no overflow)
        self._now = -1
        self._growth = 1.0
        self._half = [max(1, round(p * params.half_spread_bps / 1e4)) for p in reference_cents]
        self._step = [max(1, round(p * params.step_bps / 1e4)) for p in reference_cents]
        self.level_qty = max(1, round(params.level_shares / scale))
        # ladders[symbol][0] holds bid order ids best-first; [1] holds asks.
        self.ladders: list[tuple[deque[list[int]], deque[list[int]]]] = [
            (deque(), deque()) for _ in range(n)
        ]
        self._ids = exchange.ids

    # ------------------------------------------------------------- fair value
    def _growth_at(self, now: int) -> float:
        if now != self._now:
            exponent = (now - self._epoch) * self._decay_per_ns
            if exponent > 300:  # re-base before exp() overflows: divide every record by it
                # After a long quiet gap (a short half-life) the old flow has decayed past
                # what a float holds: dividing by infinity leaves it at zero, as it should.
                factor = math.exp(exponent) if exponent < 700 else math.inf
                # In place: the exchange holds a reference to this list.
                self.flow[:] = [acc / factor for acc in self.flow]
                self._epoch = now
                exponent = 0.0
            self._now = now
            self._growth = math.exp(exponent)
        return self._growth

    def net_flow(self, symbol: int, now: int) -> float:
        """Decaying net signed shares taken from the makers in a symbol (buys positive)."""
        return self.flow[symbol] / self._growth_at(now) if self.flow[symbol] else 0.0

    def fair_cents(self, symbol: int, now: int) -> float:
        """The makers' current fair value of a symbol, in cents.

        The lean has a transient part, from the decaying net flow, and a permanent
        part, from all the net flow so far (the classic split of market impact).
        """
        acc = self.flow[symbol]
        total = self.net_taken[symbol]
        if not acc and not total:
            return float(self.reference[symbol])
        params, depth = self.params, self.depth[symbol]
        flow = acc / self._growth_at(now)
        lean = params.impact_coef * (abs(flow) / depth) ** params.impact_exponent
        if flow < 0:
            lean = -lean
        if total:
            permanent = params.permanent_coef * (abs(total) / depth) ** params.impact_exponent
            lean += permanent if total > 0 else -permanent
        lean = max(-_MAX_LEAN, min(lean, _MAX_LEAN))
        return self.reference[symbol] * math.exp(lean)

    def fair_all(self, now: int, *, transient: bool = True) -> list[float]:
        """Every symbol's fair value in cents: ``fair_cents`` for all, in one pass.

        Args:
            now: Simulated time, ns.
            transient: ``False`` leaves out the transient lean: the value once the
                impact of recent flow has faded (what a close-out would fetch).
        """
        growth = self._growth_at(now)
        params = self.params
        coef, permanent = params.impact_coef, params.permanent_coef
        exponent = params.impact_exponent
        highest, lowest = _MAX_LEAN, -_MAX_LEAN
        exp = math.exp
        out: list[float] = []
        append = out.append  # this runs for every symbol twice per refresh interval
        for reference, acc, total, depth in zip(
            self.reference, self.flow, self.net_taken, self.depth, strict=True
        ):
            if not acc and not total:
                append(float(reference))
                continue
            # The same arithmetic as fair_cents, term by term, so both agree to the bit.
            lean = 0.0
            if acc and transient:
                flow = acc / growth
                lean = coef * (abs(flow) / depth) ** exponent
                if flow < 0:
                    lean = -lean
            if total:
                part = permanent * (abs(total) / depth) ** exponent
                lean += part if total > 0 else -part
            if lean > highest:
                lean = highest
            elif lean < lowest:
                lean = lowest
            append(reference * exp(lean))
        return out

    def on_taken(self, symbol: int, side: int, qty: int, now: int) -> None:
        """Record aggressive flow against the makers: ``side`` is the taker's side."""
        growth = self._growth if now == self._now else self._growth_at(now)
        self.flow[symbol] += side * qty * growth
        self.net_taken[symbol] += side * qty

    # ---------------------------------------------------------------- quoting
    def _targets(self, symbol: int, now: int) -> tuple[int, int]:
        return _quote_targets(self.fair_cents(symbol, now), self._half[symbol])

    def _post(self, symbol: int, side: int, price: int) -> None:
        """Post one maker order, never crossing the other side (no trading with themselves)."""
        order = self.exchange.books[symbol].post(
            next(self._ids), side, price, self.level_qty, MARKET_MAKER
        )
        if order is not None:  # None: no room below the offer, so this level is skipped
            self.ladders[symbol][0 if side > 0 else 1].append(order)

    def quote_all(self, now: int) -> None:
        """Post a full ladder on both sides of every book (at the open)."""
        for symbol in range(len(self.reference)):
            self._requote(symbol, BUY, now)
            self._requote(symbol, SELL, now)

    def _requote(
        self, symbol: int, side: int, now: int, targets: tuple[int, int] | None = None
    ) -> None:
        """Replace one side's ladder around fair value.

        ``targets`` is ``_targets(symbol, now)`` when the caller has just computed it
        (it is the same value: nothing changes the flow in between).
        """
        book = self.exchange.books[symbol]
        ladder = self.ladders[symbol][0 if side > 0 else 1]
        cancel = book.cancel
        for order in ladder:
            cancel(order[0])
        ladder.clear()
        bid, ask = targets if targets is not None else self._targets(symbol, now)
        step = self._step[symbol]
        # As _post does, level by level (inlined: requotes run tens of thousands of times).
        post, ids, qty = book.post, self._ids, self.level_qty
        for level in range(self.params.levels):
            price = max(1, bid - level * step) if side > 0 else ask + level * step
            posted = post(next(ids), side, price, qty, MARKET_MAKER)
            if posted is not None:
                ladder.append(posted)

    def replenish(self, symbol: int, now: int) -> None:
        """Replace levels that were taken, at the back of the ladder.

        A new level is never better than the level it replaces plus one step, and
        never better than the current fair value allows: after being hit, makers
        quote further away. This is what makes one-sided flow walk the price.
        """
        depleted = self.exchange.books[symbol].depleted
        if not depleted:
            return
        bids, asks = self.ladders[symbol]
        step = self._step[symbol]
        targets = self._targets(symbol, now)
        target_bid, target_ask = targets
        last_level = self.params.levels - 1
        far = step * self.params.levels
        for order in depleted:
            side = order[3]
            ladder = bids if side > 0 else asks
            if ladder and ladder[0] is order:
                ladder.popleft()
            elif order in ladder:
                ladder.remove(order)
            if side > 0:  # a bid was taken by a seller: post a new, lower one at the back
                worst = ladder[-1][4] if ladder else target_bid + step
                self._post(symbol, BUY, max(1, min(worst - step, target_bid - last_level * step)))
                # The untouched offers fall behind a falling price: re-centre them.
                if asks and asks[0][4] - target_ask > far:
                    self._requote(symbol, SELL, now, targets)
            else:
                worst = ladder[-1][4] if ladder else target_ask - step
                self._post(symbol, SELL, max(worst + step, target_ask + last_level * step))
                if bids and target_bid - bids[0][4] > far:
                    self._requote(symbol, BUY, now, targets)
        depleted.clear()

    def refresh(self, now: int) -> None:
        """Re-centre ladders whose best quote drifted more than two steps from fair value.

        Only symbols with a net-flow memory (anyone took liquidity from the makers
        there and it has not yet decayed to nothing) are checked.
        """
        flow = self.flow
        growth = self._growth_at(now)
        forget = growth * 1e-3  # under a thousandth of a share of flow left: forget it
        fairs = self.fair_all(now)
        requote = self._requote
        targets: tuple[int, int] | None
        for symbol, (acc, fair, half, step, (bids, asks)) in enumerate(
            zip(flow, fairs, self._half, self._step, self.ladders, strict=True)
        ):
            if not acc:
                continue
            drift = 2 * step
            # As _targets, from the fair value just computed for every symbol.
            target_bid, target_ask = targets = _quote_targets(fair, half)
            if abs(acc) < forget:
                flow[symbol] = 0.0
                targets = None  # fair value changed with it: requotes recompute it
            if not bids or abs(bids[0][4] - target_bid) > drift:
                requote(symbol, BUY, now, targets)
            if not asks or abs(asks[0][4] - target_ask) > drift:
                requote(symbol, SELL, now, targets)


class Background:
    """The other participants: balanced random trades in every symbol, printed at the touch.

    Their volume is printed on a fixed clock, every ``interval_s`` seconds for every
    symbol, whatever the replay's scale, so Knight's share of volume is measured the
    same way at every scale.

    Args:
        exchange: Where they trade.
        rate_shares_per_s: Each symbol's volume rate, shares/s.
        interval_s: Seconds between prints.
        rng: The random stream for background flow.
    """

    __slots__ = ("exchange", "interval_s", "rates", "rng")

    def __init__(
        self, exchange: Exchange, rate_shares_per_s: list[float], interval_s: float, rng: Random
    ) -> None:
        self.exchange = exchange
        self.rng = rng
        self.interval_s = interval_s
        self.rates = list(rate_shares_per_s)

    def trade(self, now: int) -> int:
        """Print each symbol's volume for the last interval; return the shares printed.

        Each print is the rate times the interval times a uniform noise in [0.5, 1.5)
        (mean 1), on a random side.
        """
        uniform = self.rng.random
        interval = self.interval_s
        books = self.exchange.books
        total = 0
        for book, rate in zip(books, self.rates, strict=True):
            if rate <= 0:
                continue
            qty = int(rate * interval * (0.5 + uniform()))
            price = book.best_ask() if uniform() < 0.5 else book.best_bid()
            if qty and price is not None:
                book.print_trade(price, qty)  # two other participants crossing at the touch
                total += qty
        return total
