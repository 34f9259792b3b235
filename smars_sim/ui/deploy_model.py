"""Deploy day without widgets: which servers got the release, and what would have shown it.

Notebook 02's panel (:class:`smars_sim.ui.deploy_day.DeployDay`) draws this model:
the technician copies the RLP build by hand, server by server; the checks a team
could have run after the deploy each say whether they reveal a missed server; and
"Run the morning" replays 1 August with the fleet as deployed. The model imports no
ipywidgets and no altair, so it is driven and tested alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pandas as pd

from ..analysis.runs import normal_morning, notebook_scenario, run
from ..core.builds import Build, old_build, rlp_build
from ..core.clock import OPEN_NS, SECOND_NS
from ..core.fleet import ParentOrder
from ..core.fmt import usd
from ..core.result import Result
from ..core.scenario import Scenario
from .text import text_table

__all__ = ["CHECKS", "Check", "DeployDayModel"]

#: Columns of the runs table (one row per fleet replayed).
RUN_COLUMNS = ["fleet", "loss_usd_m", "bnet_emails", "child_orders"]


@dataclass(frozen=True, slots=True)
class Check:
    """A check someone could have run after the deploy."""

    name: str
    run: Callable[[DeployDayModel], tuple[bool, str]]


def _check_word(d: DeployDayModel) -> tuple[bool, str]:
    return False, "'All done.' A person's word covers what they meant to do."


def _check_spot(d: DeployDayModel) -> tuple[bool, str]:
    build = d.builds()[0]
    ok = build.sha256 == d.release.sha256
    return (not ok, f"server 1 runs {build.version}: {'matches' if ok else 'DIFFERS'}")


def _check_count(d: DeployDayModel) -> tuple[bool, str]:
    n = len(d.servers) - len(d.missed())
    return (
        n < len(d.servers),
        f"the log lists {n} of {len(d.servers)} servers in the inventory",
    )


def _check_hashes(d: DeployDayModel) -> tuple[bool, str]:
    wrong = [k for k, b in zip(d.servers, d.builds(), strict=True) if b.sha256 != d.release.sha256]
    if not wrong:
        return False, f"all {len(d.servers)} servers match {d.release.short_hash}"
    listed = ", ".join(str(k) for k in wrong)
    return True, f"server(s) {listed} do not match the release hash {d.release.short_hash}"


def _check_smoke_off(d: DeployDayModel) -> tuple[bool, str]:
    probe = ParentOrder(0, 0, 1, 100, OPEN_NS - 60 * SECOND_NS, retail=True)
    paths = {b.route({d.flag: False}, probe).__name__ for b in d.builds()}
    return False, f"every server routes the test order to {', '.join(sorted(paths))}()"


def _check_smoke_on(d: DeployDayModel) -> tuple[bool, str]:
    probe = ParentOrder(0, 0, 1, 100, OPEN_NS - 60 * SECOND_NS, retail=True)
    odd = [
        k
        for k, b in zip(d.servers, d.builds(), strict=True)
        if b.route({d.flag: True}, probe).__name__ != "rlp"
    ]
    if not odd:
        return False, "every server routes it to rlp()"
    return True, f"server(s) {', '.join(map(str, odd))} route it to power_peg() and reject it"


def _check_emails(d: DeployDayModel) -> tuple[bool, str]:
    if not d.missed():
        return False, "no BNET reject e-mails arrive"
    return True, "BNET 'Power Peg disabled' e-mails arrive from the missed server(s)"


CHECKS: tuple[Check, ...] = (
    Check("Ask the technician", _check_word),
    Check("Spot-check server 1's build", _check_spot),
    Check("Compare the deploy log with the server inventory", _check_count),
    Check("Compare every server's build hash with the release", _check_hashes),
    Check("Send a test order with the flag off", _check_smoke_off),
    Check("Send a test retail order to each server with the flag on", _check_smoke_on),
    Check("Read the pre-open BNET e-mails", _check_emails),
)


def _fleet_label(missed: list[int]) -> str:
    return "missed: " + (", ".join(map(str, missed)) if missed else "none")


class DeployDayModel:
    """The fleet as the technician leaves it, the checks, and the mornings replayed.

    Args:
        scenario: The morning (default: the notebooks' 1 August replay). Every
            server starts on the old build; copying the release is up to you.
    """

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.scenario = scenario or notebook_scenario()
        self.flag = self.scenario.flag
        self.old = old_build(flag=self.flag)
        self.release = rlp_build(flag=self.flag)
        self.servers = list(range(1, self.scenario.servers + 1))
        self.copied: set[int] = set()
        self.runs: list[dict[str, object]] = []

    # state
    def missed(self) -> list[int]:
        """Servers still on the old build."""
        return [k for k in self.servers if k not in self.copied]

    def builds(self) -> list[Build]:
        """The build on each server."""
        return [self.release if k in self.copied else self.old for k in self.servers]

    def set_copied(self, servers: Iterable[int]) -> None:
        """The release is on exactly these servers."""
        self.copied = {k for k in servers if k in self.servers}

    def copy(self, server: int, copied: bool = True) -> None:
        """Copy the release to one server (or, with ``copied=False``, leave it on the old)."""
        if server not in self.servers:
            raise ValueError(f"no server {server}; servers run 1..{len(self.servers)}")
        if copied:
            self.copied.add(server)
        else:
            self.copied.discard(server)

    def technician(self) -> None:
        """What happened: the release copied to every server but the ones the record says."""
        stale = set(self.scenario.stale_servers)
        self.set_copied(k for k in self.servers if k not in stale)

    def copy_all(self) -> None:
        """The release on every server."""
        self.set_copied(self.servers)

    def reset(self) -> None:
        """Every server back on the old build; forget the runs."""
        self.runs = []
        self.set_copied(())

    # views
    def fleet_rows(self) -> list[dict[str, object]]:
        """Each server's build, hash and what the flag makes a retail order do there."""
        probe = ParentOrder(0, 0, 1, 100, OPEN_NS, retail=True)
        rows: list[dict[str, object]] = []
        for k, build in zip(self.servers, self.builds(), strict=True):
            rows.append(
                {
                    "server": k,
                    "build": build.version,
                    "hash": build.short_hash,
                    f"flag '{self.flag}' on means": build.route({self.flag: True}, probe).__name__
                    + "()",
                }
            )
        return rows

    def check_rows(self) -> list[dict[str, object]]:
        """Each check, what it shows for the fleet as it is, and whether it reveals a miss."""
        rows: list[dict[str, object]] = []
        for check in CHECKS:
            reveals, finding = check.run(self)
            rows.append(
                {
                    "check": check.name,
                    "what it shows": finding,
                    "reveals": "YES" if reveals else "no",
                }
            )
        return rows

    # the morning
    def scenario_for_fleet(self) -> Scenario:
        """The morning with this fleet (the kit's operator actions only if something is wrong)."""
        missed = tuple(self.missed())
        if not missed:
            return normal_morning(self.scenario)
        return self.scenario.with_(stale_servers=missed)

    def run_morning(self) -> Result:
        """Replay 1 August with the fleet as deployed, and keep it in :attr:`runs`."""
        result = run(self.scenario_for_fleet())
        s = result.summary
        label = _fleet_label(self.missed())
        row = {
            "fleet": label,
            "loss_usd_m": round(s.loss_usd / 1e6, 3),
            "bnet_emails": s.bnet_emails,
            "child_orders": s.child_orders,
        }
        self.runs = [r for r in self.runs if r["fleet"] != label] + [row]
        return result

    def outcome_text(self, result: Result) -> str:
        """One line on how the morning went with this fleet."""
        s = result.summary
        missed = self.missed()
        where = f"servers missed: {', '.join(map(str, missed))}" if missed else "no server missed"
        return (
            f"{where}. Power Peg ran for {s.parent_orders} parent orders; "
            f"{s.bnet_emails} BNET e-mails before the open; loss {usd(s.loss_usd)}."
        )

    def runs_data(self) -> pd.DataFrame:
        """The mornings replayed so far: ``fleet``, ``loss_usd_m``, ``bnet_emails``, ..."""
        return pd.DataFrame(self.runs, columns=RUN_COLUMNS)

    def runs_takeaway(self) -> str:
        """The runs chart's takeaway: the worst fleet so far."""
        data = self.runs_data()
        if data.empty:
            return "Run the morning to see what this fleet costs."
        worst = data.loc[data["loss_usd_m"].idxmax()]
        return f"Worst so far: {worst['fleet']}, {usd(worst['loss_usd_m'] * 1e6)}."

    def describe(self) -> str:
        """The fleet, the checks and the runs as plain text."""
        lines = [
            _fleet_label(self.missed()),
            text_table(self.fleet_rows()),
            "",
            text_table(self.check_rows(), ["check", "reveals"]),
        ]
        if self.runs:
            lines += ["", text_table(self.runs)]
        return "\n".join(lines)
