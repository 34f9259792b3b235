"""Forensics for notebook 04 (presentation layer: pandas lives here).

* :func:`full_day_executions` replays 1 August 2012 at full size once and caches the
  execution log as parquet in a per-user cache folder, so the drill re-runs in about
  a second. The cache file is keyed by the scenario and the simulation's source
  code: after any change to either, the old file is never used.
* :func:`metric_series` and :func:`first_fire` evaluate an alert rule on a replay:
  what the metric was every few seconds, and when the rule would have fired.
* :func:`alerts_that_existed` lists what could have warned Knight that morning.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..core.clock import OPEN_NS, SECOND_NS, parse_time
from ..core.fleet import CHILD_FIELDS
from ..core.pnl import locked_in_cents
from ..core.result import Summary
from .execution_log import (
    COMPACT_DTYPES,
    EXECUTION_COLUMNS,
    SHA256_KEY,
    SHARED_CACHE_ENV,
    build_cache,
    cache_dir,
    cache_key,
    cache_paths,
    full_day,
    shared_cache_dir,
    write_table,
)

if TYPE_CHECKING:
    from ..core.result import Result
    from ..core.scenario import Scenario

__all__ = [
    "COMPACT_DTYPES",
    "EXECUTION_COLUMNS",
    "METRICS",
    "SHARED_CACHE_ENV",
    "Metric",
    "alerts_that_existed",
    "build_shared_cache",
    "busy_since",
    "cache_dir",
    "cache_key",
    "compact",
    "executions_per_minute",
    "first_fire",
    "full_day_executions",
    "full_day_summary",
    "metric_series",
    "shared_cache_dir",
]


# --------------------------------------------------------------------------
# The cached full-size execution log (written by analysis.execution_log)
# --------------------------------------------------------------------------
def build_shared_cache(folder: str | Path, scenario: Scenario | None = None) -> Path:
    """Build the full-day log once into ``folder``, for every learner of a class to read.

    A class hub runs this (as ``python -m smars_sim.analysis.execution_log build-cache
    DIR``) before the learners arrive (``docs/jupyterhub.md``): each learner then reads
    the verified file instead of replaying the full day beside their own kernel, which
    is what costs a learner most memory in notebook 04.

    Returns:
        The parquet file written (its ``.json`` meta beside it).
    """
    return build_cache(Path(folder), scenario)


#: Build the cache in a child process (not under Pyodide, which has none). The
#: learner's kernel then never holds the full-size replay's logs: its peak is the
#: table it reads, and the replay's memory is returned when the child exits.
BUILD_IN_CHILD = sys.platform != "emscripten"
#: The builder the kernel runs in its own process when there is no child (Pyodide).
_build = write_table


def _build_elsewhere(scenario: Scenario, table: Path, meta: Path) -> None:
    """Run :func:`~smars_sim.analysis.execution_log.write_table` in a child Python.

    The child imports numpy and pyarrow but not pandas. Raises ``RuntimeError`` if
    it fails.
    """
    if not BUILD_IN_CHILD:
        _build(scenario, table, meta)
        return
    job = pickle.dumps((scenario, str(table), str(meta)))
    done = subprocess.run(
        [sys.executable, "-m", "smars_sim.analysis.execution_log", "build-from-stdin"],
        input=job,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"building the full-day cache failed: {last}")


def compact(frame: pd.DataFrame) -> pd.DataFrame:
    """An executions table with the full-day cache's column types (:data:`COMPACT_DTYPES`)."""
    return frame.astype(COMPACT_DTYPES)


_MEMO: dict[tuple[str, tuple[str, ...] | None], pd.DataFrame] = {}


def _read_verified(
    table: Path, meta: Path, columns: tuple[str, ...] | None = None
) -> pd.DataFrame | None:
    """The cached table (or some of its columns) if its bytes match the meta, else None.

    The whole file's sha256 and the row count are checked, whichever columns are read.
    The file is memory-mapped, hashed and parsed from that one mapping: what is
    checked is what is read, and its pages are the file's own (shared by every
    learner reading the class's copy, and never a private copy in the kernel).
    """
    import pyarrow as pa

    try:
        recorded = json.loads(meta.read_text())
        with pa.memory_map(str(table)) as source:
            data = source.read_buffer()  # the whole file, mapped: no copy
            if hashlib.sha256(data).hexdigest() != recorded[SHA256_KEY]:
                return None
            frame = _parse(data, columns)
            del data
        pa.default_memory_pool().release_unused()  # give the freed buffers back now
        if len(frame) != recorded["executions"]:
            return None
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
        return None
    return frame


def _parse(data: object, columns: tuple[str, ...] | None) -> pd.DataFrame:
    """The parquet file in ``data`` as a DataFrame, one row group of one column at a time.

    Each column's array is allocated once at its full length and filled a row group
    at a time, so the kernel never holds a column twice (a whole-column read, then its
    conversion, peaks at about twice the table).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(pa.BufferReader(data))
    rows = parquet.metadata.num_rows
    schema = parquet.schema_arrow
    read: dict[str, np.ndarray | pd.Categorical] = {}
    for name in columns or schema.names:
        kind = schema.field(name).type
        dictionary: list[str] | None = None
        stored = kind.index_type if pa.types.is_dictionary(kind) else kind
        values = np.empty(rows, dtype=stored.to_pandas_dtype())
        at = 0
        for group in range(parquet.num_row_groups):
            for chunk in parquet.read_row_group(group, columns=[name]).column(0).chunks:
                if pa.types.is_dictionary(kind):
                    words = chunk.dictionary.to_pylist()
                    if dictionary is None:
                        dictionary = words
                    elif words != dictionary:  # every row group is written with one list
                        raise ValueError(f"{name}: row groups disagree on the categories")
                    chunk = chunk.indices
                values[at : at + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
                at += len(chunk)
        if at != rows:
            raise ValueError(f"{name}: {at} values for {rows} rows")
        read[name] = values if dictionary is None else pd.Categorical.from_codes(values, dictionary)
    del parquet
    return pd.DataFrame(read, copy=False)


def full_day_executions(
    scenario: Scenario | None = None,
    *,
    columns: list[str] | tuple[str, ...] | None = None,
    refresh: bool = False,
) -> pd.DataFrame:
    """Every execution of the full-size replay (millions of rows), cached on disk.

    The first call replays the day at scale 1 (tens of seconds) and writes
    ``executions-<key>.parquet`` to :func:`cache_dir`; later calls, in any process,
    read that file (about a second). Within one process the same DataFrame is
    returned again: treat it as read-only.

    Args:
        scenario: What to replay (default: ``Scenario.aug1_2012(scale=1.0)``).
        columns: Read only these columns (default: all). Four million rows of all
            eight columns take about 130 MB; an investigation that needs only a few
            columns reads just those, as one would with any large log.
        refresh: Replay even if a cached file exists.

    Returns:
        Columns ``time_ns``, ``server``, ``child_id``, ``parent_id``, ``symbol``,
        ``side``, ``price_usd``, ``qty`` (see ``smars_sim.analysis.tables.executions``),
        with the narrower integer types of :data:`COMPACT_DTYPES`.

    Raises:
        ValueError: A name in ``columns`` is not a column of the table.
    """
    scenario = scenario or full_day()
    wanted = tuple(columns) if columns is not None else None
    if wanted is not None:
        unknown = [c for c in wanted if c not in EXECUTION_COLUMNS]
        if unknown or not wanted:
            raise ValueError(
                f"columns {list(wanted)!r}: choose one or more of {', '.join(EXECUTION_COLUMNS)}"
            )
    table, meta = cache_paths(scenario)
    key = (table.name, wanted)
    if not refresh and key in _MEMO:
        return _MEMO[key]
    frame = None
    shared = shared_cache_dir()
    if not refresh and shared is not None:  # the class's copy, read-only, verified
        frame = _read_verified(shared / table.name, shared / meta.name, wanted)
    if frame is None and not refresh and table.exists() and meta.exists():
        frame = _read_verified(table, meta, wanted)  # None: damaged or from an older kit
    if frame is None:
        _MEMO.clear()  # a previous table goes before the new one is built
        _build_elsewhere(scenario, table, meta)
        frame = _read_verified(table, meta, wanted)
        if frame is None:
            raise RuntimeError(f"the full-day cache just built at {table} does not verify")
    _MEMO.clear()
    _MEMO[key] = frame
    return frame


def full_day_summary(scenario: Scenario | None = None) -> Summary:
    """The headline figures of the cached full-size replay (builds the cache if needed)."""
    scenario = scenario or full_day()
    _table, meta = cache_paths(scenario)
    shared = shared_cache_dir()
    if shared is not None and (shared / meta.name).exists():
        meta = shared / meta.name
    if not meta.exists():
        full_day_executions(scenario)
    recorded = json.loads(meta.read_text())
    recorded.pop(SHA256_KEY, None)  # the cache's own check, not a figure of the replay
    return Summary.from_dict(recorded)


def executions_per_minute(executions: pd.DataFrame, n_servers: int = 8) -> pd.DataFrame:
    """Executions per minute by server, every server in every minute (for a chart).

    Returns:
        Columns ``time`` and ``end`` (the minute), ``server`` ("server k"), ``server_id``,
        ``executions``.
    """
    from .series import clock

    minute = 60 * SECOND_NS
    t0 = OPEN_NS
    slot = (executions["time_ns"].to_numpy() - t0) // minute
    servers = executions["server"].to_numpy()
    n = int(slot.max()) + 1 if len(slot) else 1
    counts = np.zeros((n, n_servers), dtype=np.int64)
    ok = (slot >= 0) & (servers >= 1) & (servers <= n_servers)
    np.add.at(counts, (slot[ok], servers[ok] - 1), 1)
    starts = t0 + np.arange(n, dtype=np.int64) * minute
    return pd.DataFrame(
        {
            "time": np.repeat(clock(starts).to_numpy(), n_servers),
            "end": np.repeat(clock(starts + minute).to_numpy(), n_servers),
            "server": np.tile([f"server {k}" for k in range(1, n_servers + 1)], n),
            "server_id": np.tile(np.arange(1, n_servers + 1), n),
            "executions": counts.reshape(-1),
        }
    )


def busy_since(per_minute: pd.DataFrame, share: float = 0.25) -> dict[int, int]:
    """When each server got busy: its first minute with ``share`` of its busiest minute.

    Args:
        per_minute: From :func:`executions_per_minute`.
        share: Fraction of the server's own peak that counts as busy.

    Returns:
        Server id -> start of that minute (ns since midnight); servers that never
        executed anything are left out.
    """
    out: dict[int, int] = {}
    times = (per_minute["time"] - pd.Timestamp("2012-08-01")).to_numpy(dtype="timedelta64[ns]")
    ns = times.astype(np.int64)
    for server, rows in per_minute.groupby("server_id", sort=True):
        counts = rows["executions"].to_numpy()
        if not counts.max():
            continue
        first = int(np.argmax(counts >= share * counts.max()))
        out[int(server)] = int(ns[rows.index[first]])
    return out


# --------------------------------------------------------------------------
# Alert rules
# --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Metric:
    """Something an alert rule can watch.

    Attributes:
        key: Identifier.
        label: What it is, with units (the chart's axis title).
        lo: Smallest threshold the slider offers.
        hi: Largest threshold the slider offers.
        default: The slider's starting threshold.
        axis_format: d3 format of the axis labels.
        money: Whether the values are dollars.
        note: One sentence on where the idea comes from.
    """

    key: str
    label: str
    lo: float
    hi: float
    default: float
    axis_format: str = ",.0f"
    money: bool = False
    note: str = ""


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric(
            "shares_out_per_in",
            "Shares sent to the market per share clients ordered (running total)",
            0.1,
            1e4,
            2,
            axis_format=",.2~f",
            note="Compare what leaves SMARS with what entered it: the check the SEC "
            "found missing (SEC ¶21).",
        ),
        Metric(
            "orders_per_s",
            "Child orders per second, whole fleet (full-size equivalent, last 15 s)",
            1,
            1e5,
            100,
            note="A rate limit on what the router sends.",
        ),
        Metric(
            "gross_position_usd",
            "Gross position, long plus short ($, at the last trade)",
            1e5,
            1e10,
            2e6,
            axis_format="$.3~s",
            money=True,
            note="A position limit wired to an automated control (the 33 Account's limit "
            "was not, SEC ¶23).",
        ),
        Metric(
            "loss_usd",
            "Loss locked in so far, at the evening basket price ($)",
            1e4,
            1e9,
            1e6,
            axis_format="$.3~s",
            money=True,
            note="A loss limit watched by a machine rather than by people.",
        ),
        Metric(
            "bnet_emails_10min",
            "BNET reject e-mails in the last 10 minutes",
            1,
            200,
            5,
            note="Treat the pre-open e-mails as an alert (SEC ¶19).",
        ),
    )
}


def _grid(result: Result, start: str | int = "08:00", step_s: int = 5) -> np.ndarray:
    t0 = parse_time(start)
    t1 = parse_time(result.scenario.window_end)
    return np.arange(t0, t1 + 1, step_s * SECOND_NS, dtype=np.int64)


def _locked_in(result: Result, grid: np.ndarray) -> np.ndarray:
    """P&L in dollars at each grid time, valued at the evening basket price (0 before)."""
    points = locked_in_cents(result)  # the one definition (smars_sim.core.pnl)
    times = np.array([t for t, _ in points], dtype=np.int64)
    values = np.array([round(v / 100, 2) for _, v in points], dtype=float)
    slot = np.searchsorted(times, grid, side="right") - 1
    return np.where(slot >= 0, values[np.clip(slot, 0, None)], 0.0)


def metric_series(result: Result, metric: str, step_s: int = 5) -> pd.DataFrame:
    """A metric every ``step_s`` seconds from 08:00 to the end of the window.

    Args:
        result: A replay.
        metric: A key of :data:`METRICS`.
        step_s: Grid step in seconds.

    Returns:
        Columns ``time_ns``, ``value``.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")
    grid = _grid(result, step_s=step_s)
    width = len(CHILD_FIELDS)
    child_times = (
        np.frombuffer(result.children, dtype="<i8")[0::width]
        if len(result.children)
        else np.zeros(0, dtype=np.int64)
    )
    if metric == "shares_out_per_in":
        flat = np.frombuffer(result.children, dtype="<i8") if len(result.children) else None
        qty = flat[3::width] if flat is not None else np.zeros(0, dtype=np.int64)
        order = np.argsort(child_times, kind="stable")
        sent = np.concatenate([[0], np.cumsum(qty[order])])
        sent_at = sent[np.searchsorted(child_times[order], grid, side="right")]
        parents = sorted((p.received, p.qty) for p in result.parents)
        p_times = np.array([t for t, _ in parents], dtype=np.int64)
        ordered = np.concatenate([[0], np.cumsum([q for _, q in parents])])
        in_at = ordered[np.searchsorted(p_times, grid, side="right")]
        value = np.where(in_at > 0, sent_at / np.maximum(in_at, 1), 0.0)
    elif metric == "orders_per_s":
        window = 15 * SECOND_NS
        ordered = np.sort(child_times)
        count = np.searchsorted(ordered, grid, side="right") - np.searchsorted(
            ordered, grid - window, side="right"
        )
        value = count / 15 / result.scenario.scale
    elif metric == "gross_position_usd":
        from .series import positions_data

        pos = positions_data(result)
        gross = pos.groupby("s", sort=True)["usd"].sum()
        times = OPEN_NS + gross.index.to_numpy(dtype=np.int64) * SECOND_NS
        slot = np.searchsorted(times, grid, side="right") - 1
        value = np.where(slot >= 0, gross.to_numpy()[np.clip(slot, 0, None)], 0.0)
    elif metric == "loss_usd":
        value = np.maximum(0.0, -_locked_in(result, grid))
    else:  # bnet_emails_10min
        emails = np.sort(np.array([e[0] for e in result.emails], dtype=np.int64))
        window = 600 * SECOND_NS
        value = (
            np.searchsorted(emails, grid, side="right")
            - np.searchsorted(emails, grid - window, side="right")
        ).astype(float)
    return pd.DataFrame({"time_ns": grid, "value": np.round(value, 4)})


def first_fire(
    times_ns: np.ndarray | pd.Series,
    values: np.ndarray | pd.Series,
    threshold: float,
    hold_s: float = 0,
) -> int | None:
    """When a rule "value >= threshold for at least ``hold_s`` seconds" first fires.

    The rule fires at the first sample where the value has been at or above the
    threshold at every sample of the last ``hold_s`` seconds.

    Returns:
        The firing time (ns since midnight), or ``None`` if it never fires.
    """
    times = np.asarray(times_ns, dtype=np.int64)
    above = np.asarray(values, dtype=float) >= threshold
    hold = int(hold_s * SECOND_NS)
    run_start: int | None = None
    for t, ok in zip(times, above, strict=True):
        if not ok:
            run_start = None
            continue
        if run_start is None:
            run_start = int(t)
        if int(t) - run_start >= hold:
            return int(t)
    return None


def loss_at(result: Result, time_ns: int) -> float:
    """Loss locked in by ``time_ns`` (dollars, positive = lost), at the evening basket price."""
    return max(0.0, -float(_locked_in(result, np.array([time_ns], dtype=np.int64))[0]))


# --------------------------------------------------------------------------
# What existed on the day
# --------------------------------------------------------------------------
def alerts_that_existed(result: Result) -> pd.DataFrame:
    """What could have warned Knight on the morning, measured on a replay.

    Returns:
        One row per signal: ``signal``, ``designed_as_alert``, ``first``, ``count``,
        ``what_happened``.
    """
    from ..core.record import figure

    limit = float(figure("account33_limit_usd").value)
    emails = sorted(e[0] for e in result.emails)
    after_open = sum(1 for t in emails if t >= OPEN_NS)
    gross = metric_series(result, "gross_position_usd", step_s=5)
    crossed = first_fire(gross["time_ns"], gross["value"], limit)
    from ..core.clock import format_time

    rows = [
        {
            "signal": "BNET reject e-mails ('Power Peg disabled')",
            "designed_as_alert": "no",
            "first": format_time(emails[0]) if emails else "never",
            "count": len(emails),
            "what_happened": f"{len(emails) - after_open} before the open, {after_open} after; "
            "sent to a group of staff, not acted on",
        },
        {
            "signal": "33 Account gross position limit",
            "designed_as_alert": "no (not linked to any automated control)",
            "first": format_time(crossed) if crossed is not None else "never",
            "count": 1 if crossed is not None else 0,
            "what_happened": "first time the replay's gross position passed the limit; "
            "nothing stopped or paged",
        },
        {
            "signal": "PMON (post-trade position monitor)",
            "designed_as_alert": "no (watched by people, no automated alerts)",
            "first": "-",
            "count": 0,
            "what_happened": "positions visible to whoever looked; lagged under load",
        },
        {
            "signal": "Automated pages from controls",
            "designed_as_alert": "yes",
            "first": format_time(result.pages[0][0]) if result.pages else "never",
            "count": len(result.pages),
            "what_happened": "none: no such control existed in 2012",
        },
    ]
    return pd.DataFrame(rows)
