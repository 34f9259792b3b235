"""Monitoring as it was on 1 August 2012.

Two things watched SMARS, and neither acted:

* the automated "BNET reject" e-mails (``Result.emails``), which the stale server sent
  for pre-market orders; they were not designed as alerts and went to a mailing list
  (SEC ¶19);
* PMON, a post-trade position monitor: it relied entirely on people watching it, raised
  no automated alerts, did not show the accounts' limits, and lagged under heavy
  volume (SEC ¶25).

``pmon_view`` rebuilds what a PMON screen would have shown at a given moment. How much
it lagged is not public: the lag here is a base delay plus a delay that grows with the
execution rate of the previous minute. Both are parameters, not facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .clock import MINUTE_NS, SECOND_NS, format_time
from .fleet import CHILD_FIELDS, EXEC_FIELDS
from .fmt import usd
from .record import figure

if TYPE_CHECKING:
    from .result import Result

__all__ = ["PmonRow", "PmonView", "pmon_view"]

#: PMON's delay when the market is quiet, in seconds (an assumption).
BASE_LAG_S = 1.0
#: Extra delay per 1,000 executions in the previous minute, in seconds (an assumption).
LAG_PER_THOUSAND_S = 0.5


@dataclass(frozen=True, slots=True)
class PmonRow:
    """One symbol on the PMON screen."""

    symbol: str
    position: int
    value_usd: float


@dataclass(frozen=True, slots=True)
class PmonView:
    """What a PMON screen showed at one moment.

    Attributes:
        time: When the screen was looked at (ns since midnight).
        as_of: The moment its positions actually reflect (``time`` minus the lag).
        lag_s: How far behind it was, in seconds.
        rows: Symbols with a position, largest absolute value first.
        gross_usd: Sum of the absolute values of the positions shown.
        limit_usd: The 33 Account's gross position limit (record: $2 million). PMON did
            not display it; it is here so a learner can compare.
        automatic_action: Always ``False``: PMON raised no alerts and took no action.
    """

    time: int
    as_of: int
    lag_s: float
    rows: tuple[PmonRow, ...]
    gross_usd: float
    limit_usd: float
    automatic_action: bool = False

    @property
    def over_limit(self) -> bool:
        """Whether the gross position shown exceeds the limit nobody saw."""
        return self.gross_usd > self.limit_usd

    def describe(self) -> str:
        """One line a person at the PMON screen could read."""
        gross = usd(self.gross_usd, 1, units="M", smallest="M")
        limit = usd(self.limit_usd, 0, units="M", smallest="M")
        return (
            f"{format_time(self.time)}: PMON shows positions as of {format_time(self.as_of)} "
            f"({self.lag_s:.0f} s behind), gross {gross} in {len(self.rows)} symbols; the "
            f"{limit} limit is not shown and nothing is done automatically"
        )


def pmon_view(
    result: Result,
    at: int,
    *,
    base_lag_s: float = BASE_LAG_S,
    lag_per_thousand_s: float = LAG_PER_THOUSAND_S,
) -> PmonView:
    """Rebuild the PMON screen at a moment of the replay.

    Args:
        result: A replay.
        at: When the screen is looked at, ns since midnight.
        base_lag_s: PMON's delay when the market is quiet.
        lag_per_thousand_s: Extra delay per 1,000 executions in the previous minute.

    Returns:
        The view, with positions marked at each symbol's price in the last sample
        before ``as_of``.

    Raises:
        ValueError: If a lag parameter is negative.
    """
    if base_lag_s < 0 or lag_per_thousand_s < 0:
        raise ValueError(
            f"PMON lag parameters must be >= 0; got base {base_lag_s!r}, "
            f"per thousand executions {lag_per_thousand_s!r}"
        )
    journal = result.journal
    width = len(EXEC_FIELDS)
    times = journal[EXEC_FIELDS.index("time") :: width]
    recent = sum(1 for t in times if at - MINUTE_NS < t <= at)
    lag_s = base_lag_s + lag_per_thousand_s * recent / 1000
    as_of = max(0, at - int(lag_s * SECOND_NS))

    # Positions from the executions up to as_of, joined to their child's parent side.
    parents = {p.id: p for p in result.parents}
    child_parent = result.children[CHILD_FIELDS.index("parent_id") :: len(CHILD_FIELDS)]
    order_ids = journal[EXEC_FIELDS.index("order_id") :: width]
    quantities = journal[EXEC_FIELDS.index("qty") :: width]
    position = [0] * len(result.symbols)
    for t, child, qty in zip(times, order_ids, quantities, strict=True):
        if t > as_of:
            continue
        parent = parents[child_parent[child - 1]]
        position[parent.symbol] += parent.side * qty

    prices = list(result.open_price)
    for (t, *_), sample in zip(result.samples, result.price_samples, strict=True):
        if t > as_of:
            break
        prices = sample
    rows = sorted(
        (PmonRow(result.symbols[i], q, q * prices[i] / 100) for i, q in enumerate(position) if q),
        key=lambda r: (-abs(r.value_usd), r.symbol),
    )
    limit = float(figure("account33_limit_usd").value)
    return PmonView(at, as_of, lag_s, tuple(rows), sum(abs(r.value_usd) for r in rows), limit)
