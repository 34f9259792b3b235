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


def test_generated_parents_arrive_before_the_open_for_the_auction(aug1):
    result = aug1
    retail = [p for p in result.parents if p.retail]
    symbols = Scenario.aug1_2012().symbols
    assert len(retail) == sum(spec.knight_parents for spec in symbols)
    for p in retail:
        assert p.for_open and p.received < 9.5 * 3600 * 10**9
        assert p.side == symbols[p.symbol].knight_side
    assert len(result.parents) - len(retail) == Scenario.aug1_2012().premarket_orders


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
