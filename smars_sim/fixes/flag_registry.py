"""Fix ``flag-registry``: flags with a lifecycle, single-use keys, evaluated through OpenFeature.

In 2012 Knight's RLP code "repurposed a flag that was formerly used to activate the
Power Peg code" (SEC order ¶13): one key, two meanings, depending on which build read
it. The rule that prevents this is that **flag keys are single-use**:

* every flag has a type, an owner, a creation date, an expiry and a state
  (active / retired), as Unleash and LaunchDarkly model them;
* a retired key is archived, not deleted: it stays in the registry as a *tombstone*,
  and creating or binding a tombstoned key is refused (Unleash "archive, never
  hard-delete" and best practice #8 "unique names"; Harness FME);
* new behaviour gets a new key. The RLP release reads ``smars.rlp.retail-routing``;
  the stale server's old build reads the retired ``powerpeg``, which nobody can turn
  on again, so the stale server ignores the RLP flag and routes standard.

Every flag read goes through the `OpenFeature <https://openfeature.dev>`_ Python SDK:
an ``InMemoryProvider`` holds the active flags, and a ``before`` hook
(:class:`RetiredKeyGuard`) raises for a retired key. The specification then requires
the SDK to return the caller's default ("off"), with the error code in the evaluation
details (spec Req 4.4.7 / 1.4.10), so a build that still reads a retired key gets the
safe default and a visible error, never the old behaviour.

OpenFeature's API is a process-wide singleton. Each registry therefore binds its
provider to its own *domain* and reads through a client of that domain, with the
hook on the client only: two simulations in one process never see each other's
flags. Domains are reused from a small pool once a registry is garbage-collected or
closed, so a notebook that runs thousands of replays does not grow the registry.

:func:`stale_flags` is the stale-flag report: an active flag past its expiry, an active
flag referenced nowhere, or a retired flag whose key is still in the code.

Modelled on how OpenFeature, Unleash and LaunchDarkly handle a flag's life (the kit's
reading of their documentation, not a record of what Knight used).
"""

from __future__ import annotations

import re
import weakref
from collections import Counter
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openfeature import api
from openfeature.exception import ErrorCode, OpenFeatureError
from openfeature.flag_evaluation import FlagEvaluationDetails
from openfeature.hook import Hook, HookContext, HookHints
from openfeature.provider.in_memory_provider import InMemoryFlag, InMemoryProvider

from ..core.builds import Build, rlp_build

if TYPE_CHECKING:
    from ..core.engine import Simulation

__all__ = [
    "ACTOR",
    "FLAG_TYPES",
    "KEY_PATTERN",
    "RETIRED_KEY_READ",
    "RLP_FLAG",
    "TRADE_DATE",
    "FlagRegistry",
    "FlagSpec",
    "FlagView",
    "RetiredFlagError",
    "RetiredKeyGuard",
    "StaleFlag",
    "install",
    "stale_flags",
]

#: This fix's name in the registry (``smars_sim.fixes.SPECS``) and on its timeline entries.
NAME = "flag-registry"

#: The timeline actor of the fix, and the action by which it acts on the day: a build read
#: a retired key and was served the default.
ACTOR = "flag registry"
RETIRED_KEY_READ = "retired key read"
#: The fresh key the RLP release reads in this history (this kit's name; Knight's is not public).
RLP_FLAG = "smars.rlp.retail-routing"
#: The simulated trading day.
TRADE_DATE = date(2012, 8, 1)
#: ``<project>.<feature>.<name>``: new keys must match (Unleash's naming-pattern idea,
#: checked when a flag is created; legacy keys from before the registry are exempt).
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9]*\.[a-z][a-z0-9-]*\.[a-z0-9][a-z0-9-]*$")
#: Flag type -> expected lifetime in days (``None``: permanent). Unleash's defaults.
FLAG_TYPES: dict[str, int | None] = {
    "release": 40,
    "experiment": 40,
    "operational": 7,
    "kill-switch": None,
    "permission": None,
}
ACTIVE, RETIRED = "active", "retired"


class RetiredFlagError(OpenFeatureError):
    """Raised by :class:`RetiredKeyGuard` for a retired key (the SDK returns the default)."""

    def __init__(self, error_message: str) -> None:
        super().__init__(ErrorCode.GENERAL, error_message)


@dataclass(slots=True)
class FlagSpec:
    """One flag in the registry.

    Attributes:
        key: The flag key.
        type: One of :data:`FLAG_TYPES`.
        owner: Who answers for the flag (and gets its clean-up ticket).
        created: Creation date (``None``: before the registry, date not public).
        expires: When it should be gone (``None``: permanent or unknown).
        state: ``"active"`` or ``"retired"`` (a retired key is a tombstone).
        value: The current value (a retired flag is always ``False``).
        description: What the flag switches.
        retired_on: When it was retired (``None`` if active, or the date is not public).
        retired_reason: Why it was retired.
        readers: Versions of the builds that read this key.
        legacy: Registered from before the registry (exempt from the naming pattern).
    """

    key: str
    type: str
    owner: str
    created: date | None
    expires: date | None
    state: str = ACTIVE
    value: bool = False
    description: str = ""
    retired_on: date | None = None
    retired_reason: str = ""
    readers: list[str] = field(default_factory=list)
    legacy: bool = False

    @property
    def tombstoned(self) -> bool:
        """A retired key: kept forever so it can never be reused."""
        return self.state == RETIRED


# ----------------------------------------------------------------- domain pool
_free_domains: list[str] = []
_domain_count = 0


def _take_domain() -> str:
    global _domain_count
    if _free_domains:
        return _free_domains.pop()
    _domain_count += 1
    return f"smars-sim.flags.{_domain_count}"


def _release_domain(domain: str) -> None:
    # Only the name goes back to the pool; the next registry that takes it binds its
    # own provider, which replaces the old one.
    _free_domains.append(domain)


class RetiredKeyGuard(Hook):
    """An OpenFeature ``before`` hook that rejects retired (tombstoned) keys.

    Raising in a ``before`` hook makes the SDK skip the provider and return the
    caller's default value, with ``reason=ERROR`` and the error code and message in
    the evaluation details (spec Req 4.4.7). The caller's default for every SMARS
    flag is ``False``: the old behaviour stays off.

    Args:
        registry: The registry whose tombstones to enforce.
    """

    def __init__(self, registry: FlagRegistry) -> None:
        self.registry = registry

    def before(self, hook_context: HookContext, hints: HookHints) -> None:
        """Raise :class:`RetiredFlagError` if the key is retired."""
        spec = self.registry.flags.get(hook_context.flag_key)
        if spec is not None and spec.tombstoned:
            self.registry.note_retired_read(spec.key)
            raise RetiredFlagError(
                f"flag {spec.key!r} is retired ({spec.retired_reason or 'no reason given'}); "
                "serving the default"
            )


class FlagRegistry:
    """The flag registry: the one source of truth for every flag and its lifecycle.

    It publishes its active flags to an OpenFeature ``InMemoryProvider`` bound to
    its own domain, and evaluates through a client of that domain carrying a
    :class:`RetiredKeyGuard`.

    Args:
        today: The registry's "today", for expiry (default: 1 August 2012).

    Example:
        >>> reg = FlagRegistry()
        >>> reg.create("smars.rlp.retail-routing", type="release", owner="rlp-team",
        ...            created=date(2012, 7, 27))
        >>> reg.set("smars.rlp.retail-routing", True)
        >>> reg.view().get("smars.rlp.retail-routing", False)
        True
    """

    def __init__(self, today: date = TRADE_DATE) -> None:
        self.today = today
        self.flags: dict[str, FlagSpec] = {}
        #: How often each retired key was read (each read served the default).
        self.retired_reads: Counter[str] = Counter()
        #: Called as ``on_retired_read(key)`` the first time a retired key is read.
        self.on_retired_read: Callable[[str], None] | None = None
        self.domain = _take_domain()
        self._finalizer = weakref.finalize(self, _release_domain, self.domain)
        self.client = api.get_client(self.domain)
        self.client.add_hooks([RetiredKeyGuard(self)])
        self._publish()

    # ---------------------------------------------------------- lifecycle
    def create(
        self,
        key: str,
        *,
        type: str,
        owner: str,
        created: date,
        expires: date | None = None,
        description: str = "",
    ) -> FlagSpec:
        """Create a new flag (off).

        Args:
            key: A new key matching :data:`KEY_PATTERN`.
            type: One of :data:`FLAG_TYPES`.
            owner: Who answers for it.
            created: Creation date.
            expires: Expiry (default: ``created`` plus the type's lifetime).
            description: What it switches.

        Raises:
            ValueError: If the key is tombstoned, already exists, does not match the
                pattern, or the type or owner is invalid.
        """
        self._check_new(key, type, owner)
        if not KEY_PATTERN.match(key):
            raise ValueError(
                f"flag key {key!r} does not match the naming pattern <project>.<feature>.<name> "
                f"({KEY_PATTERN.pattern}), e.g. 'smars.rlp.retail-routing'"
            )
        if expires is None and FLAG_TYPES[type] is not None:
            expires = created + timedelta(days=FLAG_TYPES[type])  # type: ignore[arg-type]
        spec = FlagSpec(key, type, owner, created, expires, description=description)
        self.flags[key] = spec
        self._publish()
        return spec

    def register_legacy(
        self,
        key: str,
        *,
        type: str,
        owner: str,
        description: str = "",
        readers: tuple[Build, ...] = (),
    ) -> FlagSpec:
        """Register a flag that existed before the registry (creation date not known).

        Legacy keys are exempt from the naming pattern: they are what the code already
        reads. The builds that read the key are recorded as its readers.

        Raises:
            ValueError: If the key is already registered (active or tombstoned).
        """
        self._check_new(key, type, owner)
        spec = FlagSpec(key, type, owner, None, None, description=description, legacy=True)
        spec.readers.extend(b.version for b in readers)
        self.flags[key] = spec
        self._publish()
        return spec

    def retire(self, key: str, *, reason: str, on: date | None = None) -> FlagSpec:
        """Retire a flag: it is switched off for good and its key is tombstoned.

        Args:
            key: An active key.
            reason: Why (kept with the tombstone, shown to whoever tries to reuse it).
            on: Retirement date (``None``: not known).

        Raises:
            ValueError: If the key is unknown or already retired.
        """
        spec = self._get(key)
        if spec.tombstoned:
            raise ValueError(f"flag {key!r} is already retired")
        spec.state, spec.value, spec.retired_on, spec.retired_reason = RETIRED, False, on, reason
        self._publish()  # archived: no longer served by the provider
        return spec

    def bind(self, key: str, build: Build) -> None:
        """Record that a (new) build reads ``key``: the release declares its flags.

        Raises:
            ValueError: If the key is unknown or tombstoned: a new build must not give
                a retired key a new meaning (that is what happened in 2012).
        """
        spec = self._get(key)
        if spec.tombstoned:
            raise ValueError(self._tombstone_message(spec, f"cannot bind build {build.version}"))
        if build.version not in spec.readers:
            spec.readers.append(build.version)

    def set(self, key: str, value: bool) -> None:
        """Turn an active flag on or off.

        Raises:
            ValueError: If the key is unknown or retired.
        """
        spec = self._get(key)
        if spec.tombstoned:
            raise ValueError(self._tombstone_message(spec, "cannot be turned on or off"))
        spec.value = bool(value)
        self._publish()

    def guard(self, name: str, value: bool, now: int) -> str | None:
        """A ``fleet.flag_guard``: the reason to refuse a change, or ``None`` to allow it."""
        spec = self.flags.get(name)
        if spec is None:
            return f"flag {name!r} is not in the flag registry; create it first"
        if spec.tombstoned:
            return self._tombstone_message(spec, "cannot be turned on or off")
        return None

    # --------------------------------------------------------- evaluation
    def details(self, key: str, default: bool = False) -> FlagEvaluationDetails[bool]:
        """Evaluate a flag through OpenFeature, with the full evaluation details."""
        return self.client.get_boolean_details(key, default)

    def view(self) -> FlagView:
        """A mapping view for ``fleet.flags`` (reads go through OpenFeature)."""
        return FlagView(self)

    def note_retired_read(self, key: str) -> None:
        """Count a read of a retired key (called by the hook)."""
        self.retired_reads[key] += 1
        if self.retired_reads[key] == 1 and self.on_retired_read is not None:
            self.on_retired_read(key)

    def close(self) -> None:
        """Give the OpenFeature domain back to the pool (also done when collected)."""
        self._finalizer()

    # ------------------------------------------------------------ helpers
    def _check_new(self, key: str, type: str, owner: str) -> None:
        existing = self.flags.get(key)
        if existing is not None and existing.tombstoned:
            raise ValueError(self._tombstone_message(existing, "cannot be created again"))
        if existing is not None:
            raise ValueError(
                f"flag {key!r} already exists (owner {existing.owner}); pick a new key"
            )
        if type not in FLAG_TYPES:
            raise ValueError(f"flag type {type!r} is unknown; allowed: {', '.join(FLAG_TYPES)}")
        if not owner.strip():
            raise ValueError(f"flag {key!r} needs an owner")

    def _get(self, key: str) -> FlagSpec:
        spec = self.flags.get(key)
        if spec is None:
            raise ValueError(f"flag {key!r} is not in the flag registry; create it first")
        return spec

    @staticmethod
    def _tombstone_message(spec: FlagSpec, what: str) -> str:
        when = f" on {spec.retired_on.isoformat()}" if spec.retired_on else ""
        return (
            f"flag key {spec.key!r} is tombstoned (retired{when}: {spec.retired_reason}) and "
            f"{what}; keys are single-use: give new behaviour a new key"
        )

    def _publish(self) -> None:
        """Publish the active flags to a fresh in-memory provider in this registry's domain."""
        flags = {
            spec.key: InMemoryFlag(
                default_variant="on" if spec.value else "off",
                variants={"on": True, "off": False},
                flag_metadata={
                    "type": spec.type,
                    "owner": spec.owner,
                    "created": spec.created.isoformat() if spec.created else "not public",
                    "expires": spec.expires.isoformat() if spec.expires else "never",
                    "state": spec.state,
                },
            )
            for spec in self.flags.values()
            if not spec.tombstoned
        }
        # Synchronous: the provider is READY before the next evaluation.
        api.set_provider_and_wait(InMemoryProvider(flags), self.domain)


class FlagView(MutableMapping[str, bool]):
    """``fleet.flags`` under the registry: every read is an OpenFeature evaluation.

    ``get(key, default)`` is what a build's router calls once per parent order. A
    retired or unknown key evaluates to the default (``False``). Writes go to the
    registry, which refuses retired and unknown keys.
    """

    __slots__ = ("_client", "registry")

    def __init__(self, registry: FlagRegistry) -> None:
        self.registry = registry
        self._client = registry.client

    def get(self, key: str, default: Any = False) -> bool:
        """Evaluate ``key`` through OpenFeature; ``default`` on any error."""
        return self._client.get_boolean_value(key, bool(default))

    def __getitem__(self, key: str) -> bool:
        details = self._client.get_boolean_details(key, False)
        if details.error_code == ErrorCode.FLAG_NOT_FOUND:
            raise KeyError(key)
        return details.value

    def __setitem__(self, key: str, value: bool) -> None:
        self.registry.set(key, value)

    def __delitem__(self, key: str) -> None:
        raise TypeError(f"flags are never deleted: retire {key!r} in the registry instead")

    def __iter__(self) -> Iterator[str]:
        return (k for k, spec in self.registry.flags.items() if not spec.tombstoned)

    def __len__(self) -> int:
        return sum(1 for spec in self.registry.flags.values() if not spec.tombstoned)

    def __repr__(self) -> str:
        return f"FlagView({dict(self)!r})"


# -------------------------------------------------------------------- stale report
@dataclass(slots=True)
class StaleFlag:
    """One finding of the stale-flag report.

    Attributes:
        key: The flag key.
        state: ``"active"`` or ``"retired"``.
        owner: Who gets the clean-up ticket.
        reasons: Why it is stale.
        references: Where the key appears in the source (``path:line``).
    """

    key: str
    state: str
    owner: str
    reasons: list[str]
    references: list[str]


def _source_references(key: str, root: Path, exclude: tuple[str, ...]) -> list[str]:
    hits = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if rel.parts and rel.parts[0] in exclude:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if key in line:
                hits.append(f"{root.name}/{rel.as_posix()}:{number}")
    return hits


def stale_flags(
    registry: FlagRegistry,
    today: date | None = None,
    source_root: str | Path | None = None,
    exclude: tuple[str, ...] = ("fixes",),
) -> list[StaleFlag]:
    """The stale-flag report.

    A flag is reported when it is

    * active and past its expiry (Unleash's "potentially stale", Hodgson's time bomb);
    * active and referenced nowhere: no line of source contains the key and no build
      is bound to it (LaunchDarkly's code references: ready to archive);
    * retired but its key is still in the source: the code path that reads it must be
      deleted (LaunchDarkly: remove from code, then archive).

    The source scan is a plain text search of ``source_root`` (default: this package),
    like ``ld-find-code-refs``. The ``fixes`` package is excluded by default: it
    *declares* flags, and a declaration is not a use.

    Args:
        registry: The registry to audit.
        today: The audit date (default: the registry's).
        source_root: The source tree to search.
        exclude: Top-level folders of ``source_root`` to skip.

    Returns:
        One finding per stale flag, in key order.
    """
    today = today or registry.today
    root = Path(source_root) if source_root is not None else Path(__file__).parents[1]
    report = []
    for key in sorted(registry.flags):
        spec = registry.flags[key]
        refs = _source_references(key, root, exclude)
        reasons = []
        if spec.tombstoned:
            if refs:
                reasons.append(
                    f"retired but the key still appears in {len(refs)} place(s) of the source: "
                    "delete the code path, then archive"
                )
        else:
            if spec.expires is not None and today > spec.expires:
                reasons.append(
                    f"past its expiry {spec.expires.isoformat()} "
                    f"({(today - spec.expires).days} days; type {spec.type})"
                )
            if not refs and not spec.readers:
                reasons.append("referenced nowhere: no source line and no build reads it")
        if reasons:
            report.append(StaleFlag(key, spec.state, spec.owner, reasons, refs))
    return report


# ------------------------------------------------------------------------ the fix
def install(sim: Simulation) -> None:
    """Install the fix: a registry, a tombstoned old key, a fresh key for the RLP release.

    The old build keeps reading the scenario's flag (``powerpeg`` by default): that
    key is registered as legacy and retired (Power Peg stopped in 2003, SEC ¶14), so
    every read of it serves ``False``. The RLP release is rebuilt to read the fresh
    :data:`RLP_FLAG`, and that is the key operations turn on.

    Raises:
        ValueError: If the scenario's flag *is* :data:`RLP_FLAG`: the fresh key would
            be a tombstoned one, which the registry refuses.
    """
    fleet = sim.fleet
    old_key = sim.old_build.flag
    registry = FlagRegistry()
    registry.register_legacy(
        old_key,
        type="release",
        owner="SMARS (pre-registry; owner not public)",
        description="switched Power Peg on (the kit's name for the flag)",
        readers=(sim.old_build,),
    )
    # SEC ¶14: Knight stopped using Power Peg in 2003; the exact date is not public.
    registry.retire(old_key, reason="Power Peg stopped in 2003 (SEC ¶14)", on=None)
    registry.create(
        RLP_FLAG,
        type="release",
        owner="SMARS RLP release (kit's label)",
        created=date(2012, 7, 27),  # the staged deploy began 27 July 2012 (SEC ¶15)
        description="route retail orders to the NYSE Retail Liquidity Program",
    )
    new = rlp_build(with_power_peg=sim.new_build.contains("power_peg"), flag=RLP_FLAG)
    registry.bind(RLP_FLAG, new)
    sim.set_builds(sim.old_build, new)
    sim.rlp_flag = RLP_FLAG

    def retired_read(key: str) -> None:
        fleet.note(
            sim.now,
            ACTOR,
            RETIRED_KEY_READ,
            0,
            f"a build read retired {key!r}: served the default False "
            f"(OpenFeature error {ErrorCode.GENERAL.value}); old behaviour stays off",
            control=NAME,
        )

    registry.on_retired_read = retired_read
    previous = fleet.flag_guard

    def guard(name: str, value: bool, now: int) -> str | None:
        reason = previous(name, value, now) if previous is not None else None
        return reason or registry.guard(name, value, now)

    fleet.flag_guard = guard
    fleet.flags = registry.view()
    spec = registry.flags[RLP_FLAG]
    fleet.note(0, ACTOR, "flag retired", 0, f"{old_key!r} tombstoned: never reusable")
    fleet.note(
        0,
        ACTOR,
        "flag created",
        0,
        f"{RLP_FLAG!r} ({spec.type}, owner {spec.owner}, expires {spec.expires}); "
        f"read by {new.version} ({new.short_hash})",
    )
