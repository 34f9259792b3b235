"""What a replay produced: the logs, and the headline figures computed from them.

Every headline figure is computed here from the simulated child orders, executions
and positions. Which of them the model is given, which a calibrated parameter tunes
and which the mechanism produces is said figure by figure in ``smars-sim fidelity``.
The tables (executions, positions, P&L...) are pandas DataFrames built from a result
by ``smars_sim.analysis.tables``; the core never imports pandas.
"""

from __future__ import annotations

import hashlib
import sys
from array import array
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .clock import CLOSE_NS, format_time
from .orders import CHILD_FIELDS, EXEC_FIELDS, ParentOrder, TimelineEntry
from .pnl import basket_price, closeout_cents

if TYPE_CHECKING:
    from .engine import Simulation
    from .scenario import Scenario

__all__ = ["Result", "Summary", "execution_digest"]

#: Clearly-erroneous rule used by NYSE on 1 Aug 2012: trades 30% or more from the open.
BUST_PCT = 30.0


def execution_digest(journal: array, children: array, parents: list[ParentOrder]) -> str:
    """sha256 over the executions table's inputs.

    It covers the execution log and the child-order log it refers to (flat int64
    arrays, see ``EXEC_FIELDS`` and ``CHILD_FIELDS``, hashed little-endian), and
    each parent's id, server, symbol and side. Together these determine every
    row of the executions table, including each execution's server.
    """
    digest = hashlib.sha256(b"smars-sim executions v1\n")
    routing = array("q")
    for p in parents:
        routing.extend((p.id, p.server, p.symbol, p.side))
    for column in (journal, children, routing):
        data = column
        if sys.byteorder == "big":
            data = array("q", column)
            data.byteswap()
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(memoryview(data).cast("B"))  # no copy: the log can be 300 MB
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Summary:
    """The headline figures of one replay, each computed from the logs (see ``_summarise``).

    Which of them the model is given, which a calibrated parameter tunes and which
    the mechanism produces is said per figure in ``smars-sim fidelity``.

    Attributes:
        scenario: Scenario name.
        seed: The replay's seed.
        scale: The replay's resolution.
        fixes: Fixes in force.
        servers: Number of SMARS servers.
        stale_servers: Servers the deploy missed.
        parent_orders: Parent orders that Power Peg worked.
        parent_orders_received: Retail parent orders received.
        child_orders: Child orders sent.
        executions: Executions.
        symbols_traded: Symbols with at least one execution.
        shares_traded: Shares executed.
        long_usd: Net long value at the last trade, dollars.
        long_symbols: Symbols held long at the end.
        short_usd: Net short value at the last trade, dollars.
        short_symbols: Symbols held short at the end.
        loss_usd: The realised loss once the position is sold in the evening basket,
            dollars (``smars_sim.core.pnl.realised_loss_usd``).
        start: First Power Peg child order (``HH:MM:SS.mmm``), or None.
        stop: Last Power Peg child order, or None.
        duration_minutes: Minutes from ``start`` to ``stop`` (0 when Power Peg never ran).
        bnet_emails: Automated BNET e-mails sent.
        pages: Pages sent by automated controls.
        impact_20_5: Symbols with Knight over 20% of volume and a move over 5%.
        impact_50_10: Symbols with Knight over 50% of volume and a move over 10%.
        busted_symbols: Symbols with a trade 30% or more from the open in the window.
        execution_digest: sha256 of the executions (see :func:`execution_digest`).
    """

    scenario: str
    seed: int
    scale: float
    fixes: tuple[str, ...]
    servers: int
    stale_servers: tuple[int, ...]
    parent_orders: int
    parent_orders_received: int
    child_orders: int
    executions: int
    symbols_traded: int
    shares_traded: int
    long_usd: float
    long_symbols: int
    short_usd: float
    short_symbols: int
    loss_usd: float
    start: str | None
    stop: str | None
    duration_minutes: float
    bnet_emails: int
    pages: int
    impact_20_5: int
    impact_50_10: int
    busted_symbols: int
    execution_digest: str

    def as_dict(self) -> dict[str, Any]:
        """The figures as a plain dict (lists for tuples), e.g. for JSON."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Summary:
        """The inverse of :meth:`as_dict` (e.g. read back from JSON)."""
        fields: dict[str, Any] = {
            name: tuple(value) if isinstance(value, list) else value for name, value in data.items()
        }
        return cls(**fields)


# eq=False: a result is one replay (compared and hashed by identity), and the analysis
# layer keeps the tables built from it in a weak mapping keyed by it.
@dataclass(slots=True, weakref_slot=True, eq=False)
class Result:
    """The outcome of one replay.

    Attributes:
        scenario: The scenario replayed.
        summary: The headline figures (:class:`Summary`).
        symbols: Tickers, by symbol index.
        synthetic: Whether each symbol is synthetic.
        parents: Every parent order, with its final state.
        children: Child-order log, flat ``array('q')`` of ``CHILD_FIELDS``.
        journal: Execution log, flat ``array('q')`` of ``EXEC_FIELDS``.
        emails: ``(time, server, parent, symbol, text)`` of each automated e-mail.
        pages: ``(time, control, detail)`` of each page sent by an automated control.
        timeline: Operator and system actions.
        samples: ``(time, cash, marked_value, closeout_value, child_orders, executions)``,
            in cents, every ``sample_s``.
        price_samples: Last trade price of every symbol (cents) at each sample.
        position: Final signed shares per symbol.
        last_price: Final last-trade price per symbol (cents).
        open_price: Opening (reference) price per symbol (cents).
        close_fair: The makers' fair value at the 16:00 close (cents).
        window: Per-symbol window statistics: volume, high, low, knight_shares.
        server_builds: ``(server, build version, sha256)`` at the end.
        maker_position: The market makers' net shares per symbol (Knight's counterparties).
        others_position: The other participants' net shares per symbol.
    """

    scenario: Scenario
    summary: Summary
    symbols: list[str]
    synthetic: list[bool]
    parents: list[ParentOrder]
    children: array
    journal: array
    emails: list[tuple[int, int, int, int, str]]
    pages: list[tuple[int, str, str]]
    timeline: list[TimelineEntry]
    samples: list[tuple[int, int, float, float, int, int]]
    price_samples: list[list[int]]
    position: list[int]
    last_price: list[int]
    open_price: list[int]
    close_fair: list[float]
    window: dict[str, list[float]]
    server_builds: list[tuple[int, str, str]]
    maker_position: list[int]
    others_position: list[int]

    # ---------------------------------------------------------- construction
    @classmethod
    def from_simulation(cls, sim: Simulation) -> Result:
        """Collect the result of a (finished or paused) simulation."""
        s = sim.scenario
        fleet = sim.fleet
        books = sim.exchange.books
        reference = fleet.reference
        last = [
            b.last_price if b.last_price is not None else r
            for b, r in zip(books, reference, strict=True)
        ]
        window = sim.window
        if window is None:  # not reached yet: use what there is so far
            window = {
                "volume": [b.volume for b in books],
                "high": [b.high for b in books],
                "low": [b.low for b in books],
                "knight_shares": list(fleet.ledger.traded),
            }
        close_fair = [sim.makers.fair_cents(i, CLOSE_NS) for i in range(len(books))]
        parents = sorted(fleet.parents.values(), key=lambda p: p.id)
        result = cls(
            scenario=s,
            summary=None,  # type: ignore[arg-type]  # set just below
            symbols=[spec.ticker for spec in s.symbols],
            synthetic=[spec.synthetic for spec in s.symbols],
            parents=parents,
            children=fleet.children,
            journal=fleet.journal,
            emails=list(fleet.emails),
            pages=list(fleet.pages),
            timeline=list(fleet.timeline),
            samples=list(sim.samples),
            price_samples=list(sim.price_samples),
            position=list(fleet.ledger.position),
            last_price=last,
            open_price=list(reference),
            close_fair=close_fair,
            window=window,
            server_builds=[(srv.id, srv.build.version, srv.build.sha256) for srv in fleet.servers],
            maker_position=list(sim.exchange.maker_position),
            others_position=list(sim.exchange.others_position),
        )
        result.summary = result._summarise(sim)
        return result

    def _summarise(self, sim: Simulation) -> Summary:
        s = self.scenario
        fleet = sim.fleet
        ledger = fleet.ledger
        journal = self.journal
        peg = [p for p in self.parents if p.ran_power_peg]
        start = min((p.first_child for p in peg if p.first_child is not None), default=None)
        stop = max((p.last_child for p in peg if p.last_child is not None), default=None)
        long_usd = short_usd = 0.0
        long_symbols = short_symbols = 0
        for q, price in zip(self.position, self.last_price, strict=True):
            if q > 0:
                long_usd += q * price / 100
                long_symbols += 1
            elif q < 0:
                short_usd += -q * price / 100
                short_symbols += 1
        realised = closeout_cents(
            ledger.cash, self.position, self.close_fair, s.basket_discount_bps
        )
        traded = [i for i, shares in enumerate(ledger.traded) if shares]
        impact = self.impact_counts()
        return Summary(
            scenario=s.name,
            seed=s.seed,
            scale=s.scale,
            fixes=tuple(s.fixes),
            servers=s.servers,
            stale_servers=tuple(s.stale_servers),
            parent_orders=len(peg),
            parent_orders_received=sum(1 for p in self.parents if p.retail),
            child_orders=len(self.children) // len(CHILD_FIELDS),
            executions=len(journal) // len(EXEC_FIELDS),
            symbols_traded=len(traded),
            shares_traded=sum(journal[EXEC_FIELDS.index("qty") :: len(EXEC_FIELDS)]),
            long_usd=round(long_usd, 2),
            long_symbols=long_symbols,
            short_usd=round(short_usd, 2),
            short_symbols=short_symbols,
            loss_usd=round(-realised / 100, 2),
            start=format_time(start, ms=True) if start is not None else None,
            stop=format_time(stop, ms=True) if stop is not None else None,
            duration_minutes=round((stop - start) / 60e9, 2)
            if start is not None and stop is not None
            else 0.0,
            bnet_emails=len(self.emails),
            pages=len(self.pages),
            impact_20_5=impact[0],
            impact_50_10=impact[1],
            busted_symbols=impact[2],
            execution_digest=execution_digest(journal, self.children, self.parents),
        )

    # -------------------------------------------------------------- analysis
    def basket_price(self, symbol: int) -> float:
        """Close-out price (cents) of a symbol's position in the after-close basket.

        The whole position was sold as one basket after the close (record §3). The
        kit prices it at the makers' fair value at 16:00, by when the transient
        impact has decayed, less a discount (see :func:`smars_sim.core.pnl.basket_price`).
        """
        return basket_price(
            self.close_fair[symbol], self.position[symbol], self.scenario.basket_discount_bps
        )

    def symbol_moves(self) -> list[tuple[float, float]]:
        """``(knight_volume_pct, max_move_pct)`` per symbol over 09:30 to the window end.

        The move is the largest distance of the last trade price from the opening
        price, read at every sample (every ``sample_s``). Sampling on a fixed clock
        makes the measure the same at every scale: the most extreme single trade
        would grow with the number of trades, that is with the scale.
        """
        window_end = self.scenario.t("window_end")
        rows = []
        for (time, *_), prices in zip(self.samples, self.price_samples, strict=True):
            if window_end is not None and time >= window_end:
                break  # the window's own snapshot is taken at its end, before that sample
            rows.append(prices)
        highest = list(self.open_price)
        lowest = list(self.open_price)
        for i, column in enumerate(zip(*rows, strict=True)):  # each symbol's sampled prices
            highest[i] = max(highest[i], *column)
            lowest[i] = min(lowest[i], *column)
        out = []
        w = self.window
        for i, open_cents in enumerate(self.open_price):
            volume = w["volume"][i]
            share = 100.0 * w["knight_shares"][i] / volume if volume else 0.0
            move = 100.0 * max(highest[i] - open_cents, open_cents - lowest[i]) / open_cents
            out.append((share, move))
        return out

    def busted_symbols(self) -> list[int]:
        """Symbols Knight traded with a trade 30% or more from the open in the window.

        That is the clearly-erroneous rule NYSE applied on 1 Aug 2012 to trades
        between 09:30 and 10:15; it looks at every trade, not at samples.
        """
        w = self.window
        out = []
        for i, open_cents in enumerate(self.open_price):
            if not w["knight_shares"][i] or not w["volume"][i]:
                continue
            worst = max(w["high"][i] - open_cents, open_cents - w["low"][i])
            if 100.0 * worst / open_cents >= BUST_PCT:
                out.append(i)
        return out

    def impact_counts(self) -> tuple[int, int, int]:
        """Symbols with Knight >20% of volume and a >5% move; >50% and >10%; busted (>=30%)."""
        moves = self.symbol_moves()
        a = sum(1 for share, move in moves if share > 20 and move > 5)
        b = sum(1 for share, move in moves if share > 50 and move > 10)
        return a, b, len(self.busted_symbols())
