"""The SMARS fleet: servers, the builds on them, the shared flags, and deployment.

Knight deployed by hand: a technician copied the new build to each server in
turn, and nothing checked afterwards that every server ran it. ``Fleet.manual_deploy``
does exactly that, and the server it misses is a parameter. The operator actions
of the morning are here too: stopping a server, stopping them all one by one, and
the rollback that re-installed the old build on the servers that had been updated.
"""

from __future__ import annotations

import itertools
import struct
from array import array
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from .builds import Build
from .orders import CHILD_FIELDS, EXEC_FIELDS, ParentOrder, TimelineEntry
from .router import AT_TOUCH, CodePath, path_name, power_peg, rlp, standard

if TYPE_CHECKING:
    from .exchange import Exchange

__all__ = [
    "AT_TOUCH",
    "CHILD_FIELDS",
    "EXEC_FIELDS",
    "Fleet",
    "Ledger",
    "ParentOrder",
    "Server",
    "TimelineEntry",
]

#: Integer codes for code paths in the child-order log.
PATH_CODES = {path_name(standard): 0, path_name(rlp): 1, path_name(power_peg): 2}
_POWER_PEG_CODE = PATH_CODES[path_name(power_peg)]
_pack_child = struct.Struct("=5q").pack


class Ledger:
    """Knight's positions and cash for the day (the "33 Account" view).

    Args:
        n_symbols: How many symbols the exchange lists.
        parents: The parent orders by id (the fleet's), whose fills make up ``traded``.

    Attributes:
        position: Signed shares held, per symbol.
        cash: Cash in cents: negative after buying.
    """

    __slots__ = ("_parents", "cash", "position")

    def __init__(self, n_symbols: int, parents: Mapping[int, ParentOrder] | None = None) -> None:
        self.position = [0] * n_symbols
        self.cash = 0
        self._parents: Mapping[int, ParentOrder] = {} if parents is None else parents

    @property
    def traded(self) -> list[int]:
        """Shares bought plus shares sold, per symbol.

        Every fill is counted once already, in its parent's ``filled_qty``, so this
        sums the parents when asked (a few times a replay) instead of keeping a
        second tally on every fill.
        """
        traded = [0] * len(self.position)
        for parent in self._parents.values():
            if parent.filled_qty:
                traded[parent.symbol] += parent.filled_qty
        return traded


class Server:
    """One SMARS server.

    Args:
        server_id: 1-based server number.
        build: The build installed on it.
        fleet: The fleet it belongs to (for flags, the exchange, logs).
    """

    __slots__ = (
        "_child_ids",
        "_journal",
        "_ledger",
        "_log_child",
        "_position",
        "build",
        "exchange",
        "fleet",
        "id",
        "parents",
        "peg_lot",
        "running",
        "stopped_at",
        "tick_pending",
        "waiting",
        "working",
    )

    def __init__(self, server_id: int, build: Build, fleet: Fleet) -> None:
        self.id = server_id
        self.build = build
        self.fleet = fleet
        self.exchange: Exchange = fleet.exchange  # the venue it sends child orders to
        self.running = True
        self.stopped_at: int | None = None
        self.parents: list[ParentOrder] = []
        self.waiting: list[ParentOrder] = []  # auction orders held until the open
        self.working: list[tuple[ParentOrder, CodePath]] = []
        self.tick_pending = False
        self.peg_lot = fleet.peg_lot
        # Looked up once here because send_child runs millions of times.
        self._journal = fleet.journal
        self._log_child = fleet.log_child
        self._child_ids = fleet.child_ids
        self._ledger = fleet.ledger
        self._position = fleet.ledger.position

    # ---------------------------------------------------------------- routing
    def accept(self, parent: ParentOrder, now: int) -> None:
        """Receive a parent order and route it through this build's code paths."""
        parent.server = self.id
        self.parents.append(parent)
        if not self.running:
            parent.rejected = "server stopped"
            return
        if parent.for_open and not self.fleet.exchange.is_open:
            self.waiting.append(parent)
            return
        self._start(parent, now)

    def open(self, now: int) -> None:
        """At 09:30: start the parents held for the opening auction, in arrival order."""
        waiting, self.waiting = self.waiting, []
        if self.running:
            for parent in waiting:
                self._start(parent, now)

    def _start(self, parent: ParentOrder, now: int) -> None:
        step = self.build.route(self.fleet.flags, parent)
        parent.path = path_name(step)
        parent.path_code = PATH_CODES[parent.path]
        if step(self, parent, now):
            self.working.append((parent, step))
            self.fleet.wake(self, now)

    def tick(self, now: int) -> bool:
        """Run every working parent's code path once. Returns whether work remains."""
        if not self.running:
            self.working = []
            return False
        # Each item is (parent, code path); a path returns whether to keep working.
        keep = [item for item in self.working if item[1](self, item[0], now)]
        self.working = keep
        return bool(keep)

    # ------------------------------------------------------------ child orders
    def send_child(self, parent: ParentOrder, price: int | None, qty: int, now: int) -> None:
        """Send one immediate-or-cancel child order and book its fills.

        Args:
            parent: The parent order it works.
            price: Limit price in cents, or ``AT_TOUCH`` (``None``): take whatever
                the touch is when it arrives (buy at the offer, sell at the bid).
            qty: Shares.
            now: Simulated time, ns.
        """
        gate = self.fleet.gate
        if gate is not None and not gate.allow(self, parent, price, qty, now):
            return  # refused before it left SMARS (the gate records why)
        child_id = next(self._child_ids)
        parent.last_child = now
        if parent.first_child is None:
            parent.first_child = now
        code = parent.path_code
        if code == _POWER_PEG_CODE:
            parent.ran_power_peg = True
        symbol = parent.symbol
        side = parent.side
        exchange = self.exchange
        if not exchange.is_open:  # held by the exchange until the open (see on_released)
            exchange.send(symbol, child_id, side, price, qty, now, self._journal, self, parent.id)
            self._log_child(_pack_child(now, parent.id, price or 0, qty, code))
            parent.held_qty += qty
            return
        # Exchange.match, with MarketMakers.on_taken, inlined: this runs millions of times.
        book = exchange.books[symbol]
        filled, notional, fill_price = book.take(child_id, side, price, qty, now, self._journal)
        if filled:
            makers = exchange._makers
            signed = side * filled
            growth = makers._growth if now == makers._now else makers._growth_at(now)
            exchange._flow[symbol] += signed * growth
            exchange._net_taken[symbol] += signed
            if book.depleted:
                makers.replenish(symbol, now)
        self._log_child(_pack_child(now, parent.id, price or fill_price, qty, code))
        if gate is not None:
            gate.record(self, parent, qty, filled, notional, now)
        if filled:  # the fill handler, as in _book_fill (inlined: this runs millions of times)
            parent.filled_qty += filled
            self._position[symbol] += signed
            self._ledger.cash -= side * notional

    def _book_fill(self, parent: ParentOrder, filled: int, notional: int) -> None:
        # Since 2005 the cumulative quantity is tracked here, in the fill handler.
        parent.filled_qty += filled
        ledger = self.fleet.ledger
        ledger.position[parent.symbol] += parent.side * filled
        ledger.cash -= parent.side * notional

    def on_released(self, tag: int, qty: int, filled: int, notional: int, now: int) -> None:
        """The exchange released a child order it held until the open."""
        parent = self.fleet.parents[tag]
        parent.held_qty -= qty
        if filled:
            self._book_fill(parent, filled, notional)
        if self.running and parent.is_open and not parent.held_qty and parent.path == "standard":
            # What the open did not fill is worked again by the same code path.
            self.working.append((parent, standard))
            self.fleet.wake(self, now)

    def post_rlp(self, parent: ParentOrder, now: int) -> None:
        """Rest a retail order in the exchange's Retail Liquidity Program."""
        self.fleet.exchange_rlp_post(self, parent, now)

    def reject_bnet(self, parent: ParentOrder, reason: str, now: int) -> None:
        """Reject a parent order and send the automated 'BNET reject' e-mail."""
        parent.rejected = reason
        self.fleet.emails.append((now, self.id, parent.id, parent.symbol, f"BNET reject: {reason}"))

    # --------------------------------------------------------------- operator
    def stop(self, now: int) -> None:
        """Stop the server: it sends no new child orders from ``now`` on."""
        if self.running:
            self.running = False
            self.stopped_at = now
            self.working = []
            self.fleet.exchange_rlp_cancel(self)

    def install(self, build: Build, now: int) -> None:
        """Install a build and restart: open parent orders SMARS works are re-routed.

        Orders resting in the Retail Liquidity Program stay at the exchange (the
        kit's model): a restart does not take them back, so only orders SMARS still
        works, and parents arriving afterwards, meet the new build's routing.
        """
        self.build = build
        self.working = []
        if not self.running:
            return
        resting = {id(p) for p in self.fleet.rlp_resting.get(self.id, ())}
        for parent in self.parents:
            if parent.is_open and id(parent) not in resting:
                parent.peg_cum_qty = 0  # a fresh process starts its counters at zero
                self._start(parent, now)


class Fleet:
    """The SMARS servers, the flags they share, and what the operators do to them.

    Attributes are slotted: ``send_child`` reads several of them for every child order.

    Args:
        n_servers: How many servers.
        build: The build every server starts with.
        exchange: The venue.
        reference: Each symbol's reference price in cents (used before quotes exist).
        peg_lot: Shares per Power Peg child order (at this scale).
        wake: Called as ``wake(server, now)`` when a server has work and needs ticks.
    """

    __slots__ = (
        "_wake",
        "child_ids",
        "children",
        "emails",
        "exchange",
        "flag_guard",
        "flags",
        "gate",
        "journal",
        "ledger",
        "log_child",
        "pages",
        "parents",
        "peg_lot",
        "reference",
        "rlp_resting",
        "servers",
        "timeline",
    )

    def __init__(
        self,
        n_servers: int,
        build: Build,
        exchange: Exchange,
        reference: list[int],
        peg_lot: int,
        wake: Callable[[Server, int], None] | None = None,
    ) -> None:
        self.exchange = exchange
        self.reference = reference
        self.peg_lot = peg_lot
        #: The fleet-wide flags: any mapping of name -> bool (a fix may swap in a registry).
        self.flags: MutableMapping[str, bool] = {}
        #: Optional pre-trade gate every child order passes (see ``smars_sim.fixes``):
        #: ``gate.allow(server, parent, price, qty, now) -> bool`` before sending and
        #: ``gate.record(server, parent, qty, filled, notional, now)`` after.
        self.gate: Any = None
        #: Optional check on flag changes: ``flag_guard(name, value, now)`` returns a
        #: reason to refuse, or ``None`` to allow.
        self.flag_guard: Callable[[str, bool, int], str | None] | None = None
        #: Child orders have their own id sequence.
        self.child_ids = itertools.count(1)
        self.parents: dict[int, ParentOrder] = {}
        self.ledger = Ledger(len(reference), self.parents)
        self.children = array("q")
        self.log_child = self.children.frombytes
        self.journal = array("q")
        self.emails: list[tuple[int, int, int, int, str]] = []
        self.pages: list[tuple[int, str, str]] = []  # pages from automated controls (fixes)
        self.timeline: list[TimelineEntry] = []
        self.rlp_resting: dict[int, list[ParentOrder]] = {}
        self._wake = wake
        self.servers = [Server(i + 1, build, self) for i in range(n_servers)]

    @property
    def next_child_id(self) -> int:
        """The id the next child order will get (every child sent so far is logged)."""
        return len(self.children) // len(CHILD_FIELDS) + 1

    def server(self, server_id: int) -> Server:
        """The server with this 1-based number."""
        if not 1 <= server_id <= len(self.servers):
            raise ValueError(
                f"server {server_id!r} does not exist; servers are 1..{len(self.servers)}"
            )
        return self.servers[server_id - 1]

    def wake(self, server: Server, now: int) -> None:
        """Ask the simulation to tick a server that has work."""
        if self._wake is not None and not server.tick_pending:
            self._wake(server, now)

    def note(
        self,
        time: int,
        actor: str,
        action: str,
        server: int = 0,
        detail: str = "",
        control: str = "",
    ) -> None:
        """Add an entry to the timeline of actions.

        Args:
            time: When, ns since midnight.
            actor: Who acted.
            action: What was done.
            server: The server concerned (0: the fleet).
            detail: Why, or what with.
            control: The fix whose automated control acted (empty for people).
        """
        self.timeline.append(TimelineEntry(time, actor, action, server, detail, control))

    # ------------------------------------------------------------ the RLP
    def exchange_rlp_post(self, server: Server, parent: ParentOrder, now: int) -> None:
        """Post a retail order to the Retail Liquidity Program.

        An RLP order waits there for retail price-improvement interest. This kit
        does not model the price-improvement providers, so an RLP order rests until
        its server cancels it (a stop; a re-install leaves it). That is a modelling choice,
        not a historical claim.
        """
        self.rlp_resting.setdefault(server.id, []).append(parent)

    def exchange_rlp_cancel(self, server: Server) -> None:
        """Cancel a server's resting RLP orders (it disconnected)."""
        self.rlp_resting.pop(server.id, None)

    # ------------------------------------------------------------ deployment
    def manual_deploy(self, build: Build, *, miss: Iterable[int] = (), when: str = "") -> None:
        """Copy a build to every server by hand, with no verification afterwards.

        Args:
            build: The new build.
            miss: Servers (1-based) the technician does not copy it to.
            when: A label for the timeline (the deploy happened before the day).
        """
        missed = set(miss)
        for server in self.servers:
            if server.id in missed:
                self.note(
                    0,
                    "technician",
                    "deploy skipped",
                    server.id,
                    f"{when} server still runs {server.build.version}",
                )
                continue
            server.build = build
            self.note(
                0,
                "technician",
                "deploy",
                server.id,
                f"{when} copied {build.version} ({build.short_hash})",
            )

    def set_flag(self, name: str, value: bool, now: int, actor: str = "operations") -> bool:
        """Turn a fleet-wide flag on or off; returns whether the change was made.

        A ``flag_guard`` (installed by a fix) may refuse the change; the timeline
        then records the refusal and its reason.
        """
        if self.flag_guard is not None:
            reason = self.flag_guard(name, value, now)
            if reason:
                self.note(
                    now,
                    "flag guard",
                    "flag change refused",
                    0,
                    f"{name}={value}: {reason}",
                    control="flag guard",
                )
                return False
        self.flags[name] = value
        self.note(now, actor, "flag on" if value else "flag off", 0, name)
        return True
