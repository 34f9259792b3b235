"""The learner's own copy of the course: ``my-course/``, untracked, where Lab autosaves.

``make lab`` runs this before it starts JupyterLab on ``my-course/``. Lab's autosave
then rewrites the learner's copies and never a tracked notebook, so ``git pull``
of course updates always applies cleanly (``my-course/`` is in ``.gitignore``).
nbval and CI keep running on ``course/``.

What it does, every time:

* copies every file of ``course/`` that ``my-course/`` does not have yet (the first
  run copies them all; a later course update may add a notebook);
* never overwrites a learner's file, and says which of the learner's notebooks
  have an updated original in ``course/`` since they were copied;
* ``--reset NAME`` takes a fresh copy of one notebook and keeps the learner's as
  ``NAME.mine-N.ipynb`` beside it.

Standard library only: it runs before the venv exists, and under any Python 3.11+.

Usage::

    python3 tools/learner_copy.py                    # sync (what `make lab` does)
    python3 tools/learner_copy.py --reset 02_deploy_day
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "course"
DEST = ROOT / "my-course"
#: Records the hash of each original at the time it was copied.
MANIFEST = ".course-manifest.json"
#: Never copied: Lab's own folders.
SKIP = {".ipynb_checkpoints", MANIFEST}


@dataclass(slots=True)
class SyncReport:
    """What one sync did.

    Attributes:
        copied: Files copied into the learner's folder (relative names).
        updated_upstream: The learner's notebooks whose original changed since the copy.
    """

    copied: list[str] = field(default_factory=list)
    updated_upstream: list[str] = field(default_factory=list)

    def text(self) -> str:
        """The report as lines for the terminal."""
        lines = []
        if self.copied:
            lines.append(f"my-course/: copied {len(self.copied)} file(s) from course/")
        for name in self.updated_upstream:
            stem = Path(name).stem
            lines.append(
                f"course/{name} has been updated since your copy. To take the new version "
                f"(yours is kept beside it): python3 tools/learner_copy.py --reset {stem}"
            )
        return "\n".join(lines)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(source: Path) -> list[Path]:
    return sorted(
        p
        for p in source.rglob("*")
        if p.is_file() and not (set(p.relative_to(source).parts) & SKIP)
    )


def _load_manifest(dest: Path) -> dict[str, str]:
    path = dest / MANIFEST
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return {str(k): str(v) for k, v in data.items()}


def _save_manifest(dest: Path, manifest: dict[str, str]) -> None:
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def sync(source: Path = SOURCE, dest: Path = DEST) -> SyncReport:
    """Copy what ``dest`` lacks from ``source``; never overwrite; note updated originals."""
    report = SyncReport()
    dest.mkdir(parents=True, exist_ok=True)
    manifest = _load_manifest(dest)
    for src in _files(source):
        name = src.relative_to(source).as_posix()
        target = dest / name
        digest = _digest(src)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
            manifest[name] = digest
            report.copied.append(name)
        elif manifest.get(name) not in (None, digest) and src.suffix == ".ipynb":
            report.updated_upstream.append(name)
        elif name not in manifest:
            manifest[name] = digest  # a copy made before the manifest existed
    _save_manifest(dest, manifest)
    return report


def reset(name: str, source: Path = SOURCE, dest: Path = DEST) -> Path | None:
    """A fresh copy of notebook ``name`` (with or without ``.ipynb``); the learner's is kept.

    Returns:
        Where the learner's own copy was moved (``NAME.mine-N.ipynb``), or ``None``
        if there was none.

    Raises:
        FileNotFoundError: ``course/`` has no such notebook.
    """
    stem = name.removesuffix(".ipynb")
    src = source / f"{stem}.ipynb"
    if not src.is_file():
        raise FileNotFoundError(f"no notebook course/{stem}.ipynb")
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / src.name
    kept = None
    if target.exists():
        n = 1
        while (dest / f"{stem}.mine-{n}.ipynb").exists():
            n += 1
        kept = dest / f"{stem}.mine-{n}.ipynb"
        target.rename(kept)
    shutil.copy2(src, target)
    manifest = _load_manifest(dest)
    manifest[src.name] = _digest(src)
    _save_manifest(dest, manifest)
    return kept


def main(argv: list[str] | None = None) -> int:
    """Command line: sync, or ``--reset NAME``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reset", metavar="NAME", help="a fresh copy of one notebook")
    parser.add_argument("--source", type=Path, default=SOURCE, help=argparse.SUPPRESS)
    parser.add_argument("--dest", type=Path, default=DEST, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.reset:
        try:
            kept = reset(args.reset, args.source, args.dest)
        except FileNotFoundError as exc:
            print(exc, file=sys.stderr)
            return 2
        stem = args.reset.removesuffix(".ipynb")
        print(f"my-course/{stem}.ipynb: a fresh copy from course/")
        if kept is not None:
            print(f"your previous copy: my-course/{kept.name}")
        return 0
    text = sync(args.source, args.dest).text()
    if text:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
