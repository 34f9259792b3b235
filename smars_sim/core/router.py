"""SMARS's router: how a parent order picks a code path, and the code paths themselves.

SMARS received *parent* orders from clients and sent *child* orders to the
exchange to fill them. Which code path handled a parent depended on two things:
the feature flags, which were shared by the whole fleet, and the build installed
on the server, which decides what each flag *means*.

On 1 August 2012 the same flag meant two different things:

* In the RLP release (on seven servers) it switched on the new Retail Liquidity
  Program path.
* In the old build (still on the eighth server) it switched on Power Peg, retired
  in 2003 but still compiled in. Since 2005 Power Peg's stop condition never sees
  a fill, so it sends child orders without end.

Each build has a *routing function* that reads the flags and returns a code path.
Each code path is a plain function ``path(server, parent, now) -> bool``; the
server calls it on every tick while it returns ``True`` ("keep working").
The real flag name at Knight is not public; ``powerpeg`` is this kit's name for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .fleet import ParentOrder, Server

__all__ = [
    "AT_TOUCH",
    "CodePath",
    "Router",
    "path_name",
    "power_peg",
    "rlp",
    "route_pre_rlp",
    "route_rlp",
    "route_without_flags",
    "standard",
]

CodePath = Callable[["Server", "ParentOrder", int], bool]
#: A build's routing function: ``router(flags, parent, flag) -> code path``.
Router = Callable[[Mapping[str, bool], "ParentOrder", str], CodePath]

#: A child order's price meaning "whatever the touch is when it arrives": the
#: offer when buying, the bid when selling. Such an order always takes liquidity.
AT_TOUCH = None


# --------------------------------------------------------------------------
# Routing: each build has one of these. ``flag`` is the key the build reads.
# --------------------------------------------------------------------------
def route_pre_rlp(flags: Mapping[str, bool], parent: ParentOrder, flag: str) -> CodePath:
    """Routing in the build before RLP: the flag switches on Power Peg."""
    if flags.get(flag, False):
        return power_peg
    return standard


def route_rlp(flags: Mapping[str, bool], parent: ParentOrder, flag: str) -> CodePath:
    """Routing in the 2012 RLP release: the same flag now means "send retail orders to RLP"."""
    if flags.get(flag, False) and parent.retail:
        return rlp
    return standard


def route_without_flags(flags: Mapping[str, bool], parent: ParentOrder, flag: str) -> CodePath:
    """Routing in a build with no flagged path: every order goes the standard way."""
    return standard


def path_name(path: CodePath) -> str:
    """The name of a code path, as logged: ``standard``, ``rlp`` or ``power_peg``."""
    return path.__name__


# --------------------------------------------------------------------------
# Code paths.
# --------------------------------------------------------------------------
def standard(server: Server, parent: ParentOrder, now: int) -> bool:
    """Send a marketable child order for whatever is left, until the parent is filled.

    A child sent before the open is held by the exchange; the path then waits
    (returns ``False``) and the server resumes it after the open if needed.
    """
    remaining = parent.qty - parent.filled_qty - parent.held_qty
    if remaining <= 0:
        return False
    server.send_child(parent, AT_TOUCH, remaining, now)
    return parent.held_qty == 0 and parent.filled_qty < parent.qty


def rlp(server: Server, parent: ParentOrder, now: int) -> bool:
    """Route a retail order to the NYSE Retail Liquidity Program (new in 2012).

    The whole order rests in the RLP, waiting for retail price-improvement
    interest, so there is nothing left to do on later ticks. It never asks for
    more than the parent's unfilled quantity.
    """
    if parent.filled_qty >= parent.qty:
        return False
    server.post_rlp(parent, now)
    return False


def power_peg(server: Server, parent: ParentOrder, now: int) -> bool:
    """Power Peg: unused since 2003 but still "present and callable" in the old build (SEC ¶13-14).

    The SEC says it "continuously sent child orders, in rapid sequence, for each
    incoming parent order without regard to the number of share executions" (¶16);
    it does not describe how Power Peg priced them. **The kit's model:** each child
    takes whatever the touch is (buying at the offer, selling at the bid), and Power
    Peg stops only when its own cumulative-quantity counter reaches the parent's.
    """
    if not server.exchange.is_open:
        # The kit's model of the 97 "Power Peg disabled" e-mails (SEC ¶19): before the
        # open the path refuses the order and SMARS sends the BNET reject e-mail. The
        # SEC reports the e-mails' text, not the rule that produced them.
        server.reject_bnet(parent, "Power Peg disabled", now)
        return False
    # The stop condition. Until 2005 this counter was advanced by the cumulative-
    # quantity function. That function was then moved (fills now update
    # parent.filled_qty) and Power Peg was never retested: nothing advances
    # peg_cum_qty any more, so this check never stops the loop.
    if parent.peg_cum_qty >= parent.qty:
        return False
    server.send_child(parent, AT_TOUCH, server.peg_lot, now)
    return True
