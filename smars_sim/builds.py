"""Builds: immutable artifacts with a version and a sha256 content hash.

A build lists the code paths compiled into it and says which code path each flag
name switches on. Its hash covers that manifest *and the source text of every code
path it contains*, so two builds that differ in what they would run never share a
hash. That is what a deployment check must compare (see ``fixes.verified_deploy``).

The version labels are this kit's own: the record does not give Knight's.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from dataclasses import dataclass, field

from .router import CODE_PATHS, POWER_PEG, RLP, STANDARD

__all__ = ["FLAG", "OLD_BUILD", "RLP_BUILD", "Build", "old_build", "rlp_build"]

#: The flag that once switched on Power Peg and was reused in 2012 for RLP.
FLAG = "powerpeg"


def _source(path: str) -> str:
    func = CODE_PATHS[path]
    try:
        return inspect.getsource(func)
    except (OSError, TypeError):  # no source on disk (e.g. a frozen app): use the bytecode
        return func.__code__.co_code.hex()


@dataclass(frozen=True, slots=True)
class Build:
    """An immutable SMARS build.

    Attributes:
        version: A human label, e.g. ``"2012.07-rlp"``.
        paths: The code paths compiled into this build.
        flag_paths: ``(flag name, code path)`` pairs: what each flag switches on.
        notes: What this build is, in a sentence.
        sha256: Content hash of the manifest plus the code paths' source.
    """

    version: str
    paths: tuple[str, ...]
    flag_paths_items: tuple[tuple[str, str], ...]
    notes: str = ""
    sha256: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        unknown = [p for p in self.paths if p not in CODE_PATHS]
        if unknown:
            raise ValueError(f"unknown code path(s) {unknown}; known: {sorted(CODE_PATHS)}")
        manifest = json.dumps(
            {"version": self.version, "paths": list(self.paths), "flags": self.flag_paths_items},
            sort_keys=True,
        )
        digest = hashlib.sha256(manifest.encode())
        for path in sorted(self.paths):
            digest.update(_source(path).encode())
        object.__setattr__(self, "sha256", digest.hexdigest())

    @property
    def flag_paths(self) -> dict[str, str]:
        """Flag name -> code path switched on by that flag in this build."""
        return dict(self.flag_paths_items)

    @property
    def short_hash(self) -> str:
        """The first 12 hex digits of the hash, as deploy tools show it."""
        return self.sha256[:12]

    def contains(self, path: str) -> bool:
        """Whether a code path is compiled into this build."""
        return path in self.paths


def old_build(*, with_power_peg: bool = True, flag: str = FLAG) -> Build:
    """The build in production before the RLP release.

    Args:
        with_power_peg: ``False`` gives the history in which Power Peg was deleted
            when it was retired (the ``dead-code`` fix): the flag then maps to nothing.
        flag: The flag name Power Peg listens to.
    """
    if with_power_peg:
        return Build(
            "2011.12-pre-rlp",
            (STANDARD, POWER_PEG),
            ((flag, POWER_PEG),),
            "The build before RLP. Power Peg, retired in 2003, is still compiled in.",
        )
    return Build(
        "2011.12-pre-rlp-clean",
        (STANDARD,),
        (),
        "The build before RLP, in a history where Power Peg was deleted when retired.",
    )


def rlp_build(*, with_power_peg: bool = True, flag: str = FLAG) -> Build:
    """The 2012 RLP release, deployed from 27 July 2012.

    Args:
        with_power_peg: Whether the dead Power Peg code is still compiled in.
        flag: The flag key the RLP code reads. Knight reused the old key.
    """
    paths = (STANDARD, RLP, POWER_PEG) if with_power_peg else (STANDARD, RLP)
    return Build(
        "2012.07-rlp" if with_power_peg else "2012.07-rlp-clean",
        paths,
        ((flag, RLP),),
        "The RLP release. The flag it reads now means 'route retail orders to RLP'.",
    )


OLD_BUILD = old_build()
RLP_BUILD = rlp_build()
