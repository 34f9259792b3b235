"""The state and logic of notebooks 07 and 08's panels, without a widget.

Each model here is what a panel shows and does, as plain Python: a cell or a test can
drive it, and read its state, with neither ipywidgets nor altair imported (as
:class:`~smars_sim.ui.console.ConsoleModel` is for the incident console). The views
that put controls on them are in :mod:`.flag_panels` and :mod:`.deploy_panels`; the
kill-switch panels' models are in :mod:`.kill_models`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from ..analysis.fix_outcomes import base_scenario, minutes_text, outcome
from ..analysis.fix_tables import evaluation_row, registry_rows, seeded_registry
from ..analysis.runs import run
from ..core.builds import Build, old_build, rlp_build
from ..core.result import Result
from ..core.scenario import Scenario
from ..fixes import flag_registry as flags
from ..fixes import verified_deploy as deploy
from ..fixes.contrasts import DeployCheck, bad_release, check_deploy, servers_named

__all__ = [
    "CANARY_CANDIDATES",
    "VERDICT_ACTIONS",
    "CanaryJudgeModel",
    "DeployLabModel",
    "FlagConsoleModel",
]

#: The release every lab starts with.
RLP_RELEASE = "the RLP release"


# --------------------------------------------------------------------------
# 07: the flag registry as a release manager meets it
# --------------------------------------------------------------------------
class FlagConsoleModel:
    """A flag registry to create, turn on, retire and evaluate flags in.

    Every refusal is the registry's own ``ValueError``, caught and kept as a message.

    Attributes:
        registry: The registry (starts with only the retired old key).
        last: What the last action did (``OK: ...``, ``REFUSED (...): ...``).
        ok: Whether the last action was accepted.
        evaluated: The keys evaluated lately (at most four), oldest first.
    """

    def __init__(self) -> None:
        self.registry: flags.FlagRegistry | None = None
        self.reset()

    def reset(self) -> None:
        """Back to the registry with only the retired old key."""
        if self.registry is not None:
            self.registry.close()
        self.registry = seeded_registry()
        self.last = "registry reset: the old key is a tombstone"
        self.ok = True
        self.evaluated: list[str] = []

    @property
    def flags(self) -> flags.FlagRegistry:
        """The registry (never ``None`` once built)."""
        assert self.registry is not None
        return self.registry

    def _do(self, what: str, action: Callable[[], object]) -> bool:
        try:
            action()
        except ValueError as err:
            self.ok, self.last = False, f"REFUSED ({what}): {err}"
            return False
        self.ok, self.last = True, f"OK: {what}"
        return True

    def create(self, key: str, type: str = "release") -> bool:
        """Create a flag; returns whether the registry accepted it."""
        return self._do(
            f"create {key!r}",
            lambda: self.flags.create(
                key, type=type, owner="you (release manager)", created=flags.TRADE_DATE
            ),
        )

    def turn_on(self, key: str) -> bool:
        """Turn a flag on; returns whether the registry accepted it."""
        return self._do(f"turn on {key!r}", lambda: self.flags.set(key, True))

    def retire(self, key: str) -> bool:
        """Retire a flag (it becomes a tombstone); returns whether the registry accepted it."""
        return self._do(
            f"retire {key!r}",
            lambda: self.flags.retire(key, reason="retired in the course", on=flags.TRADE_DATE),
        )

    def evaluate(self, key: str) -> dict[str, object]:
        """Evaluate a flag through OpenFeature (never raises: errors serve the default)."""
        row = evaluation_row(self.flags, key)
        self.evaluated = [*[k for k in self.evaluated if k != key][-3:], key]
        self.ok, self.last = True, f"evaluated {key!r}: {row['value']} ({row['reason']})"
        return row

    def rows(self) -> list[dict[str, object]]:
        """Every flag in the registry, tombstones included."""
        return registry_rows(self.flags)

    def evaluations(self) -> list[dict[str, object]]:
        """The lately evaluated keys, evaluated again now."""
        return [evaluation_row(self.flags, k) for k in self.evaluated]


# --------------------------------------------------------------------------
# 08: the automated deploy against a careless technician
# --------------------------------------------------------------------------
class DeployLabModel:
    """A deploy case (missed copies, a silent server, the release) and its checked outcome.

    Args:
        scenario: The day (default: the notebooks' 1 August 2012); its missed servers
            are the case to start with.
    """

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.base = scenario or base_scenario()
        self.missed: list[int] = sorted(self.base.stale_servers)
        self.unreachable = 0
        self.release = RLP_RELEASE

    def set(
        self,
        missed: Sequence[int] | None = None,
        unreachable: int | None = None,
        release: str | None = None,
    ) -> None:
        """Set the case: servers whose copy fails, one with no report (0: none), the release."""
        if missed is not None:
            self.missed = sorted(set(missed))
        if unreachable is not None:
            self.unreachable = unreachable
        if release is not None:
            self.release = release

    def check(self) -> DeployCheck:
        """The automated deploy for this case."""
        return check_deploy(
            self.base,
            missed=self.missed,
            unreachable=[self.unreachable] if self.unreachable else [],
            release=self.release,
        )

    def replayable(self) -> bool:
        """Whether the day is replayed with the fix: the real release, some server missed,
        and every server reporting (the fix as installed has no unreachable server)."""
        return bool(self.missed) and not self.unreachable and (self.release == RLP_RELEASE)

    def reference(self) -> Result:
        """The day as it happened in the kit."""
        return run(self.base)

    def result(self) -> Result | None:
        """The day replayed with ``verified-deploy`` and these missed servers, if replayable."""
        if not self.replayable():
            return None
        return run(self.base.with_(stale_servers=tuple(self.missed), fixes=("verified-deploy",)))

    def outcome_text(self) -> str:
        """What the replay says, or why there is none."""
        result = self.result()
        if result is None:
            if self.release != RLP_RELEASE:
                analysis = self.check().rollout.analysis
                verdict = analysis.verdict if analysis is not None else "not run"
                return (
                    f"The release itself is bad: canary analysis {verdict}. (No replay: "
                    "the rollout never got past the canary, so the fleet kept the stable build.)"
                )
            if not self.missed and not self.unreachable:
                return (
                    "Nothing missed: every server reports the release's hash. (No replay: "
                    "with the whole fleet updated there is no incident to replay; see 02.)"
                )
            return (
                "The check alone: the panel replays the day only for the real release with "
                "missed servers (the fix as installed has no unreachable server)."
            )
        ref = outcome(self.reference())
        mine = outcome(result)
        return (
            f"Replay with verified-deploy, {servers_named(self.missed)} missed: loss "
            f"{mine['loss']} (as it happened: {ref['loss']}); {mine['executions']:,} executions; "
            f"Power Peg's last order: {minutes_text(mine['minutes_to_stop'])}. First control: "
            f"{mine['first_control']} ({mine['first_control_at']})."
        )

    def headline(self) -> str:
        """The rollout's end state, naming the servers whose check failed.

        The servers are read from their own hash reports during the deploy, not from the
        fleet after the rollback (which is back on the old build everywhere).
        """
        check = self.check()
        m = check.rollout.manifest
        wrong = sorted(s for s, h in check.reported.items() if h is not None and h != m.sha256)
        silent = sorted(s for s, h in check.reported.items() if h is None)
        why = []
        if wrong:
            why.append(f"{servers_named(wrong)} reported a hash other than the release's")
        if silent:
            why.append(f"{servers_named(silent)} sent no hash report")
        analysis = check.rollout.analysis
        if not why and check.status != "succeeded" and analysis is not None:
            why.append(f"the canary's analysis: {analysis.verdict}")
        gate = "REFUSED" if check.flag_gate else "allowed"
        rolled_back = (
            " (the fleet is rolled back to the old build)" if check.status == "failed" else ""
        )
        return (
            f"rollout {check.status.upper()}{': ' + '; '.join(why) if why else ''}{rolled_back}; "
            f"turning {m.flags[0]!r} on is {gate}"
        )

    def describe(self) -> str:
        """The rollout's end state, the servers that reported a wrong hash, the outcome."""
        check = self.check()
        rows = check.fleet_rows()
        wrong = [r for r in rows if r["match"] == "NO"]
        unreached = [int(str(r["server"])) for r in rows if r["match"] == "-"]
        lines = [self.headline()]
        lines += [
            f"server {r['server']}: reported {r['reported']}, release {r['release']}" for r in wrong
        ] or ["every server reached reported the release's hash"]
        if unreached:
            lines.append(f"not reached by the rollout: {servers_named(unreached)}")
        lines.append(self.outcome_text())
        return "\n".join(lines)


#: The canary judge's candidates: name -> (the build, whether its flag is on).
CANARY_CANDIDATES: dict[str, tuple[Callable[[], Build], bool]] = {
    RLP_RELEASE: (lambda: rlp_build(), True),
    "the stale build with the flag on (server 8 on the day)": (lambda: old_build(), True),
    "a bad release (made up): the flag reaches Power Peg": (bad_release, True),
}
#: What the rollout does on each verdict.
VERDICT_ACTIONS = {
    "PASS": "the rollout continues to the rest of the fleet",
    "MARGINAL": "the rollout pauses for a person; unpromoted, it is rolled back",
    "FAIL": "the rollout aborts and every server goes back to the stable build",
}


class CanaryJudgeModel:
    """A Kayenta-style canary judge on trading metrics: a candidate and the judge's config.

    The baseline is the stable build with the flag off; the candidate runs the first
    minutes after the open with the flag on (see
    :func:`smars_sim.fixes.verified_deploy.canary_samples`).

    Args:
        scenario: The day (default: the notebooks' 1 August 2012).

    Attributes:
        candidate: A name of :data:`CANARY_CANDIDATES`.
        critical: Whether the first metric is critical.
        allowed: Metric name -> its allowed increase.
    """

    DEFAULT_CANDIDATE = "the stale build with the flag on (server 8 on the day)"

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.base = scenario or base_scenario()
        self.candidate = self.DEFAULT_CANDIDATE
        self.critical = deploy.METRICS[0].critical
        self.allowed = {m.name: m.allowed_increase for m in deploy.METRICS}

    @staticmethod
    def check_metrics(names: Iterable[str]) -> None:
        """Raise ``ValueError`` for a name that is not one of the judge's metrics."""
        unknown = set(names) - {m.name for m in deploy.METRICS}
        if unknown:
            raise ValueError(f"unknown metric(s) {sorted(unknown)}")

    def set(
        self, candidate: str | None = None, critical: bool | None = None, **allowed: float
    ) -> None:
        """Set the candidate, whether the first metric is critical, and allowed increases
        by metric name; everything not given goes back to the judge's defaults."""
        self.check_metrics(allowed)
        if candidate is not None:
            self.candidate = candidate
        self.critical = deploy.METRICS[0].critical if critical is None else critical
        self.allowed = {m.name: allowed.get(m.name, m.allowed_increase) for m in deploy.METRICS}

    def metrics(self) -> list[deploy.MetricSpec]:
        """The judge's configuration."""
        out = []
        for i, m in enumerate(deploy.METRICS):
            critical = self.critical if i == 0 else m.critical
            out.append(replace(m, allowed_increase=self.allowed[m.name], critical=critical))
        return out

    def samples(self) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
        """Baseline and candidate samples (cached by the fix module)."""
        make, _ = CANARY_CANDIDATES[self.candidate]
        stable = old_build()
        base = deploy.canary_samples(self.base, stable, self.base.flag, flags_on=False)
        cand = deploy.canary_samples(self.base, make(), self.base.flag, flags_on=True)
        return base, cand

    def analysis(self) -> deploy.CanaryAnalysis:
        """The verdict."""
        base, cand = self.samples()
        return deploy.judge(base, cand, self.metrics())

    def rows(self) -> list[dict[str, object]]:
        """One row per metric: baseline and canary means, the test, the classification."""
        return [
            {
                "metric": m.name,
                "baseline mean": f"{m.baseline_mean:,.3g}",
                "canary mean": f"{m.canary_mean:,.3g}",
                "ratio": "n/a" if math.isnan(m.ratio) else f"{m.ratio:,.3g}",
                "p (Mann-Whitney)": f"{m.p_value:.2g}",
                "critical": m.critical,
                "result": m.classification,
            }
            for m in self.analysis().metrics
        ]

    def describe(self) -> str:
        """Each metric's result, then the verdict."""
        a = self.analysis()
        lines = [
            f"{r['metric']}: {r['result']} (baseline {r['baseline mean']}, canary "
            f"{r['canary mean']})"
            for r in self.rows()
        ]
        lines.append(f"verdict {a.verdict}, score {a.score:.0f}: {a.reason}")
        return "\n".join(lines)
