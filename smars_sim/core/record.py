"""Load the historical-record tables: the sourced figures, timeline and named tickers.

The tables are CSV files in the repository's ``data/`` folder; an installed wheel carries
them as the package resource ``smars_sim/_data``. Every row names its source and has a
``status`` (see ``data/README.md``). Only ``confirmed`` and ``derived`` rows may be shown
to learners as fact; :func:`is_fact` encodes that rule.

This module uses only the standard library so that it also runs under Pyodide.

Example:
    >>> from smars_sim.core.record import figure
    >>> figure("executions_min").cite()
    'over 4,000,000 (SEC ¶1, ¶17)'
"""

from __future__ import annotations

import csv
import difflib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from .fmt import usd_record

__all__ = [
    "FACT_STATUSES",
    "STATUSES",
    "Figure",
    "data_dir",
    "figure",
    "figures",
    "is_fact",
    "load_table",
    "named_tickers",
    "timeline",
]

#: Every value the ``status`` column may take.
STATUSES = frozenset({"confirmed", "derived", "secondary", "unconfirmed"})
#: The statuses that may be presented to learners as fact.
FACT_STATUSES = frozenset({"confirmed", "derived"})

#: Numeric columns of ``named_tickers.csv``.
TICKER_NUMERIC_COLUMNS = (
    "prev_close_usd",
    "open_usd",
    "peak_usd",
    "low_usd",
    "bust_threshold_usd",
)

_INT_RE = re.compile(r"-?\d+")
_FLOAT_RE = re.compile(r"-?\d+\.\d+")
_TIME_RE = re.compile(r"\d{2}:\d{2}")


def _package_data_dir() -> Path | None:
    """Return ``smars_sim/_data`` from the installed package, or None if absent."""
    try:
        candidate = resources.files("smars_sim") / "_data"
    except (ModuleNotFoundError, TypeError, ValueError):
        return None
    try:
        if not candidate.is_dir():
            return None
    except OSError:
        return None
    path = Path(str(candidate))
    return path if path.is_dir() else None


def _repo_data_dir() -> Path:
    """Return the repository's ``data/`` folder (it may not exist)."""
    return Path(__file__).resolve().parents[2] / "data"


def data_dir() -> Path:
    """Return the folder that holds the record CSV files.

    The package resource ``smars_sim/_data`` (where the wheel carries the data) is used
    if it is a directory; otherwise the repository's ``data/`` folder.

    Returns:
        The data folder.

    Raises:
        FileNotFoundError: If neither location is a directory.
    """
    packaged = _package_data_dir()
    if packaged is not None:
        return packaged
    repo = _repo_data_dir()
    if repo.is_dir():
        return repo
    raise FileNotFoundError(
        "record data folder not found: looked for the package resource smars_sim/_data "
        f"and for the repository folder {repo}"
    )


def _table_names(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.csv") if p.is_file())


def load_table(name: str) -> list[dict[str, str]]:
    """Read one CSV table from the data folder.

    Args:
        name: The table name without the ``.csv`` extension, e.g. ``"timeline"``.

    Returns:
        One dict per row, mapping column name to the raw cell text.

    Raises:
        ValueError: If there is no table of that name; the message lists the tables.
    """
    folder = data_dir()
    available = _table_names(folder)
    if name not in available:
        raise ValueError(f"unknown table {name!r}; available tables: {', '.join(available)}")
    with (folder / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
        return [dict(row) for row in csv.DictReader(fh)]


def _parse_value(text: str) -> int | float | str:
    """Parse a ``value`` cell: integers as int, decimals as float, ``HH:MM`` kept as str."""
    text = text.strip()
    if _INT_RE.fullmatch(text):
        return int(text)
    if _FLOAT_RE.fullmatch(text):
        return float(text)
    if _TIME_RE.fullmatch(text):
        return text
    raise ValueError(f"value {text!r} is neither a plain number nor a HH:MM time")


def _trim(number: float, places: int) -> str:
    return f"{number:.{places}f}".rstrip("0").rstrip(".")


def _format_number(value: float) -> str:
    return f"{value:,}"


_UNIT_SUFFIX = {
    "count": "",
    "count_per_s": " per second",
    "shares": " shares",
    "shares_per_min": " shares per minute",
    "minutes": " minutes",
}


@dataclass(frozen=True, slots=True)
class Figure:
    """One sourced figure from ``data/record_figures.csv``.

    Attributes:
        key: Stable snake_case identifier, e.g. ``"parent_orders"``.
        value: int or float for numbers; ``"HH:MM"`` str for times (US Eastern).
        unit: ``count``, ``usd``, ``shares``, ``minutes``, ``pct``, ``time_et``, ``year``,
            or a rate such as ``usd_per_min``.
        qualifier: How the source words it: ``exact``, ``over``, ``approximately``, ...
        label: Short human label for tables.
        status: ``confirmed``, ``derived``, ``secondary`` or ``unconfirmed``.
        source: Source key(s) from the record, e.g. ``"[SEC] ¶1, ¶17"``.
        source_url: URL(s) for the source, separated by ``" ; "`` when several.
        quote: Short quote fragment from the record, or ``""``.
    """

    key: str
    value: int | float | str
    unit: str
    qualifier: str
    label: str
    status: str
    source: str
    source_url: str
    quote: str

    def formatted_value(self) -> str:
        """Return the value with its unit, e.g. ``"$3.5B"``, ``"4,000,000"``, ``"9.5%"``.

        Returns:
            The value formatted for prose.
        """
        value = self.value
        if isinstance(value, str):
            return f"{value} ET" if self.unit == "time_et" else value
        if self.unit == "usd":
            return usd_record(value)
        if self.unit == "usd_per_min":
            return usd_record(value) + " per minute"
        if self.unit == "usd_per_s":
            return usd_record(value) + " per second"
        if self.unit == "pct":
            return f"{value}%"
        if self.unit == "year":
            return str(value)
        return _format_number(value) + _UNIT_SUFFIX.get(self.unit, f" {self.unit}")

    def cite(self) -> str:
        """Return the figure as citable text, e.g. ``"over 4,000,000 (SEC ¶1, ¶17)"``.

        The qualifier is omitted when it is ``exact``. A figure that is not fact
        (see :func:`is_fact`) carries its status inside the brackets.

        Returns:
            Qualifier, formatted value and source in brackets.
        """
        qualifier = "" if self.qualifier in ("", "exact") else f"{self.qualifier} "
        source = self.source.replace("[", "").replace("]", "")
        if not is_fact(self):
            source = f"{source}; {self.status}"
        return f"{qualifier}{self.formatted_value()} ({source})"


def is_fact(fig: Figure) -> bool:
    """Say whether a figure may be presented to learners as fact.

    Args:
        fig: The figure.

    Returns:
        True only for status ``confirmed`` or ``derived``.
    """
    return fig.status in FACT_STATUSES


@cache
def figures() -> dict[str, Figure]:
    """Return every figure of ``record_figures.csv`` by key (read once, then cached).

    Returns:
        A dict from key to :class:`Figure`, in file order.
    """
    result: dict[str, Figure] = {}
    for row in load_table("record_figures"):
        result[row["key"]] = Figure(
            key=row["key"],
            value=_parse_value(row["value"]),
            unit=row["unit"],
            qualifier=row["qualifier"],
            label=row["label"],
            status=row["status"],
            source=row["source"],
            source_url=row["source_url"],
            quote=row["quote"],
        )
    return result


def figure(key: str) -> Figure:
    """Return one figure by key.

    Args:
        key: The figure's key, e.g. ``"parent_orders"``.

    Returns:
        The figure.

    Raises:
        ValueError: If the key is unknown; the message suggests close matches.
    """
    table = figures()
    try:
        return table[key]
    except KeyError:
        close = difflib.get_close_matches(key, list(table), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"unknown figure key {key!r}{hint}") from None


def timeline() -> list[dict[str, str | None]]:
    """Return the timeline rows in file order.

    Returns:
        One dict per row; an empty ``time_et`` becomes None, other cells stay text.
    """
    rows: list[dict[str, str | None]] = []
    for row in load_table("timeline"):
        parsed: dict[str, str | None] = dict(row)
        parsed["time_et"] = row["time_et"] or None
        rows.append(parsed)
    return rows


def named_tickers() -> list[dict[str, str | float | None]]:
    """Return the named-ticker rows in file order.

    Returns:
        One dict per row; the price columns are float, or None when the record gives no
        price. Other cells stay text.
    """
    rows: list[dict[str, str | float | None]] = []
    for row in load_table("named_tickers"):
        parsed: dict[str, str | float | None] = dict(row)
        for column in TICKER_NUMERIC_COLUMNS:
            cell = row[column].strip()
            parsed[column] = float(cell) if cell else None
        rows.append(parsed)
    return rows
