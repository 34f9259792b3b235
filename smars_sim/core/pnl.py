"""The one place Knight's P&L is valued: marking, the close-out, the loss locked in,
and the time it took to stop.

Three valuations of the same cash and positions, each with its own name, because
they answer different questions (every view labels its figure with one of these):

* :data:`MARKED` ("marked at the last trade"): each position at its stock's last
  trade, as a position screen showed it. It flatters Knight: its own buying had
  pushed those prices up, and its selling down.
* :data:`IF_STOPPED_NOW` ("if stopped now"): the loss if Knight stopped trading at
  that moment and sold everything in the after-close basket. Each position is priced
  at the makers' fair value once the transient impact of the flow so far has faded
  (the permanent part stays), less the basket discount. Only the trades made so far
  count.
* :data:`LOCKED_IN` ("locked in at the evening basket price"): cash plus the
  positions held at that moment, priced at the basket price the day's whole position
  actually fetched after the close. It is what the trades made so far went on to
  cost, including the impact of the trading that came after them, so it can exceed
  "if stopped now" at the same moment. At the end of the day both equal the realised
  loss (``Summary.loss_usd``).

The basket price itself is the kit's model, not a record fact: the record says the
position was sold as one block after the close (record §3), not at what prices.
Cash is in cents (negative after buying); P&L is positive for a gain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .clock import MINUTE_NS, OPEN_NS, parse_time
from .orders import CHILD_FIELDS, EXEC_FIELDS

if TYPE_CHECKING:
    from .result import Result

__all__ = [
    "IF_STOPPED_NOW",
    "LOCKED_IN",
    "MARKED",
    "basket_price",
    "closeout_cents",
    "locked_in_cents",
    "marked_cents",
    "minutes_to_stop",
]

#: Names of the three valuations, as every view shows them.
MARKED = "marked at the last trade"
IF_STOPPED_NOW = "if stopped now"
LOCKED_IN = "at the evening basket price"


def basket_price(fair_cents: float, shares: int, discount_bps: float) -> float:
    """The price (cents) a position of ``shares`` fetches in the after-close basket.

    Taking a whole block costs a discount: longs are sold below the fair value,
    shorts bought back above it.
    """
    discount = discount_bps / 1e4
    return fair_cents * (1 - discount) if shares > 0 else fair_cents * (1 + discount)


def closeout_cents(
    cash: float, position: Sequence[int], fair_cents: Sequence[float], discount_bps: float
) -> float:
    """Cash plus every position sold in the basket at these fair values (cents).

    With the fair values once the transient impact has faded, this is the P&L
    :data:`IF_STOPPED_NOW`; with the 16:00 fair values at the end of the day, the
    realised P&L.
    """
    discount = discount_bps / 1e4
    sell_long, buy_back = 1 - discount, 1 + discount
    value = cash  # not float(): with no position the sample keeps the integer cash
    for q, fair in zip(position, fair_cents, strict=True):
        if q:
            value += q * fair * (sell_long if q > 0 else buy_back)
    return value


def marked_cents(cash: float, position: Sequence[int], last_cents: Sequence[float]) -> float:
    """Cash plus every position at its last trade: the P&L :data:`MARKED` (cents)."""
    value = cash  # integer cents stay integers, as the samples have always been
    for q, price in zip(position, last_cents, strict=True):
        if q:
            value += q * price
    return value


def locked_in_cents(result: Result) -> list[tuple[int, float]]:
    """``(time, P&L in cents)`` :data:`LOCKED_IN` at each sample from the open on.

    The positions held at each sample are rebuilt from the execution log (an
    execution counts from the first sample at or after it), and each is valued at the
    basket price of the 16:00 fair value (``Result.close_fair``), on the side it is
    held on at that moment.
    """
    discount = result.scenario.basket_discount_bps
    n_exec, n_child = len(EXEC_FIELDS), len(CHILD_FIELDS)
    t_col, child_col, qty_col = (EXEC_FIELDS.index(f) for f in ("time", "order_id", "qty"))
    parent_col = CHILD_FIELDS.index("parent_id")
    parents = {p.id: p for p in result.parents}
    journal, children = result.journal, result.children
    fair = result.close_fair
    held = [0] * len(fair)
    out: list[tuple[int, float]] = []
    row, rows = 0, len(journal) // n_exec
    for time, cash, *_ in result.samples:
        while row < rows and journal[row * n_exec + t_col] <= time:
            base = row * n_exec
            child = journal[base + child_col] - 1
            parent = parents[children[child * n_child + parent_col]]
            held[parent.symbol] += parent.side * journal[base + qty_col]
            row += 1
        if time >= OPEN_NS:
            value = float(cash)
            for i, q in enumerate(held):
                if q:
                    value += q * basket_price(fair[i], q, discount)
            out.append((time, value))
    return out


def minutes_to_stop(result: Result) -> float | None:
    """Minutes from the 09:30 open to Power Peg's last child order.

    Returns:
        The minutes, or ``None`` when Power Peg never sent a child order (there was
        nothing to stop). Views show ``None`` as "never ran", not as zero.
    """
    stop = result.summary.stop
    if not stop or not result.summary.parent_orders:
        return None
    return round((parse_time(stop) - OPEN_NS) / MINUTE_NS, 2)
