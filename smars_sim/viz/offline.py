"""Altair's chart widget offline, without loading vl-convert in every kernel.

``alt.JupyterChart.enable_offline(True)`` asks vl-convert for one JavaScript bundle
(about 0.9 MB). vl-convert does that by starting a JavaScript engine inside the
kernel, which then keeps about 95 MB of memory for as long as the kernel lives and
costs about 2 s: in a class, every learner's every open notebook pays that. The
bundle depends only on the altair and vl-convert versions, so it is made once, in a
short-lived child process, and kept as a file:

* in the class's read-only shared cache (``$SMARS_SHARED_CACHE``), if the hub built
  it there (``python -m smars_sim.viz.offline build DIR``);
* else in the learner's own cache folder (``~/.cache/smars-sim``).

Under Pyodide (the browser edition) there are no child processes: altair's own
``enable_offline`` runs, against the build-time stand-in of vl-convert.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import altair as alt

from ..analysis.forensics import cache_dir, shared_cache_dir

__all__ = ["bundle_name", "enable_offline_charts", "write_bundle"]

# Run in the child: the bundle altair's own enable_offline makes, on stdout.
_MAKE = (
    "import sys, altair as alt\n"
    "alt.JupyterChart.enable_offline(True)\n"
    "sys.stdout.write(alt.JupyterChart._esm)\n"
)


#: The last line of a bundle file: the sha256 of everything before it.
_SEAL = "\n// smars-sim bundle sha256: "


def bundle_name() -> str:
    """The bundle's file name: it is valid for these altair and vl-convert versions only."""
    vlc = metadata.version("vl-convert-python")
    return f"jupyterchart-altair{alt.__version__}-vlconvert{vlc}.js"


def write_bundle(folder: str | Path) -> Path:
    """Make the bundle in a child process and write it to ``folder`` (atomically).

    Raises:
        RuntimeError: The child failed (its last line of stderr is in the message).
    """
    done = subprocess.run(
        [sys.executable, "-c", _MAKE], capture_output=True, text=True, check=False
    )
    if done.returncode != 0 or not done.stdout:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"making the offline chart bundle failed: {last}")
    target = Path(folder) / bundle_name()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.partial")
    digest = hashlib.sha256(done.stdout.encode()).hexdigest()
    tmp.write_text(f"{done.stdout}{_SEAL}{digest}\n", encoding="utf-8")
    os.replace(tmp, target)
    return target


def _read(path: Path) -> str | None:
    """The bundle in ``path`` if its sha256 seal matches (a cut or changed file is not used)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    body, seal, digest = text.rpartition(_SEAL)
    if not seal or hashlib.sha256(body.encode()).hexdigest() != digest.strip():
        return None
    return body


def enable_offline_charts() -> None:
    """Make ``alt.JupyterChart`` load its JavaScript from this machine (no CDN)."""
    cls = alt.JupyterChart
    if cls._is_offline:
        return
    if sys.platform == "emscripten" or not hasattr(cls, "_esm"):
        cls.enable_offline(True)
        return
    name = bundle_name()
    shared = shared_cache_dir()
    text = _read(shared / name) if shared is not None else None
    if text is None:
        text = _read(cache_dir() / name)
    if text is None:
        try:
            text = _read(write_bundle(cache_dir()))
        except (OSError, RuntimeError):
            text = None
    if text is None:  # no cache to be had: altair's own way, in this kernel
        cls.enable_offline(True)
        return
    cls._esm = text
    cls._is_offline = True


def _main(argv: list[str]) -> int:
    """``build [DIR]``: make the bundle in DIR (default: the user's cache) unless it is there."""
    if len(argv) not in (1, 2) or argv[0] != "build":
        print("usage: python -m smars_sim.viz.offline build [DIR]", file=sys.stderr)
        return 2
    target = Path(argv[1]) if len(argv) == 2 else cache_dir()
    existing = target / bundle_name()
    print(existing if _read(existing) is not None else write_bundle(target))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
