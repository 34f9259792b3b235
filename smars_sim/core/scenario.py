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
        ticker: The ticker (simulated names start with ``~S``: ``SIMULATED_PREFIX``).
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
    return _specs(load_table("symbols"))


def _specs(rows: list[dict[str, object]] | list[dict[str, str]]) -> tuple[SymbolSpec, ...]:
    """Symbol specs from universe rows (CSV text or ``build_universe`` values)."""
    return tuple(
        SymbolSpec(
            ticker=str(row["symbol"]),
            synthetic=str(row["synthetic"]).strip().lower() == "true",
            open_cents=int(row["open_cents"]),  # type: ignore[call-overload]
            depth_shares=float(row["depth_shares"]),  # type: ignore[arg-type]
            others_shares_per_s=float(row["others_shares_per_s"]),  # type: ignore[arg-type]
            knight_parents=int(row["knight_parents"]),  # type: ignore[call-overload]
            knight_side=int(row["knight_side"]),  # type: ignore[call-overload]
            source=str(row["source"]),
        )
        for row in rows
    )


def _time_or_none(value: str | int | None, what: str) -> int | None:
    return None if value is None else parse_time(value, what=what)


#: Below this scale Power Peg's pace (a child order every ``peg_interval_ms / scale``)
#: is so coarse that each parent sends only a handful of huge child orders, and the
#: dollars stop matching the full-size replay. Measured on 1 Aug 2012: scale 0.01 loses
#: $458M, 0.001 $441M, 0.0001 $259M, 0.00001 $1.9B, 1e-9 "-$552,276B".
MIN_SCALE = 1e-3
_WHY_MIN_SCALE = (
    "coarser replays send only a few child orders of peg-lot/scale shares per parent, "
    "and the dollars no longer match the full-size day"
)
#: Knight ran 8 SMARS servers; 64 is eight times that. The model is a fleet deployed,
#: stopped and rolled back by hand, one server at a time, and each server adds events
#: and timeline lines; a million servers never finishes.
MAX_SERVERS = 64
_WHY_SERVERS = "Knight had 8; the model is a fleet people deploy and stop by hand"
#: The record's day has 154 symbols; the prices table has one column per symbol.
MAX_SYMBOLS = 1_000
#: Parent orders (retail or pre-market) of a scenario; 1 Aug 2012 has about 700 + 776.
MAX_PARENTS = 10_000
#: The biggest order, in shares: Knight traded 397M shares in the whole morning.
MAX_QTY = 1_000_000_000
#: Names, tickers and flag keys: printable text, short enough for a table cell.
_TEXT = re.compile(r"[^\x00-\x1f\x7f]{1,64}")

#: The documented range of every numeric parameter: (low, high, integer, unit, why).
#: Interval minimums keep the event count bounded (each interval is an event that
#: repeats all day); maximums keep the model meaningful and the arithmetic finite.
BOUNDS: dict[str, tuple[float, float, bool, str, str]] = {
    "peg-interval-ms": (
        10.0,
        60_000.0,
        False,
        "ms",
        "SMARS sent a child every ~93 ms; faster multiplies the replay's events",
    ),
    "peg-lot": (1, 10_000, True, "shares", "a child order is a round lot of 100 at scale 1"),
    "operator-step-s": (0.001, 3_600.0, False, "s", "a person's time per server"),
    "sample-s": (1.0, 3_600.0, False, "s", "every sample keeps every symbol's price"),
    "others-interval-s": (
        0.1,
        3_600.0,
        False,
        "s",
        "the other participants print every symbol each interval",
    ),
    "basket-discount-bps": (0.0, 10_000.0, False, "bps", "a discount of 0 to 100%"),
    "half-spread-bps": (0.0, 1_000.0, False, "bps", "0 to 10% of the price"),
    "step-bps": (0.0, 1_000.0, False, "bps", "0 to 10% of the price"),
    "levels": (1, 100, True, "levels", "every requote posts each level"),
    "level-shares": (1, 10_000_000, True, "shares", "shares quoted per level at scale 1"),
    "impact-coef": (
        0.0,
        10.0,
        False,
        "",
        "buying pushes prices up, never down; the lean is capped at x5",
    ),
    "impact-exponent": (0.1, 2.0, False, "", "0.5 is the square-root law, 1 linear"),
    "permanent-coef": (0.0, 10.0, False, "", "as impact-coef, for the impact that stays"),
    "impact-half-life-s": (
        1.0,
        86_400.0,
        False,
        "s",
        "from a second to a day; shorter overflows the decay",
    ),
    "refresh-s": (0.1, 60.0, False, "s", "makers re-centre every symbol at this pace"),
    "open-cents": (1, 100_000_000, True, "cents", "from 1 cent to $1M a share"),
    "depth-shares": (1.0, 1e12, False, "shares", "the net flow that moves a price"),
    "others-shares-per-s": (0.0, 1e9, False, "shares/s", "other participants' volume"),
    "knight-parents": (0, 1_000, True, "parents", "retail parents in one symbol"),
    "premarket-per-min": (
        0.0,
        60.0,
        False,
        "orders/min",
        "at most 3,600 an hour; every one may run Power Peg",
    ),
    "retail-per-min": (
        0.0,
        60.0,
        False,
        "orders/min",
        "at most 3,600 an hour; every one may run Power Peg",
    ),
}


def _num(x: float) -> str:
    return f"{int(x):,}" if x == int(x) and abs(x) < 1e9 else f"{x:g}"


def _range_text(what: str) -> str:
    low, high, integer, unit, _why = BOUNDS[what]
    kind = "a whole number" if integer else "a finite number"
    unit_text = f" {unit}" if unit else ""
    return f"{kind}, {_num(low)} <= {what} <= {_num(high)}{unit_text}"


def _in_bounds(what: str, value: object, prefix: str = "") -> None:
    """Raise ``ValueError`` unless ``value`` is within ``BOUNDS[what]``, naming the field."""
    low, high, integer, _unit, why = BOUNDS[what]
    allowed = f"allowed: {_range_text(what)} ({why})"
    name = f"{prefix}{what}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} {value!r} is not a number; {allowed}")
    if integer and not isinstance(value, int):
        raise ValueError(f"{name} {value!r} is not a whole number; {allowed}")
    if not math.isfinite(value):
        raise ValueError(f"{name} {value!r} is not a finite number; {allowed}")
    if low > 0 and value <= 0:
        raise ValueError(f"{name} {value!r} must be positive; {allowed}")
    if not low <= value <= high:
        raise ValueError(f"{name} {value!r} is out of range; {allowed}")


def _int_in(what: str, value: int, low: int, high: int, unit: str) -> None:
    if not low <= value <= high:
        raise ValueError(f"{what} {value!r} is out of range; allowed: {low} to {high:,} {unit}")


def _check_symbol(i: int, spec: SymbolSpec) -> None:
    """Check one symbol's fields; messages start ``symbols[i]``."""
    where = f"symbols[{i}] "
    if not isinstance(spec.ticker, str) or not _TEXT.fullmatch(spec.ticker):
        raise ValueError(
            f"{where}ticker {spec.ticker!r} is not allowed; give 1 to 64 printable characters"
        )
    if not isinstance(spec.synthetic, bool):
        raise ValueError(f"{where}synthetic {spec.synthetic!r} is not allowed; give True or False")
    _in_bounds("open-cents", spec.open_cents, where)
    _in_bounds("depth-shares", spec.depth_shares, where)
    _in_bounds("others-shares-per-s", spec.others_shares_per_s, where)
    _in_bounds("knight-parents", spec.knight_parents, where)
    side = spec.knight_side
    if isinstance(side, bool) or side not in (1, -1):
        raise ValueError(f"{where}knight-side {side!r} is not allowed; give 1 (buy) or -1 (sell)")
    if not isinstance(spec.source, str):
        raise ValueError(f"{where}source {spec.source!r} is not allowed; give text")


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
        premarket_per_min: Pre-market orders arriving per minute from
            ``premarket_start`` to the open, at random (a Poisson flow), in addition
            to ``premarket_orders``; 0: none.
        premarket_start: When pre-market orders start arriving.
        retail_per_min: Retail parent orders arriving per minute, at random (a
            Poisson flow), from ``start_at`` to ``window_end``: received before the
            open they wait for the opening auction; after it they are routed at once.
            0: the retail parents are the symbols' ``knight_parents``, all received
            before the open (see ``smars_sim.core.engine``).
        market_seed: Which draw of the simulated market ``symbols`` is (``None``:
            the stored draw, ``data/symbols.csv``). Changing it with :meth:`with_` on
            the 1 Aug 2012 scenario redraws the simulated names
            (:func:`smars_sim.core.universe.build_universe`).
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

    Bounds (checked by :meth:`validate`; each message names the field and the range):

    * ``scale`` is at least ``MIN_SCALE`` = 0.001: below it Power Peg's pace
      (``peg_interval_ms / scale`` between child orders) is so coarse that each parent
      sends a few huge child orders and the dollars drift from the full-size day
      (measured: 0.01 loses $458M, 0.001 $441M, 0.0001 $259M, 1e-9 a meaningless
      -$552,276B).
    * ``servers`` is 1 to ``MAX_SERVERS`` = 64 (Knight had 8; the model is a fleet
      deployed and stopped by hand, and a million servers never finishes).
    * ``stale_servers`` is a tuple of distinct servers; ``fixes`` a tuple of distinct names.
    * Intervals have a minimum so the replay's event count stays bounded (``sample_s``
      >= 1, ``others_interval_s`` and ``liquidity.refresh_s`` >= 0.1, ``peg_interval_ms``
      >= 10) and a maximum of an hour or so; every other number has the range in
      ``BOUNDS`` (e.g. ``impact_coef`` 0 to 10: buying never pushes prices down).
      NaN and infinities are refused everywhere.
    * Rollback and stop-all end by the 16:00 close: ``at + servers * operator_step_s``.
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
    premarket_per_min: float = 0.0
    premarket_start: int | str = "08:01"
    retail_per_min: float = 0.0
    market_seed: int | None = None
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
            premarket_orders=0,
            premarket_per_min=c["premarket_per_min"],
            premarket_start="08:01",
            retail_per_min=c["retail_per_min"],
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
        """A hand-sized market: 2 symbols, 3 servers, server 3 stale, 8 retail parents.

        Five parents arrive before the open, for the auction; three arrive after the
        09:35 rollback, one to each server, so each meets Power Peg (SEC ¶27).

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
                ParentSpec(1, -1, 200, "09:36"),
                ParentSpec(0, 1, 200, "09:36:30"),
                ParentSpec(1, -1, 100, "09:37"),
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
        if "market_seed" in changes and "symbols" not in changes:
            changes["symbols"] = self._market(changes["market_seed"])
        changed = replace(self, **changes)  # type: ignore[arg-type]
        changed.validate()
        return changed

    def _market(self, market_seed: object) -> tuple[SymbolSpec, ...]:
        """The symbols of a market draw of the 1 Aug 2012 universe (``None``: the stored one)."""
        if market_seed is not None and (
            isinstance(market_seed, bool) or not isinstance(market_seed, int)
        ):
            raise ValueError(
                f"market-seed {market_seed!r} is not allowed; give a whole number "
                "(or None for the stored draw)"
            )
        if self.name != "aug1-2012":
            raise ValueError(
                f"market-seed {market_seed!r} is not allowed for the {self.name!r} scenario; "
                "only aug1-2012 draws its market"
            )
        if market_seed is None:
            return load_universe()
        from .universe import build_universe  # the generator is needed only for a redraw

        return _specs(build_universe(load_calibration(), market_seed))

    # --------------------------------------------------------- validation
    def t(self, name: str) -> int | None:
        """A time field in ns (``None`` if unset)."""
        return _time_or_none(getattr(self, name), name.replace("_", "-"))

    def validate(self) -> None:
        """Check every parameter; raise ``ValueError`` naming the bad value.

        Every field is checked for its type and its documented range (see the class
        docstring and ``BOUNDS``); the message names the field (with dashes, as the
        CLI spells it) and what is allowed.
        """
        if not isinstance(self.name, str) or not _TEXT.fullmatch(self.name):
            raise ValueError(
                f"name {self.name!r} is not allowed; give 1 to 64 printable characters"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed {self.seed!r} is not an integer; use a whole number")
        if not -(2**63) <= self.seed < 2**63:
            raise ValueError(
                f"seed {self.seed!r} is out of range; use a whole number from -2**63 to 2**63-1 "
                "(it is reported in JSON and parquet, where integers are 64-bit)"
            )
        self._validate_scale()
        servers = self.servers
        if isinstance(servers, bool) or not isinstance(servers, int) or servers < 1:
            raise ValueError(
                f"servers {servers!r} is not allowed; use a whole number >= 1 "
                f"(at most {MAX_SERVERS})"
            )
        if servers > MAX_SERVERS:
            raise ValueError(
                f"servers {servers!r} is too many; allowed: 1 to {MAX_SERVERS} ({_WHY_SERVERS})"
            )
        self._validate_stale()
        self._validate_symbols()
        self._validate_parents()
        self._validate_times()
        self._validate_numbers()
        self._validate_operators()
        self._validate_fixes()

    def _validate_scale(self) -> None:
        scale = self.scale
        allowed = f"allowed: 0 < scale <= 1 with scale >= {MIN_SCALE:g}"
        if isinstance(scale, bool) or not isinstance(scale, (int, float)):
            raise ValueError(f"scale {scale!r} is not a number; {allowed}")
        if not (0 < scale <= 1) or math.isnan(scale):
            raise ValueError(f"scale {scale!r} is outside (0, 1]; {allowed}")
        if scale < MIN_SCALE:
            raise ValueError(f"scale {scale!r} is too coarse; {allowed} ({_WHY_MIN_SCALE})")

    def _validate_stale(self) -> None:
        stale = self.stale_servers
        if not isinstance(stale, tuple):
            raise ValueError(
                f"stale-servers {stale!r} is not allowed; give a tuple of server numbers, "
                "e.g. (8,) (a single server needs the trailing comma), or () for none"
            )
        for k in stale:
            if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= self.servers:
                raise ValueError(
                    f"stale server {k!r} is out of range; allowed: 1..{self.servers} "
                    f"(there are {self.servers} servers)"
                )
        if len(set(stale)) != len(stale):
            twice = sorted({k for k in stale if stale.count(k) > 1})
            raise ValueError(
                f"stale-servers: {', '.join(map(str, twice))} given twice; give each server once"
            )

    def _validate_symbols(self) -> None:
        symbols = self.symbols
        if not isinstance(symbols, tuple):
            raise ValueError(f"symbols {symbols!r} is not allowed; give a tuple of SymbolSpec")
        if not symbols:
            raise ValueError("the scenario has no symbols; give at least one SymbolSpec")
        if len(symbols) > MAX_SYMBOLS:
            raise ValueError(
                f"symbols: {len(symbols)} is too many; allowed: 1 to {MAX_SYMBOLS} "
                "(the prices table has one column per symbol)"
            )
        seen: set[str] = set()
        for i, spec in enumerate(symbols):
            if not isinstance(spec, SymbolSpec):
                raise ValueError(f"symbols[{i}] {spec!r} is not allowed; give a SymbolSpec")
            _check_symbol(i, spec)
            if spec.ticker in seen:
                raise ValueError(
                    f"symbols[{i}] ticker {spec.ticker!r} is given twice; allowed: each ticker once"
                )
            seen.add(spec.ticker)
        generated = sum(spec.knight_parents for spec in symbols)
        if generated > MAX_PARENTS:
            raise ValueError(
                f"knight-parents: {generated} in all is too many; allowed: at most "
                f"{MAX_PARENTS} retail parents (every one may run Power Peg)"
            )

    def _validate_parents(self) -> None:
        parents = self.parents
        if not isinstance(parents, tuple):
            raise ValueError(f"parents {parents!r} is not allowed; give a tuple of ParentSpec")
        if len(parents) > MAX_PARENTS:
            raise ValueError(
                f"parents: {len(parents)} is too many; allowed: at most {MAX_PARENTS} "
                "(every one may run Power Peg)"
            )
        for p in parents:
            if not isinstance(p, ParentSpec):
                raise ValueError(f"parents: {p!r} is not allowed; give a ParentSpec")
            if isinstance(p.symbol, bool) or not isinstance(p.symbol, int):
                raise ValueError(
                    f"parent symbol {p.symbol!r} is not allowed; give the index of a symbol, "
                    f"0..{len(self.symbols) - 1}"
                )
            if not 0 <= p.symbol < len(self.symbols):
                raise ValueError(
                    f"parent symbol {p.symbol!r} is out of range 0..{len(self.symbols) - 1}; "
                    "allowed: the index of one of the scenario's symbols"
                )
            if (
                p.side not in (1, -1)
                or isinstance(p.side, bool)
                or isinstance(p.qty, bool)
                or not isinstance(p.qty, int)
                or p.qty <= 0
            ):
                raise ValueError(f"parent {p!r}: side must be 1 or -1 and qty positive")
            _int_in("parent qty", p.qty, 1, MAX_QTY, "shares")
            _time_or_none(p.received, "parent received")
        sizes = self.parent_qty
        if (
            not isinstance(sizes, tuple)
            or not sizes
            or any(isinstance(q, bool) or not isinstance(q, int) or q <= 0 for q in sizes)
        ):
            raise ValueError(
                f"parent-qty {sizes!r} is not allowed; give one or more whole numbers of shares > 0"
            )
        for q in sizes:
            _int_in("parent-qty", q, 1, MAX_QTY, "shares")
        pre = self.premarket_orders
        if isinstance(pre, bool) or not isinstance(pre, int) or pre < 0:
            raise ValueError(f"premarket-orders {pre!r} is not allowed; use a whole number >= 0")
        _int_in("premarket-orders", pre, 0, MAX_PARENTS, "orders (every one may run Power Peg)")
        _in_bounds("premarket-per-min", self.premarket_per_min)
        _in_bounds("retail-per-min", self.retail_per_min)
        market = self.market_seed
        if market is not None and (isinstance(market, bool) or not isinstance(market, int)):
            raise ValueError(
                f"market-seed {market!r} is not allowed; give a whole number "
                "(or None for the stored draw)"
            )

    def _validate_times(self) -> None:
        for name in ("start_at", "window_end", "premarket_start"):
            if getattr(self, name) is None:
                what = name.replace("_", "-")
                raise ValueError(f"{what} None is not allowed; give a clock time HH:MM[:SS]")
        start = self.t("start_at")
        assert start is not None
        if start > OPEN_NS:
            raise ValueError(
                f"start-at {format_time(start)} is after the 09:30 open; allowed: "
                "00:00 to 09:30 (the retail parents arrive before the open)"
            )
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
        if window_end is None:
            raise ValueError("window-end None is not allowed; give a clock time after 09:30")
        if window_end <= OPEN_NS:
            raise ValueError(f"window-end {format_time(window_end)} must be after the 09:30 open")
        end_at = times["end-at"]
        if end_at is not None and end_at < window_end:
            raise ValueError(
                f"end-at {format_time(end_at)} is before window-end {format_time(window_end)}; "
                f"allowed: {format_time(window_end)} to {format_time(CLOSE_NS)}"
            )
        for p in self.parents:
            received = parse_time(p.received, what="parent received")
            if not start <= received <= CLOSE_NS:
                raise ValueError(
                    f"parent received {format_time(received)} is outside the simulated day; "
                    f"allowed: {format_time(start)} to {format_time(CLOSE_NS)}"
                )
        kill = self.t("kill_at")
        end = end_at if end_at is not None else window_end
        if kill is not None and not start <= kill <= end:
            raise ValueError(
                f"kill-at {format_time(kill)} is outside the simulated day; allowed: "
                f"{format_time(start)} to {format_time(end)}"
            )
        if not isinstance(self.flag, str) or not _TEXT.fullmatch(self.flag):
            raise ValueError(
                f"flag {self.flag!r} is not allowed; give a flag key of 1 to 64 printable "
                "characters"
            )

    def _validate_numbers(self) -> None:
        liquidity = self.liquidity
        if not isinstance(liquidity, LiquidityParams):
            raise ValueError(f"liquidity {liquidity!r} is not allowed; give a LiquidityParams")
        for what, value in (
            ("peg-interval-ms", self.peg_interval_ms),
            ("peg-lot", self.peg_lot),
            ("operator-step-s", self.operator_step_s),
            ("sample-s", self.sample_s),
            ("others-interval-s", self.others_interval_s),
            ("basket-discount-bps", self.basket_discount_bps),
            ("half-spread-bps", liquidity.half_spread_bps),
            ("step-bps", liquidity.step_bps),
            ("levels", liquidity.levels),
            ("level-shares", liquidity.level_shares),
            ("impact-coef", liquidity.impact_coef),
            ("impact-exponent", liquidity.impact_exponent),
            ("permanent-coef", liquidity.permanent_coef),
            ("impact-half-life-s", liquidity.half_life_s),
            ("refresh-s", liquidity.refresh_s),
        ):
            _in_bounds(what, value)

    def _validate_operators(self) -> None:
        # Operators work one server at a time: the last step must fall within the day,
        # or the replay would run (and sample) long past the close.
        step_ns = int(self.operator_step_s * 1e9)
        for what, steps in (("rollback-at", self.servers - 1), ("stop-all-at", self.servers)):
            at = self.t(what.replace("-", "_"))
            if at is None:
                continue
            last = at + steps * step_ns
            if last > CLOSE_NS:
                raise ValueError(
                    f"operator-step-s {self.operator_step_s!r} is too long for {self.servers} "
                    f"servers from {what} {format_time(at)}: the last step would fall after the "
                    f"{format_time(CLOSE_NS)} close; allowed: {what} + servers x operator-step-s "
                    "by the close"
                )

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
