"""Memory of one learner working through notebooks 00 to 04, with a cold cache.

Each notebook runs in its own kernel, as JupyterLab gives each open notebook one, and
every kernel stays alive to the end (a learner rarely shuts one down). Reported per
kernel: its peak resident memory (``VmHWM``) and its proportional share at the end
(``Pss``); the learner's total is the sum of the kernels' PSS, the peak their sum of
peaks. Run three times, each with a cold cache:

* "own cold cache": ``jupyter lab`` started by hand: nothing built beforehand, so
  notebook 04's kernel starts the full-day replay in a child process while the
  kernel itself stays alive, and glibc's malloc keeps its default threshold;
* "make lab": the log and chart bundle are built first, each by a process of its own
  with no kernel running (as ``make lab`` does before Lab starts; their peaks are
  reported too), and the kernels run with ``MALLOC_MMAP_THRESHOLD_`` as make lab
  gives them;
* "shared cache": the class's read-only copy the hub builds once
  (``SMARS_SHARED_CACHE``, docs/jupyterhub.md), with the hub recipe's environment.

    .venv/bin/python benchmarks/learner_memory.py [--json out.json]

Linux only (it reads /proc). Results go to docs/jupyterhub.md by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = [
    ROOT / "course" / f
    for f in sorted(os.listdir(ROOT / "course"))
    if f[:2] in {"00", "01", "02", "03", "04"} and f.endswith(".ipynb")
]


#: glibc's mmap threshold that ``make lab`` and the hub recipe give the learner's
#: server and kernels (``MALLOC_MMAP_THRESHOLD_``; see the Makefile).
LEAN_MALLOC = "131072"


#: The ways a learner meets notebook 04 with a cold cache (see the module's text).
CASES = ("own cold cache", "make lab", "shared cache")
#: What ``make lab`` runs before Lab starts, and the hub recipe at its start.
BUILDERS = (
    ["smars_sim.analysis.execution_log", "build-cache"],
    ["smars_sim.viz.offline", "build"],
)


def _status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _pss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the cache's builder is the kernel's child)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo.extend(int(c) for c in (task / "children").read_text().split())
            except OSError:
                continue
    return out


class TreePeak:
    """The largest sum of resident memory of a kernel and its children, sampled."""

    def __init__(self) -> None:
        self.peak = 0
        self.peak_pss = 0
        self.pid = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            if not self.pid:
                continue
            total = pss = 0
            for p in _tree(self.pid):
                try:
                    total += _status(p, "VmRSS")
                    pss += _pss(p)
                except OSError:
                    continue
            self.peak = max(self.peak, total)
            self.peak_pss = max(self.peak_pss, pss)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run(env: dict[str, str]) -> dict[str, object]:
    kernels = []
    rows = []
    old = dict(os.environ)
    os.environ.update(env)
    try:
        for path in NOTEBOOKS:
            nb = nbformat.read(path, as_version=4)
            km = KernelManager(kernel_name="python3")
            km.start_kernel(cwd=str(path.parent), env={**os.environ})
            client = NotebookClient(nb, km=km, timeout=600, allow_errors=False)
            pid = km.provisioner.process.pid  # type: ignore[union-attr]
            with TreePeak() as tree:
                tree.pid = pid
                with client.setup_kernel(cleanup_kc=False):
                    client.execute(cleanup_kc=False)
            kernels.append(km)
            rows.append(
                {
                    "notebook": path.name,
                    "pid": pid,
                    "peak_rss": _status(pid, "VmHWM"),
                    # The kernel plus any process it started (the cache's builder),
                    # summed at each sample: what the learner held at once.
                    "peak_with_children": max(tree.peak, _status(pid, "VmHWM")),
                    # The same, as proportional set size: shared library pages are
                    # split among the processes that map them (other kernels here).
                    "peak_pss_with_children": tree.peak_pss,
                }
            )
        for row in rows:
            row["pss_end"] = _pss(int(row["pid"]))  # type: ignore[arg-type]
    finally:
        for km in kernels:
            km.shutdown_kernel(now=True)
        os.environ.clear()
        os.environ.update(old)
    return {
        "kernels": rows,
        "total_pss_end": sum(int(r["pss_end"]) for r in rows),  # type: ignore[arg-type]
        "sum_of_peaks": sum(int(r["peak_rss"]) for r in rows),  # type: ignore[arg-type]
        "notebook_04_peak": max(int(r["peak_rss"]) for r in rows if r["notebook"][:2] == "04"),  # type: ignore[arg-type]
        "notebook_04_peak_with_children": max(
            int(r["peak_with_children"])  # type: ignore[call-overload]
            for r in rows
            if r["notebook"][:2] == "04"
        ),
    }


def prebuild(env: dict[str, str]) -> dict[str, int]:
    """What ``make lab`` runs before Lab starts; each builder's peak resident memory."""
    peaks = {}
    for builder in BUILDERS:
        proc = subprocess.Popen(
            [sys.executable, "-m", *builder],
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(builder)} failed with exit {proc.returncode}")
        peaks[builder[0]] = usage.ru_maxrss * 1024  # kB on Linux
    return peaks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument(
        "--case",
        action="append",
        choices=CASES,
        help="run only this case (repeatable; default: all three)",
    )
    args = parser.parse_args()
    cases = args.case or list(CASES)
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        shared = Path(tmp) / "shared"
        # What the hub recipe builds at start (docs/jupyterhub_config.py).
        for builder in BUILDERS if "shared cache" in cases else ():
            subprocess.run([sys.executable, "-m", *builder, str(shared)], check=True, cwd=ROOT)
        for label in cases:
            extra = {"SMARS_SHARED_CACHE": str(shared)} if label == "shared cache" else {}
            home = Path(tmp) / label.replace(" ", "-")
            home.mkdir()
            env = {"XDG_CACHE_HOME": str(home), **extra}
            if label != "own cold cache":  # make lab and the hub recipe both set it
                env["MALLOC_MMAP_THRESHOLD_"] = LEAN_MALLOC
            builders = prebuild(env) if label == "make lab" else {}
            out[label] = {**run(env), "builders_peak_rss": builders}
    mb = 1024 * 1024
    for label, figures in out.items():
        assert isinstance(figures, dict)
        print(f"== {label}")
        for row in figures["kernels"]:
            peak, end = row["peak_rss"] / mb, row["pss_end"] / mb
            tree = row["peak_with_children"] / mb
            tree_pss = row["peak_pss_with_children"] / mb
            print(
                f"  {row['notebook']:<28} peak {peak:6.0f} MB   with its children {tree:6.0f} MB"
                f" (PSS {tree_pss:6.0f} MB)   PSS at end {end:6.0f} MB"
            )
        for builder, peak in figures["builders_peak_rss"].items():
            print(f"  before Lab: {builder:<33} peak {peak / mb:6.0f} MB (alone)")
        print(
            f"  notebook 04 peak {figures['notebook_04_peak'] / mb:.0f} MB (with its children "
            f"{figures['notebook_04_peak_with_children'] / mb:.0f} MB); learner total "
            f"PSS {figures['total_pss_end'] / mb:.0f} MB; "
            f"sum of peaks {figures['sum_of_peaks'] / mb:.0f} MB"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
