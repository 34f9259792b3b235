"""Fix ``kill-switch``: pre-trade risk controls and one action that halts everything.

On 1 August 2012 nothing stood between SMARS and the market that could stop it: the
33 Account's $2M limit was not linked to any automated block, PMON was a
post-execution screen watched by people, there was no comparison of orders leaving
SMARS with those entering it, and no procedure to halt SMARS (SEC order ¶21-¶27).
This fix puts a :class:`RiskGate` between every server and the exchange
(``fleet.gate``). It is independent of any server's build: whatever code a server
runs, every child order passes the gate first, and the gate rejects, it does not
merely alert (SEC Rule 15c3-5; MiFID II RTS 6 Art. 12 and 15; FIA guidance §1.11).

Controls, each named in the timeline when it fires:

* **price collar** and **size limits**, order by order: the order is rejected
  (15c3-5(c)(1)(ii); RTS 6 Art. 15);
* **message-rate throttle** (a token bucket per server) and **repeated-execution
  throttle** (executions per parent order): the server is disabled and stays
  disabled until a designated person re-enables it (RTS 6 Art. 15);
* **capital threshold**: the gross notional of the orders *sent* (not executed),
  fleet-wide, with warning pages at 50/75/90% like Nasdaq's kill switch; crossing it
  engages the kill switch (15c3-5(c)(1)(i));
* **orders-out vs orders-in reconciliation**: shares executed for a parent order
  compared with the shares the client sent; more out than in engages the kill switch
  (the control the SEC says Knight lacked, ¶21);
* **kill switch**: one action that blocks new child orders on every server at once
  and cancels their working orders (RTS 6 Art. 12; CME Globex / Nasdaq kill switches).
  ``Scenario.kill_at`` (``--kill-at``) presses it by hand at a given time.

Alerts page someone (``fleet.pages``, with the time) instead of sending e-mail; the
"BNET reject" e-mails of the morning are turned into pages too (SEC ¶19).

**Scale.** Limits are given for the full-resolution replay (scale 1). At a coarser
scale child orders are ``1/scale`` times bigger and ``scale`` times rarer, so share
and per-order dollar limits are divided by the scale, and count and rate limits are
multiplied by it (never below ``min_count``). Burst sizes and the capital threshold
are not scaled: parent orders and dollars do not scale.

Modelled on pre-trade risk gates and exchange kill switches as their vendors describe
them (the kit's reading, not a record of Knight's systems).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

from ..core.clock import MINUTE_NS, format_time
from ..core.fmt import usd
from ..core.orders import ControlEvent

if TYPE_CHECKING:
    from ..core.engine import Simulation
    from ..core.fleet import Fleet, ParentOrder, Server

__all__ = [
    "ControlEvent",
    "RiskGate",
    "RiskLimits",
    "install",
    "install_manual_kill",
]

#: This fix's name in the registry (``smars_sim.fixes.SPECS``) and on its timeline entries.
NAME = "kill-switch"

_EMAIL_POLL_NS = MINUTE_NS  # how often the e-mail-to-pager bridge looks at the mailbox
_EMAIL_REPAGE_NS = 15 * MINUTE_NS  # a reminder page while rejects keep coming
_COLLAR_PERIOD_NS = 5 * MINUTE_NS  # the price collar's reference is renewed this often


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """The gate's limits, at scale 1. ``None`` switches a control off.

    The defaults are this kit's choices for its replay, not Knight's figures: a normal
    morning here sends about $9M of child orders with one child per parent, at most
    about 30 orders in a second per server (all at the open).

    Attributes:
        price_collar_pct: Reject an order priced more than this % from the collar's
            reference: the symbol's last trade when the current 5-minute period began
            (the opening price before any trade). An order at the touch is priced at
            the touch.
        max_order_shares: Reject an order for more shares than this.
        max_order_usd: Reject an order worth more than this.
        max_messages_per_s: Sustained child orders per second per server (token refill).
        message_burst: Token-bucket size: orders a server may send at once.
        max_executions_per_parent: Executions one parent order may get before its
            server is disabled (the repeated-execution throttle).
        min_count: Floor of the scaled count limits.
        capital_threshold_usd: Gross notional of orders sent, fleet-wide, that
            engages the kill switch.
        warn_at_pct: Pages at these percentages of the capital threshold.
        reconcile: Compare shares executed with shares received, per parent order.
        designated_staff: Who may re-enable trading after a throttle or the kill.
    """

    price_collar_pct: float | None = 10.0
    max_order_shares: int | None = 5_000
    max_order_usd: float | None = 250_000.0
    max_messages_per_s: float | None = 50.0
    message_burst: int = 100
    max_executions_per_parent: int | None = 100
    min_count: int = 5
    capital_threshold_usd: float | None = 25_000_000.0
    warn_at_pct: tuple[float, ...] = (50.0, 75.0, 90.0)
    reconcile: bool = True
    designated_staff: tuple[str, ...] = ("risk officer", "head of trading")

    @classmethod
    def manual_only(cls) -> RiskLimits:
        """No automated control: only the kill switch, pressed by a person."""
        return cls(
            price_collar_pct=None,
            max_order_shares=None,
            max_order_usd=None,
            max_messages_per_s=None,
            max_executions_per_parent=None,
            capital_threshold_usd=None,
            reconcile=False,
        )

    @classmethod
    def parse(cls, pairs: Iterable[str], base: RiskLimits | None = None) -> RiskLimits:
        """Limits from ``NAME=VALUE`` strings (the CLI's ``--limit``); ``off`` means ``None``.

        Raises:
            ValueError: On an unknown name, a value of the wrong kind, or an impossible
                limit.
        """
        limits = base or cls()
        kinds = {f.name: f.type for f in fields(cls)}
        changes: dict[str, object] = {}
        for pair in pairs:
            name, sep, text = pair.partition("=")
            name, text = name.strip().replace("-", "_"), text.strip()
            if not sep or name not in kinds or name in ("warn_at_pct", "designated_staff"):
                settable = [k for k in kinds if k not in ("warn_at_pct", "designated_staff")]
                raise ValueError(f"--limit {pair!r}: use NAME=VALUE with NAME one of {settable}")
            kind = str(kinds[name])
            if text.lower() in ("off", "none") and "None" in kind:
                changes[name] = None
                continue
            try:
                if kind.startswith("bool"):
                    if text.lower() not in ("true", "false", "on", "off", "1", "0"):
                        raise ValueError
                    changes[name] = text.lower() in ("true", "on", "1")
                elif kind.startswith("int"):
                    changes[name] = int(text)
                else:
                    changes[name] = float(text)
            except ValueError:
                raise ValueError(
                    f"--limit {name}={text!r} is not a valid {kind.split()[0]}"
                ) from None
        result = replace(limits, **changes)  # type: ignore[arg-type]
        result.validate()
        return result

    def validate(self) -> None:
        """Raise ``ValueError`` naming any impossible limit and what is allowed."""
        positive = {
            "price_collar_pct": self.price_collar_pct,
            "max_order_shares": self.max_order_shares,
            "max_order_usd": self.max_order_usd,
            "max_messages_per_s": self.max_messages_per_s,
            "max_executions_per_parent": self.max_executions_per_parent,
            "capital_threshold_usd": self.capital_threshold_usd,
        }
        for name, value in positive.items():
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(
                    f"risk limit {name} {value!r} is impossible; it must be a positive "
                    "number (or None to switch the control off)"
                )
        for name, value in (("message_burst", self.message_burst), ("min_count", self.min_count)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"risk limit {name} {value!r} must be a whole number >= 1")
        if self.price_collar_pct is not None and self.price_collar_pct >= 100:
            raise ValueError(
                f"risk limit price_collar_pct {self.price_collar_pct!r} must be below 100"
            )
        warn = list(self.warn_at_pct)
        if any(not 0 < w < 100 for w in warn) or warn != sorted(set(warn)):
            raise ValueError(
                f"risk limit warn_at_pct {self.warn_at_pct!r} must be increasing, each in (0, 100)"
            )
        if not self.designated_staff or any(not p.strip() for p in self.designated_staff):
            raise ValueError("risk limit designated_staff needs at least one named person")


def _millions(dollars: float) -> str:
    # Pages read in one unit, as a risk desk's screen does: "$1,234.5M", never "$1.2B".
    return usd(dollars, 1, units="M", smallest="M")


class RiskGate:
    """The pre-trade gate every child order passes, and the fleet-wide kill switch.

    Installed as ``fleet.gate``; ``Server.send_child`` calls :meth:`allow` before an
    order leaves and :meth:`record` with its outcome.

    Args:
        fleet: The fleet it guards.
        limits: Its limits (at scale 1).
        scale: The replay's scale (see the module docstring).

    Attributes:
        killed_at: When the kill switch was engaged (``None``: not engaged).
        disabled: Server id -> the control that disabled it.
        gross_sent_usd: Gross notional of the orders sent so far.
        rejected: Orders rejected, per control.
        blocked: Orders blocked because the kill switch or a throttle was on.
        events: Every control that fired, in order.
    """

    def __init__(self, fleet: Fleet, limits: RiskLimits, scale: float = 1.0) -> None:
        limits.validate()
        self.fleet = fleet
        self.limits = limits
        self.scale = scale
        self.max_shares = (
            None if limits.max_order_shares is None else limits.max_order_shares / scale
        )
        self.max_usd = None if limits.max_order_usd is None else limits.max_order_usd / scale
        self.refill_per_ns = (
            None if limits.max_messages_per_s is None else limits.max_messages_per_s * scale / 1e9
        )
        self.max_executions = (
            None
            if limits.max_executions_per_parent is None
            else max(limits.min_count, round(limits.max_executions_per_parent * scale))
        )
        self.killed_at: int | None = None
        self.disabled: dict[int, str] = {}
        self.gross_sent_usd = 0.0
        self.rejected: Counter[str] = Counter()
        self.blocked: Counter[str] = Counter()
        self.events: list[ControlEvent] = []
        n = len(fleet.servers)
        self._tokens = [float(limits.message_burst)] * (n + 1)
        self._token_time = [0] * (n + 1)
        self._executed: dict[int, int] = {}
        self._executions: dict[int, int] = {}
        self._warned: set[float] = set()
        self._first_reject: set[str] = set()
        self._emails_seen = 0
        self._collar_ref: dict[int, tuple[int, int]] = {}
        self._email_paged_at: int | None = None

    # ----------------------------------------------------------- pre-trade
    def allow(
        self, server: Server, parent: ParentOrder, price: int | None, qty: int, now: int
    ) -> bool:
        """Whether a child order may leave. Rejections and trips are recorded here."""
        if self.killed_at is not None:
            self.blocked["kill switch"] += 1
            return False
        sid = server.id
        if sid in self.disabled:
            self.blocked[self.disabled[sid]] += 1
            return False
        cents = price if price is not None else self._touch(parent)
        value = cents * qty / 100
        if self.max_shares is not None and qty > self.max_shares:
            return self._reject(
                "size limit", server, now, f"{qty:,} shares > {self.max_shares:,.0f}"
            )
        if self.max_usd is not None and value > self.max_usd:
            limit = self.max_usd
            return self._reject(
                "order value limit", server, now, f"{usd(value, units='')} > {usd(limit, units='')}"
            )
        collar = self.limits.price_collar_pct
        if collar is not None:
            ref = self._collar_reference(parent.symbol, now)
            if abs(cents - ref) * 100 > collar * ref:
                return self._reject(
                    "price collar",
                    server,
                    now,
                    f"{self.fleet.exchange.symbols[parent.symbol]} at ${cents / 100:,.2f} is more "
                    f"than {collar:g}% from ${ref / 100:,.2f}",
                )
        if self.refill_per_ns is not None:
            tokens = min(
                self.limits.message_burst,
                self._tokens[sid] + (now - self._token_time[sid]) * self.refill_per_ns,
            )
            self._token_time[sid] = now
            if tokens < 1:
                self._tokens[sid] = tokens
                self.disable(
                    server,
                    now,
                    "message-rate throttle",
                    f"more than {self.limits.message_burst} orders at once or "
                    f"{self.refill_per_ns * 1e9:.3g}/s sustained",
                )
                return False
            self._tokens[sid] = tokens - 1
        cap = self.limits.capital_threshold_usd
        if cap is not None:
            gross = self.gross_sent_usd + value
            if gross > cap:
                self.kill(
                    now,
                    "capital threshold",
                    f"orders sent would reach {_millions(gross)} gross, over the "
                    f"{_millions(cap)} threshold",
                )
                return False
            for pct in self.limits.warn_at_pct:
                if pct not in self._warned and gross >= cap * pct / 100:
                    self._warned.add(pct)
                    self._fire(
                        now,
                        "capital threshold",
                        "warn",
                        0,
                        f"{pct:g}% of {_millions(cap)} gross sent",
                        page=True,
                    )
        self.gross_sent_usd += value
        return True

    def record(
        self, server: Server, parent: ParentOrder, qty: int, filled: int, notional: int, now: int
    ) -> None:
        """The outcome of a child order (the gate's own drop copy of executions).

        Fills of orders the exchange held until the open are booked at the open
        without passing here, so the gate's counts are a lower bound: that can only
        delay a breach, never invent one.
        """
        if not filled:
            return
        pid = parent.id
        executed = self._executed[pid] = self._executed.get(pid, 0) + filled
        if self.limits.reconcile and executed > parent.qty:
            # This fill is booked after the gate returns: mark the parent now, so the kill
            # does not list it among the orders it cancelled.
            parent.rejected = f"over-executed: {executed:,} of {parent.qty:,} shares"
            self.kill(
                now,
                "reconciliation",
                f"parent {pid} ({self.fleet.exchange.symbols[parent.symbol]}) on server "
                f"{server.id}: {executed:,} shares executed for {parent.qty:,} received "
                "(orders out > orders in)",
            )
            return
        count = self._executions[pid] = self._executions.get(pid, 0) + 1
        if self.max_executions is not None and count > self.max_executions:
            self.disable(
                server,
                now,
                "repeated-execution throttle",
                f"parent {pid} executed {count} times (limit {self.max_executions})",
            )

    def _collar_reference(self, symbol: int, now: int) -> int:
        """The collar's reference price: the last trade when the current period began.

        Like the exchanges' limit up-limit down bands, the reference moves with the
        market (LULD averages over 5 minutes; this is a simpler stand-in). A fixed
        reference such as the opening price would reject ordinary orders in a stock
        that drifts during a quiet morning.
        """
        period = now // _COLLAR_PERIOD_NS
        cached = self._collar_ref.get(symbol)
        if cached is not None and cached[0] == period:
            return cached[1]
        last = self.fleet.exchange.last(symbol)
        ref = last if last is not None else self.fleet.reference[symbol]
        self._collar_ref[symbol] = (period, ref)
        return ref

    def _touch(self, parent: ParentOrder) -> int:
        bid, ask = self.fleet.exchange.bbo(parent.symbol)
        touch = ask if parent.side > 0 else bid
        return touch if touch is not None else self.fleet.reference[parent.symbol]

    # -------------------------------------------------------------- actions
    def _fire(
        self, now: int, control: str, action: str, server: int, detail: str, page: bool
    ) -> None:
        self.events.append(ControlEvent(now, control, action, server, detail))
        self.fleet.note(
            now,
            "risk gate",
            f"{control}: {action}",
            server,
            detail,
            control="" if action == "warn" else NAME,  # a warning changes nothing
        )
        if page:
            where = f"server {server}: " if server else ""
            self.fleet.pages.append((now, control, f"{action}: {where}{detail}"))

    def _reject(self, control: str, server: Server, now: int, detail: str) -> bool:
        self.rejected[control] += 1
        if control not in self._first_reject:  # the timeline and the pager get the first one
            self._first_reject.add(control)
            self._fire(now, control, "reject", server.id, detail + " (first rejection)", page=True)
        return False

    def _cancel(self, server: Server, now: int, why: str) -> int:
        """Stop a server sending and cancel its working orders; return how many it had.

        Working orders are the parent orders a code path is still working (Power
        Peg's loops among them), those held for the open, and those resting in the
        RLP. Every parent not yet filled is marked cancelled.
        """
        working = (
            len(server.working)
            + len(server.waiting)
            + len(self.fleet.rlp_resting.get(server.id, ()))
        )
        server.stop(now)  # no new child orders; resting RLP orders cancelled
        server.waiting = []
        for parent in server.parents:
            if parent.is_open:
                parent.rejected = f"cancelled: {why}"
        return working

    def disable(self, server: Server, now: int, control: str, detail: str) -> None:
        """Disable one server until a designated person re-enables it (a throttle)."""
        if server.id in self.disabled or self.killed_at is not None:
            return
        self.disabled[server.id] = control
        n = self._cancel(server, now, control)
        self._fire(
            now,
            control,
            "disable server",
            server.id,
            f"{detail}; server disabled until re-enabled by designated staff, "
            f"{n} working orders cancelled",
            page=True,
        )

    def kill(self, now: int, control: str, detail: str, actor: str = "risk gate") -> None:
        """The kill switch: block new child orders on every server at once, cancel working ones.

        Args:
            now: Simulated time, ns.
            control: What pressed it (a control's name, or ``"manual kill"``).
            detail: Why.
            actor: Who, for the timeline.
        """
        if self.killed_at is not None:
            return
        self.killed_at = now
        n = sum(
            self._cancel(server, now, f"kill switch ({control})") for server in self.fleet.servers
        )
        detail = (
            f"{detail}; new child orders blocked on all {len(self.fleet.servers)} servers, "
            f"{n} working orders cancelled"
        )
        self.events.append(ControlEvent(now, control, "kill", 0, detail))
        self.fleet.note(now, actor, f"kill switch engaged: {control}", 0, detail, control=NAME)
        self.fleet.pages.append((now, control, f"kill switch engaged: {detail}"))

    def reenable(self, person: str, now: int, server: int | None = None) -> None:
        """Re-enable trading after a throttle or the kill switch.

        Args:
            person: Who; must be one of ``limits.designated_staff``.
            now: Simulated time, ns.
            server: One disabled server, or ``None`` for everything (lifts the kill).

        Raises:
            ValueError: If ``person`` is not designated staff, or the server is not disabled.
        """
        staff = self.limits.designated_staff
        if person not in staff:
            raise ValueError(
                f"{person!r} may not re-enable trading; designated staff: {', '.join(staff)}"
            )
        if server is None:
            targets = list(self.fleet.servers)
            self.killed_at = None
            self.disabled.clear()
        else:
            if server not in self.disabled:
                raise ValueError(f"server {server} is not disabled by the risk gate")
            del self.disabled[server]
            targets = [self.fleet.server(server)]
        for srv in targets:
            srv.running, srv.stopped_at = True, None
            self._tokens[srv.id] = float(self.limits.message_burst)
            self._token_time[srv.id] = now
        which = "all servers" if server is None else f"server {server}"
        self.events.append(ControlEvent(now, "re-enable", "re-enable", server or 0, person))
        self.fleet.note(now, person, "trading re-enabled", server or 0, f"{which} re-enabled")

    # ---------------------------------------------------------------- alerts
    def page_bnet_rejects(self, now: int, emails: list[tuple[int, int, int, int, str]]) -> None:
        """Turn new 'BNET reject' e-mails into a page (first one, then a reminder every 15 min)."""
        new = emails[self._emails_seen :]
        if not new:
            return
        last = self._email_paged_at
        if last is not None and now - last < _EMAIL_REPAGE_NS:
            return  # still within the reminder interval: the next page will count these
        self._emails_seen = len(emails)
        self._email_paged_at = now
        servers = sorted({e[1] for e in new})
        self.fleet.pages.append(
            (
                now,
                "BNET rejects",
                f"{len(new)} new since {format_time(new[0][0])} on server(s) "
                f"{', '.join(map(str, servers))}: {new[-1][4]}",
            )
        )


def _poll_emails(sim: Simulation, gate: RiskGate) -> None:
    def poll(now: int) -> None:
        gate.page_bnet_rejects(now, sim.fleet.emails)
        if now + _EMAIL_POLL_NS <= sim.end:
            sim.call_at(now + _EMAIL_POLL_NS, poll)

    sim.call_at(sim.start + _EMAIL_POLL_NS, poll)


def _schedule_manual_kill(sim: Simulation, gate: RiskGate) -> None:
    at = sim.scenario.t("kill_at")
    if at is None:
        return
    sim.call_at(
        at,
        lambda now: gate.kill(
            now, "manual kill", f"kill switch pressed at {format_time(now)}", actor="risk officer"
        ),
    )


def install(sim: Simulation) -> None:
    """Install the fix: the risk gate with the scenario's limits (or the defaults).

    Also bridges the automated e-mails to the pager and schedules the manual kill if
    ``Scenario.kill_at`` is set.
    """
    given = sim.scenario.fix_params.get(NAME)  # its class is checked by validate_fixes
    limits = given if isinstance(given, RiskLimits) else RiskLimits()
    gate = RiskGate(sim.fleet, limits, sim.scenario.scale)
    sim.fleet.gate = gate
    _schedule_manual_kill(sim, gate)
    _poll_emails(sim, gate)


def install_manual_kill(sim: Simulation) -> None:
    """Only the kill switch, pressed at ``Scenario.kill_at``: no automated control."""
    gate = RiskGate(sim.fleet, RiskLimits.manual_only(), sim.scenario.scale)
    sim.fleet.gate = gate
    _schedule_manual_kill(sim, gate)
