"""The morning's e-mail: the replay's automated BNET rejects among ordinary traffic.

Notebook 03 slides through this inbox (:class:`smars_sim.ui.detect_panels.Inbox`) and
notebook 04 counts the e-mails per minute over the P&L
(:func:`smars_sim.viz.day_charts.loss_and_alerts`). Only the BNET rejects come from
the replay; the ordinary messages are invented by the kit from a fixed seed.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..core.clock import OPEN_NS, SECOND_NS, format_time, parse_time
from .series import clock

if TYPE_CHECKING:
    from ..core.result import Result

__all__ = [
    "INBOX_START",
    "ORDINARY_PER_MINUTE",
    "emails_per_minute",
    "inbox",
    "inbox_volume_data",
    "slot_counts",
]

#: When the shared mailbox starts in the course (the first BNET reject came at 08:01).
INBOX_START = "08:00"


def slot_counts(slots: np.ndarray, n: int) -> np.ndarray:
    """How many of ``slots`` fall in each slot ``0..`` (at least ``n`` slots), as int64.

    ``np.bincount`` is not used: it refuses int64 input on 32-bit builds (Pyodide's
    wasm32), where the slots computed from ns timestamps are int64.
    """
    values = np.asarray(slots, dtype=np.int64)
    if len(values) and int(values.min()) < 0:
        raise ValueError("slot_counts: slots must be non-negative")
    size = max(n, int(values.max()) + 1 if len(values) else 0)
    counts = pd.Series(values).value_counts(sort=False)
    return counts.reindex(range(size), fill_value=0).to_numpy(dtype=np.int64)


_ORDINARY_SUBJECTS = (
    ("ops-desk", "Pre-market indications"),
    ("risk-reports", "Overnight positions report"),
    ("market-data", "Feed status: all lines up"),
    ("client-services", "Client asks about order status"),
    ("compliance", "Reminder: attestation due Friday"),
    ("release-mgmt", "RLP go-live today: checklist"),
    ("it-helpdesk", "Ticket updated"),
    ("trading-floor", "Morning meeting notes"),
    ("settlements", "Fails report"),
    ("facilities", "Fire drill next week"),
    ("market-data", "Corporate actions for today"),
    ("ops-desk", "Opening auction imbalances"),
    ("hr", "Benefits enrolment"),
    ("client-services", "New account onboarding"),
    ("risk-reports", "Limit utilisation summary"),
)
#: Ordinary messages per minute in the invented inbox (a kit choice, not a historical figure).
ORDINARY_PER_MINUTE = 5


def inbox(result: Result, per_minute: int = ORDINARY_PER_MINUTE) -> pd.DataFrame:
    """The morning's e-mail: the replay's BNET rejects among invented ordinary traffic.

    The ordinary messages are made up by this kit (``per_minute`` on average,
    08:00-09:30, from a fixed seed); only the BNET rejects come from the replay.

    Returns:
        Columns ``time_ns``, ``time``, ``sender``, ``subject``, ``kind``, sorted by time.
    """
    rng = random.Random(f"inbox:{result.scenario.seed}")
    start, end = parse_time("08:00"), OPEN_NS
    n = per_minute * (end - start) // (60 * SECOND_NS)
    rows = []
    for _ in range(n):
        t = start + int(rng.random() * (end - start))
        sender, subject = rng.choice(_ORDINARY_SUBJECTS)
        rows.append((t, sender, subject, "other e-mail"))
    for t, server, _parent, symbol, text in result.emails:
        if t < end:
            rows.append(
                (t, f"smars-server-{server}", f"{text} ({result.symbols[symbol]})", "BNET reject")
            )
    frame = pd.DataFrame(rows, columns=["time_ns", "sender", "subject", "kind"])
    frame = frame.sort_values(["time_ns", "sender"], kind="stable").reset_index(drop=True)
    frame.insert(1, "time", [format_time(t) for t in frame["time_ns"]])
    return frame


def inbox_volume_data(mail: pd.DataFrame, bin_minutes: int = 5) -> pd.DataFrame:
    """E-mails per ``bin_minutes`` by kind (every bin, both kinds)."""
    width = bin_minutes * 60 * SECOND_NS
    start = parse_time("08:00")
    slots = (mail["time_ns"] - start) // width
    n = int(slots.max()) + 1 if len(slots) else 1
    rows = []
    for kind in ("other e-mail", "BNET reject"):
        counts = slot_counts(slots[mail["kind"] == kind].to_numpy(), n)
        for i, count in enumerate(counts):
            rows.append(
                {
                    "time": clock(start + i * width),
                    "end": clock(start + (i + 1) * width),
                    "kind": kind,
                    "count": int(count),
                }
            )
    return pd.DataFrame(rows)


def emails_per_minute(result: Result, start: str | int = INBOX_START) -> pd.DataFrame:
    """The replay's automated e-mails per minute, from ``start`` to the window end.

    Returns:
        Columns ``time`` and ``end`` (the minute) and ``emails``; every minute, and
        any later minute that still had an e-mail.
    """
    minute = 60 * SECOND_NS
    t0 = parse_time(start)
    end = parse_time(result.scenario.window_end)
    times = np.array([e[0] for e in result.emails], dtype=np.int64)
    counts = slot_counts((times - t0) // minute, (end - t0) // minute + 1)
    return pd.DataFrame(
        {
            "time": clock(t0 + np.arange(len(counts), dtype=np.int64) * minute),
            "end": clock(t0 + np.arange(1, len(counts) + 1, dtype=np.int64) * minute),
            "emails": counts,
        }
    )
