"""Execute the course notebooks in a fresh kernel and save them, as nbval expects them.

Each notebook is run top to bottom in its own new kernel (like *Restart Kernel and
Run All*), from the notebook's folder. The saved file then has execution counts
1..N, its outputs are the reference nbval compares against, and it carries no
widget state (``store_widget_state=False``; ``metadata.widgets`` is removed), which
keeps the files small and free of random model ids.

Usage::

    .venv/bin/python tools/build_notebooks.py                 # course/00..10
    .venv/bin/python tools/build_notebooks.py course/02_deploy_day.ipynb
    .venv/bin/python tools/build_notebooks.py --check         # run, report, save nothing

Re-run it whenever the simulation or its calibration changes: the stored outputs
are computed by the replay.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError

ROOT = Path(__file__).resolve().parent.parent
#: Every notebook of the course: part 1 (00-05) and part 2 (06-10).
DEFAULT = sorted((ROOT / "course").glob("[0-9][0-9]_*.ipynb"))
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def clean(nb: nbformat.NotebookNode) -> None:
    """Drop widget state and run-specific metadata; keep cell ids and tags."""
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                output.get("metadata", {}).pop("execution", None)


def build(path: Path, *, save: bool = True, timeout: int = 600) -> float:
    """Execute one notebook in a fresh kernel; return the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=False,
        record_timing=False,
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    clean(nb)
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    if counts != list(range(1, len(counts) + 1)):
        raise RuntimeError(f"{path.name}: execution counts {counts} are not 1..N")
    nbformat.validate(nb)
    if save:
        nbformat.write(nb, path)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: course/00..10")
    parser.add_argument("--check", action="store_true", help="execute only; do not save")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or DEFAULT
    failed = 0
    for path in paths:
        try:
            seconds = build(path, save=not args.check, timeout=args.timeout)
        except (CellExecutionError, DeadKernelError) as err:
            failed += 1
            print(f"FAILED {path.name}\n{err}", file=sys.stderr)
            continue
        verb = "ran" if args.check else "built"
        print(f"{verb} {path.relative_to(ROOT)} in {seconds:.1f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
