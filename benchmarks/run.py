"""Benchmarks: the bare order book and the replay at several scales.

Run with ``make bench`` (or ``python benchmarks/run.py``). Each measurement runs in
its own subprocess so that peak memory (max RSS) is that run's alone, and every
timing is the best of ``--repeat`` runs, which filters out noise from other work
on the machine. Results go to ``benchmarks/RESULTS.md``.

Targets (on this 2-core machine):

* the book alone matches at least 500,000 orders/s on a synthetic stream of 65%
  passive limits and 35% marketable orders;
* the full-scale replay takes at most 10 s and at most twice the time the bare book
  needs to match as many orders as the replay has executions;
* peak memory at most 1.5 GB;
* the default notebook scale replays in at most 0.5 s;
* a widget action that replays (05_respond's "Add your plan") updates in under 1 s;
* the what-if table (16 combinations of the fixes) at that scale in at most 10 s;
* the fidelity ensemble of 25 runs (5 replay seeds x 5 market draws) at scale 0.05 in
  under a minute, on every core (``smars-sim fidelity --seeds … --market-seeds …``);
* the full-scale replay stays within the ratio to the bare book it had before the
  retail flow of issue 14 (1.42x, RESULTS.md of 2026-11-25);
* a learner going through notebooks 00 to 04 with a cold cache, as ``make lab`` runs
  it or with Lab started by hand, never holds more than 500 MB at once in notebook
  04 and what it starts (issue 16; the class hub's figure is the load test's,
  docs/jupyterhub.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOTEBOOK_SCALE = 0.01
#: Full-scale replay / bare book before issue 14 (benchmarks/RESULTS.md, 2026-11-25).
RATIO_BEFORE = 1.42
#: The fidelity ensemble timed: 5 replay seeds x 5 market draws at scale 0.05.
ENSEMBLE = ("--scale", "0.05", "--seeds", "1,2,3,4,5", "--market-seeds", "101,102,103,104,105")

_BOOK = r"""
import json, random, resource, sys, time
from smars_sim.core.book import OrderBook

def stream(n, seed=1):
    # 65% passive limits around a slowly drifting mid, 35% marketable orders
    # that cross up to 25 cents through it. Sizes are round lots.
    r = random.Random(seed)
    mid = 10_000
    out = []
    for i in range(n):
        side = 1 if r.random() < 0.5 else -1
        if r.random() < 0.65:
            price = mid - side * r.randint(1, 20)
        else:
            price = mid + side * 25
        if i % 50 == 0:
            mid += r.choice((-1, 0, 1))
        out.append((i, side, price, r.choice((100, 100, 200, 300, 500))))
    return out

n = int(sys.argv[1])
orders = stream(n)
book = OrderBook()
add = book.add
start = time.perf_counter()
for oid, side, price, qty in orders:
    add(oid, side, price, qty, 0, 0)
elapsed = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"orders": n, "seconds": elapsed, "peak_rss": rss}))
"""

_WHATIF = r"""
import json, resource, time
from smars_sim.analysis.whatif import what_if

start = time.perf_counter()
table = what_if()
elapsed = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": elapsed, "peak_rss": rss, "rows": len(table)}))
"""

_WIDGET = r"""
import json, resource, time
from smars_sim.analysis.plans import Plan
from smars_sim.ui.respond_panels import PlanComparison

# 05_respond's plan comparison, as a learner uses it: the panel is on screen (its preset
# plans replayed), then "Add your plan" replays a plan nobody ran yet and redraws the
# table and the chart. Other actions redraw from replays already made or advance a
# replay by minutes; this one does the most work: a whole fresh morning plus a redraw.
panel = PlanComparison()
start = time.perf_counter()
panel.add(Plan("bench: roll back at 09:45, stop one by one at 10:14", "stop_all", "10:14", "09:45"))
elapsed = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": elapsed, "peak_rss": rss}))
"""

_REPLAY = r"""
import json, resource, sys, time
from smars_sim import Scenario, replay

scale = float(sys.argv[1])
start = time.perf_counter()
result = replay(Scenario.aug1_2012(scale=scale))
elapsed = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
s = result.summary
print(json.dumps({"scale": scale, "seconds": elapsed, "peak_rss": rss,
                  "executions": s.executions, "digest": s.execution_digest}))
"""


def _ensemble() -> dict:
    """Time ``smars-sim fidelity`` over the 25-run ensemble (its own processes, every core)."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "smars_sim.cli", "fidelity", "--json", *ENSEMBLE],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if out.returncode not in (0, 1):
        raise RuntimeError(out.stderr)
    rows = json.loads(out.stdout)
    return {"seconds": elapsed, "runs": rows[0]["runs"]}


def _run(code: str, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _best(code: str, args: tuple[str, ...], repeat: int) -> dict:
    runs = [_run(code, *args) for _ in range(repeat)]
    best = min(runs, key=lambda r: r["seconds"])
    best["peak_rss"] = max(r["peak_rss"] for r in runs)
    return best


def _load() -> str:
    try:
        one, five, _ = os.getloadavg()
        return f"{one:.2f} (1 min), {five:.2f} (5 min)"
    except OSError:
        return "unknown"


def _learner_memory() -> dict[str, int]:
    """Peak RSS of a learner through notebooks 00 to 04 with a cold cache, two ways.

    ``benchmarks/learner_memory.py``: a kernel per notebook, after the cache is built as
    ``make lab`` builds it (its builder alone, then notebook 04's kernel and children),
    and with Lab started by hand (notebook 04's set-up cell builds the log). The class
    hub's figures are the load test's (docs/jupyterhub.md, "Memory").
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "learner_memory.json"
        script = str(HERE / "learner_memory.py")
        cases = ["--case", "make lab", "--case", "own cold cache"]
        subprocess.run(
            [sys.executable, script, *cases, "--json", str(out)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        figures = json.loads(out.read_text())
    return {
        "builder": figures["make lab"]["builders_peak_rss"]["smars_sim.analysis.execution_log"],
        "kernel": figures["make lab"]["notebook_04_peak_with_children"],
        "by_hand": figures["own cold cache"]["notebook_04_peak_with_children"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (best is kept)")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"), help="where to write the table")
    args = parser.parse_args()

    load_before = _load()
    print("bare book, 1,000,000 orders …", flush=True)
    book = _best(_BOOK, ("1000000",), args.repeat)
    book_rate = book["orders"] / book["seconds"]

    replays = {}
    for scale in (NOTEBOOK_SCALE, 0.1, 0.3, 1.0):
        print(f"replay at scale {scale} …", flush=True)
        replays[scale] = _best(_REPLAY, (str(scale),), args.repeat)
    full = replays[1.0]
    print(f"bare book, {full['executions']:,} orders (the replay's executions) …", flush=True)
    same = _best(_BOOK, (str(full["executions"]),), max(1, args.repeat - 1))

    print("what-if: 16 combinations at the notebook scale …", flush=True)
    whatif = _best(_WHATIF, (), max(1, args.repeat - 1))

    print("widget action: add a response plan (05_respond) …", flush=True)
    widget = _best(_WIDGET, (), args.repeat)

    print("fidelity ensemble: 25 runs at scale 0.05 …", flush=True)
    ensemble = min(
        (_ensemble() for _ in range(max(1, args.repeat - 3))), key=lambda r: r["seconds"]
    )

    print("a learner through notebooks 00-04 with a cold cache, as make lab runs it …", flush=True)
    learner = _learner_memory()

    ratio = full["seconds"] / same["seconds"]
    checks = [
        ("book matches >= 500,000 orders/s", f"{book_rate:,.0f} orders/s", book_rate >= 500_000),
        ("full-scale replay <= 10 s", f"{full['seconds']:.2f} s", full["seconds"] <= 10),
        ("full-scale replay <= 2x the bare book", f"{ratio:.2f}x", ratio <= 2),
        (
            f"full-scale replay / bare book <= {RATIO_BEFORE}x (its ratio before issue 14)",
            f"{ratio:.2f}x",
            ratio <= RATIO_BEFORE,
        ),
        (
            f"fidelity ensemble, {ensemble['runs']} runs at scale 0.05 on "
            f"{os.cpu_count()} cores < 60 s",
            f"{ensemble['seconds']:.1f} s",
            ensemble["seconds"] < 60,
        ),
        (
            "peak memory <= 1.5 GB",
            f"{full['peak_rss'] / 2**30:.2f} GB",
            full["peak_rss"] <= 1.5 * 2**30,
        ),
        (
            "a learner's peak through notebook 04, cold cache, make lab <= 500 MB "
            "(the log's builder alone, then notebook 04's kernel and its children)",
            f"{learner['builder'] / 2**20:,.0f} MB, then {learner['kernel'] / 2**20:,.0f} MB",
            max(learner["builder"], learner["kernel"]) <= 500 * 2**20,
        ),
        (
            "the same with Lab started by hand <= 500 MB "
            "(notebook 04's kernel and the build its set-up cell starts)",
            f"{learner['by_hand'] / 2**20:,.0f} MB",
            learner["by_hand"] <= 500 * 2**20,
        ),
        (
            f"notebook scale ({NOTEBOOK_SCALE}) <= 0.5 s",
            f"{replays[NOTEBOOK_SCALE]['seconds']:.2f} s",
            replays[NOTEBOOK_SCALE]["seconds"] <= 0.5,
        ),
        (
            "widget action (a fresh replay and a redraw) <= 1 s",
            f"{widget['seconds']:.2f} s",
            widget["seconds"] <= 1,
        ),
        (
            "what-if, 16 combinations at the notebook scale <= 10 s",
            f"{whatif['seconds']:.2f} s",
            whatif["seconds"] <= 10,
        ),
    ]
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`benchmarks/run.py`) on {stamp}.",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()} "
        f"({platform.machine()}); "
        f"load average before the run: {load_before}. Each time is the best of {args.repeat} runs "
        f"(the bare book at the replay's size and the what-if: best of {max(1, args.repeat - 1)}), "
        "each run in its own process.",
        "",
        "This machine is a shared virtual machine: the same run can take up to about 1.7x",
        "longer from one minute to the next, whatever the load average says, which is why",
        "every figure is a best of several runs.",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        *[f"| {name} | {value} | {'yes' if ok else '**no**'} |" for name, value, ok in checks],
        "",
        "## Replay",
        "",
        "| scale | wall time | executions | executions/s | peak memory |",
        "|---|---|---|---|---|",
        *[
            f"| {scale} | {r['seconds']:.2f} s | {r['executions']:,} | "
            f"{r['executions'] / r['seconds']:,.0f} | {r['peak_rss'] / 2**20:,.0f} MB |"
            for scale, r in replays.items()
        ],
        "",
        "Cost grows linearly with executions: compare executions/s across scales (the",
        "smallest scale also pays the fixed cost of quoting, sampling and the other",
        "participants' prints, the same at every scale).",
        "",
        "## Bare book (the same `smars_sim.core.book.OrderBook`, no routing, risk, logging or P&L)",
        "",
        "| orders | time | orders/s |",
        "|---|---|---|",
        f"| {book['orders']:,} | {book['seconds']:.2f} s | {book_rate:,.0f} |",
        f"| {same['orders']:,} (the replay's executions) | {same['seconds']:.2f} s | "
        f"{same['orders'] / same['seconds']:,.0f} |",
        "",
        f"Full-scale replay / bare book for as many orders: **{ratio:.2f}x**.",
        "",
        f"Execution digest at scale 1: `{full['digest']}`.",
        "",
    ]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
