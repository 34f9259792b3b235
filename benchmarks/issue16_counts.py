"""Issue 16's before/after counts: bad CLI inputs, API fields and fault injections held.

Runs the same cases against any source tree of smars_sim (``--tree``), each in its own
process with ``PYTHONPATH`` pointing at that tree, so the tree before the change
(``git archive 6497a3f | tar -x -C /tmp/base``) and after it are measured alike:

    python benchmarks/issue16_counts.py --tree /tmp/base
    python benchmarks/issue16_counts.py --tree .

A case is *held* when:

* a bad CLI input exits 2 with exactly one line on stderr, nothing on stdout and no
  traceback, within 60 s (a closed pipe: no output on stderr; an ASCII terminal: exit
  0); a folder named like a table is refused before the replay (within 10 s of a
  full-size day that takes far longer);
* a bad API value raises ``ValueError`` naming the field (``set_flag``: refuses text);
* a fault injection leaves the target as one whole set (the previous one, or the
  new one if the run succeeded), and, unless the process was SIGKILLed, no
  temporary file or folder, exit 2 (143 for SIGTERM) with one line on stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

DRIVER = textwrap.dedent(
    r"""
    import errno, json, os, signal, sys, tempfile
    spec = json.loads(sys.argv[1])
    calls = {"n": 0}

    def act():
        what = spec["action"]
        if what == "term":
            os.kill(os.getpid(), signal.SIGTERM)
        elif what == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        else:
            code = getattr(errno, what)
            raise OSError(code, os.strerror(code))

    def counted(real):
        def wrapper(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == spec["k"]:
                act()
            return real(*args, **kwargs)
        return wrapper

    patch = spec["patch"]
    if patch == "to_parquet":
        import pandas as pd
        pd.DataFrame.to_parquet = counted(pd.DataFrame.to_parquet)
    elif patch == "rename":
        os.replace = counted(os.replace)
        os.rename = counted(os.rename)
        try:
            from smars_sim.analysis import output
            output._exchange = counted(output._exchange)
        except ImportError:
            pass
    elif patch == "mkdir":
        def refuse(*args, **kwargs):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        os.makedirs = os.mkdir = tempfile.mkdtemp = refuse
    elif patch == "replay":
        import smars_sim.fixes
        real = smars_sim.fixes.replay
        def replay(*args, **kwargs):
            act()
            return real(*args, **kwargs)
        smars_sim.fixes.replay = replay
    from smars_sim.cli import main
    raise SystemExit(main(spec["argv"]))
    """
)

API = textwrap.dedent(
    r"""
    import dataclasses, json, math, sys
    from smars_sim import Scenario, Simulation
    base = Scenario.small(scale=0.01)
    inf, nan = math.inf, math.nan
    cases = json.loads(sys.argv[1])
    held = []
    for path, text, name in cases:
        value = eval(text)
        try:
            if path == "set_flag":
                sim = Simulation(Scenario.small())
                sim.advance_to("09:31")
                sim.set_flag(sim.rlp_flag, value)
                ok = False
            else:
                if "." in path:
                    outer, inner = path.split(".")
                    if outer == "liquidity":
                        s = dataclasses.replace(
                            base, liquidity=dataclasses.replace(base.liquidity, **{inner: value}))
                    else:
                        items = getattr(base, outer)
                        s = dataclasses.replace(
                            base, **{outer: (dataclasses.replace(items[0], **{inner: value}),
                                             *items[1:])})
                else:
                    s = dataclasses.replace(base, **{path: value})
                s.validate()
                ok = False
        except ValueError as exc:
            ok = name in str(exc) and "\n" not in str(exc)
        except Exception:
            ok = False
        held.append(ok)
    print(json.dumps(held))
    """
)

# (argv after "replay --scenario small", how it is run)
CLI_CASES: list[tuple[list[str], str]] = [
    (["--scale", "1e-9"], ""),
    (["--scale", "5e-324"], ""),
    (["--scale", "1e-4"], ""),
    (["--scale", "1e400"], ""),
    (["--scale", "-inf"], ""),
    (["--servers", "1000000"], ""),
    (["--servers", "65"], ""),
    (["--out", ""], ""),
    (["--no-rollback", "--rollback-at", "09:40"], ""),
    (["--stale-server", "3", "--stale-server", "3"], ""),
    (["--stale-server", "2", "--stale-server", "2", "--stale-server", "1"], ""),
    ([], "closed-pipe"),
    ([], "dev-full"),
    (["--json"], "dev-full"),
    ([], "ascii"),
    (["--out", "{tmp}/tablefolder"], "slow-aug1"),
    # already held before the change (the kit's own list, and more of the same kind)
    (["--seed", "abc"], ""),
    (["--seed", "1.5"], ""),
    (["--scale", "0"], ""),
    (["--scale", "nan"], ""),
    (["--scale", "abc"], ""),
    (["--servers", "0"], ""),
    (["--servers", "two"], ""),
    (["--stale-server", "4"], ""),
    (["--stale-server", "0"], ""),
    (["--halt-at", "25:00"], ""),
    (["--halt-at", "9h30"], ""),
    (["--halt-at", "08:00"], ""),
    (["--kill-at", "16:01"], ""),
    (["--rollback-at", "08:30"], ""),
    (["--fix", "no-such-fix"], ""),
    (["--limit", "max_order_shares=10"], ""),
    (["--bogus"], ""),
    (["--scale"], ""),
    (["--out", "{tmp}/afile"], ""),
    (["--out", "/proc/smars-sim-out"], ""),
]

API_CASES: list[tuple[str, str, str]] = [
    # the list
    ("operator_step_s", "1e12", "operator-step-s"),
    ("sample_s", "1e-9", "sample-s"),
    ("peg_interval_ms", "1e-6", "peg-interval-ms"),
    ("operator_step_s", "inf", "operator-step-s"),
    ("sample_s", "inf", "sample-s"),
    ("peg_interval_ms", "inf", "peg-interval-ms"),
    ("others_interval_s", "inf", "others-interval-s"),
    ("liquidity.refresh_s", "inf", "refresh-s"),
    ("liquidity.half_life_s", "inf", "half-life-s"),
    ("peg_lot", "10**30", "peg-lot"),
    ("symbols.open_cents", "0", "open-cents"),
    ("basket_discount_bps", "nan", "basket-discount-bps"),
    ("liquidity.impact_coef", "-5.0", "impact-coef"),
    ("fixes", "'dead-code'", "give a tuple"),
    ("stale_servers", "3", "stale-servers"),
    ("set_flag", "'false'", "set_flag"),
    # every other field, one bad value each
    ("name", "''", "name"),
    ("seed", "2**64", "seed"),
    ("scale", "1e-9", "scale"),
    ("servers", "65", "servers"),
    ("stale_servers", "(3, 3)", "stale-servers"),
    ("symbols", "[1]", "symbols"),
    ("parents", "5", "parents"),
    ("parent_qty", "(10**10,)", "parent-qty"),
    ("premarket_orders", "10**6", "premarket-orders"),
    ("premarket_start", "None", "premarket-start"),
    ("flag", "''", "flag"),
    ("start_at", "'10:00'", "start-at"),
    ("window_end", "None", "window-end"),
    ("end_at", "'09:31'", "end-at"),
    ("peg_lot", "1.5", "peg-lot"),
    ("liquidity", "None", "liquidity"),
    ("others_interval_s", "1e-9", "others-interval-s"),
    ("basket_discount_bps", "-1.0", "basket-discount-bps"),
    ("sample_s", "nan", "sample-s"),
    ("liquidity.half_spread_bps", "-1.0", "half-spread-bps"),
    ("liquidity.step_bps", "nan", "step-bps"),
    ("liquidity.levels", "0", "levels"),
    ("liquidity.level_shares", "0.5", "level-shares"),
    ("liquidity.impact_exponent", "0.0", "impact-exponent"),
    ("liquidity.permanent_coef", "inf", "permanent-coef"),
    ("liquidity.half_life_s", "1e-9", "half-life-s"),
    ("liquidity.refresh_s", "1e-9", "refresh-s"),
    ("symbols.ticker", "''", "ticker"),
    ("symbols.synthetic", "'yes'", "synthetic"),
    ("symbols.depth_shares", "nan", "depth-shares"),
    ("symbols.others_shares_per_s", "-1.0", "others-shares-per-s"),
    ("symbols.knight_parents", "10**6", "knight-parents"),
    ("symbols.knight_side", "0", "knight-side"),
    ("symbols.source", "None", "source"),
    ("parents.symbol", "9", "parent symbol"),
    ("parents.side", "2", "side"),
    ("parents.qty", "0", "qty"),
    ("parents.received", "'07:00'", "parent received"),
    # already held before the change
    ("seed", "'abc'", "seed"),
    ("scale", "0.0", "scale"),
    ("servers", "0", "servers"),
    ("halt_at", "'25:00'", "halt-at"),
    ("rollback_at", "'08:30'", "rollback-at"),
    ("peg_lot", "0", "peg-lot"),
    ("sample_s", "0.0", "sample-s"),
    ("premarket_orders", "-1", "premarket-orders"),
    ("kill_at", "'16:00'", "kill-at"),
    ("fix_params", "{'kill-switch': 1}", "fix-params"),
]


def _env(tree: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree)
    env.update(extra)
    return env


def _one_line_2(proc: subprocess.CompletedProcess) -> bool:
    err = proc.stderr if isinstance(proc.stderr, str) else proc.stderr.decode(errors="replace")
    out = proc.stdout if isinstance(proc.stdout, str) else (proc.stdout or b"").decode()
    return (
        proc.returncode == 2 and len(err.splitlines()) == 1 and "Traceback" not in err and out == ""
    )


def cli_counts(tree: Path) -> tuple[int, int, list[str]]:
    held, failed = 0, []
    for argv, how in CLI_CASES:
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "tablefolder" / "executions.parquet").mkdir(parents=True)
            (Path(tmp) / "afile").write_text("x")
            (Path(tmp) / "real").mkdir()
            (Path(tmp) / "link").symlink_to(Path(tmp) / "real")
            (Path(tmp) / "foreign").mkdir()
            (Path(tmp) / "foreign" / "thesis.tex").write_text("keep me")
            args = [a.replace("{tmp}", tmp) for a in argv]
            scenario = ["--scenario", "small"]
            if how == "slow-aug1":
                scenario = ["--scenario", "aug1-2012", "--scale", "0.3"]
            cmd = [sys.executable, "-m", "smars_sim.cli", "replay", *scenario, *args]
            started = time.perf_counter()
            try:
                if how == "closed-pipe":
                    read, write = os.pipe()
                    os.close(read)
                    proc = subprocess.run(
                        cmd,
                        stdout=write,
                        stderr=subprocess.PIPE,
                        text=True,
                        env=_env(tree),
                        timeout=60,
                        check=False,
                    )
                    os.close(write)
                    ok = proc.stderr == "" and proc.returncode != 0
                elif how == "dev-full":
                    with open("/dev/full", "w") as full:
                        proc = subprocess.run(
                            cmd,
                            stdout=full,
                            stderr=subprocess.PIPE,
                            text=True,
                            env=_env(tree),
                            timeout=60,
                            check=False,
                        )
                    ok = proc.returncode == 2 and len(proc.stderr.splitlines()) == 1
                elif how == "ascii":
                    proc = subprocess.run(
                        cmd,
                        capture_output=True,
                        timeout=60,
                        check=False,
                        env=_env(tree, PYTHONIOENCODING="ascii"),
                    )
                    ok = proc.returncode == 0 and proc.stderr == b""
                else:
                    proc = subprocess.run(
                        cmd, capture_output=True, text=True, env=_env(tree), timeout=60, check=False
                    )
                    ok = _one_line_2(proc)
                    if how == "slow-aug1":
                        ok = ok and time.perf_counter() - started < 10
                    if how == "symlink":
                        ok = ok and not any((Path(tmp) / "real").iterdir())
                    if how == "foreign":
                        ok = ok and (Path(tmp) / "foreign" / "thesis.tex").exists()
            except subprocess.TimeoutExpired:
                ok = False
        held += ok
        if not ok:
            failed.append(" ".join(argv) + (f" [{how}]" if how else ""))
    return held, len(CLI_CASES), failed


def api_counts(tree: Path) -> tuple[int, int, list[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", API, json.dumps(API_CASES)],
        capture_output=True,
        text=True,
        env=_env(tree),
        timeout=300,
        check=True,
    )
    held = json.loads(proc.stdout)
    failed = [f"{p}={v}" for (p, v, _), ok in zip(API_CASES, held, strict=True) if not ok]
    return sum(held), len(API_CASES), failed


def _snapshot(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def _tables(snapshot: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in snapshot.items() if k.endswith(".parquet")}


def fault_counts(tree: Path) -> tuple[int, int, list[str]]:
    cases: list[dict] = []
    for k in range(1, 8):
        cases += [
            {"patch": "to_parquet", "k": k, "action": "ENOSPC"},
            {"patch": "to_parquet", "k": k, "action": "EIO"},
            {"patch": "to_parquet", "k": k, "action": "term"},
            {"patch": "to_parquet", "k": k, "action": "kill"},
            {"patch": "rename", "k": k, "action": "EIO"},
            {"patch": "rename", "k": k, "action": "kill"},
        ]
    cases += [
        {"patch": "mkdir", "k": 0, "action": "EROFS"},
        {"patch": "replay", "k": 0, "action": "term"},
    ]
    held, failed = 0, []
    with tempfile.TemporaryDirectory() as tmp:
        refs = {}
        for seed in (1, 2):
            ref = Path(tmp) / f"ref{seed}"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "smars_sim.cli",
                    "replay",
                    "--scenario",
                    "small",
                    "--seed",
                    str(seed),
                    "--out",
                    str(ref),
                ],
                env=_env(tree),
                capture_output=True,
                timeout=120,
                check=True,
            )
            refs[seed] = _tables(_snapshot(ref))
        for case in cases:
            work = Path(tmp) / "work"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            target = work / "out"
            shutil.copytree(Path(tmp) / "ref2", target)
            before = _snapshot(target)
            spec = dict(
                case, argv=["replay", "--scenario", "small", "--seed", "1", "--out", str(target)]
            )
            proc = subprocess.run(
                [sys.executable, "-c", DRIVER, json.dumps(spec)],
                env=_env(tree),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            after = _snapshot(target)
            whole = after == before or _tables(after) == refs[1]
            inside_clean = set(after) <= set(before) | {"manifest.json"} and all(
                name.endswith((".parquet", ".json")) for name in after
            )
            beside_clean = [p.name for p in work.iterdir()] == ["out"]
            if proc.returncode == 0:  # the fault never came (fewer calls than k): a clean run
                ok = _tables(after) == refs[1] and beside_clean and inside_clean
            elif case["action"] == "kill":
                ok = whole and inside_clean and proc.returncode == -signal.SIGKILL
            elif case["action"] == "term":
                ok = (
                    proc.returncode == 143
                    and after == before
                    and beside_clean
                    and len(proc.stderr.splitlines()) == 1
                )
            else:
                ok = (
                    proc.returncode == 2
                    and after == before
                    and beside_clean
                    and len(proc.stderr.splitlines()) == 1
                    and "Traceback" not in proc.stderr
                )
            held += ok
            if not ok:
                failed.append(f"{case['patch']}#{case['k']}:{case['action']}")
        # two writers at once, five times
        for trial in range(5):
            work = Path(tmp) / "work"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            target = work / "out"
            procs = [
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "smars_sim.cli",
                        "replay",
                        "--scenario",
                        "small",
                        "--seed",
                        str(seed),
                        "--out",
                        str(target),
                    ],
                    env=_env(tree),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for seed in (1, 2)
            ]
            errs = [p.communicate(timeout=120)[1] for p in procs]
            codes = [p.returncode for p in procs]
            tables = _tables(_snapshot(target))
            ok = (
                tables in (refs[1], refs[2])
                and all(c in (0, 2) for c in codes)
                and not any("Traceback" in e for e in errs)
                and [p.name for p in work.iterdir()] == ["out"]
            )
            held += ok
            if not ok:
                failed.append(f"concurrent#{trial}")
        # a symlink planted where the old writer put its partial file
        work = Path(tmp) / "work"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        victim = work / "victim"
        victim.write_text("precious")
        (work / "out").mkdir()
        (work / "out" / "executions.parquet.partial").symlink_to(victim)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "smars_sim.cli",
                "replay",
                "--scenario",
                "small",
                "--out",
                str(work / "out"),
            ],
            env=_env(tree),
            capture_output=True,
            timeout=120,
            check=False,
        )
        ok = victim.read_bytes() == b"precious"  # not overwritten through the link
        held += ok
        if not ok:
            failed.append("symlink")
    n = len(cases) + 5 + 1
    bits_held, bits = cache_flips(tree)
    return held + bits_held, n + bits, [*failed, f"cache flips lost: {bits - bits_held}"]


CACHE = textwrap.dedent(
    r"""
    import random, sys
    import pandas as pd
    from smars_sim import Scenario, replay
    from smars_sim.analysis import forensics as fx
    s = Scenario.small()
    fresh = replay(s).executions
    fx.full_day_executions(s)
    table = fx.cache_dir() / f"executions-{fx.cache_key(s)}.parquet"
    original = table.read_bytes()
    rng = random.Random(int(sys.argv[1]))
    held = 0
    for _ in range(60):
        data = bytearray(original)
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        table.write_bytes(bytes(data))
        fx._MEMO.clear()
        try:
            frame = fx.full_day_executions(s)
            held += frame.equals(fresh)
        except Exception:
            pass
        table.write_bytes(original)
    print(held)
    """
)


def cache_flips(tree: Path) -> tuple[int, int]:
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [sys.executable, "-c", CACHE, "16"],
            env=_env(tree, XDG_CACHE_HOME=tmp),
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
    return int(proc.stdout.strip().splitlines()[-1]), 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    tree = args.tree.resolve()
    for label, count in (
        ("bad CLI inputs", cli_counts),
        ("API fields", api_counts),
        ("fault injections", fault_counts),
    ):
        held, tried, failed = count(tree)
        print(f"{label}: {held} of {tried} held", flush=True)
        for name in failed:
            print(f"  not held: {name}", flush=True)


if __name__ == "__main__":
    main()
