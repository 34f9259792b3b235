"""The replay engine: one discrete-event loop over one heap.

Every event is ``(time_ns, seq, kind, arg)``. ``seq`` increases with every push, so
two events at the same nanosecond run in the order they were scheduled: the
tie-break is deterministic and never compares payloads. ``kind`` indexes a table
of handlers; there is no ``isinstance`` dispatcher.

``Simulation`` is step-wise: advance to a time, inject an operator action (stop a
server, halt everything, flip a flag, roll back), advance again. ``replay()`` runs
a scenario straight through.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop, heappush
from random import Random
from typing import Any

from .builds import Build, old_build, rlp_build
from .clock import OPEN_NS, SECOND_NS, format_time, parse_time
from .exchange import Exchange
from .fleet import CHILD_FIELDS, EXEC_FIELDS, Fleet, ParentOrder, Server
from .liquidity import Background, MarketMakers
from .pnl import closeout_cents, marked_cents
from .result import Result
from .scenario import Scenario, derive_rng

__all__ = ["Simulation", "replay"]

# Event kinds (indexes into Simulation._handlers).
_ARRIVE, _FLAG, _OPEN, _TICK, _OTHERS, _REFRESH, _SAMPLE = range(7)
_INSTALL, _STOP, _HALT, _WINDOW_END, _END, _CALL = range(7, 13)


class Simulation:
    """A replay you can step through and act on.

    The core installs no fix itself (it never imports ``smars_sim.fixes``): the fixes
    layer passes its installer in. ``smars_sim.Simulation`` is this class with the
    fixes' registry wired in, and is what learners and views use.

    Args:
        scenario: What to replay. It is validated first.
        progress: Optional callback ``progress(fraction_done)``, called now and then.
        install: Installs the scenario's fixes (``install(sim)``), before the deploy.

    Raises:
        ValueError: If the scenario names fixes (or a manual kill) and no installer is given.

    Example:
        >>> sim = Simulation(Scenario.small())
        >>> sim.advance_to("09:31")
        >>> sim.stop_server(3)
        >>> result = sim.run()
    """

    def __init__(
        self,
        scenario: Scenario,
        progress: Callable[[float], None] | None = None,
        *,
        install: Callable[[Simulation], None] | None = None,
    ) -> None:
        scenario.validate()
        if install is None and (scenario.fixes or scenario.kill_at is not None):
            raise ValueError(
                f"the scenario needs fixes ({', '.join(scenario.fixes) or 'kill-at'}), which "
                "the core does not install: use smars_sim.Simulation or smars_sim.replay"
            )
        self.scenario = s = scenario
        self.progress = progress
        self.start = s.t("start_at") or 0
        self.now = self.start
        self.window_end = s.t("window_end") or OPEN_NS
        self._queue: list[tuple[int, int, int, object]] = []
        self._seq = 0
        self._done = False
        self._handlers: list[Callable[[int, object], None]] = [
            self._on_arrive,
            self._on_flag,
            self._on_open,
            self._on_tick,
            self._on_others,
            self._on_refresh,
            self._on_sample,
            self._on_install,
            self._on_stop,
            self._on_halt,
            self._on_window_end,
            self._on_end,
            self._on_call,
        ]

        tickers = [spec.ticker for spec in s.symbols]
        reference = [spec.open_cents for spec in s.symbols]
        self.exchange = Exchange(tickers)
        self.makers = MarketMakers(
            self.exchange,
            reference,
            [spec.depth_shares for spec in s.symbols],
            s.liquidity,
            s.scale,
        )
        self.exchange.makers = self.makers
        self.others = Background(
            self.exchange,
            [spec.others_shares_per_s for spec in s.symbols],
            s.others_interval_s,
            derive_rng(s.seed, "others"),
        )
        self._tick_rng = derive_rng(s.seed, "ticks")
        self._tick_ns = s.peg_interval_ms * 1e6 / s.scale
        self.peg_lot = max(1, round(s.peg_lot / s.scale))

        self.old_build: Build = old_build(flag=s.flag)
        self.new_build: Build = rlp_build(flag=s.flag)
        #: The flag key the RLP release reads (a fix may give it a fresh key).
        self.rlp_flag = s.flag
        self.fleet = Fleet(
            s.servers, self.old_build, self.exchange, reference, self.peg_lot, self._wake
        )
        #: How the RLP release reaches the fleet; a fix may replace it.
        self.deploy: Callable[[], None] = self._manual_deploy
        if install is not None:
            install(self)
        self.deploy()
        self._updated = [srv.id for srv in self.fleet.servers if srv.build is self.new_build]

        # Sampled series.
        self.samples: list[tuple[int, int, float, float, int, int]] = []
        self.price_samples: list[list[int]] = []
        self.window: dict[str, list[float]] | None = None
        self._rr = {"retail": 0, "premarket": 0}

        self._schedule_day()

    # ----------------------------------------------------------- set-up hooks
    def set_builds(self, old: Build, new: Build) -> None:
        """Replace the old and the new build before the deploy (used by fixes)."""
        self.old_build, self.new_build = old, new
        for server in self.fleet.servers:
            server.build = old

    def _manual_deploy(self) -> None:
        """Knight's deploy: copied by hand, server by server, with nothing checked after."""
        self.fleet.manual_deploy(
            self.new_build,
            miss=self.scenario.stale_servers,
            when="from 27 Jul 2012 (dates not public):",
        )

    def call_at(self, time: int, callback: Callable[[int], None]) -> None:
        """Schedule ``callback(now)`` at ``time`` (for fixes' periodic checks)."""
        self._push(time, _CALL, callback)

    # ------------------------------------------------------------ scheduling
    def _push(self, time: int, kind: int, arg: object = None) -> None:
        self._seq += 1
        heappush(self._queue, (time, self._seq, kind, arg))

    def _schedule_day(self) -> None:
        s = self.scenario
        flag_on = s.t("flag_on_at")
        if flag_on is not None:  # None: nobody turns the flag on (e.g. a day before the release)
            self._push(flag_on, _FLAG, (self.rlp_flag, True, "operations"))
        for parent in self._make_parents():
            self.fleet.parents[parent.id] = parent
            self._push(parent.received, _ARRIVE, parent)
        self._push(OPEN_NS, _OPEN)
        self._sample_ns = max(1, int(s.sample_s * SECOND_NS))
        self._push(OPEN_NS, _SAMPLE)
        # The same pace at every scale: re-centring is how impact fades, so a coarser
        # pace would change dollar figures between scales.
        self._refresh_ns = int(s.liquidity.refresh_s * SECOND_NS)
        self._push(OPEN_NS + self._refresh_ns, _REFRESH)
        self._others_ns = int(s.others_interval_s * SECOND_NS)
        self._push(OPEN_NS + self._others_ns, _OTHERS)
        rollback = s.t("rollback_at")
        if rollback is not None:
            self._schedule_rollback(rollback, "operations")
        stop_all = s.t("stop_all_at")
        if stop_all is not None:
            self._schedule_stop_all(stop_all, "operations")
        halt = s.t("halt_at")
        if halt is not None:
            self._push(halt, _HALT, "operations")
        self._push(self.window_end, _WINDOW_END)
        end = s.t("end_at")
        if end is None:
            last = max(
                [self.window_end]
                + [t for t, _, kind, _ in self._queue if kind in (_STOP, _HALT, _INSTALL)]
            )
            end = last + SECOND_NS
        self.end = end
        self._push(end, _END)

    def _make_parents(self) -> list[ParentOrder]:
        s = self.scenario
        rng = derive_rng(s.seed, "parents")
        specs: list[tuple[int, int, int, int]] = []
        if s.parents:
            for p in s.parents:
                specs.append((parse_time(p.received, what="parent time"), p.symbol, p.side, p.qty))
        elif s.retail_per_min > 0:
            specs = self._retail_flow(rng)
        else:
            for index, spec in enumerate(s.symbols):
                for _ in range(spec.knight_parents):
                    specs.append((0, index, spec.knight_side, rng.choice(s.parent_qty)))
            # Received before the open, for the opening auction, in random order.
            span = OPEN_NS - self.start
            specs = [
                (self.start + int(rng.random() * span), sym, side, q) for _, sym, side, q in specs
            ]
        specs.sort()
        parents = [
            ParentOrder(i + 1, sym, side, qty, t, retail=True, for_open=t < OPEN_NS)
            for i, (t, sym, side, qty) in enumerate(specs)
        ]
        # Pre-market orders from other clients: not retail, not for the auction.
        pre = derive_rng(s.seed, "premarket")
        start = s.t("premarket_start") or self.start
        n = len(parents)
        times = sorted(
            start + int(pre.random() * (OPEN_NS - start)) for _ in range(s.premarket_orders)
        )
        if s.premarket_per_min > 0:  # a Poisson flow: its count is not fixed in advance
            times = sorted(times + _poisson_times(pre, s.premarket_per_min, start, OPEN_NS))
        for i, t in enumerate(times):
            parents.append(
                ParentOrder(
                    n + i + 1,
                    pre.randrange(len(s.symbols)),
                    pre.choice((1, -1)),
                    pre.choice(s.parent_qty),
                    t,
                    retail=False,
                    for_open=False,
                )
            )
        return parents

    def _retail_flow(self, rng: Random) -> list[tuple[int, int, int, int]]:
        """Retail parents arriving through the morning (``retail_per_min``).

        Arrivals are a steady flow with random timing (one in each interval of
        ``1/retail_per_min``, at a random point in it) from ``start_at`` to
        ``window_end``, dealt to the servers in turn. Which stock each is in is the
        kit's model, conditioned on the record: the universe *is* the 154 stocks Power
        Peg traded (SEC ¶1, ¶17), so the orders that will meet Power Peg on the day as
        scheduled (a server on the old build, still running) take the universe's slots
        (``knight_parents`` per stock, every stock once before any twice, in a balanced
        order: :func:`_by_side`); the rest pick a slot at random.
        """
        s = self.scenario
        end = s.t("window_end") or OPEN_NS
        times = _jittered_times(rng, s.retail_per_min, self.start, end)
        slots = [
            (index, spec.knight_side)
            for index, spec in enumerate(s.symbols)
            for _ in range(spec.knight_parents)
        ]
        if not slots:
            return []
        first = list(dict.fromkeys(slots))  # one slot per stock
        extra = list(slots)
        for slot in first:
            extra.remove(slot)
        # Two weights per stock: its price (what a minute of Power Peg adds to the
        # position) and its cost (what a minute loses, roughly: the price times the
        # makers' lean per share, which falls with depth as the impact law).
        exponent = s.liquidity.impact_exponent
        weights = (
            [float(spec.open_cents) for spec in s.symbols],
            [spec.open_cents * spec.depth_shares**-exponent for spec in s.symbols],
        )
        first = _by_side(rng, first, weights)
        extra = _by_side(rng, extra, weights)
        ordered = first + extra
        old_from, stops = self._old_build_windows()
        n_servers = len(self.fleet.servers)
        specs: list[tuple[int, int, int, int]] = []
        taken = 0
        for k, t in enumerate(times):
            server = k % n_servers
            # An order held for the open starts at the open.
            starts = max(t, OPEN_NS)
            meets_peg = old_from[server] <= starts < stops[server]
            if meets_peg and taken < len(ordered):
                symbol, side = ordered[taken]
                taken += 1
            else:
                symbol, side = slots[rng.randrange(len(slots))]
            specs.append((t, symbol, side, rng.choice(s.parent_qty)))
        return specs

    def _old_build_windows(self) -> tuple[list[float], list[float]]:
        """Per server, from when it runs the old build and until when it runs, as scheduled."""
        s = self.scenario
        step = int(s.operator_step_s * SECOND_NS)
        inf = float("inf")
        old_from = [
            float(self.start) if srv.build is not self.new_build else inf
            for srv in self.fleet.servers
        ]
        rollback = s.t("rollback_at")
        if rollback is not None:
            for i, server_id in enumerate(self._updated):
                old_from[server_id - 1] = min(old_from[server_id - 1], rollback + i * step)
        stops = [inf] * len(self.fleet.servers)
        stop_all = s.t("stop_all_at")
        if stop_all is not None:
            for i in range(len(stops)):
                stops[i] = stop_all + (i + 1) * step
        halt = s.t("halt_at")
        if halt is not None:
            stops = [min(x, halt) for x in stops]
        return old_from, stops

    def _schedule_rollback(self, at: int, actor: str) -> None:
        step = int(self.scenario.operator_step_s * SECOND_NS)
        for i, server_id in enumerate(self._updated):
            self._push(at + i * step, _INSTALL, (server_id, self.old_build, actor))

    def _schedule_stop_all(self, at: int, actor: str) -> None:
        step = int(self.scenario.operator_step_s * SECOND_NS)
        for i, server in enumerate(self.fleet.servers):
            self._push(at + (i + 1) * step, _STOP, (server.id, actor))

    def _wake(self, server: Server, now: int) -> None:
        server.tick_pending = True
        jitter = 0.8 + 0.4 * self._tick_rng.random()
        self._push(now + max(1, int(self._tick_ns * jitter)), _TICK, server)

    # --------------------------------------------------------------- handlers
    def _on_arrive(self, now: int, parent: object) -> None:
        assert isinstance(parent, ParentOrder)
        flow = "retail" if parent.retail else "premarket"
        servers = self.fleet.servers
        index = self._rr[flow]
        self._rr[flow] = index + 1
        # SMARS spread each flow over the servers in turn.
        servers[index % len(servers)].accept(parent, now)

    def _on_flag(self, now: int, arg: Any) -> None:
        name, value, actor = arg
        self.fleet.set_flag(name, value, now, actor)

    def _on_open(self, now: int, _: object) -> None:
        self.exchange.open(now)
        self.fleet.note(now, "exchange", "market open", 0, "09:30 open; held orders released")
        for server in self.fleet.servers:
            server.open(now)

    def _on_tick(self, now: int, server: object) -> None:
        assert isinstance(server, Server)
        server.tick_pending = False
        if server.tick(now):
            self._wake(server, now)

    def _on_others(self, now: int, _: object) -> None:
        self.others.trade(now)
        self._push(now + self._others_ns, _OTHERS)

    def _on_refresh(self, now: int, _: object) -> None:
        self.makers.refresh(now)
        self._push(now + self._refresh_ns, _REFRESH)

    def _on_sample(self, now: int, _: object) -> None:
        ledger = self.fleet.ledger
        books = self.exchange.books
        last = [
            b.last_price if b.last_price is not None else r
            for b, r in zip(books, self.fleet.reference, strict=True)
        ]
        # What the close-out would fetch if trading stopped now and the transient
        # impact faded: at 16:00 this is the realised loss, and during the morning
        # it accrues as the loss does.
        fairs = self.makers.fair_all(now, transient=False)
        position = ledger.position
        mark = marked_cents(ledger.cash, position, last)
        closeout = closeout_cents(ledger.cash, position, fairs, self.scenario.basket_discount_bps)
        self.samples.append(
            (
                now,
                ledger.cash,
                mark,
                closeout,
                len(self.fleet.children) // len(CHILD_FIELDS),
                len(self.fleet.journal) // len(EXEC_FIELDS),
            )
        )
        self.price_samples.append(last)
        self._push(now + self._sample_ns, _SAMPLE)

    def _on_install(self, now: int, arg: Any) -> None:
        server_id, build, actor = arg
        server = self.fleet.server(server_id)
        server.install(build, now)
        self.fleet.note(
            now, actor, "rollback: re-install", server_id, f"{build.version} ({build.short_hash})"
        )

    def _on_stop(self, now: int, arg: Any) -> None:
        server_id, actor = arg
        server = self.fleet.server(server_id)
        if server.running:
            server.stop(now)
            self.fleet.note(now, actor, "stop server", server_id, "")

    def _on_halt(self, now: int, actor: object) -> None:
        for server in self.fleet.servers:
            server.stop(now)
        self.fleet.note(now, str(actor), "halt all servers", 0, "every server stopped at once")

    def _on_window_end(self, now: int, _: object) -> None:
        books = self.exchange.books
        ledger = self.fleet.ledger
        self.window = {
            "volume": [b.volume for b in books],
            "high": [b.high for b in books],
            "low": [b.low for b in books],
            "knight_shares": list(ledger.traded),
        }

    def _on_end(self, now: int, _: object) -> None:
        self._done = True

    def _on_call(self, now: int, callback: object) -> None:
        callback(now)  # type: ignore[operator]

    # ------------------------------------------------------------ public API
    @property
    def done(self) -> bool:
        """Whether the replay has reached its end."""
        return self._done

    def advance_to(self, time: str | int) -> None:
        """Run every event up to and including ``time``.

        Args:
            time: ``"HH:MM[:SS]"`` or ns since midnight. It may not be in the past
                or after the replay's end.
        """
        target = parse_time(time, what="time")
        if target < self.now:
            raise ValueError(
                f"time {format_time(target)} is in the past; "
                f"the replay is at {format_time(self.now)}"
            )
        if target > self.end:
            raise ValueError(
                f"time {format_time(target)} is after the replay's end {format_time(self.end)}"
            )
        self._run(target)

    def _run(self, until: int) -> None:
        queue = self._queue
        handlers = self._handlers
        progress = self.progress
        span = max(1, self.end - self.start)
        next_report = 0
        count = 0
        while queue and not self._done:
            if queue[0][0] > until:
                break
            time, _, kind, arg = heappop(queue)
            self.now = time
            handlers[kind](time, arg)
            if progress is not None:
                count += 1
                if count >= next_report:
                    next_report = count + 50_000
                    progress((time - self.start) / span)
        if not self._done:
            self.now = max(self.now, until)

    def run(self) -> Result:
        """Run to the end and return the result."""
        self._run(self.end)
        if self.progress is not None:
            self.progress(1.0)
        return self.result()

    def result(self) -> Result:
        """The result so far (final once the replay is done)."""
        return Result.from_simulation(self)

    # ------------------------------------------------------ operator actions
    def _at(self, at: str | int | None) -> int:
        when = self.now if at is None else parse_time(at, what="time")
        if when < self.now:
            raise ValueError(
                f"time {format_time(when)} is in the past; the replay is at {format_time(self.now)}"
            )
        if when > self.end:
            raise ValueError(
                f"time {format_time(when)} is after the replay's end {format_time(self.end)}"
            )
        return when

    def stop_server(
        self, server_id: int, at: str | int | None = None, actor: str = "operator"
    ) -> None:
        """Stop one server (now, or at a later time)."""
        self.fleet.server(server_id)  # validates the id
        self._push(self._at(at), _STOP, (server_id, actor))

    def stop_all(self, at: str | int | None = None, actor: str = "operator") -> None:
        """Stop the servers one by one; each takes ``operator_step_s``."""
        self._schedule_stop_all(self._at(at), actor)

    def halt_all(self, at: str | int | None = None, actor: str = "operator") -> None:
        """Stop every server at once."""
        self._push(self._at(at), _HALT, actor)

    def set_flag(
        self, name: str, value: bool, at: str | int | None = None, actor: str = "operator"
    ) -> None:
        """Turn a fleet-wide flag on or off.

        Args:
            name: The flag key.
            value: ``True`` (on) or ``False`` (off); nothing else, since ``bool("false")``
                is ``True`` and a text value would silently turn the flag on.
            at: When (default: now).
            actor: Who, for the timeline.

        Raises:
            ValueError: If ``name`` is not text or ``value`` is not a bool.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"set_flag name {name!r} is not allowed; give the flag key as text")
        if not isinstance(value, bool):
            raise ValueError(
                f"set_flag value {value!r} is not allowed; give True (on) or False (off)"
            )
        self._push(self._at(at), _FLAG, (name, value, actor))

    def rollback(self, at: str | int | None = None, actor: str = "operator") -> None:
        """Re-install the old build on the servers that were updated, one by one."""
        self._schedule_rollback(self._at(at), actor)


def _poisson_times(rng: Random, per_min: float, start: int, end: int) -> list[int]:
    """Arrival times (ns) of a Poisson flow of ``per_min`` a minute over ``[start, end)``."""
    times: list[int] = []
    rate_per_ns = per_min / 60e9
    t = start + rng.expovariate(rate_per_ns)
    while t < end:
        times.append(int(t))
        t += rng.expovariate(rate_per_ns)
    return times


def _jittered_times(rng: Random, per_min: float, start: int, end: int) -> list[int]:
    """One arrival in each interval of ``1/per_min`` over ``[start, end)``, at a random point.

    A steady flow whose exact times are random: unlike a Poisson flow, the count over
    the morning does not wander with the seed.
    """
    step = 60e9 / per_min
    times: list[int] = []
    k = 0
    while True:
        t = start + (k + rng.random()) * step
        if t >= end:
            return times
        times.append(int(t))
        k += 1


def _spread_order(
    rng: Random, slots: list[tuple[int, int]], weights: tuple[list[float], list[float]]
) -> list[tuple[int, int]]:
    """The slots in a random order whose every stretch carries its share of both weights.

    Built step by step: of the next few slots of a shuffled list, take the one that
    keeps the running totals of both weights closest to their share of the whole (a
    randomised balancing, or "herding", order). So any run of consecutive slots, such
    as the parents that meet Power Peg before the rollback and so run longest, holds
    dear and cheap, costly and cheap-to-lose stocks as the whole universe does. A plain
    shuffle would sometimes give the early parents only the dearest stocks, and the
    day's positions and loss would swing with the seed for that reason alone.
    """
    n = len(slots)
    if not n:
        return []
    totals = [sum(w[slot[0]] for slot in slots) or 1.0 for w in weights]
    remaining = list(slots)
    rng.shuffle(remaining)
    cumulative = [0.0, 0.0]
    out: list[tuple[int, int]] = []
    for step in range(n):
        target = (step + 1) / n

        def miss(slot: tuple[int, int], target: float = target) -> float:
            return sum(
                ((cumulative[d] + weights[d][slot[0]]) / totals[d] - target) ** 2 for d in (0, 1)
            )

        best = min(range(min(_CHOICES, len(remaining))), key=lambda i: miss(remaining[i]))
        slot = remaining.pop(best)
        out.append(slot)
        for d in (0, 1):
            cumulative[d] += weights[d][slot[0]]
    return out


#: How many candidate slots :func:`_spread_order` weighs at each step: more balances
#: better and leaves less to chance.
_CHOICES = 10


def _by_side(
    rng: Random, slots: list[tuple[int, int]], weights: tuple[list[float], list[float]]
) -> list[tuple[int, int]]:
    """Each side's slots in :func:`_spread_order`, merged so every stretch has both sides.

    The merge takes the next slot from the side furthest behind its share of the
    whole, so the parents before the rollback hold long and short stocks in the
    proportions the universe does (the net long and short positions then depend
    little on the seed).
    """
    sides = {
        side: _spread_order(rng, [x for x in slots if x[1] == side], weights) for side in (1, -1)
    }
    total = {side: len(v) for side, v in sides.items()}
    taken = {1: 0, -1: 0}
    merged: list[tuple[int, int]] = []
    for _ in range(len(slots)):
        side = min(
            (s for s in (1, -1) if taken[s] < total[s]),
            key=lambda s: ((taken[s] + 0.5) / total[s], -s),
        )
        merged.append(sides[side][taken[side]])
        taken[side] += 1
    return merged


def replay(scenario: Scenario, progress: Callable[[float], None] | None = None) -> Result:
    """Replay a scenario with no fixes from start to end (``smars_sim.replay`` adds them).

    Args:
        scenario: What to replay.
        progress: Optional callback ``progress(fraction_done)``.

    Returns:
        The :class:`~smars_sim.core.result.Result`.
    """
    return Simulation(scenario, progress).run()
