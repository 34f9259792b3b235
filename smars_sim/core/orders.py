"""The records a replay keeps: parent orders, the child and execution logs' columns,
timeline entries and control events.

They are plain data, shared by the core, the fixes and every view: presentation reads
these fields and never parses the text of a log line.
"""

from __future__ import annotations

from dataclasses import dataclass

from .book import FILL_FIELDS

__all__ = ["CHILD_FIELDS", "EXEC_FIELDS", "ControlEvent", "ParentOrder", "TimelineEntry"]

#: Fields of one child order in ``Fleet.children`` (a flat native-endian ``array('q')``).
#: A child's id is its row number + 1; its server is its parent's server.
CHILD_FIELDS = ("time", "parent_id", "price", "qty", "path")
#: Fields of one execution in ``Fleet.journal``: time, child order id, price and shares.
EXEC_FIELDS = FILL_FIELDS


@dataclass(slots=True, eq=False)
class ParentOrder:
    """A client order into SMARS.

    Attributes:
        id: Parent id.
        symbol: Symbol index.
        side: +1 buy, -1 sell.
        qty: Shares the client wants.
        received: Arrival time, ns since midnight.
        retail: A retail order, eligible for the Retail Liquidity Program.
        for_open: Meant for the opening auction: held by the server until 09:30.
        server: The server that received it (1-based), once routed.
        path: The code path handling it.
        path_code: ``PATH_CODES[path]``, kept for the child-order log.
        filled_qty: Shares filled, kept up to date by the fill handler (since 2005).
        held_qty: Shares in child orders the exchange is holding until the open.
        peg_cum_qty: Power Peg's own cumulative-quantity counter. Nothing updates
            it since the 2005 change: that is the defect.
        rejected: Why it was rejected, if it was.
        ran_power_peg: Whether Power Peg ever sent a child order for it.
        first_child: Time of its first child order.
        last_child: Time of its latest child order.
    """

    id: int
    symbol: int
    side: int
    qty: int
    received: int
    retail: bool = True
    for_open: bool = True
    server: int = 0
    path: str = ""
    path_code: int = 0
    filled_qty: int = 0
    held_qty: int = 0
    peg_cum_qty: int = 0
    rejected: str = ""
    ran_power_peg: bool = False
    first_child: int | None = None
    last_child: int | None = None

    @property
    def is_open(self) -> bool:
        """Not yet filled, not rejected."""
        return not self.rejected and self.filled_qty < self.qty


@dataclass(slots=True)
class TimelineEntry:
    """One operator or system action, for the timeline table.

    Attributes:
        time: When, ns since midnight.
        actor: Who acted: a person's role ("operations", "console") or a control.
        action: What was done, in a few words.
        server: The server concerned (0: the fleet).
        detail: Why, or what with.
        control: The fix whose automated control acted (its registry name, e.g.
            ``"kill-switch"``); empty when a person or the market acted. Views select
            control actions by this field, never by matching the text.
    """

    time: int
    actor: str
    action: str
    server: int
    detail: str
    control: str = ""


@dataclass(slots=True)
class ControlEvent:
    """A control that fired (the structured record a fix keeps of what it did).

    Attributes:
        time: When, ns since midnight.
        control: Which control (e.g. ``"reconciliation"``).
        action: ``"reject"``, ``"disable server"``, ``"kill"``, ``"warn"`` or ``"re-enable"``.
        server: The server concerned (0: the fleet).
        detail: Why.
    """

    time: int
    control: str
    action: str
    server: int
    detail: str
