"""The one place figures become text: dollars, clock times, server lists, rates.

Every view (the CLI, the fidelity report, the console, the charts' captions, the
panels) formats through these functions, so the same figure reads the same
everywhere. Standard library only: the core and the browser edition use it too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .clock import format_time

__all__ = ["hhmm", "price", "rate", "server_list", "usd", "usd_record", "usd_report"]

_UNITS = ((1e9, "B"), (1e6, "M"), (1e3, "k"))


def usd(
    value: float,
    digits: int | Mapping[str, int] = 1,
    *,
    units: str = "BMk",
    smallest: str = "",
    minus: str = "-",
    trim: bool = False,
) -> str:
    """Dollars for prose: ``$762.7M``, ``$4.9B``, ``$12.5k``, ``-$3.0M``, ``$950``.

    Args:
        value: Dollars.
        digits: Decimal places of the B, M and k forms: one for all, or per unit
            (``{"B": 2, "M": 1}``).
        units: The units that may be used, largest first; below the smallest of them
            an amount is written in whole dollars (``$12,345``).
        smallest: Never go below this unit (``"M"``: ``$0.3M``, so a column of figures
            reads in one unit); empty means down to whole dollars.
        minus: The sign of a negative amount (the console uses the true minus ``−``).
        trim: Drop trailing zeros (``$3.5B``, ``$460M``), as the record's figures read;
            whole dollars then show cents only when there are any.
    """
    sign = minus if value < 0 else ""
    amount = abs(float(value))
    for size, suffix in _UNITS:
        if suffix not in units:
            continue
        places = digits if isinstance(digits, int) else digits.get(suffix, 1)
        if round(amount / size, places) >= 1 or suffix == smallest:
            text = f"{amount / size:,.{places}f}"
            if trim and "." in text:
                text = text.rstrip("0").rstrip(".")
            return f"{sign}${text}{suffix}"
    if trim and not amount.is_integer():
        return f"{sign}${amount:,.2f}"
    return f"{sign}${amount:,.0f}"


def usd_report(value: float, *, minus: str = "-") -> str:
    """Dollars in a report's column or on a dashboard: ``$3.62B`` for billions, ``$471.0M``
    for millions, whole dollars below (``$950``)."""
    return usd(value, {"B": 2, "M": 1}, units="BM", minus=minus)


def usd_record(value: float) -> str:
    """A record figure as the record writes it: ``$3.5B``, ``$3.15B``, ``$460M``, ``$2,000,000``."""
    return usd(value, 3, units="BM", trim=True)


def price(dollars: float) -> str:
    """A share price, to the cent: ``$14.34``, ``$1,234.50``."""
    return f"${dollars:,.2f}"


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
