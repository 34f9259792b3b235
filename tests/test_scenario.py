"""Scenario construction and validation: bad values raise ValueError naming the value."""

from __future__ import annotations

import dataclasses
import math

import pytest

from smars_sim import Scenario, Simulation
from smars_sim.core.scenario import derive_rng, load_calibration
from smars_sim.fixes import AVAILABLE


@pytest.mark.parametrize(
    ("changes", "fragments"),
    [
        ({"seed": "abc"}, ["seed 'abc'", "is not an integer; use a whole number"]),
        ({"seed": 1.5}, ["seed 1.5", "is not an integer; use a whole number"]),
        ({"seed": True}, ["seed True", "is not an integer"]),
        ({"scale": 0.0}, ["scale 0.0", "outside (0, 1]", "allowed: 0 < scale <= 1"]),
        ({"scale": -1.0}, ["scale -1.0", "allowed: 0 < scale <= 1"]),
        ({"scale": 1.5}, ["scale 1.5", "allowed: 0 < scale <= 1"]),
        ({"scale": math.nan}, ["scale nan", "allowed: 0 < scale <= 1"]),
        ({"scale": math.inf}, ["scale inf", "allowed: 0 < scale <= 1"]),
        ({"scale": "0.5"}, ["scale '0.5'", "allowed: 0 < scale <= 1"]),
        ({"servers": 0}, ["servers 0", "use a whole number >= 1"]),
        ({"servers": -2}, ["servers -2", "use a whole number >= 1"]),
        ({"servers": 2.0}, ["servers 2.0", "use a whole number >= 1"]),
        ({"stale_servers": (4,)}, ["stale server 4 is out of range", "allowed: 1..3"]),
        ({"stale_servers": (0,)}, ["stale server 0 is out of range", "allowed: 1..3"]),
        ({"servers": 2}, ["stale server 3 is out of range", "allowed: 1..2"]),
        ({"halt_at": "25:00"}, ["halt-at '25:00' is not a clock time", "hours 0-23"]),
        ({"halt_at": "9h30"}, ["halt-at '9h30' is not a clock time", "HH:MM[:SS[.fff]]"]),
        (
            {"halt_at": "08:00"},
            ["halt-at 08:00:00 is outside the simulated day", "allowed: 08:59:00 to 16:00:00"],
        ),
        (
            {"halt_at": "16:01"},
            ["halt-at 16:01:00 is outside the simulated day", "allowed: 08:59:00 to 16:00:00"],
        ),
        ({"rollback_at": "08:30"}, ["rollback-at 08:30:00 is outside the simulated day"]),
        ({"stop_all_at": "17:00"}, ["stop-all-at 17:00:00 is outside the simulated day"]),
        ({"end_at": "16:00:01"}, ["end-at 16:00:01 is outside the simulated day"]),
        ({"window_end": "09:20"}, ["window-end 09:20:00 must be after the 09:30 open"]),
        ({"fixes": ("no-such-fix",)}, ["unknown fix 'no-such-fix'", "available fixes:"]),
        ({"peg_lot": 0}, ["peg-lot 0 must be positive"]),
        ({"peg_interval_ms": -1.0}, ["peg-interval-ms -1.0 must be positive"]),
        ({"sample_s": 0.0}, ["sample-s 0.0 must be positive"]),
        ({"premarket_orders": -1}, ["premarket-orders -1 is not allowed; use a whole number >= 0"]),
        ({"symbols": ()}, ["the scenario has no symbols"]),
    ],
)
def test_validation_names_the_bad_value(changes, fragments):
    scenario = dataclasses.replace(Scenario.small(), **changes)  # built without checks
    with pytest.raises(ValueError) as err:
        scenario.validate()
    message = str(err.value)
    # Building it through the public API refuses it with the same message.
    with pytest.raises(ValueError) as built:
        Scenario.small(**changes)
    assert str(built.value) == message
    for fragment in fragments:
        assert fragment in message
    assert "\n" not in message
    # The simulation validates too: a bad scenario never starts.
    with pytest.raises(ValueError) as again:
        Simulation(scenario)
    assert str(again.value) == message


def test_unknown_fix_lists_the_available_fixes():
    with pytest.raises(ValueError) as err:
        Scenario.small(fixes=("no-such-fix",)).validate()
    for name in AVAILABLE:
        assert name in str(err.value)


def test_unknown_scenario_and_unknown_field():
    with pytest.raises(ValueError, match=r"unknown scenario 'aug2'; available: aug1-2012, small"):
        Scenario.named("aug2")
    with pytest.raises(ValueError, match=r"unknown scenario field\(s\) \['bogus'\]"):
        Scenario.small(bogus=1)


def test_named_scenarios_and_overrides():
    assert Scenario.named("small") == Scenario.small()
    assert Scenario.named("aug1-2012", scale=0.5) == Scenario.aug1_2012(scale=0.5)
    s = Scenario.aug1_2012(seed=7, scale=0.1)
    assert (s.name, s.seed, s.scale) == ("aug1-2012", 7, 0.1)
    assert s.with_(seed=8).seed == 8 and s.seed == 7  # with_ copies


def test_the_default_scenarios_are_valid():
    Scenario.small().validate()
    Scenario.aug1_2012().validate()


def test_aug1_is_built_from_the_calibration_table():
    """The structure comes from data/: not a calibrated value asserted, but its source."""
    calibration = load_calibration()
    s = Scenario.aug1_2012()
    assert s.seed == int(calibration["seed"])
    assert s.peg_lot == int(calibration["peg_lot"])
    assert s.liquidity.impact_coef == calibration["impact_coef"]
    assert len(s.symbols) == int(calibration["symbols"])
    assert s.servers == 8 and s.stale_servers == (8,)


def test_times_are_parsed_to_ns():
    s = Scenario.small(halt_at="09:33:30")
    assert s.t("halt_at") == (9 * 3600 + 33 * 60 + 30) * 10**9
    assert Scenario.small().t("halt_at") is None


def test_derived_random_streams_are_stable_and_independent():
    a = [derive_rng(1, "parents").random() for _ in range(3)]
    assert a == [derive_rng(1, "parents").random() for _ in range(3)]
    assert derive_rng(1, "parents").random() != derive_rng(1, "others").random()
    assert derive_rng(1, "parents").random() != derive_rng(2, "parents").random()


def test_generated_parents_arrive_through_the_morning(aug1):
    """Retail parents arrive from 08:00 to 10:15 (¶27); those before the open are for the
    auction (¶21); pre-market orders (not retail) all arrive before the open (¶19 n.6)."""
    result = aug1
    scenario = result.scenario
    retail = [p for p in result.parents if p.retail]
    symbols = scenario.symbols
    open_ns = 9.5 * 3600 * 10**9
    assert min(p.received for p in retail) < open_ns < max(p.received for p in retail)
    assert max(p.received for p in retail) < scenario.t("window_end")
    for p in retail:
        assert p.for_open == (p.received < open_ns)
        assert p.side == symbols[p.symbol].knight_side
    premarket = [p for p in result.parents if not p.retail]
    assert premarket and all(p.received < open_ns and not p.for_open for p in premarket)
    assert 0.9 * 212 <= result.summary.parent_orders <= 1.1 * 212


# Validation gaps found by the unit tests and fixed in scenario.py.


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"parent_qty": ()}, "parent-qty"),
        ({"parent_qty": (0,)}, "parent-qty"),
        ({"premarket_orders": 1.5}, "premarket-orders 1.5"),
    ],
)
def test_bad_values_raise_valueerror_naming_them(changes, fragment):
    with pytest.raises(ValueError, match=fragment):
        Scenario.small(**changes)


def test_with_validates_as_its_docstring_says():
    with pytest.raises(ValueError, match="scale 0"):
        Scenario.small().with_(scale=0)


# ------------------------------------------------------------------ issue 16: API holes
# Each of the issue's reproductions: refused at once, in one line naming the field and
# what is allowed (before: a hang, a deep error, a silently wrong result, or a message
# that did not help).
_LIQ = Scenario.small().liquidity
_SYM = Scenario.small().symbols


@pytest.mark.parametrize(
    ("changes", "fragments"),
    [
        ({"operator_step_s": 1e12}, ["operator-step-s 1000000000000.0", "allowed"]),
        ({"sample_s": 1e-9}, ["sample-s 1e-09", "allowed: a finite number, 1 <= sample-s"]),
        ({"peg_interval_ms": 1e-6}, ["peg-interval-ms 1e-06", "10 <= peg-interval-ms"]),
        ({"operator_step_s": math.inf}, ["operator-step-s inf is not a finite number"]),
        ({"sample_s": math.inf}, ["sample-s inf is not a finite number"]),
        ({"peg_interval_ms": math.inf}, ["peg-interval-ms inf is not a finite number"]),
        ({"others_interval_s": math.inf}, ["others-interval-s inf is not a finite number"]),
        (
            {"liquidity": dataclasses.replace(_LIQ, refresh_s=math.inf)},
            ["refresh-s inf is not a finite number"],
        ),
        (
            {"liquidity": dataclasses.replace(_LIQ, half_life_s=math.inf)},
            ["impact-half-life-s inf is not a finite number"],
        ),
        ({"peg_lot": 10**30}, ["peg-lot 1000000000000000000000000000000 is out of range"]),
        (
            {"symbols": (dataclasses.replace(_SYM[0], open_cents=0), _SYM[1])},
            ["symbols[0] open-cents 0 must be positive", "1 <= open-cents"],
        ),
        ({"basket_discount_bps": math.nan}, ["basket-discount-bps nan is not a finite number"]),
        (
            {"liquidity": dataclasses.replace(_LIQ, impact_coef=-5.0)},
            ["impact-coef -5.0 is out of range", "0 <= impact-coef <= 10"],
        ),
        ({"fixes": "dead-code"}, ["fixes 'dead-code' is not allowed; give a tuple of fix names"]),
        ({"stale_servers": 3}, ["stale-servers 3 is not allowed; give a tuple of server numbers"]),
        ({"stale_servers": (3, 3)}, ["stale-servers: 3 given twice"]),
        ({"scale": 1e-9}, ["scale 1e-09 is too coarse", "scale >= 0.001"]),
        ({"scale": 5e-324}, ["scale 5e-324 is too coarse"]),
        ({"servers": 1_000_000}, ["servers 1000000 is too many; allowed: 1 to 64"]),
    ],
    ids=lambda x: str(x)[:60],
)
def test_issue_16_api_holes_are_refused(changes, fragments):
    scenario = dataclasses.replace(Scenario.small(), **changes)
    with pytest.raises(ValueError) as err:
        scenario.validate()
    message = str(err.value)
    for fragment in fragments:
        assert fragment in message, message
    assert "\n" not in message
    with pytest.raises(ValueError):
        Simulation(scenario)


def test_set_flag_takes_only_a_bool():
    """``set_flag(name, 'false')`` used to turn the flag on (``bool('false')`` is True)."""
    sim = Simulation(Scenario.small())
    sim.advance_to("09:31")
    for value in ("false", "False", 0, 1, None, "off"):
        with pytest.raises(ValueError, match=r"set_flag value .* give True \(on\) or False"):
            sim.set_flag(sim.rlp_flag, value)  # type: ignore[arg-type]
    sim.set_flag(sim.rlp_flag, False)
    sim.run()


# ------------------------------------------------------------------ every field validated
# Where each field lives, and a fragment its messages contain (the field, as spelled
# in messages: dashes, or the element of a tuple).
FIELD_NAMES = {
    "name": "name",
    "seed": "seed",
    "scale": "scale",
    "servers": "servers",
    "stale_servers": "stale",
    "symbols": "symbols",
    "parents": "parent",
    "parent_qty": "parent-qty",
    "premarket_orders": "premarket-orders",
    "premarket_start": "premarket-start",
    "premarket_per_min": "premarket-per-min",
    "retail_per_min": "retail-per-min",
    "market_seed": "market-seed",
    "flag": "flag",
    "flag_on_at": "flag-on-at",
    "start_at": "start-at",
    "rollback_at": "rollback-at",
    "stop_all_at": "stop-all-at",
    "operator_step_s": "operator-step-s",
    "halt_at": "halt-at",
    "window_end": "window-end",
    "end_at": "end-at",
    "peg_interval_ms": "peg-interval-ms",
    "peg_lot": "peg-lot",
    "liquidity": "liquidity",
    "others_interval_s": "others-interval-s",
    "basket_discount_bps": "basket-discount-bps",
    "sample_s": "sample-s",
    "fixes": "fix",
    "kill_at": "kill-at",
    "fix_params": "fix-params",
    "liquidity.half_spread_bps": "half-spread-bps",
    "liquidity.step_bps": "step-bps",
    "liquidity.levels": "levels",
    "liquidity.level_shares": "level-shares",
    "liquidity.impact_coef": "impact-coef",
    "liquidity.impact_exponent": "impact-exponent",
    "liquidity.permanent_coef": "permanent-coef",
    "liquidity.half_life_s": "impact-half-life-s",
    "liquidity.refresh_s": "refresh-s",
    "symbols.ticker": "ticker",
    "symbols.synthetic": "synthetic",
    "symbols.open_cents": "open-cents",
    "symbols.depth_shares": "depth-shares",
    "symbols.others_shares_per_s": "others-shares-per-s",
    "symbols.knight_parents": "knight-parents",
    "symbols.knight_side": "knight-side",
    "symbols.source": "source",
    "parents.symbol": "parent symbol",
    "parents.side": "side",
    "parents.qty": "qty",
    "parents.received": "parent received",
}
#: Words that say what is allowed.
_ALLOWED = ("allowed", "give ", "use ", "must be", "e.g.", "expected ", "hours 0-23", "add ")
#: Every field starts from a small replay at scale 0.01, so an accepted value replays fast.
_BASE = Scenario.small(scale=0.01)


def _with(path: str, value: object) -> Scenario:
    """``_BASE`` with one field, maybe nested, set without validation."""
    if "." not in path:
        return dataclasses.replace(_BASE, **{path: value})
    outer, inner = path.split(".")
    if outer == "liquidity":
        return dataclasses.replace(
            _BASE, liquidity=dataclasses.replace(_BASE.liquidity, **{inner: value})
        )
    items = getattr(_BASE, outer)
    return dataclasses.replace(
        _BASE, **{outer: (dataclasses.replace(items[0], **{inner: value}), *items[1:])}
    )


def test_the_field_table_covers_every_field():
    from smars_sim.core.liquidity import LiquidityParams
    from smars_sim.core.scenario import ParentSpec, SymbolSpec

    expected = {f.name for f in dataclasses.fields(Scenario)}
    expected |= {f"liquidity.{f.name}" for f in dataclasses.fields(LiquidityParams)}
    expected |= {f"symbols.{f.name}" for f in dataclasses.fields(SymbolSpec)}
    expected |= {f"parents.{f.name}" for f in dataclasses.fields(ParentSpec)}
    assert set(FIELD_NAMES) == expected


def _nasty():
    from hypothesis import strategies as st

    return st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([0, -1, 1, 2, 7, 64, 65, 10**6, 10**30, -(10**30), 2**63, 0.5, 1e-9]),
        st.integers(min_value=-(10**12), max_value=10**14),
        st.booleans(),
        st.none(),
        st.text(max_size=6),
        st.sampled_from(["09:40", "08:00", "16:00", "25:00", "dead-code", "", "x" * 80, "\n"]),
        st.tuples(st.integers(min_value=-3, max_value=70)),
        st.lists(st.integers(min_value=0, max_value=5), max_size=3).map(tuple),
        st.just(()),
        st.just([3]),
        st.just({"kill-switch": 1}),
    )


def test_every_field_is_validated_and_named():
    """Hypothesis: one field at a time gets an arbitrary value. Either the scenario is
    refused with one line naming the field and what is allowed, or it replays (fast, as
    the bounds promise) to finite figures. Never any other exception, never a hang."""
    import time

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from smars_sim import replay

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(path=st.sampled_from(sorted(FIELD_NAMES)), value=_nasty())
    def check(path: str, value: object) -> None:
        scenario = _with(path, value)
        try:
            scenario.validate()
        except ValueError as err:
            message = str(err)
            assert "\n" not in message
            assert FIELD_NAMES[path] in message, (path, value, message)
            assert any(word in message for word in _ALLOWED), (path, value, message)
            return
        started = time.perf_counter()
        summary = replay(scenario).summary
        assert time.perf_counter() - started < 60, (path, value)
        for figure in (summary.loss_usd, summary.long_usd, summary.short_usd):
            assert math.isfinite(figure), (path, value, summary)

    check()


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        ("name", ""),
        ("seed", 2**64),
        ("scale", math.nan),
        ("servers", 65),
        ("stale_servers", 3),
        ("symbols", [1]),
        ("parents", 5),
        ("parent_qty", (10**10,)),
        ("premarket_orders", 10**6),
        ("premarket_start", None),
        ("premarket_per_min", -1.0),
        ("retail_per_min", math.inf),
        ("market_seed", 1.5),
        ("flag", ""),
        ("flag_on_at", "07:00"),
        ("start_at", "10:00"),
        ("rollback_at", 3.5),
        ("stop_all_at", "25:00"),
        ("operator_step_s", 0.0),
        ("halt_at", True),
        ("window_end", None),
        ("end_at", "09:31"),
        ("peg_interval_ms", math.inf),
        ("peg_lot", 1.5),
        ("liquidity", None),
        ("others_interval_s", 1e-9),
        ("basket_discount_bps", -1.0),
        ("sample_s", math.nan),
        ("fixes", "dead-code"),
        ("kill_at", "16:00"),
        ("fix_params", {"kill-switch": 1}),
        ("liquidity.half_spread_bps", -1.0),
        ("liquidity.step_bps", math.nan),
        ("liquidity.levels", 0),
        ("liquidity.level_shares", 0.5),
        ("liquidity.impact_coef", -5.0),
        ("liquidity.impact_exponent", 0.0),
        ("liquidity.permanent_coef", math.inf),
        ("liquidity.half_life_s", 1e-9),
        ("liquidity.refresh_s", 1e-9),
        ("symbols.ticker", ""),
        ("symbols.synthetic", "yes"),
        ("symbols.open_cents", 0),
        ("symbols.depth_shares", math.nan),
        ("symbols.others_shares_per_s", -1.0),
        ("symbols.knight_parents", 10**6),
        ("symbols.knight_side", 0),
        ("symbols.source", None),
        ("parents.symbol", 9),
        ("parents.side", 2),
        ("parents.qty", 0),
        ("parents.received", "07:00"),
    ],
)
def test_each_field_refuses_a_bad_value(path, bad):
    with pytest.raises(ValueError) as err:
        _with(path, bad).validate()
    message = str(err.value)
    assert FIELD_NAMES[path] in message and any(w in message for w in _ALLOWED), message
