"""Fix ``verified-deploy``: an automated, verified deploy with a canary.

In 2012 a technician copied the RLP build to the servers by hand, missed one, and
nobody checked (SEC order ¶15: no second-technician review, "no written procedures
that required such a review"). This fix replaces the hand copy with what a deploy
tool does:

1. **Release manifest.** The release is named by its build's sha256 (a digest, not a
   mutable name, as Kubernetes references images), together with the flags it
   introduces.
2. **Canary.** The build goes to one server first. An automated analysis compares
   the canary with a baseline on trading metrics (child orders per filled parent,
   order rate, net notional) and gives a Kayenta-style verdict: PASS, MARGINAL or
   FAIL, with one *critical* metric whose failure fails the whole analysis. PASS
   promotes the release to the rest of the fleet; MARGINAL pauses it for a person
   (nobody promotes it here, so it is rolled back); FAIL aborts and rolls back
   (Argo Rollouts: "setting the canary weight back to zero").
3. **Fleet verification.** After every copy, each server reports the hash of the
   build it has loaded. A missing or mismatched report fails the deploy, which is
   aborted and rolled back to the stable build on every server (AWS CodeDeploy's
   ``ValidateService`` hook plus automatic rollback).
4. **Flag gate.** Enabling a flag that the release introduces is refused
   (``fleet.flag_guard``) until every server reports the manifest's hash; the check
   is made live, at the moment of the change. The timeline records the refusal.

The fault is modelled, not assumed away: on the scenario's "missed" servers the
automation's copy fails silently, exactly as the hand copy did, and the server keeps
its old build. What changes is that the hash report exposes it before anyone turns a
flag on.

**How the canary's metrics are obtained.** The deploy happened before 1 August, and
the record says nothing about Knight's traffic in those days. The analysis therefore
replays a *canary window* in a scratch copy of the scenario's market: the first
:data:`CANARY_MINUTES` minutes after the open, with the scenario's own order flow and
seed. It is run twice on identical flow: once with every server on the stable build
and the release's flags off (baseline), once with every server on the release and
its flags on (canary). Only the canary server's share of the flow is measured in
both. Running the whole scratch fleet on one build is what lets the release's flags
be on without touching the stable build; a real canary would target the flag at the
canary server instead (and with a reused key that is exactly what cannot be done
safely). Identical flow removes the traffic noise a real canary has to judge
statistically; the judge still applies Kayenta's test (Mann-Whitney U at 98%
confidence plus an allowed effect size), so a small, noisy difference passes.

Modelled on Argo Rollouts, Flagger, Kayenta, Kubernetes image digests and AWS
CodeDeploy (the kit's reading of their documentation).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..core.clock import OPEN_NS, SECOND_NS
from ..core.fleet import CHILD_FIELDS, EXEC_FIELDS

if TYPE_CHECKING:
    from ..core.builds import Build
    from ..core.engine import Simulation
    from ..core.fleet import Fleet, Server
    from ..core.scenario import Scenario

__all__ = [
    "ACTOR",
    "CANARY_ANALYSIS",
    "CANARY_MINUTES",
    "METRICS",
    "ROLLOUT_ABORTED",
    "CanaryAnalysis",
    "MetricResult",
    "MetricSpec",
    "ReleaseManifest",
    "Rollout",
    "canary_samples",
    "install",
    "judge",
    "mann_whitney_p",
]

#: This fix's name in the registry (``smars_sim.fixes.SPECS``) and on its timeline entries.
NAME = "verified-deploy"

#: Length of the replayed canary window, minutes after the open.
CANARY_MINUTES = 5
#: Width of one sample of the time-series metrics, seconds.
BUCKET_S = 30
#: Kayenta's default: a metric is High or Low only if a Mann-Whitney U test finds the
#: difference significant at this confidence (and its size exceeds the allowed change).
CONFIDENCE = 0.98
#: Scores at or above these are PASS and MARGINAL; below MARGINAL is FAIL.
PASS_THRESHOLD = 95.0
MARGINAL_THRESHOLD = 75.0
#: The timeline actor of the automated deploy, and the actions by which it acts on a
#: release (the analysis is noted whatever its verdict; an abort always follows a bad one).
ACTOR = "deploy automation"
CANARY_ANALYSIS = "canary analysis"
ROLLOUT_ABORTED = "rollout aborted"
_ACTOR = ACTOR


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One canary metric (Kayenta's metric configuration).

    Attributes:
        name: Metric name.
        weight: Its share of the score.
        critical: A High verdict on it fails the whole analysis.
        allowed_increase: The effect-size gate: the metric is High only if the canary's
            mean exceeds the baseline's by more than this fraction (and significantly).
        unit: For display.
    """

    name: str
    weight: float
    critical: bool
    allowed_increase: float
    unit: str


#: The trading metrics. Only increases are bad: a canary that sends fewer orders or
#: builds less exposure than the baseline passes (the RLP release rests retail orders
#: in the RLP instead of sending child orders).
METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("child_orders_per_filled_parent", 50.0, True, 0.5, "orders"),
    MetricSpec("order_rate", 25.0, False, 0.5, "orders/s"),
    MetricSpec("net_notional", 25.0, False, 0.5, "USD per 30 s"),
)


@dataclass(frozen=True, slots=True)
class ReleaseManifest:
    """What the release is: a build digest and the flags it introduces.

    Attributes:
        version: Human label of the build.
        sha256: The digest every server must report.
        flags: Flag keys the release introduces; none may be enabled before the
            whole fleet runs ``sha256``.
    """

    version: str
    sha256: str
    flags: tuple[str, ...]

    @property
    def short_hash(self) -> str:
        """The first 12 hex digits."""
        return self.sha256[:12]


# ------------------------------------------------------------------ the judge
def mann_whitney_p(x: Sequence[float], y: Sequence[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test (normal approximation).

    Uses mid-ranks for ties, the tie-corrected variance and a continuity correction,
    as ``scipy.stats.mannwhitneyu(..., method="asymptotic")`` does. Returns 1.0 when
    there is no variation at all.
    """
    n1, n2 = len(x), len(y)
    if not n1 or not n2:
        return 1.0
    pooled = sorted([(v, 0) for v in x] + [(v, 1) for v in y])
    n = n1 + n2
    rank_x = 0.0
    ties = 0.0
    i = 0
    while i < n:
        j = i
        while j + 1 < n and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        mid = (i + j) / 2 + 1  # ranks are 1-based
        t = j - i + 1
        ties += t**3 - t
        rank_x += mid * sum(1 for k in range(i, j + 1) if pooled[k][1] == 0)
        i = j + 1
    u = rank_x - n1 * (n1 + 1) / 2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:
        return 1.0
    z = max(0.0, abs(u - n1 * n2 / 2) - 0.5) / math.sqrt(variance)
    return math.erfc(z / math.sqrt(2))


@dataclass(slots=True)
class MetricResult:
    """The judge's verdict on one metric.

    Attributes:
        name: Metric name.
        classification: ``"Pass"``, ``"High"``, ``"Low"`` (allowed: only increases
            are bad) or ``"Nodata"``.
        baseline_mean: Mean of the baseline samples.
        canary_mean: Mean of the canary samples.
        ratio: ``canary_mean / baseline_mean`` (``inf`` if the baseline is 0).
        p_value: Mann-Whitney two-sided p-value.
        critical: Whether the metric is critical.
    """

    name: str
    classification: str
    baseline_mean: float
    canary_mean: float
    ratio: float
    p_value: float
    critical: bool


@dataclass(slots=True)
class CanaryAnalysis:
    """A Kayenta-style canary verdict.

    Attributes:
        verdict: ``"PASS"``, ``"MARGINAL"`` or ``"FAIL"``.
        score: 0-100: the weighted share of metrics that passed (0 if a critical
            metric is High or half the metrics have no data).
        metrics: Per-metric results.
        reason: One line explaining the verdict.
    """

    verdict: str
    score: float
    metrics: list[MetricResult] = field(default_factory=list)
    reason: str = ""

    def summary(self) -> str:
        """One line per metric, then the verdict."""
        lines = [
            f"{m.name}: {m.classification} (baseline {m.baseline_mean:,.3g}, "
            f"canary {m.canary_mean:,.3g}, p={m.p_value:.2g}{', critical' if m.critical else ''})"
            for m in self.metrics
        ]
        lines.append(f"verdict {self.verdict}, score {self.score:.0f}: {self.reason}")
        return "\n".join(lines)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def judge(
    baseline: dict[str, list[float]],
    canary: dict[str, list[float]],
    metrics: Sequence[MetricSpec] = METRICS,
) -> CanaryAnalysis:
    """Judge a canary against its baseline, as Kayenta's NetflixACAJudge does.

    For each metric: no samples on either side is Nodata; otherwise the metric is
    High when the canary's mean exceeds the baseline's by more than the allowed
    increase *and* a Mann-Whitney U test finds the difference significant at 98%.
    The score is the weighted share of metrics classified Pass or Low. A critical
    metric classified High, or Nodata on half the metrics, sets the score to 0 ("no
    data" must fail). PASS needs 95, MARGINAL 75.

    Args:
        baseline: Metric name -> baseline samples.
        canary: Metric name -> canary samples.
        metrics: The metric configuration.

    Returns:
        The analysis.
    """
    results = []
    for spec in metrics:
        x, y = baseline.get(spec.name, []), canary.get(spec.name, [])
        if not x or not y:
            results.append(
                MetricResult(spec.name, "Nodata", 0.0, 0.0, math.nan, 1.0, spec.critical)
            )
            continue
        bm, cm = _mean(x), _mean(y)
        ratio = cm / bm if bm else (math.inf if cm > 0 else 1.0)
        p = mann_whitney_p(x, y)
        significant = p < 1 - CONFIDENCE
        if significant and ratio > 1 + spec.allowed_increase:
            label = "High"
        elif significant and ratio < 1:
            label = "Low"
        else:
            label = "Pass"
        results.append(MetricResult(spec.name, label, bm, cm, ratio, p, spec.critical))
    total = sum(s.weight for s in metrics)
    passed = sum(
        s.weight
        for s, r in zip(metrics, results, strict=True)
        if r.classification in ("Pass", "Low")
    )
    score = 100.0 * passed / total if total else 0.0
    critical_high = [r.name for r in results if r.critical and r.classification == "High"]
    nodata = sum(1 for r in results if r.classification == "Nodata")
    if critical_high:
        score, reason = 0.0, f"critical metric {critical_high[0]} is High"
    elif results and nodata * 2 >= len(results):
        score, reason = 0.0, f"{nodata} of {len(results)} metrics have no data"
    else:
        high = [r.name for r in results if r.classification in ("High", "Nodata")]
        reason = "no metric worse than the baseline" if not high else "worse: " + ", ".join(high)
    if score >= PASS_THRESHOLD:
        verdict = "PASS"
    elif score >= MARGINAL_THRESHOLD:
        verdict = "MARGINAL"
    else:
        verdict = "FAIL"
    return CanaryAnalysis(verdict, score, results, reason)


# --------------------------------------------------------- the canary window
def _window_scenario(scenario: Scenario, minutes: int, flags_on: bool) -> Scenario:
    end = OPEN_NS + minutes * 60 * SECOND_NS
    return scenario.with_(
        stale_servers=(),  # the scratch fleet is set up by hand below
        rollback_at=None,
        stop_all_at=None,
        halt_at=None,
        kill_at=None,
        fixes=(),
        window_end=end,
        end_at=end,
        flag_on_at=scenario.flag_on_at if flags_on else None,
    )


def canary_samples(
    scenario: Scenario,
    build: Build,
    flag: str,
    *,
    flags_on: bool,
    server: int = 1,
    minutes: int = CANARY_MINUTES,
) -> dict[str, list[float]]:
    """Replay the canary window with every server on ``build``; measure one server.

    Args:
        scenario: The scenario whose market and order flow to replay.
        build: The build every scratch server runs.
        flag: The release's flag key (turned on at the scenario's flag time if
            ``flags_on``).
        flags_on: Whether the release's flag is on (canary) or off (baseline).
        server: The server whose share of the flow is measured.
        minutes: Window length after the open.

    Returns:
        Metric name -> samples (see :data:`METRICS`).
    """
    window = _window_scenario(scenario, minutes, flags_on).with_(flag=flag)
    # A replay is a pure function of its scenario and builds, so identical canary
    # windows (the what-if engine deploys the same release many times) are reused.
    key = (repr(window), build.sha256, server, minutes)
    cached = _SAMPLES.get(key)
    if cached is None:
        cached = _SAMPLES[key] = _measure(window, build, server, minutes)
        while len(_SAMPLES) > _SAMPLES_MAX:
            del _SAMPLES[next(iter(_SAMPLES))]  # oldest first
    return {name: list(values) for name, values in cached.items()}


_SAMPLES: dict[tuple[str, str, int, int], dict[str, list[float]]] = {}
_SAMPLES_MAX = 64


def _measure(window: Scenario, build: Build, server: int, minutes: int) -> dict[str, list[float]]:
    from . import Simulation  # the canary window is a replay like any other

    sim = Simulation(window)
    sim.set_builds(build, build)
    sim.run()
    fleet = sim.fleet
    parents = fleet.parents
    width = len(CHILD_FIELDS)
    t_i, p_i = CHILD_FIELDS.index("time"), CHILD_FIELDS.index("parent_id")
    children = fleet.children
    child_parent = children[p_i::width]
    buckets = max(1, minutes * 60 // BUCKET_S)
    orders = [0] * buckets
    per_parent: dict[int, int] = {}
    for when, pid in zip(children[t_i::width], child_parent, strict=True):
        if parents[pid].server != server:
            continue
        per_parent[pid] = per_parent.get(pid, 0) + 1
        if when >= OPEN_NS:
            orders[min(buckets - 1, (when - OPEN_NS) // (BUCKET_S * SECOND_NS))] += 1
    net = [0.0] * buckets
    ew = len(EXEC_FIELDS)
    e_t, e_c = EXEC_FIELDS.index("time"), EXEC_FIELDS.index("order_id")
    e_p, e_q = EXEC_FIELDS.index("price"), EXEC_FIELDS.index("qty")
    journal = fleet.journal
    for i in range(0, len(journal), ew):
        parent = parents[child_parent[journal[i + e_c] - 1]]
        when = journal[i + e_t]
        if parent.server != server or when < OPEN_NS:
            continue
        b = min(buckets - 1, (when - OPEN_NS) // (BUCKET_S * SECOND_NS))
        net[b] += parent.side * journal[i + e_p] * journal[i + e_q] / 100
    filled = [pid for pid, p in parents.items() if p.server == server and p.filled_qty > 0]
    return {
        "child_orders_per_filled_parent": [float(per_parent.get(pid, 0)) for pid in filled],
        "order_rate": [n / BUCKET_S for n in orders],
        "net_notional": [abs(v) for v in net],
    }


# ------------------------------------------------------------------ the rollout
class Rollout:
    """The automated deploy of one release to one fleet: canary, verify, promote or abort.

    Args:
        sim: The simulation (its fleet, builds, scenario and release flag).
        canary: The canary server (1-based).
        copy_faults: Servers on which the copy fails silently (the server keeps its
            build): the same fault as the technician's miss.
        unreachable: Servers that send no hash report.
        analyse: Whether to run the canary analysis (tests may switch it off).

    Attributes:
        manifest: The release manifest.
        status: ``"pending"``, ``"succeeded"``, ``"failed"`` or ``"paused"``.
        analysis: The canary analysis, once run.
        problems: Why verification failed, one line per server.
    """

    def __init__(
        self,
        sim: Simulation,
        canary: int = 1,
        copy_faults: Sequence[int] = (),
        unreachable: Sequence[int] = (),
        analyse: bool = True,
    ) -> None:
        self.sim = sim
        self.fleet: Fleet = sim.fleet
        self.canary = self.fleet.server(canary).id
        self.copy_faults = set(copy_faults)
        self.unreachable = set(unreachable)
        self.analyse = analyse
        self.manifest = ReleaseManifest(
            sim.new_build.version, sim.new_build.sha256, (sim.rlp_flag,)
        )
        self.stable: Build = sim.old_build
        self.status = "pending"
        self.analysis: CanaryAnalysis | None = None
        self.problems: list[str] = []

    # ------------------------------------------------------------ steps
    def _note(self, action: str, server: int, detail: str, *, acted: bool = False) -> None:
        # Before the day: the timeline keeps these at 00:00 like the manual deploy.
        # ``acted``: the step changed what the fleet runs (an abort or a held canary).
        self.fleet.note(
            0,
            _ACTOR,
            action,
            server,
            f"before 1 Aug 2012: {detail}",
            control=NAME if acted else "",
        )

    def _copy(self, server: Server, build: Build) -> None:
        if server.id in self.copy_faults:
            return  # the copy fails silently: the server keeps the build it had
        server.build = build

    def report(self, server: Server) -> str | None:
        """The hash a server reports for the build it has loaded (``None``: no report)."""
        return None if server.id in self.unreachable else server.build.sha256

    def verify(self, servers: Sequence[Server], sha256: str) -> list[str]:
        """Check that every server reports ``sha256``.

        Returns:
            One line per group of failing servers (no report, or the same wrong
            hash), empty when every server reports ``sha256``.
        """
        wrong: dict[str, list[int]] = {}
        for server in servers:
            reported = self.report(server)
            if reported is None:
                wrong.setdefault("sent no hash report", []).append(server.id)
            elif reported != sha256:
                key = f"{reported[:12]} ({server.build.version}), not {sha256[:12]}"
                wrong.setdefault(key, []).append(server.id)
        lines = []
        for what, ids in wrong.items():
            many = len(ids) > 1
            verb = "" if what.startswith("sent") else ("report " if many else "reports ")
            lines.append(f"server{'s' if many else ''} {', '.join(map(str, ids))} {verb}{what}")
        return lines

    def _deploy(self, servers: Sequence[Server]) -> None:
        """Copy the release to ``servers`` and record what each one reports."""
        m = self.manifest
        for server in servers:
            self._copy(server, self.sim.new_build)
            reported = self.report(server)
            self._note(
                "deploy + verify",
                server.id,
                f"{m.version} ({m.short_hash}) -> reports "
                f"{reported[:12] if reported else 'nothing'}",
            )

    def _rollback(self, why: str) -> None:
        """Abort: put the stable build back on every server that runs the release."""
        back = [s for s in self.fleet.servers if s.build.sha256 == self.manifest.sha256]
        for server in back:
            server.build = self.stable
        left = self.verify(self.fleet.servers, self.stable.sha256)
        self._note(
            ROLLOUT_ABORTED,
            0,
            f"{why}; rolled back servers {', '.join(str(s.id) for s in back) or 'none'} "
            f"to {self.stable.version} ({self.stable.short_hash})"
            + (f"; still inconsistent: {'; '.join(left)}" if left else ""),
            acted=True,
        )
        self.fleet.pages.append((0, "deploy automation", f"release {self.manifest.version}: {why}"))

    def run(self) -> None:
        """The deploy procedure (installed as ``sim.deploy``)."""
        # The builds are final now (fixes installed earlier may have replaced them).
        sim = self.sim
        self.manifest = m = ReleaseManifest(
            sim.new_build.version, sim.new_build.sha256, (sim.rlp_flag,)
        )
        self.stable = sim.old_build
        servers = self.fleet.servers
        self._note(
            "release manifest",
            0,
            f"{m.version} sha256 {m.short_hash}; flags {', '.join(m.flags)} gated on the fleet",
        )
        canary = self.fleet.server(self.canary)
        self._deploy([canary])
        self.problems = self.verify([canary], m.sha256)
        if self.problems:
            self.status = "failed"
            self._rollback("canary failed verification: " + "; ".join(self.problems))
            return
        if self.analyse:
            self.analysis = analysis = self._analyse()
            self._note(
                CANARY_ANALYSIS,
                canary.id,
                analysis.summary().replace("\n", "; "),
                acted=analysis.verdict != "PASS",
            )
            if analysis.verdict != "PASS":
                # FAIL aborts; MARGINAL pauses for a person, and nobody promotes it here.
                self.status = "failed" if analysis.verdict == "FAIL" else "paused"
                self._rollback(f"canary analysis {analysis.verdict}: {analysis.reason}")
                return
        self._deploy([s for s in servers if s.id != canary.id])
        self.problems = self.verify(servers, m.sha256)  # the whole fleet, canary included
        if self.problems:
            self.status = "failed"
            self._rollback("fleet verification failed: " + "; ".join(self.problems))
            return
        self.status = "succeeded"
        self._note("rollout complete", 0, f"all {len(servers)} servers report {m.short_hash}")

    def _analyse(self) -> CanaryAnalysis:
        s, sim = self.sim.scenario, self.sim
        flag = sim.rlp_flag
        base = canary_samples(s, self.stable, flag, flags_on=False, server=self.canary)
        cand = canary_samples(s, sim.new_build, flag, flags_on=True, server=self.canary)
        return judge(base, cand)

    # ------------------------------------------------------------ flag gate
    def guard(self, name: str, value: bool, now: int) -> str | None:
        """Refuse enabling a release flag until every server reports the manifest's hash."""
        if not value or name not in self.manifest.flags:
            return None
        problems = self.verify(self.fleet.servers, self.manifest.sha256)
        if problems:
            return (
                f"release {self.manifest.version} ({self.manifest.short_hash}) is not on the "
                f"whole fleet: {'; '.join(problems)}"
            )
        return None


def install(sim: Simulation) -> None:
    """Install the fix: the automated rollout replaces the hand copy, and gates the flags.

    The copy fails on the scenario's missed servers (``stale_servers``), as the hand
    copy did; the verification is what changes the outcome.
    """
    rollout = Rollout(sim, canary=1, copy_faults=sim.scenario.stale_servers)
    sim.deploy = rollout.run
    previous = sim.fleet.flag_guard

    def guard(name: str, value: bool, now: int) -> str | None:
        reason = previous(name, value, now) if previous is not None else None
        return reason or rollout.guard(name, value, now)

    sim.fleet.flag_guard = guard
