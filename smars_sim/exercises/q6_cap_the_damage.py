"""q6 · Cap the damage: risk limits and a kill-switch policy.

The learner writes a class ``RiskPolicy`` that sits between every SMARS server and
the exchange (``fleet.gate``), whatever build the server runs:

* ``allow(order) -> bool`` is called before every child order leaves; ``False``
  rejects that order (a pre-trade risk limit);
* ``on_fill(fill) -> bool`` is called after every child order with its outcome;
  ``True`` presses the kill switch: every server stops sending at once and its
  working orders are cancelled (``smars_sim.fixes.kill_switch.RiskGate.kill``).

A fresh ``RiskPolicy()`` guards each replay. It passes when the loss stays under
:data:`LOSS_BUDGET_USD` on bad days, and when a normal day is left exactly as it was
(nothing rejected, no kill, the same executions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.clock import format_time
from .learner import LearnerError, blame, blames_learner, call, test_case
from .scenarios import describe, replayed, scenario

if TYPE_CHECKING:
    from ..core.fleet import Fleet, ParentOrder, Server
    from ..core.result import Result

name = "q6"
title = "Cap the damage"
points = 6

#: The loss a policy must stay under on a bad day.
LOSS_BUDGET_USD = 100_000.0


@dataclass(frozen=True, slots=True)
class Order:
    """A child order about to leave SMARS (what ``RiskPolicy.allow`` sees).

    Attributes:
        time_ns: Nanoseconds since midnight.
        time: ``"HH:MM:SS.fff"``.
        server: The server sending it.
        parent_id: The client (parent) order it works.
        parent_qty: Shares the client asked for in that parent order.
        symbol: The ticker.
        side: ``"buy"`` or ``"sell"``.
        qty: Shares in this child order.
        price_usd: Its limit price, or the touch it will take (marketable orders).
        notional_usd: ``qty * price_usd``.
    """

    time_ns: int
    time: str
    server: int
    parent_id: int
    parent_qty: int
    symbol: str
    side: str
    qty: int
    price_usd: float
    notional_usd: float


@dataclass(frozen=True, slots=True)
class Fill:
    """What became of a child order (what ``RiskPolicy.on_fill`` sees).

    Fills of orders the exchange held for the opening auction are booked at the
    open without passing here.

    Attributes:
        time_ns: Nanoseconds since midnight.
        time: ``"HH:MM:SS.fff"``.
        server: The server that sent it.
        parent_id: The client (parent) order it works.
        parent_qty: Shares the client asked for in that parent order.
        symbol: The ticker.
        side: ``"buy"`` or ``"sell"``.
        qty: Shares sent in this child order.
        filled: Shares executed (0 to ``qty``).
        notional_usd: Dollars executed.
    """

    time_ns: int
    time: str
    server: int
    parent_id: int
    parent_qty: int
    symbol: str
    side: str
    qty: int
    filled: int
    notional_usd: float


class _PolicyGate:
    """``fleet.gate``: the learner's policy, with the real kill switch behind it."""

    def __init__(self, fleet: Fleet, policy: Any, scale: float) -> None:
        from ..fixes.kill_switch import RiskGate, RiskLimits

        self.fleet = fleet
        self.policy = policy
        self.switch = RiskGate(fleet, RiskLimits.manual_only(), scale)
        self.symbols = fleet.exchange.symbols
        self.rejected = 0
        self.first_reject: str | None = None
        self._allow = getattr(policy, "allow", None)
        self._on_fill = getattr(policy, "on_fill", None)
        assert callable(self._allow) and callable(self._on_fill), (
            "RiskPolicy needs two methods: allow(order) and on_fill(fill)."
        )

    def _price(self, parent: ParentOrder, price: int | None) -> int:
        if price is not None:
            return price
        bid, ask = self.fleet.exchange.bbo(parent.symbol)
        touch = ask if parent.side > 0 else bid
        return touch if touch is not None else self.fleet.reference[parent.symbol]

    def allow(
        self, server: Server, parent: ParentOrder, price: int | None, qty: int, now: int
    ) -> bool:
        if not self.switch.allow(server, parent, price, qty, now):
            return False  # the kill switch is engaged
        cents = self._price(parent, price)
        order = Order(
            now,
            format_time(now, ms=True),
            server.id,
            parent.id,
            parent.qty,
            self.symbols[parent.symbol],
            "buy" if parent.side > 0 else "sell",
            qty,
            cents / 100,
            qty * cents / 100,
        )
        verdict = call(self._allow, order, what="RiskPolicy.allow")
        assert verdict is not None, (
            "RiskPolicy.allow returned None; return True to let an order go, False to reject "
            "it (is a `return` missing?)."
        )
        if verdict:
            return True
        self.rejected += 1
        if self.first_reject is None:
            self.first_reject = (
                f"{order.time}: {order.side} {order.qty:,} {order.symbol} (server {order.server})"
            )
        return False

    def record(
        self, server: Server, parent: ParentOrder, qty: int, filled: int, notional: int, now: int
    ) -> None:
        fill = Fill(
            now,
            format_time(now, ms=True),
            server.id,
            parent.id,
            parent.qty,
            self.symbols[parent.symbol],
            "buy" if parent.side > 0 else "sell",
            qty,
            filled,
            notional / 100,
        )
        if call(self._on_fill, fill, what="RiskPolicy.on_fill"):
            self.switch.kill(
                now, "your kill-switch policy", f"on_fill returned True at {fill.time}"
            )


@dataclass(frozen=True, slots=True)
class Guarded:
    """A replay under a policy.

    Attributes:
        result: The replay.
        killed_at: ``"HH:MM:SS.fff"`` when the policy pressed the kill switch, or ``None``.
        rejected: Child orders ``allow`` rejected.
        first_reject: The first order rejected, described, or ``None``.
        policy: The policy object that guarded the replay (to look at what it saw).
    """

    result: Result
    killed_at: str | None
    rejected: int
    first_reject: str | None
    policy: Any = None

    @property
    def loss_usd(self) -> float:
        """The day's loss (positive = lost)."""
        return float(self.result.summary.loss_usd)

    def __str__(self) -> str:
        kill = f"kill switch at {self.killed_at}" if self.killed_at else "no kill"
        return f"loss ${self.loss_usd:,.0f}, {kill}, {self.rejected:,} orders rejected"


def replay_with_policy(policy_class: Any, scenario_name: str = "small") -> Guarded:
    """Replay a named morning with a fresh ``policy_class()`` guarding every server."""
    from ..fixes import Simulation

    policy = call(policy_class, what="RiskPolicy()")
    sc = scenario(scenario_name)
    sim = Simulation(sc)
    gate = _PolicyGate(sim.fleet, policy, sc.scale)
    sim.fleet.gate = gate
    try:
        result = sim.run()
    except LearnerError:
        raise
    except Exception as exc:
        if blames_learner(exc):
            raise blame("your RiskPolicy (during the replay)", exc) from None
        raise
    killed = gate.switch.killed_at
    return Guarded(
        result,
        format_time(killed, ms=True) if killed is not None else None,
        gate.rejected,
        gate.first_reject,
        policy,
    )


def _caps(policy_class: Any, scenario_name: str) -> str:
    guarded = replay_with_policy(policy_class, scenario_name)
    unguarded = replayed(scenario_name).summary.loss_usd
    assert guarded.loss_usd < LOSS_BUDGET_USD, (
        f"{guarded}: over the ${LOSS_BUDGET_USD:,.0f} budget (${unguarded:,.0f} with no policy). "
        "Power Peg keeps sending orders for parents that are already filled: compare the shares "
        "executed for each parent with parent_qty (orders out vs orders in), and kill."
    )
    return f"{describe(scenario_name)}: {guarded} (${unguarded:,.0f} without your policy)"


def _leaves_alone(policy_class: Any, scenario_name: str) -> str:
    guarded = replay_with_policy(policy_class, scenario_name)
    assert guarded.rejected == 0, (
        f"your policy rejected {guarded.rejected:,} orders on a normal day, the first at "
        f"{guarded.first_reject}. A limit that blocks ordinary client orders is too tight."
    )
    assert guarded.killed_at is None, (
        f"your policy pressed the kill switch at {guarded.killed_at} on a normal day: a false "
        "kill stops every client's trading. What did your rule see that a normal day also has?"
    )
    expected = replayed(scenario_name).summary.execution_digest
    assert guarded.result.summary.execution_digest == expected, (
        "your policy changed the executions of a normal day without rejecting or killing "
        "anything; it must only observe (do not change the orders it is shown)."
    )
    return f"{describe(scenario_name)}: untouched (nothing rejected, no kill)"


# --------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------
@test_case(f"the small market, server 3 stale: loss under ${LOSS_BUDGET_USD:,.0f}", timeout=30)
def caps_the_example(RiskPolicy):
    return _caps(RiskPolicy, "small")


@test_case("a normal day (nobody turned the flag on): nothing rejected, no kill", timeout=30)
def leaves_a_normal_day_alone(RiskPolicy):
    return _leaves_alone(RiskPolicy, "small-noflag")


@test_case(hidden=True, variant=describe("small-stale1-seed5"), timeout=30)
def caps_another_stale_server(RiskPolicy):
    _caps(RiskPolicy, "small-stale1-seed5")


@test_case(hidden=True, variant=describe("small-4servers-stale2-seed9"), timeout=30)
def caps_a_bigger_fleet(RiskPolicy):
    _caps(RiskPolicy, "small-4servers-stale2-seed9")


@test_case(hidden=True, variant=describe("small-deployed-seed2"), timeout=30)
def leaves_the_release_alone(RiskPolicy):
    _leaves_alone(RiskPolicy, "small-deployed-seed2")


@test_case(hidden=True, variant=describe("small-busy-normal"), timeout=30)
def leaves_a_busy_day_alone(RiskPolicy):
    _leaves_alone(RiskPolicy, "small-busy-normal")


@test_case(hidden=True, variant=describe("small-very-busy-normal"), timeout=30)
def leaves_a_very_busy_day_alone(RiskPolicy):
    # Defeats a kill after a few hundred fills in total: that ignores orders out vs
    # orders in, and this ordinary day has over a thousand fills.
    _leaves_alone(RiskPolicy, "small-very-busy-normal")
