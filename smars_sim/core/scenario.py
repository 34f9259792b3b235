"""Scenarios: every parameter of a replay, including the one seed.

``Scenario.aug1_2012()`` sets up 1 August 2012 from ``data/`` (the calibration table
and the symbol universe). ``Scenario.small()`` is a hand-sized market for tests
and teaching. Every parameter is validated, and bad values raise ``ValueError``
naming the value and what is allowed.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from random import Random

from .builds import FLAG
from .clock import CLOSE_NS, OPEN_NS, format_time, parse_time
from .liquidity import LiquidityParams
from .record import load_table

__all__ = [
    "ParentSpec",
    "Scenario",
    "SymbolSpec",
    "derive_rng",
    "load_calibration",
    "register_fix_check",
]

SCENARIOS = ("aug1-2012", "small")
#: What a fix's name looks like; which names exist is the fixes layer's registry's business.
_FIX_NAME = re.compile(r"[a-z][a-z0-9-]*")
#: Checks of fix names and parameters against a registry, ``check(fixes, fix_params)``.
#: The fixes layer registers its own when it is imported (``smars_sim`` imports it), so
#: ``Scenario.validate`` names an unknown fix early while the core never imports it.
_FIX_CHECKS: list[Callable[[tuple[str, ...], Mapping[str, object]], None]] = []


def register_fix_check(check: Callable[[tuple[str, ...], Mapping[str, object]], None]) -> None:
    """Have :meth:`Scenario.validate` call ``check(fixes, fix_params)`` (once per check)."""
    if check not in _FIX_CHECKS:
        _FIX_CHECKS.append(check)


def derive_rng(seed: int, stream: str) -> Random:
    """A random stream derived from the scenario seed and a stream name.

    Each part of the simulation draws from its own stream, so adding draws in one
    part never shifts another. ``hashlib`` (not ``hash()``, which is salted per
    process) makes the derivation identical in every process.
    """
    digest = hashlib.sha256(f"{seed}:{stream}".encode()).digest()
    return Random(int.from_bytes(digest[:8], "little"))


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """One symbol of the universe.

    Attributes:
        ticker: The ticker (synthetic names start with ``SYN``).
        synthetic: True when the symbol (or its figures) is not from the record.
        open_cents: Opening (reference) price in cents.
        depth_shares: Impact depth: net flow, in shares, that moves the price by
            ``impact_coef`` in log terms (bigger = more liquid).
        others_shares_per_s: The other participants' volume at the open, shares/s.
        knight_parents: How many of the 212 retail parent orders are in this symbol.
        knight_side: +1 if those parents buy, -1 if they sell.
        source: Where the ticker and its figures come from.
    """

    ticker: str
    synthetic: bool
    open_cents: int
    depth_shares: float
    others_shares_per_s: float
    knight_parents: int = 1
    knight_side: int = 1
    source: str = ""


@dataclass(frozen=True, slots=True)
class ParentSpec:
    """A retail parent order given explicitly (for small, hand-built scenarios)."""

    symbol: int
    side: int
    qty: int
    received: str | int


def load_calibration() -> dict[str, float]:
    """The calibrated parameters from ``data/calibration.csv`` (name -> value)."""
    return {row["parameter"]: float(row["value"]) for row in load_table("calibration")}


def load_universe() -> tuple[SymbolSpec, ...]:
    """The symbol universe from ``data/symbols.csv``."""
    return tuple(
        SymbolSpec(
            ticker=row["symbol"],
            synthetic=row["synthetic"].strip().lower() == "true",
            open_cents=int(row["open_cents"]),
            depth_shares=float(row["depth_shares"]),
            others_shares_per_s=float(row["others_shares_per_s"]),
            knight_parents=int(row["knight_parents"]),
            knight_side=int(row["knight_side"]),
            source=row["source"],
        )
        for row in load_table("symbols")
    )


def _time_or_none(value: str | int | None, what: str) -> int | None:
    return None if value is None else parse_time(value, what=what)


@dataclass(slots=True)
class Scenario:
    """Every parameter of one replay.

    Times may be given as ``"HH:MM[:SS]"`` text or integer ns; they are stored as ns.
    See ``data/calibration.csv`` for why each calibrated value is what it is.

    Attributes:
        name: Scenario name.
        seed: The one seed all randomness is derived from.
        scale: Resolution in (0, 1]. Child orders and executions grow with it;
            shares and dollars do not (child orders are ``1/scale`` times bigger).
        servers: Number of SMARS servers.
        stale_servers: Servers (1-based) the technician missed in the deploy.
        symbols: The symbol universe.
        parents: Explicit retail parents; empty means generate them from ``symbols``.
        parent_qty: Choices for a generated retail parent's size, in shares.
        premarket_orders: Pre-market orders (not the retail parents) sent 08:01-09:30.
        premarket_start: When pre-market orders start arriving.
        flag: The flag name the builds read.
        flag_on_at: When operations turn the flag on (``None``: nobody does).
        start_at: When the simulated morning starts.
        rollback_at: When operators start re-installing the old build on the
            updated servers (``None``: no rollback).
        stop_all_at: When operators start stopping servers one by one (``None``: never).
        operator_step_s: Seconds a person needs per server (stop or re-install).
        halt_at: Stop every server at once at this time (``None``: no halt).
        window_end: End of the measurement window (NYSE's bust window ends 10:15).
        end_at: When the replay ends (default: after the window and the last stop).
        peg_interval_ms: Power Peg's pace: ms between child orders per parent, at scale 1.
        peg_lot: Shares per Power Peg child order at scale 1.
        liquidity: Market-maker parameters.
        others_interval_s: Seconds between prints of the other participants' volume.
        basket_discount_bps: Discount of the after-close basket sale, in basis points.
        sample_s: How often P&L, positions and prices are sampled, in seconds.
        fixes: Names of the fixes in force (see ``smars_sim.fixes.SPECS``).
        kill_at: A manual fleet-wide kill at this time (``None``: none). Without the
            ``kill-switch`` fix it installs the kill switch alone, with no automated
            trigger (see ``smars_sim.fixes.kill_switch``).
        fix_params: Parameters of fixes in force, by fix name (a fix's registry entry
            names their class, e.g. ``{"kill-switch": RiskLimits(...)}``); a fix not
            named here uses its defaults.
    """

    name: str = "custom"
    seed: int = 20120801
    scale: float = 1.0
    servers: int = 8
    stale_servers: tuple[int, ...] = (8,)
    symbols: tuple[SymbolSpec, ...] = ()
    parents: tuple[ParentSpec, ...] = ()
    parent_qty: tuple[int, ...] = (100, 200, 300, 500)
    premarket_orders: int = 0
    premarket_start: int | str = "08:01"
    flag: str = FLAG
    flag_on_at: int | str | None = "08:00"
    start_at: int | str = "08:00"
    rollback_at: int | str | None = None
    stop_all_at: int | str | None = None
    operator_step_s: float = 20.0
    halt_at: int | str | None = None
    window_end: int | str = "10:15"
    end_at: int | str | None = None
    peg_interval_ms: float = 100.0
    peg_lot: int = 100
    liquidity: LiquidityParams = field(default_factory=LiquidityParams)
    others_interval_s: float = 5.0
    basket_discount_bps: float = 100.0
    sample_s: float = 5.0
    fixes: tuple[str, ...] = ()
    kill_at: int | str | None = None
    fix_params: Mapping[str, object] = field(default_factory=dict)

    # ----------------------------------------------------------- builders
    @classmethod
    def aug1_2012(cls, **overrides: object) -> Scenario:
        """1 August 2012 as the record describes it, with calibrated parameters.

        Args:
            **overrides: Any field to change (e.g. ``seed=7, scale=0.1``).
        """
        c = load_calibration()
        base = cls(
            name="aug1-2012",
            seed=int(c["seed"]),
            scale=1.0,
            servers=8,
            stale_servers=(8,),
            symbols=load_universe(),
            premarket_orders=int(c["premarket_orders"]),
            premarket_start="08:01",
            flag_on_at=int(c["flag_on_at_s"] * 1e9),
            rollback_at=int(c["rollback_at_s"] * 1e9),
            stop_all_at=int(c["stop_all_at_s"] * 1e9),
            operator_step_s=c["operator_step_s"],
            window_end="10:15",
            peg_interval_ms=c["peg_interval_ms"],
            peg_lot=int(c["peg_lot"]),
            liquidity=LiquidityParams(
                half_spread_bps=c["half_spread_bps"],
                step_bps=c["step_bps"],
                levels=int(c["levels"]),
                level_shares=int(c["level_shares"]),
                impact_coef=c["impact_coef"],
                impact_exponent=c["impact_exponent"],
                permanent_coef=c["permanent_coef"],
                half_life_s=c["impact_half_life_s"],
                refresh_s=c["refresh_s"],
            ),
            others_interval_s=c["others_interval_s"],
            basket_discount_bps=c["basket_discount_bps"],
        )
        return base.with_(**overrides) if overrides else base

    @classmethod
    def small(cls, **overrides: object) -> Scenario:
        """A hand-sized market: 2 symbols, 3 servers, 5 retail parents, server 3 stale.

        Args:
            **overrides: Any field to change.
        """
        base = cls(
            name="small",
            seed=1,
            scale=1.0,
            servers=3,
            stale_servers=(3,),
            symbols=(
                SymbolSpec("AAA", True, 2_000, 20_000, 50.0, 3, 1, "synthetic: hand-made"),
                SymbolSpec("BBB", True, 4_500, 40_000, 80.0, 2, -1, "synthetic: hand-made"),
            ),
            parents=(
                ParentSpec(0, 1, 200, "09:10"),
                ParentSpec(1, -1, 300, "09:11"),
                ParentSpec(0, 1, 100, "09:12"),
                ParentSpec(1, -1, 200, "09:13"),
                ParentSpec(0, 1, 300, "09:14"),
            ),
            premarket_orders=6,
            premarket_start="09:00",
            flag_on_at="08:59",
            start_at="08:59",
            rollback_at="09:35",
            stop_all_at="09:40",
            operator_step_s=10.0,
            window_end="09:45",
            peg_interval_ms=200.0,
            liquidity=LiquidityParams(level_shares=300, half_life_s=60.0),
            others_interval_s=5.0,
        )
        return base.with_(**overrides) if overrides else base

    @classmethod
    def named(cls, name: str, **overrides: object) -> Scenario:
        """A scenario by name (``aug1-2012`` or ``small``)."""
        if name == "aug1-2012":
            return cls.aug1_2012(**overrides)
        if name == "small":
            return cls.small(**overrides)
        raise ValueError(f"unknown scenario {name!r}; available: {', '.join(SCENARIOS)}")

    def with_(self, **changes: object) -> Scenario:
        """A copy with some fields changed (validated)."""
        unknown = sorted(set(changes) - set(self.__dataclass_fields__))
        if unknown:
            raise ValueError(
                f"unknown scenario field(s) {unknown}; fields: {sorted(self.__dataclass_fields__)}"
            )
        changed = replace(self, **changes)  # type: ignore[arg-type]
        changed.validate()
        return changed

    # --------------------------------------------------------- validation
    def t(self, name: str) -> int | None:
        """A time field in ns (``None`` if unset)."""
        return _time_or_none(getattr(self, name), name.replace("_", "-"))

    def validate(self) -> None:
        """Check every parameter; raise ``ValueError`` naming the bad value."""
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed {self.seed!r} is not an integer; use a whole number")
        if isinstance(self.scale, bool) or not isinstance(self.scale, (int, float)):
            raise ValueError(f"scale {self.scale!r} is not a number; allowed: 0 < scale <= 1")
        if not (0 < self.scale <= 1) or math.isnan(self.scale):
            raise ValueError(f"scale {self.scale!r} is outside (0, 1]; allowed: 0 < scale <= 1")
        if isinstance(self.servers, bool) or not isinstance(self.servers, int) or self.servers < 1:
            raise ValueError(f"servers {self.servers!r} is not allowed; use a whole number >= 1")
        for k in self.stale_servers:
            if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= self.servers:
                raise ValueError(
                    f"stale server {k!r} is out of range; allowed: 1..{self.servers} "
                    f"(there are {self.servers} servers)"
                )
        if not self.symbols:
            raise ValueError("the scenario has no symbols; give at least one SymbolSpec")
        for p in self.parents:
            if not 0 <= p.symbol < len(self.symbols):
                raise ValueError(
                    f"parent symbol {p.symbol!r} is out of range 0..{len(self.symbols) - 1}"
                )
            if p.side not in (1, -1) or p.qty <= 0:
                raise ValueError(f"parent {p!r}: side must be 1 or -1 and qty positive")
        start = self.t("start_at")
        assert start is not None
        times = {
            "flag-on-at": self.t("flag_on_at"),
            "premarket-start": self.t("premarket_start"),
            "rollback-at": self.t("rollback_at"),
            "stop-all-at": self.t("stop_all_at"),
            "halt-at": self.t("halt_at"),
            "window-end": self.t("window_end"),
            "end-at": self.t("end_at"),
        }
        for what, ns in times.items():
            if ns is None:
                continue
            if ns < start or ns > CLOSE_NS:
                raise ValueError(
                    f"{what} {format_time(ns)} is outside the simulated day; allowed: "
                    f"{format_time(start)} to {format_time(CLOSE_NS)}"
                )
        window_end = times["window-end"]
        assert window_end is not None
        if window_end <= OPEN_NS:
            raise ValueError(f"window-end {format_time(window_end)} must be after the 09:30 open")
        positive = {
            "peg-interval-ms": self.peg_interval_ms,
            "peg-lot": self.peg_lot,
            "operator-step-s": self.operator_step_s,
            "sample-s": self.sample_s,
            "others-interval-s": self.others_interval_s,
            "level-shares": self.liquidity.level_shares,
            "levels": self.liquidity.levels,
            "impact-half-life-s": self.liquidity.half_life_s,
            "refresh-s": self.liquidity.refresh_s,
        }
        for what, value in positive.items():
            if not value > 0:
                raise ValueError(f"{what} {value!r} must be positive")
        pre = self.premarket_orders
        if isinstance(pre, bool) or not isinstance(pre, int) or pre < 0:
            raise ValueError(f"premarket-orders {pre!r} is not allowed; use a whole number >= 0")
        sizes = self.parent_qty
        if not sizes or any(isinstance(q, bool) or not isinstance(q, int) or q <= 0 for q in sizes):
            raise ValueError(
                f"parent-qty {sizes!r} is not allowed; give one or more whole numbers of shares > 0"
            )
        kill = self.t("kill_at")
        end = times["end-at"] if times["end-at"] is not None else window_end
        if kill is not None and not start <= kill <= end:
            raise ValueError(
                f"kill-at {format_time(kill)} is outside the simulated day; allowed: "
                f"{format_time(start)} to {format_time(end)}"
            )
        self._validate_fixes()

    def _validate_fixes(self) -> None:
        # Names are checked against the registry where fixes are installed (the fixes
        # layer); here, the shape: a tuple of distinct names, parameters only for them.
        fixes = self.fixes
        if isinstance(fixes, str) or not isinstance(fixes, tuple):
            raise ValueError(
                f"fixes {fixes!r} is not allowed; give a tuple of fix names, "
                f"e.g. ('dead-code',) (a single name needs the trailing comma)"
            )
        for name in fixes:
            if not isinstance(name, str) or not _FIX_NAME.fullmatch(name):
                raise ValueError(f"fixes: {name!r} is not a fix name; e.g. 'kill-switch'")
        if len(set(fixes)) != len(fixes):
            twice = sorted({n for n in fixes if fixes.count(n) > 1})
            raise ValueError(f"fixes: {', '.join(twice)} given twice; give each fix once")
        if not isinstance(self.fix_params, Mapping):
            raise ValueError(
                f"fix-params {self.fix_params!r} is not allowed; give a mapping "
                "fix name -> parameters"
            )
        for name, params in self.fix_params.items():
            if name not in fixes:
                raise ValueError(
                    f"fix-params names {name!r}, which is not among the fixes "
                    f"({', '.join(fixes) or 'none'}); add it to fixes"
                )
            own = getattr(params, "validate", None)
            if callable(own):
                own()
        for check in _FIX_CHECKS:
            check(fixes, self.fix_params)
