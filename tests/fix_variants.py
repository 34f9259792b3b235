"""Scenario variants every fix must hold over, and the unfixed loss to compare with.

Shared by the four ``test_fixes_*`` files: the same stale servers, several stale
servers, another flag name and another seed, so that a fix is tested over variants
rather than one script.
"""

from __future__ import annotations

from functools import cache

from smars_sim import Scenario, replay

#: ``(scenario name, changes)`` pairs.
SMALL_VARIANTS = [
    ("small", {"stale_servers": (1,)}),
    ("small", {"stale_servers": (2,)}),
    ("small", {"stale_servers": (3,)}),
    ("small", {"stale_servers": (1, 3)}),
    ("small", {"flag": "legacy_peg"}),
    ("small", {"seed": 7}),
]


def unfixed_loss(name: str, **changes: object) -> float:
    """The realised loss of the same scenario with no fix (cached per variant)."""
    return _unfixed(name, tuple(sorted(changes.items())))


@cache
def _unfixed(name: str, changes: tuple[tuple[str, object], ...]) -> float:
    return replay(Scenario.named(name, **dict(changes))).summary.loss_usd
