"""q4 · Never reuse a flag: single-use keys, tombstones, and refusal to re-bind.

The learner writes a class ``Registry`` with five methods:

* ``create(key)``: a new flag, off. Refused if the key exists or is tombstoned.
* ``set(key, on)``: turn a flag on or off. Refused if the key is unknown or tombstoned.
* ``is_on(key) -> bool``: ``False`` for an unknown or tombstoned key.
* ``retire(key, reason)``: the flag is off for good and its key becomes a tombstone.
  Refused if the key is unknown or already retired.
* ``bind(key, build)``: record that a build (its version text) reads the key.
  Refused if the key is unknown or tombstoned: no new build may give an old key a
  new meaning, which is what the RLP release did in 2012.

A refusal is a ``ValueError`` (or a subclass) whose message names the key.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from ..core.builds import FLAG, old_build, rlp_build
from .learner import LearnerError, call, test_case
from .scenarios import describe, scenario

if TYPE_CHECKING:
    from ..core.result import Result

name = "q4"
title = "Never reuse a flag"
points = 9

#: Why the Power Peg key was retired (SEC order ¶14: Power Peg stopped in 2003).
RETIRED_BECAUSE = "Power Peg stopped in 2003"


def _method(reg: Any, method: str) -> Any:
    func = getattr(reg, method, None)
    assert callable(func), (
        f"Registry has no method {method}(); it needs create, set, is_on, retire and bind."
    )
    return func


def _do(reg: Any, method: str, *args: Any) -> Any:
    """Call a method that should succeed; a refusal here is the learner's bug, explained."""
    try:
        return call(_method(reg, method), *args, what=f"Registry.{method}")
    except LearnerError as err:
        if not isinstance(err.exc, ValueError) or not _checking():
            raise
        raise AssertionError(
            f"{_show(method, args)} was refused ({str(err.exc)[:80]!r}) where it should work. "
            + _refusal_hint(type(reg))
        ) from None


#: Keys no check uses, for probing why a registry refused (a new one per probe: a
#: registry whose flags live in the class remembers every key it was ever given).
_PROBE_KEYS = (f"smars.check.probe-{n}" for n in itertools.count(1))


def _accepts_create(registry_class: Any, key: str) -> bool | None:
    """Whether a fresh registry creates ``key`` (``None``: it failed some other way)."""
    try:
        call(_method(_new(registry_class), "create"), key, what="Registry.create")
    except LearnerError as err:
        return False if isinstance(err.exc, ValueError) else None
    except AssertionError:
        return None
    return True


def _refusal_hint(registry_class: Any) -> str:
    """Why a registry refused what it should allow, found by probing fresh registries."""
    key = next(_PROBE_KEYS)
    first = _accepts_create(registry_class, key)
    if first is False:
        return (
            "Even a fresh Registry() refuses to create a key nobody has used: a refusal must "
            "depend on the key's history (created already, or retired), not fire every time. "
            "Look at the condition in front of each raise."
        )
    if first and _accepts_create(registry_class, key) is False:
        return (
            "A fresh Registry() refuses a key another Registry() created: its flags live in "
            "the class instead of the instance. Create them in __init__ (self.flags = {})."
        )
    return (
        "Only a key that exists already (for create) or is retired or unknown (for set, "
        "retire and bind) is refused. Look at which condition let this raise fire."
    )


def _checking() -> bool:
    from .learner import _CHECKING

    return _CHECKING.get()


def _new(registry_class: Any) -> Any:
    return call(registry_class, what="Registry()")


def _show(method: str, args: tuple[Any, ...]) -> str:
    return f"{method}({', '.join(map(repr, args))})"


def _refused(reg: Any, method: str, *args: Any, key: str, why: str) -> None:
    """Assert that ``reg.method(*args)`` raises a ValueError naming ``key``."""
    try:
        call(_method(reg, method), *args, what=f"Registry.{method}")
    except LearnerError as err:
        if err.not_written:
            raise
        exc = err.exc
        assert isinstance(exc, ValueError), (
            f"{_show(method, args)} raised {type(exc).__name__}, not ValueError: "
            f"{err.hint()} Refuse with ValueError(...) naming the key."
        )
        assert key in str(exc), (
            f"{_show(method, args)} refused (good), but its message {str(exc)[:80]!r} does not "
            f"name the key {key!r}."
        )
        return
    raise AssertionError(f"expected {_show(method, args)} to be refused ({why}); it was accepted.")


def _is_on(reg: Any, key: str) -> bool:
    value = _do(reg, "is_on", key)
    assert value is not None, (
        f"is_on({key!r}) returned None; it should return True or False (is a `return` missing?)."
    )
    return bool(value)


def _lifecycle(registry_class: Any, key: str) -> None:
    reg = _new(registry_class)
    _do(reg, "create", key)
    assert _is_on(reg, key) is False, (
        f"a new flag starts off; is_on({key!r}) returned True after create."
    )
    _do(reg, "set", key, True)
    assert _is_on(reg, key) is True, f"after set({key!r}, True), is_on({key!r}) returned False."
    _do(reg, "set", key, False)
    assert _is_on(reg, key) is False, f"after set({key!r}, False), is_on({key!r}) returned True."


def _tombstone(registry_class: Any, key: str) -> None:
    reg = _new(registry_class)
    _do(reg, "create", key)
    _do(reg, "bind", key, old_build().version)
    _do(reg, "set", key, True)
    _do(reg, "retire", key, RETIRED_BECAUSE)
    assert _is_on(reg, key) is False, (
        f"a retired flag is off for good; is_on({key!r}) returned True after retire. "
        "Retiring must switch the flag off."
    )
    _refused(reg, "set", key, True, key=key, why="a tombstoned key can never be switched on again")
    _refused(
        reg,
        "create",
        key,
        key=key,
        why="a tombstoned key is never created again: keys are single-use",
    )
    _refused(
        reg, "bind", key, rlp_build().version, key=key, why="no new build may read a tombstoned key"
    )
    assert _is_on(reg, key) is False, f"is_on({key!r}) returned True after the refused attempts."


# --------------------------------------------------------------------------
# The registry guarding a replay
# --------------------------------------------------------------------------
class _RegistryFlags(MutableMapping[str, bool]):
    """``fleet.flags`` backed by the learner's registry: every read is ``is_on``."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry

    def get(self, key: str, default: Any = False) -> bool:
        return bool(_do(self.registry, "is_on", key))

    def __getitem__(self, key: str) -> bool:
        return self.get(key)

    def __setitem__(self, key: str, value: bool) -> None:
        pass  # the flag guard has already called Registry.set

    def __delitem__(self, key: str) -> None:
        raise TypeError("flags are retired, never deleted")

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def _refusal(exc: BaseException) -> str:
    """The message of a refusal (a ValueError, raw or wrapped); re-raise anything else."""
    inner = exc.exc if isinstance(exc, LearnerError) else exc
    if isinstance(inner, ValueError):
        return str(inner)
    raise exc


def replay_with_registry(
    registry_class: Any, scenario_name: str = "small"
) -> tuple[Result, str | None]:
    """Replay a morning with the learner's registry as the fleet's flag store and guard.

    Before the day, the old key is created, bound to the old build, and retired
    (Power Peg stopped in 2003); then the RLP release tries to bind the same key.
    During the day, operations try to turn the key on at the scenario's time.

    Returns:
        The replay, and the registry's refusal of the release's bind (``None`` if
        it accepted it).
    """
    from ..fixes import Simulation

    sc = scenario(scenario_name)
    key = sc.flag or FLAG
    reg = _new(registry_class)
    _do(reg, "create", key)
    _do(reg, "bind", key, old_build(flag=key).version)
    _do(reg, "retire", key, RETIRED_BECAUSE)
    refusal: str | None = None
    try:
        call(_method(reg, "bind"), key, rlp_build(flag=key).version, what="Registry.bind")
    except (LearnerError, ValueError) as exc:
        refusal = _refusal(exc)

    sim = Simulation(sc)

    def guard(flag: str, value: bool, now: int) -> str | None:
        try:
            call(_method(reg, "set"), flag, value, what="Registry.set")
        except (LearnerError, ValueError) as exc:
            return _refusal(exc) or "refused"
        return None

    sim.fleet.flag_guard = guard
    sim.fleet.flags = _RegistryFlags(reg)
    return sim.run(), refusal


def _guards_the_day(registry_class: Any, scenario_name: str) -> str:
    result, refusal = replay_with_registry(registry_class, scenario_name)
    key = result.scenario.flag
    assert refusal is not None, (
        f"after {key!r} was retired, the RLP release could still bind it: "
        f"Registry.bind({key!r}, ...) must refuse a tombstoned key."
    )
    peg = result.summary.parent_orders
    assert peg == 0, (
        f"with your registry guarding the fleet, operations turned the retired {key!r} on "
        f"and Power Peg worked {peg} orders (loss ${result.summary.loss_usd:,.0f}). "
        "Registry.set must refuse a tombstoned key, and is_on must say False."
    )
    return (
        f"{describe(scenario_name)}: the bind and the flag change were refused, Power Peg never "
        f"ran (loss ${result.summary.loss_usd:,.0f})"
    )


# --------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------
@test_case("a flag's life: create (off), set on, set off")
def lifecycle(Registry):
    _lifecycle(Registry, "smars.rlp.retail-routing")


@test_case("creating a key that exists is refused")
def no_duplicates(Registry):
    reg = _new(Registry)
    _do(reg, "create", "smars.rlp.retail-routing")
    _refused(
        reg,
        "create",
        "smars.rlp.retail-routing",
        key="smars.rlp.retail-routing",
        why="the key already exists",
    )


@test_case("a retired key is a tombstone: off, and set, create and bind are refused")
def tombstones(Registry):
    _tombstone(Registry, "powerpeg")


@test_case("bind: refused for an unknown key, accepted for an active one")
def binding(Registry):
    reg = _new(Registry)
    _refused(
        reg,
        "bind",
        "smars.nothing.here",
        "2012.07-rlp",
        key="smars.nothing.here",
        why="the key does not exist",
    )
    _do(reg, "create", "smars.rlp.retail-routing")
    _do(reg, "bind", "smars.rlp.retail-routing", "2012.07-rlp")


@test_case("1 Aug 2012 with your registry: the old key cannot be re-bound or turned on")
def the_day_with_your_registry(Registry):
    return _guards_the_day(Registry, "small")


@test_case(hidden=True, variant="other keys: 'smars.risk.max-notional' and 'legacy_peg_v1'")
def other_keys(Registry):
    for key in ("smars.risk.max-notional", "legacy_peg_v1"):
        _lifecycle(Registry, key)
        _tombstone(Registry, key)


@test_case(hidden=True, variant="two registries side by side must not share their flags")
def independent_registries(Registry):
    a, b = _new(Registry), _new(Registry)
    key = "smars.canary.weight"
    _do(a, "create", key)
    _do(b, "create", key)  # must not be refused: b has never seen the key
    _do(a, "retire", key, "done")
    _do(b, "set", key, True)
    assert _is_on(b, key) is True, (
        "retiring a key in one Registry switched it off in another: keep the flags in the "
        "instance (self.... in __init__), not in the class."
    )


@test_case(hidden=True, variant="tombstones last: 200 keys created and retired, then reused")
def tombstones_last(Registry):
    reg = _new(Registry)
    keys = [f"smars.batch.flag-{i}" for i in range(200)]
    for key in keys:
        _do(reg, "create", key)
    for key in keys:
        _do(reg, "retire", key, "batch clean-up")
    for key in (keys[0], keys[117], keys[-1]):
        _refused(reg, "create", key, key=key, why="the key was retired earlier")
    _refused(reg, "retire", keys[5], "again", key=keys[5], why="the key is already retired")
    _refused(
        reg,
        "retire",
        "smars.never.created",
        "why",
        key="smars.never.created",
        why="the key does not exist",
    )


@test_case(hidden=True, variant=describe("small-newflag-stale1-seed4"))
def the_day_under_another_flag_name(Registry):
    _guards_the_day(Registry, "small-newflag-stale1-seed4")
