"""Simulated time: parse and format round trips, and bad input named in the error."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smars_sim import format_time, parse_time
from smars_sim.core.clock import CLOSE_NS, HOUR_NS, MINUTE_NS, MS_NS, OPEN_NS, SECOND_NS

DAY_NS = 24 * HOUR_NS


def test_constants():
    assert parse_time("09:30") == OPEN_NS == 34_200 * SECOND_NS
    assert parse_time("16:00") == CLOSE_NS
    assert MINUTE_NS == 60 * SECOND_NS and MS_NS * 1000 == SECOND_NS


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("00:00", 0),
        ("9:30", OPEN_NS),
        (" 09:30 ", OPEN_NS),
        ("09:30:01", OPEN_NS + SECOND_NS),
        ("09:30:01.5", OPEN_NS + SECOND_NS + 500 * MS_NS),
        ("09:30:01.250", OPEN_NS + SECOND_NS + 250 * MS_NS),
        ("09:30:00.000000001", OPEN_NS + 1),
        ("23:59:59.999999999", DAY_NS - 1),
        (OPEN_NS, OPEN_NS),
        (0, 0),
    ],
)
def test_parse(text, ns):
    assert parse_time(text) == ns


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=DAY_NS - 1))
def test_format_then_parse_round_trips(ns):
    # Seconds resolution and millisecond resolution both come back exactly (truncated).
    assert parse_time(format_time(ns)) == ns - ns % SECOND_NS
    assert parse_time(format_time(ns, ms=True)) == ns - ns % MS_NS
    assert re.fullmatch(r"\d\d:\d\d:\d\d", format_time(ns))
    assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3}", format_time(ns, ms=True))


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 23), st.integers(0, 59), st.integers(0, 59), st.integers(0, 999), st.booleans()
)
def test_parse_then_format_round_trips(h, m, s, ms, with_ms):
    text = f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}" if with_ms else f"{h:02d}:{m:02d}:{s:02d}"
    assert format_time(parse_time(text), ms=with_ms) == text


@pytest.mark.parametrize(
    "bad",
    [
        "25:00",
        "24:00",
        "12:60",
        "12:00:60",
        "9h30",
        "930",
        "",
        "noon",
        "12:00:00.1234567891",  # ten fractional digits
        "-1:00",
        "12:5",
        "1.5",
    ],
)
def test_bad_text_raises_naming_the_value(bad):
    with pytest.raises(ValueError) as err:
        parse_time(bad, what="--halt-at")
    message = str(err.value)
    assert "--halt-at" in message
    assert repr(bad) in message
    assert "\n" not in message


@pytest.mark.parametrize("bad", [-1, DAY_NS, DAY_NS + 5, True, False])
def test_bad_numbers_raise_naming_the_value(bad):
    with pytest.raises(ValueError) as err:
        parse_time(bad, what="start")
    assert "start" in str(err.value) and repr(bad) in str(err.value)


def test_default_name_is_time():
    with pytest.raises(ValueError, match=r"^time '7pm'"):
        parse_time("7pm")
