"""The one place figures become text: dollars, clock times, server lists, rates.

Every view (the CLI, the fidelity report, the console, the charts' captions, the
panels) formats through these functions, so the same figure reads the same
everywhere. Standard library only: the core and the browser edition use it too.
"""

from __future__ import annotations

from collections.abc import Sequence

from .clock import format_time

__all__ = ["hhmm", "rate", "server_list", "usd", "usd_report"]

_UNITS = ((1e9, "B"), (1e6, "M"), (1e3, "k"))


def usd(value: float, digits: int = 1, *, smallest: str = "", minus: str = "-") -> str:
    """Dollars for prose: ``$762.7M``, ``$4.9B``, ``$12.5k``, ``-$3.0M``, ``$950``.

    Args:
        value: Dollars.
        digits: Decimal places of the B, M and k forms.
        smallest: The smallest unit to use (``"M"``: never ``k`` or bare dollars, so a
            column of figures reads in one unit); empty means any.
        minus: The sign of a negative amount (the console uses the true minus ``−``).
    """
    sign = minus if value < 0 else ""
    amount = abs(float(value))
    for size, suffix in _UNITS:
        if round(amount / size, digits) >= 1 or suffix == smallest:
            return f"{sign}${amount / size:,.{digits}f}{suffix}"
    return f"{sign}${amount:,.0f}"


def usd_report(value: float) -> str:
    """Dollars in a report's column: ``$3.62B`` for billions, else ``$471.0M``."""
    return usd(value, 2) if abs(value) >= 1e9 else usd(value, 1, smallest="M")


def hhmm(ns: int, seconds: bool = False) -> str:
    """``HH:MM`` (or ``HH:MM:SS``) for ns since midnight."""
    text = format_time(ns)
    return text if seconds else text[:5]


def server_list(servers: Sequence[int]) -> str:
    """Servers as prose: ``no server``, ``server 8``, ``servers 3 and 5``, ``servers 1-8``.

    A run of three or more consecutive servers is written as a range; otherwise
    every server is named, so "servers 3 and 5" never reads as "servers 3-5".
    """
    ids = sorted(set(servers))
    if not ids:
        return "no server"
    if len(ids) == 1:
        return f"server {ids[0]}"
    if len(ids) > 2 and ids == list(range(ids[0], ids[-1] + 1)):
        return f"servers {ids[0]}-{ids[-1]}"
    return "servers " + ", ".join(map(str, ids[:-1])) + f" and {ids[-1]}"


def rate(per_second: float, what: str = "orders") -> str:
    """A full-size rate, labelled: ``520 orders/s`` (never a replay-scale figure)."""
    return f"{per_second:,.0f} {what}/s"
