"""The one place a count becomes a rate: child orders per second, at full size.

A replay at scale ``s`` sends ``s`` times as many child orders as the full-size day,
each ``1/s`` times bigger, so shares and dollars match the day while counts do not.
Every rate a learner sees is therefore divided by the scale here, once, and shown as
the full-size figure: a 1% replay's 2.6 child orders a second are the day's 260.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .clock import SECOND_NS
from .orders import CHILD_FIELDS

if TYPE_CHECKING:
    from array import array

    from .orders import ParentOrder

__all__ = ["FULL_SIZE", "child_orders_by_server", "full_size_rate", "window_seconds"]

#: How every view labels a rate computed by :func:`full_size_rate`.
FULL_SIZE = "full size"


def full_size_rate(count: Any, seconds: float, scale: float) -> Any:
    """Events per second at full size: ``count / seconds / scale`` (0 over no time).

    Args:
        count: Events counted in the replay (a number, or a numpy array of counts).
        seconds: Over how long, in simulated seconds.
        scale: The replay's scale.
    """
    if seconds <= 0:
        return count * 0.0
    return count / seconds / scale


def child_orders_by_server(
    children: array, parents: Mapping[int, ParentOrder], since: int, until: int
) -> dict[int, int]:
    """Child orders each server sent in ``(since, until]`` (ns), newest first from the log.

    The child-order log is in time order, so it is read backwards from the end and
    stops at the first order at or before ``since``: cheap for a recent window.
    """
    width = len(CHILD_FIELDS)
    counts: dict[int, int] = {}
    i = len(children) - width
    while i >= 0 and children[i] > since:
        if children[i] <= until:
            server = parents[children[i + 1]].server
            counts[server] = counts.get(server, 0) + 1
        i -= width
    return counts


def window_seconds(now: int, start: int, window_s: float) -> float:
    """How long a trailing window of ``window_s`` seconds is at ``now`` if it starts no earlier
    than ``start`` (seconds)."""
    return min(window_s, max(0.0, (now - start) / SECOND_NS))
