"""q3 · Verify the fleet: a deployment verifier that refuses to proceed.

The learner writes ``verify_fleet(manifest, reports)``. ``manifest`` is
``{"version": str, "sha256": str, "servers": [ids]}``; ``reports`` maps a server id
to the sha256 of the build that server says it has loaded (``None``: it sent no
report). The verifier returns normally when every server in the manifest reports
exactly the manifest's digest, and raises :class:`~smars_sim.exercises.DeployRefused`
otherwise, with a message naming every server at fault.
"""

from __future__ import annotations

import re
from typing import Any

from ..core.builds import old_build, rlp_build
from . import DeployRefused
from .learner import LearnerError, call, test_case

name = "q3"
title = "Verify the fleet"
points = 9


def manifest_for(build: Any, servers: int) -> dict[str, Any]:
    """A release manifest: the build's version and digest, and the servers it goes to."""
    return {
        "version": build.version,
        "sha256": build.sha256,
        "servers": list(range(1, servers + 1)),
    }


def fleet_reports(scenario: Any) -> dict[int, str | None]:
    """What each server reports after the hand deploy of a scenario (no replay is run)."""
    from ..fixes import Simulation

    sim = Simulation(scenario)
    return {server.id: server.build.sha256 for server in sim.fleet.servers}


def example_fleet() -> tuple[dict[str, Any], dict[int, str | None]]:
    """The RLP release's manifest, and the fleet's hash reports after the July 2012 hand deploy."""
    from ..core.scenario import Scenario

    scenario = Scenario.aug1_2012(scale=0.01)
    return manifest_for(rlp_build(), scenario.servers), fleet_reports(scenario)


# --------------------------------------------------------------------------
def _verdict(
    verify_fleet: Any, manifest: dict[str, Any], reports: dict[Any, Any], refuse: bool
) -> str | None:
    """``None`` if the verifier let the deploy proceed, else its refusal message."""
    try:
        call(verify_fleet, manifest, reports)
    except LearnerError as err:
        if isinstance(err.exc, DeployRefused) or type(err.exc).__name__ == "DeployRefused":
            return str(err.exc)
        if err.not_written:
            raise
        if refuse:
            raise AssertionError(
                f"{err.hint()[:-1]} instead of refusing with DeployRefused. A verifier must "
                "not crash on a bad report: it refuses, naming the server."
            ) from None
        raise AssertionError(
            f"{err.hint()[:-1]}, on a fleet where every server reports the manifest's digest "
            "(the deploy should proceed). Loop over manifest['servers'], not over servers "
            "you expect."
        ) from None
    return None


def _names(message: str, server: int) -> bool:
    return re.search(rf"(?<!\d){server}(?!\d)", message) is not None


def _refuses(
    verify_fleet: Any, manifest: dict[str, Any], reports: dict[Any, Any], bad: list[int], why: str
) -> None:
    message = _verdict(verify_fleet, manifest, reports, refuse=True)
    servers = ", ".join(map(str, bad))
    assert message is not None, (
        f"expected DeployRefused ({why}); verify_fleet let the deploy proceed. Compare each "
        "server's report with manifest['sha256'], for every server in manifest['servers']."
    )
    unnamed = [s for s in bad if not _names(message, s)]
    assert not unnamed, (
        f"verify_fleet refused (good), but its message {message[:80]!r} does not name server "
        f"{unnamed[0]}: the person reading it must know which server{'s' if len(bad) > 1 else ''} "
        f"({servers}) to fix."
    )


def _proceeds(verify_fleet: Any, manifest: dict[str, Any], reports: dict[Any, Any]) -> None:
    message = _verdict(verify_fleet, manifest, reports, refuse=False)
    assert message is None, (
        f"every server reports the manifest's sha256, yet verify_fleet refused: {message[:100]!r}. "
        "Compare with manifest['sha256'], not with a digest typed in."
    )


def _fleet(build: Any, n: int) -> dict[int, str | None]:
    return {k: build.sha256 for k in range(1, n + 1)}


# --------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------
@test_case("every server reports the manifest's digest: the deploy proceeds")
def proceeds_when_all_match(verify_fleet):
    release = rlp_build()
    _proceeds(verify_fleet, manifest_for(release, 8), _fleet(release, 8))


@test_case("server 8 still runs the old build: refused, naming server 8")
def refuses_a_stale_server(verify_fleet):
    release = rlp_build()
    reports = _fleet(release, 8)
    reports[8] = old_build().sha256
    _refuses(verify_fleet, manifest_for(release, 8), reports, [8], "server 8 runs the old build")


@test_case("server 8 sent no report: refused, naming server 8")
def refuses_a_missing_report(verify_fleet):
    release = rlp_build()
    reports = _fleet(release, 8)
    reports[8] = None
    _refuses(verify_fleet, manifest_for(release, 8), reports, [8], "server 8 sent no report")


@test_case(hidden=True, variant="a fleet of 20 servers in which server 13 runs the old build")
def refuses_in_a_bigger_fleet(verify_fleet):
    release = rlp_build()
    reports = _fleet(release, 20)
    reports[13] = old_build().sha256
    _refuses(verify_fleet, manifest_for(release, 20), reports, [13], "server 13 is stale")


@test_case(hidden=True, variant="servers 2 and 6 both run the old build")
def refuses_naming_every_bad_server(verify_fleet):
    release = rlp_build()
    reports = _fleet(release, 8)
    reports[2] = reports[6] = old_build().sha256
    _refuses(verify_fleet, manifest_for(release, 8), reports, [2, 6], "two servers are stale")


@test_case(hidden=True, variant="server 4 is missing from the reports altogether")
def refuses_an_absent_server(verify_fleet):
    release = rlp_build()
    reports = _fleet(release, 8)
    del reports[4]
    _refuses(verify_fleet, manifest_for(release, 8), reports, [4], "server 4 never answered")


@test_case(hidden=True, variant="server 5 reports only the first 12 digits of the digest")
def refuses_a_short_hash(verify_fleet):
    release = rlp_build()
    reports = _fleet(release, 8)
    reports[5] = release.sha256[:12]
    _refuses(
        verify_fleet,
        manifest_for(release, 8),
        reports,
        [5],
        "a prefix is not the digest: compare all 64 hex digits",
    )


@test_case(
    hidden=True,
    variant="another release (a build reading another flag) on 5 servers, all up to date",
)
def proceeds_for_another_release(verify_fleet):
    release = rlp_build(flag="smars.rlp.retail-routing")
    _proceeds(verify_fleet, manifest_for(release, 5), _fleet(release, 5))


@test_case(
    hidden=True, variant="the reports of a real fleet after a hand deploy that missed server 2"
)
def refuses_a_real_fleet(verify_fleet):
    from ..core.scenario import Scenario

    scenario = Scenario.small(stale_servers=(2,))
    reports = fleet_reports(scenario)
    _refuses(
        verify_fleet,
        manifest_for(rlp_build(), scenario.servers),
        reports,
        [2],
        "server 2 missed the hand deploy",
    )
