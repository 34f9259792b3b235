"""Builds: immutable artifacts with a version and a sha256 content hash.

A build has a routing function, which decides from the flags which code path a
parent order takes, and lists the code paths compiled into it. Its hash covers
that manifest *and the source text of the router and every code path*, so two
builds that differ in what they would run never share a hash. That is what a
deployment check must compare.

The version labels are this kit's own: the record does not give Knight's.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .fleet import ParentOrder

from .router import (
    CodePath,
    Router,
    path_name,
    power_peg,
    rlp,
    route_pre_rlp,
    route_rlp,
    route_without_flags,
    standard,
)

__all__ = ["FLAG", "OLD_BUILD", "RLP_BUILD", "Build", "old_build", "rlp_build"]

#: The flag that once switched on Power Peg and was reused in 2012 for RLP.
FLAG = "powerpeg"


def _source(func: Any) -> str:
    try:
        return inspect.getsource(func)
    except (OSError, TypeError):  # no source on disk (e.g. a frozen app): use the bytecode
        return func.__code__.co_code.hex()


@dataclass(frozen=True, slots=True)
class Build:
    """An immutable SMARS build.

    Attributes:
        version: A human label, e.g. ``"2012.07-rlp"``.
        router: The build's routing function (reads flags, returns a code path).
        paths: The code paths compiled into this build.
        flag: The flag key this build's router reads.
        notes: What this build is, in a sentence.
        sha256: Content hash of the manifest plus the source of the router and paths.
    """

    version: str
    router: Router
    paths: tuple[CodePath, ...]
    flag: str = FLAG
    notes: str = ""
    sha256: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        manifest = json.dumps(
            {
                "version": self.version,
                "router": self.router.__name__,
                "paths": sorted(path_name(p) for p in self.paths),
                "flag": self.flag,
            },
            sort_keys=True,
        )
        digest = hashlib.sha256(manifest.encode())
        for func in (self.router, *sorted(self.paths, key=path_name)):
            digest.update(_source(func).encode())
        object.__setattr__(self, "sha256", digest.hexdigest())

    @property
    def short_hash(self) -> str:
        """The first 12 hex digits of the hash, as deploy tools show it."""
        return self.sha256[:12]

    @property
    def path_names(self) -> tuple[str, ...]:
        """Names of the code paths compiled in."""
        return tuple(path_name(p) for p in self.paths)

    def contains(self, path: str | CodePath) -> bool:
        """Whether a code path (by name or function) is compiled into this build."""
        name = path if isinstance(path, str) else path_name(path)
        return name in self.path_names

    def route(self, flags: Mapping[str, bool], parent: ParentOrder) -> CodePath:
        """Run this build's router for a parent order.

        Raises:
            RuntimeError: If the router returns a path this build does not contain
                (a broken build: the deploy checks should never let one through).
        """
        path = self.router(flags, parent, self.flag)
        if path not in self.paths:
            raise RuntimeError(
                f"build {self.version} routed to {path_name(path)}, which it does not contain"
            )
        return path


def old_build(*, with_power_peg: bool = True, flag: str = FLAG) -> Build:
    """The build in production before the RLP release.

    Args:
        with_power_peg: ``False`` gives the history in which Power Peg was deleted
            when it was retired (the ``dead-code`` fix): its router reads no flag.
        flag: The flag name Power Peg listens to.
    """
    if with_power_peg:
        return Build(
            "2011.12-pre-rlp",
            route_pre_rlp,
            (standard, power_peg),
            flag,
            "The build before RLP. Power Peg, retired in 2003, is still compiled in.",
        )
    return Build(
        "2011.12-pre-rlp-clean",
        route_without_flags,
        (standard,),
        flag,
        "The build before RLP, in a history where Power Peg was deleted when retired.",
    )


def rlp_build(*, with_power_peg: bool = True, flag: str = FLAG) -> Build:
    """The 2012 RLP release, deployed from 27 July 2012.

    Args:
        with_power_peg: Whether the dead Power Peg code is still compiled in
            ("present and callable", though its router no longer reaches it).
        flag: The flag key the RLP code reads. Knight reused the old key.
    """
    return Build(
        "2012.07-rlp" if with_power_peg else "2012.07-rlp-clean",
        route_rlp,
        (standard, rlp, power_peg) if with_power_peg else (standard, rlp),
        flag,
        "The RLP release. The flag it reads now means 'route retail orders to RLP'.",
    )


OLD_BUILD = old_build()
RLP_BUILD = rlp_build()
