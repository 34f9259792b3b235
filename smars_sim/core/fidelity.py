"""Fidelity: the replay's figures next to the public record's, with sources and tolerances.

Every replay figure here is computed from the simulated executions and positions
(``Result.summary``); every record figure is loaded from ``data/record_figures.csv``
with its source. The tolerances are the acceptance criteria of the 1 August 2012
replay. ``smars-sim fidelity`` prints the table and exits non-zero if a headline
at scale 1 falls outside its tolerance.

Counts that grow with the scale (executions) are compared after dividing by the
scale, and marked "scaled"; at scale 1 nothing is scaled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .clock import OPEN_NS, format_time
from .fmt import usd_report
from .record import figure

if TYPE_CHECKING:
    from .result import Result

__all__ = ["FidelityRow", "fidelity_rows", "format_table", "headlines_ok", "loss_rates"]


@dataclass(frozen=True, slots=True)
class FidelityRow:
    """One line of the fidelity report.

    Attributes:
        figure: What is compared.
        record: The record's figure, as text.
        replay: The replay's figure, as text.
        tolerance: What counts as a match, as text.
        deviation: Replay minus record, relative (``None`` for exact counts and bands).
        ok: Whether the replay is within tolerance.
        headline: Whether this row decides the exit code.
        source: Where the record's figure comes from.
        scaled: Whether the replay figure was divided by the scale.
    """

    figure: str
    record: str
    replay: str
    tolerance: str
    deviation: float | None
    ok: bool
    headline: bool
    source: str
    scaled: bool = False


def _count(x: float) -> str:
    return f"{x:,.0f}"


def loss_rates(result: Result) -> tuple[float, float] | None:
    """Average realisable loss per minute before and after the rollback (dollars).

    Read from the P&L samples: from the open to when the rollback starts, and from
    when it ends to the last sample before the servers stop. ``None`` if the
    scenario has no rollback.
    """
    scenario = result.scenario
    start = scenario.t("rollback_at")
    if start is None or not result.samples:
        return None
    end = start + int(scenario.operator_step_s * 1e9) * max(
        1, scenario.servers - len(scenario.stale_servers)
    )
    stop_all = scenario.t("stop_all_at")
    halt = scenario.t("halt_at")
    stops = [t for t in (stop_all, halt) if t is not None]
    last = min(stops) if stops else result.samples[-1][0]

    def value_at(t: int) -> tuple[int, float]:
        best = result.samples[0]
        for sample in result.samples:
            if sample[0] > t:
                break
            best = sample
        return best[0], best[3] / 100

    t0, v0 = value_at(OPEN_NS)
    t1, v1 = value_at(start)
    t2, v2 = value_at(end)
    t3, v3 = value_at(last)
    before = (v0 - v1) / ((t1 - t0) / 60e9) if t1 > t0 else 0.0
    after = (v2 - v3) / ((t3 - t2) / 60e9) if t3 > t2 else 0.0
    return before, after


def fidelity_rows(result: Result) -> list[FidelityRow]:
    """Compare a replay with the record, one row per figure.

    Args:
        result: A replay of ``Scenario.aug1_2012`` (any scale).

    Returns:
        The rows, headlines first.
    """
    s = result.summary
    scale = result.scenario.scale
    scaled = scale < 1
    rows: list[FidelityRow] = []

    def band(
        label: str,
        key: str,
        value: float,
        low: float,
        high: float,
        fmt: Any,
        *,
        is_scaled: bool = False,
    ) -> None:
        fig = figure(key)
        rows.append(
            FidelityRow(
                label,
                f"{fig.qualifier} {fmt(float(fig.value))}".replace("exact ", ""),
                fmt(value),
                f"{fmt(low)} to {fmt(high)}",
                value / float(fig.value) - 1,
                low <= value <= high,
                True,
                fig.source,
                is_scaled,
            )
        )

    def relative(label: str, key: str, value: float, tol: float, fmt: Any) -> None:
        fig = figure(key)
        target = float(fig.value)
        dev = value / target - 1
        rows.append(
            FidelityRow(
                label,
                f"{fig.qualifier} {fmt(target)}".replace("exact ", ""),
                fmt(value),
                f"±{tol:.0%}",
                dev,
                abs(dev) <= tol + 1e-12,
                True,
                fig.source,
            )
        )

    def exact(label: str, key: str, value: int) -> None:
        fig = figure(key)
        rows.append(
            FidelityRow(
                label,
                _count(float(fig.value)),
                _count(value),
                "exact",
                None,
                value == int(float(fig.value)),
                True,
                fig.source,
            )
        )

    band(
        "executions",
        "executions_min",
        s.executions / scale,
        4.0e6,
        4.4e6,
        _count,
        is_scaled=scaled,
    )
    exact("symbols traded", "symbols_traded", s.symbols_traded)
    band("shares traded", "shares_traded_min", s.shares_traded, 397e6, 417e6, _count)
    relative("net long", "net_long_usd", s.long_usd, 0.05, usd_report)
    exact("net long symbols", "net_long_symbols", s.long_symbols)
    relative("net short", "net_short_usd", s.short_usd, 0.05, usd_report)
    exact("net short symbols", "net_short_symbols", s.short_symbols)
    band("realised loss", "loss_usd_min", s.loss_usd, 460e6, 483e6, usd_report)
    band(
        "duration (minutes)",
        "duration_minutes",
        s.duration_minutes,
        44,
        46,
        lambda x: f"{x:.1f}",
    )
    exact("parent orders (via Power Peg)", "parent_orders", s.parent_orders)
    exact("BNET e-mails before the open", "bnet_emails", s.bnet_emails)
    relative(
        "Knight >20% of volume, move >5%",
        "impact_20pct_5pct_symbols",
        s.impact_20_5,
        0.10,
        _count,
    )
    relative(
        "Knight >50% of volume, move >10%",
        "impact_50pct_10pct_symbols",
        s.impact_50_10,
        0.10,
        _count,
    )
    band("busted symbols (>=30% from the open)", "busted_symbols", s.busted_symbols, 4, 8, _count)

    # Context, not headlines.
    rate = figure("loss_rate_usd_per_min")
    per_minute = s.loss_usd / s.duration_minutes if s.duration_minutes else 0.0
    rows.append(
        FidelityRow(
            "loss per minute (average)",
            f"{rate.qualifier} {usd_report(float(rate.value))}",
            usd_report(per_minute),
            "context",
            per_minute / float(rate.value) - 1,
            True,
            False,
            rate.source,
        )
    )
    rates = loss_rates(result)
    if rates is not None:
        before, after = rates
        rows.append(
            FidelityRow(
                "loss per minute, before / after the rollback",
                "worse after the rollback",
                f"{usd_report(before)} / {usd_report(after)}",
                "after > before",
                None,
                after > before,
                False,
                "[SEC] ¶27",
            )
        )
    first = min((t for t, *_ in result.emails), default=None)
    fig = figure("bnet_first_email")
    rows.append(
        FidelityRow(
            "first BNET e-mail",
            f"{fig.qualifier} {fig.value}",
            format_time(first) if first is not None else "none",
            "context",
            None,
            True,
            False,
            fig.source,
        )
    )
    return rows


def headlines_ok(rows: list[FidelityRow]) -> bool:
    """Whether every headline row is within tolerance."""
    return all(row.ok for row in rows if row.headline)


def format_table(rows: list[FidelityRow]) -> str:
    """The rows as a plain-text table (✓/✗ per row)."""
    header = ("", "figure", "record", "replay", "tolerance", "deviation", "source")
    lines = [header]
    for row in rows:
        deviation = "" if row.deviation is None else f"{row.deviation:+.1%}"
        replay = row.replay + (" (scaled)" if row.scaled else "")
        mark = ("✓" if row.ok else "✗") if row.headline else "·"
        lines.append((mark, row.figure, row.record, replay, row.tolerance, deviation, row.source))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(v).ljust(w) for v, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )
