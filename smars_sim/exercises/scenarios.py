"""The mornings the exercises replay: the examples learners see, and the variants they don't.

Every scenario here is small enough for a check: ``Scenario.small()`` (two stocks,
about 0.1 s) or ``Scenario.aug1_2012`` at 1% resolution cut to the first 10-15
minutes after the open (154 stocks, 0.1-0.5 s). Nothing runs at full size.

Replays are pure functions of their scenario, so each is run once per process and
cached; callers get copies of any table they could mutate.
"""

from __future__ import annotations

from collections.abc import Callable
from random import Random
from typing import TYPE_CHECKING

from ..core.scenario import ParentSpec, Scenario

if TYPE_CHECKING:
    from ..core.result import Result

__all__ = ["aug_morning", "busy_parents", "replayed", "scenario", "small_morning"]

#: The 1% replay of the real universe, with no operator action in the window.
_AUG = {"scale": 0.01, "rollback_at": None, "stop_all_at": None}


def aug_morning(until: str = "09:40", **changes: object) -> Scenario:
    """1 August 2012 at 1% resolution, from 08:00 to ``until``, nobody intervening."""
    return Scenario.aug1_2012(**_AUG, window_end=until, end_at=until, **changes)


def small_morning(**changes: object) -> Scenario:
    """The hand-sized market (``Scenario.small``), with changes."""
    return Scenario.small(**changes)


def busy_parents(
    n_symbols: int, seed: int, count: int, start: str, every_s: int, qty: tuple[int, ...]
) -> tuple[ParentSpec, ...]:
    """Client orders arriving one every ``every_s`` seconds from ``start`` (a busy morning).

    Args:
        n_symbols: Symbols to draw from.
        seed: Seed of the draw.
        count: How many orders.
        start: ``"HH:MM[:SS]"`` of the first.
        every_s: Seconds between orders.
        qty: Sizes to draw from.
    """
    from ..core.clock import SECOND_NS, parse_time

    rng = Random(seed)
    t0 = parse_time(start)
    return tuple(
        ParentSpec(
            rng.randrange(n_symbols),
            rng.choice((1, -1)),
            rng.choice(qty),
            t0 + i * every_s * SECOND_NS,
        )
        for i in range(count)
    )


def _late_runaway() -> Scenario:
    # Client orders that arrive after the open: the stale server's runaway starts then.
    parents = busy_parents(154, 11, 16, "09:36", 6, (100, 200, 300, 500))
    return aug_morning("09:45", stale_servers=(5,), seed=11, parents=parents)


def _busy_normal_aug() -> Scenario:
    # An ordinary morning: no flag, client orders before the open and all morning.
    before = busy_parents(154, 21, 40, "09:00", 40, (100, 200, 300, 500))
    during = busy_parents(154, 22, 85, "09:30:30", 10, (100, 200, 300, 500, 1000))
    return aug_morning("09:45", flag_on_at=None, seed=21, parents=before + during)


def _busy_normal_small() -> Scenario:
    # Big client orders (2,000-5,000 shares) that need several child orders each.
    extra = busy_parents(2, 5, 30, "09:31", 20, (2_000, 3_000, 5_000))
    return small_morning(flag_on_at=None, seed=5, parents=Scenario.small().parents + extra)


def _very_busy_normal_small() -> Scenario:
    # More fills than any bad day's first minute: 120 big client orders, one every 5 s.
    # A policy that kills after a few hundred fills in total kills this ordinary day;
    # one that compares each parent's shares out with its shares in does not.
    extra = busy_parents(2, 6, 120, "09:30:30", 5, (2_000, 3_000, 5_000))
    return small_morning(flag_on_at=None, seed=6, parents=Scenario.small().parents + extra)


#: name -> (description, factory). Descriptions are what a learner reads in a hint.
SCENARIOS: dict[str, tuple[str, Callable[[], Scenario]]] = {
    # q1 and q2: the real universe at 1%, the first minutes after the open.
    "aug": (
        "1 Aug 2012 (server 8 missed the deploy)",
        lambda: aug_morning("09:40"),
    ),
    "aug-15": (
        "1 Aug 2012 (server 8 missed the deploy)",
        lambda: aug_morning("09:45"),
    ),
    "aug-deployed": (
        "a normal morning (the release reached every server)",
        lambda: aug_morning("09:40", stale_servers=()),
    ),
    "aug-noflag-15": (
        "a normal morning (nobody turned the flag on)",
        lambda: aug_morning("09:45", flag_on_at=None),
    ),
    "aug-stale3-seed7": (
        "another morning (seed 7) on which server 3 missed the deploy",
        lambda: aug_morning("09:40", stale_servers=(3,), seed=7),
    ),
    "aug-stale3-seed7-15": (
        "another morning (seed 7) on which server 3 missed the deploy",
        lambda: aug_morning("09:45", stale_servers=(3,), seed=7),
    ),
    "aug-stale5-late": (
        "server 5 missed the deploy and its runaway began at 09:36, not at the open (seed 11)",
        _late_runaway,
    ),
    "aug-stale6-seed11-15": (
        "another morning (seed 11) on which server 6 missed the deploy",
        lambda: aug_morning("09:45", stale_servers=(6,), seed=11),
    ),
    "aug-noflag-seed3": (
        "a normal morning (seed 3) on which nobody turned the flag on",
        lambda: aug_morning("09:40", flag_on_at=None, seed=3),
    ),
    "aug-deployed-seed7-15": (
        "a normal morning (seed 7) on which the release reached every server",
        lambda: aug_morning("09:45", stale_servers=(), seed=7),
    ),
    "aug-busy-normal-15": (
        "a busy normal morning (125 client orders, 85 after the open, flag never on)",
        _busy_normal_aug,
    ),
    # q5 and q6: the hand-sized market, at full resolution.
    "small": ("the small market (server 3 missed the deploy)", lambda: small_morning()),
    "small-noflag": (
        "a normal day in the small market (nobody turned the flag on)",
        lambda: small_morning(flag_on_at=None),
    ),
    "small-stale1-seed5": (
        "another day (seed 5) on which server 1 missed the deploy",
        lambda: small_morning(stale_servers=(1,), seed=5),
    ),
    "small-4servers-stale2-seed9": (
        "a fleet of 4 servers in which server 2 missed the deploy (seed 9)",
        lambda: small_morning(servers=4, stale_servers=(2,), seed=9),
    ),
    "small-deployed-seed2": (
        "a normal day (seed 2) on which the release reached every server",
        lambda: small_morning(stale_servers=(), rollback_at=None, seed=2),
    ),
    "small-busy-normal": (
        "a busy normal day with 30 big client orders (2,000-5,000 shares)",
        _busy_normal_small,
    ),
    "small-very-busy-normal": (
        "a very busy normal day: 120 big client orders in ten minutes, over a thousand fills",
        _very_busy_normal_small,
    ),
    "small-newflag-stale1-seed4": (
        "another flag name ('smars.legacy.peg'), server 1 missed the deploy (seed 4)",
        lambda: small_morning(flag="smars.legacy.peg", stale_servers=(1,), seed=4),
    ),
}

_CACHE: dict[tuple[str, tuple[str, ...]], Result] = {}


def scenario(name: str) -> Scenario:
    """A named scenario (a fresh object each time)."""
    return SCENARIOS[name][1]()


def describe(name: str) -> str:
    """What a named scenario is, in a few words."""
    return SCENARIOS[name][0]


def replayed(name: str, fixes: tuple[str, ...] = ()) -> Result:
    """The replay of a named scenario (run once per process, then cached).

    Do not hand the result's tables to learner code without copying them.
    """
    key = (name, fixes)
    result = _CACHE.get(key)
    if result is None:
        from ..fixes import replay

        sc = scenario(name)
        result = _CACHE[key] = replay(sc.with_(fixes=fixes) if fixes else sc)
    return result
