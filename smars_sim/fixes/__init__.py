"""The fixes: each engineering failure of 1 August 2012, mended the way the best teams do it.

No fix is available yet; this module owns the list of fix names so that the CLI
and ``Scenario`` reject unknown names with one clear message.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["AVAILABLE", "validate_fixes"]

#: Fix names accepted by ``--fix`` and ``Scenario(fixes=...)``.
AVAILABLE: tuple[str, ...] = ()


def validate_fixes(fixes: Iterable[str]) -> None:
    """Raise ``ValueError`` if any fix name is unknown.

    Args:
        fixes: Fix names.
    """
    for name in fixes:
        if name not in AVAILABLE:
            listed = ", ".join(AVAILABLE) if AVAILABLE else "none yet"
            raise ValueError(f"unknown fix {name!r}; available fixes: {listed}")
