"""Simulated time: integer nanoseconds since midnight (US Eastern, 1 August 2012).

Integers keep the replay exact and byte-identical across processes; floats would
make event order depend on rounding. Helpers convert to and from the
"09:30:00.000" notation that people read.
"""

from __future__ import annotations

import re

__all__ = [
    "CLOSE_NS",
    "MINUTE_NS",
    "MS_NS",
    "OPEN_NS",
    "SECOND_NS",
    "format_time",
    "parse_time",
]

SECOND_NS = 1_000_000_000
MS_NS = 1_000_000
MINUTE_NS = 60 * SECOND_NS
HOUR_NS = 60 * MINUTE_NS

#: 09:30:00, the regular-session open (NYSE).
OPEN_NS = 9 * HOUR_NS + 30 * MINUTE_NS
#: 16:00:00, the regular-session close.
CLOSE_NS = 16 * HOUR_NS

_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$")


def parse_time(text: str | int, *, what: str = "time") -> int:
    """Parse ``HH:MM``, ``HH:MM:SS`` or ``HH:MM:SS.fff`` into nanoseconds since midnight.

    An ``int`` is taken as nanoseconds already.

    Args:
        text: The clock time, e.g. ``"09:30"`` or ``"10:15:00.250"``.
        what: A name for the value, used in the error message.

    Returns:
        Nanoseconds since midnight.

    Raises:
        ValueError: If the text is not a valid clock time.
    """
    if isinstance(text, bool):
        raise ValueError(f"{what} {text!r} is not a clock time; expected HH:MM[:SS[.fff]]")
    if isinstance(text, int):
        if not 0 <= text < 24 * HOUR_NS:
            raise ValueError(f"{what} {text!r} ns is outside the day; allowed: 0 to 24:00 in ns")
        return text
    match = _TIME.match(str(text).strip())
    if not match:
        raise ValueError(f"{what} {text!r} is not a clock time; expected HH:MM[:SS[.fff]]")
    hours, minutes = int(match[1]), int(match[2])
    seconds = int(match[3] or 0)
    fraction = (match[4] or "").ljust(9, "0")
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError(
            f"{what} {text!r} is not a clock time; hours 0-23, minutes and seconds 0-59"
        )
    return hours * HOUR_NS + minutes * MINUTE_NS + seconds * SECOND_NS + int(fraction or 0)


def format_time(ns: int, *, ms: bool = False) -> str:
    """Format nanoseconds since midnight as ``HH:MM:SS`` (or ``HH:MM:SS.fff``).

    Args:
        ns: Nanoseconds since midnight.
        ms: Include milliseconds.

    Returns:
        The clock time as text.
    """
    total_ms, _ = divmod(int(ns), MS_NS)
    total_s, millis = divmod(total_ms, 1000)
    minutes, seconds = divmod(total_s, 60)
    hours, minutes = divmod(minutes, 60)
    text = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    return f"{text}.{millis:03d}" if ms else text
