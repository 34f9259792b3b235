"""The tables behind course part 2's panels: coverage, builds, flags, and the what-if grid.

Rows as lists of dicts (for the panels' HTML and text tables) or DataFrames (for the
charts), each read from a fix's own report, registry or replay.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pandas as pd

from ..core.builds import FLAG, Build, old_build, rlp_build
from ..core.clock import SECOND_NS
from ..core.fmt import usd
from ..core.router import power_peg
from ..core.scenario import Scenario
from ..fixes import AVAILABLE, Simulation
from ..fixes import dead_code as dead
from ..fixes import flag_registry as flags
from .fix_outcomes import base_scenario

__all__ = [
    "LAYER_LABELS",
    "SHORT_LAYER",
    "TRADING_CODE",
    "build_rows",
    "coverage_data",
    "coverage_rows",
    "evaluation_row",
    "first_at",
    "flags_read",
    "not_trading_code",
    "registry_rows",
    "rlp_registry",
    "seeded_registry",
    "server_paths",
    "single_layer_rows",
    "stale_flag_rows",
    "swiss_cheese_text",
    "what_if_row",
    "what_if_rows",
    "what_if_table",
]


# --------------------------------------------------------------------------
# 06: dead code
# --------------------------------------------------------------------------
def coverage_rows(report: dead.CoverageReport) -> list[dict[str, object]]:
    """The coverage report's rows as dicts (server, build, path, parents, child orders)."""
    return [
        {
            "server": r.server,
            "build": r.build,
            "path": r.path,
            "compiled": r.compiled,
            "parents": r.parents,
            "child_orders": r.child_orders,
            "hits": r.hits,
        }
        for r in report.rows
    ]


def coverage_data(report: dead.CoverageReport) -> pd.DataFrame:
    """The coverage grid: one row per server and path, with its ``status``.

    ``status`` is ``never ran`` (compiled, zero hits: dead code), ``ran`` or
    ``not compiled``; ``server`` reads "server 3".
    """
    data = pd.DataFrame(coverage_rows(report))
    data["server"] = data["server"].map(lambda k: f"server {k}")
    data["status"] = [
        "never ran" if c and h == 0 else ("ran" if h else "not compiled")
        for c, h in zip(data["compiled"], data["hits"], strict=True)
    ]
    return data


def build_rows(builds: Sequence[Build]) -> list[dict[str, object]]:
    """What each build contains: version, hash, code paths, the flag its router reads."""
    return [
        {
            "build": b.version,
            "sha256": b.short_hash,
            "code paths": ", ".join(b.path_names),
            "router": b.router.__name__,
            "Power Peg inside": "yes" if b.contains(power_peg) else "no",
        }
        for b in builds
    ]


def server_paths(scenario: Scenario, at: str = "09:40") -> list[dict[str, object]]:
    """Code paths each server ran up to ``at`` (its coverage report), hits only."""
    sim = Simulation(scenario)
    sim.advance_to(at)
    return [
        {
            "server": r.server,
            "build": r.build,
            "path": r.path,
            "parents": r.parents,
            "child orders": r.child_orders,
        }
        for r in dead.coverage_report(sim).rows
        if r.hits
    ]


# --------------------------------------------------------------------------
# 07: flags
# --------------------------------------------------------------------------
#: The trading code: the modules a SMARS build is made of, where the stale-flag report looks
#: for flag keys (the course, the fixes and the exercises are not trading code).
TRADING_CODE = (
    "__init__.py",
    "book.py",
    "builds.py",
    "clock.py",
    "engine.py",
    "exchange.py",
    "fleet.py",
    "liquidity.py",
    "record.py",
    "result.py",
    "router.py",
    "scenario.py",
    "universe.py",
)
#: Where the trading code lives.
CORE = Path(__file__).resolve().parents[1] / "core"


def not_trading_code() -> tuple[str, ...]:
    """The modules of ``smars_sim/core`` that are not trading code (the audit skips them)."""
    return tuple(sorted(p.name for p in CORE.iterdir() if p.name not in TRADING_CODE))


def seeded_registry() -> flags.FlagRegistry:
    """A registry as the ``flag-registry`` fix sets it up, before the RLP key exists.

    The old key (the kit's name for the flag that switched Power Peg on) is registered
    as legacy and retired: Power Peg stopped in 2003 (SEC ¶14), date not public.
    """
    registry = flags.FlagRegistry()
    registry.register_legacy(
        FLAG,
        type="release",
        owner="SMARS (pre-registry; owner not public)",
        description="switched Power Peg on (the kit's name for the flag)",
        readers=(old_build(),),
    )
    registry.retire(FLAG, reason="Power Peg stopped in 2003 (SEC ¶14)")
    return registry


def rlp_registry() -> flags.FlagRegistry:
    """:func:`seeded_registry` with the RLP release's fresh key, created 27 July 2012."""
    registry = seeded_registry()
    registry.create(
        flags.RLP_FLAG,
        type="release",
        owner="SMARS RLP release (kit's label)",
        created=date(2012, 7, 27),
    )
    registry.bind(flags.RLP_FLAG, rlp_build(flag=flags.RLP_FLAG))
    return registry


def evaluation_row(registry: flags.FlagRegistry, key: str) -> dict[str, object]:
    """One OpenFeature evaluation: the value served and the details that explain it."""
    d = registry.details(key, False)
    return {
        "key": key,
        "value": d.value,
        "reason": getattr(d.reason, "value", d.reason),
        "error code": getattr(d.error_code, "value", d.error_code) or "",
        "message": d.error_message or "",
    }


def registry_rows(registry: flags.FlagRegistry) -> list[dict[str, object]]:
    """Every flag in the registry, tombstones included."""
    return [
        {
            "key": s.key,
            "type": s.type,
            "state": s.state + (" (tombstone)" if s.tombstoned else ""),
            "value": s.value,
            "owner": s.owner,
            "created": s.created.isoformat() if s.created else "not public",
            "expires": s.expires.isoformat() if s.expires else "never",
            "read by": ", ".join(s.readers) or "-",
        }
        for s in registry.flags.values()
    ]


def stale_flag_rows(findings: Sequence[flags.StaleFlag]) -> list[dict[str, object]]:
    """One row per stale flag of an audit."""
    return [
        {
            "key": s.key,
            "state": s.state,
            "owner": s.owner,
            "why": "; ".join(s.reasons),
            "where in the code": ", ".join(s.references) or "-",
        }
        for s in findings
    ]


def flags_read(scenario: Scenario) -> list[dict[str, object]]:
    """What each build reads, and what the flag store served it just after the flag went on."""
    sim = Simulation(scenario)
    view = sim.fleet.flags
    flag_on = sim.scenario.t("flag_on_at")
    sim.advance_to(sim.now if flag_on is None else max(sim.now, flag_on + SECOND_NS))
    rows = []
    seen: set[str] = set()
    for server in sim.fleet.servers:
        b = server.build
        if b.version in seen:
            continue
        seen.add(b.version)
        rows.append(
            {
                "build": b.version,
                "servers": ", ".join(str(s.id) for s in sim.fleet.servers if s.build is b),
                "reads key": b.flag,
                "served": view.get(b.flag, False),
            }
        )
    close = getattr(view, "registry", None)
    if close is not None:
        close.close()
    return rows


# --------------------------------------------------------------------------
# 10: what if
# --------------------------------------------------------------------------
_WHAT_IF: dict[str, pd.DataFrame] = {}

#: Each fix as a layer of the swiss-cheese view.
LAYER_LABELS = {
    "dead-code": "code: dead code deleted",
    "flag-registry": "flags: single-use keys",
    "verified-deploy": "deploy: hash check and canary",
    "kill-switch": "risk: pre-trade gate and kill switch",
}
#: The same layers in one word (the chart's axis).
SHORT_LAYER = {
    "dead-code": "code",
    "flag-registry": "flags",
    "verified-deploy": "deploy",
    "kill-switch": "risk",
}


def what_if_table(scenario: Scenario | None = None) -> pd.DataFrame:
    """All 16 combinations of the four fixes (:func:`smars_sim.analysis.whatif.what_if`), cached.

    Returns a copy: safe to change.
    """
    from .whatif import what_if

    scenario = scenario or base_scenario()
    key = repr(scenario)
    if key not in _WHAT_IF:
        _WHAT_IF[key] = what_if(scenario)
    return _WHAT_IF[key].copy()


def first_at(row: pd.Series) -> str:
    """When the first control acted ("before 1 Aug" for the deploy and the codebase)."""
    value = row["first_action_at"]
    if not isinstance(value, str) or not value:
        return ""
    return "before 1 Aug" if value == "00:00:00" else value


def what_if_rows(table: pd.DataFrame) -> list[dict[str, object]]:
    """The what-if table as readable rows: fixes, loss, share of unfixed, minutes, control."""
    return [
        {
            "fixes": row["fixes"],
            "loss": usd(row["loss_usd"]),
            "% of unfixed": f"{row['loss_pct_of_unfixed']:.3g}%",
            "executions": f"{row['executions']:,}",
            "minutes": row["power_peg_minutes"],
            "first control": row["stopped_by"],
            "at": first_at(row),
        }
        for _, row in table.iterrows()
    ]


def single_layer_rows(table: pd.DataFrame) -> list[dict[str, object]]:
    """Which layer would have stopped it alone: the four one-fix rows, and none."""
    rows = []
    for fix in ("none", *AVAILABLE):
        row = table.loc[table["fixes"] == fix].iloc[0]
        rows.append(
            {
                "layer": LAYER_LABELS.get(fix, "no fix (as it happened)"),
                "fix": fix,
                "loss": usd(row["loss_usd"]),
                "% of unfixed": f"{row['loss_pct_of_unfixed']:.3g}%",
                "minutes to stop": row["power_peg_minutes"],
                "stopped by": row["stopped_by"],
                "at": first_at(row),
            }
        )
    return rows


def what_if_row(table: pd.DataFrame, fixes: Sequence[str]) -> pd.Series:
    """The what-if row of a set of fixes (given in installation order)."""
    name = " + ".join(fixes) or "none"
    return table.loc[table["fixes"] == name].iloc[0]


def swiss_cheese_text(table: pd.DataFrame, fixes: Sequence[str]) -> str:
    """Where the trajectory stops with these layers closed, and what it cost."""
    r = what_if_row(table, fixes)
    if not fixes:
        return (
            f"Every layer has its hole: the incident passes through all four. Loss "
            f"{usd(r['loss_usd'])}; Power Peg ran {r['power_peg_minutes']:g} min."
        )
    at = first_at(r)
    return (
        f"Stopped at the first closed layer. Loss {usd(r['loss_usd'])} "
        f"({r['loss_pct_of_unfixed']:.3g}% of unfixed). First control: {r['stopped_by']}"
        + (f" ({at})." if at == "before 1 Aug" else (f" at {at}." if at else "."))
    )
