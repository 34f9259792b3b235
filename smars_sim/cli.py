"""The ``smars-sim`` command line.

``smars-sim replay`` replays a scenario and prints its summary, ``--json`` as one
JSON object. Bad input exits with code 2 and one line naming the value and what
is allowed; it never prints a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import io
import json
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from .core.fmt import usd, usd_report
from .core.result import Summary
from .fixes import AVAILABLE, SPECS, FixSpec

__all__ = ["main"]


class _UsageError(Exception):
    """A user's mistake: reported in one line, exit code 2."""


class _Terminated(BaseException):
    """SIGTERM arrived: unwind (temporary folders are removed on the way), exit 143.

    A ``BaseException``, so no ``except Exception`` on the way swallows it.
    """


class _OutputError(Exception):
    """Standard output cannot be written (``> /dev/full``, a closed pipe)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an integer; use a whole number"
        ) from None


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


#: At most this many runs in one fidelity ensemble (seeds x market draws).
MAX_RUNS = 1_000


def _int_list(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a list of whole numbers; give them comma-separated, e.g. 1,2,3"
        ) from None
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"{text!r} gives a number twice; give each once")
    return values


def _parser() -> _Parser:
    parser = _Parser(prog="smars-sim", description="Replay Knight Capital's 1 August 2012.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    rp = sub.add_parser("replay", help="replay a scenario and print its summary")
    rp.add_argument("--scenario", default="aug1-2012", help="aug1-2012 (default) or small")
    rp.add_argument("--seed", type=_int, help="the one seed (default: the scenario's)")
    rp.add_argument("--scale", type=_float, default=None, help="resolution in (0, 1] (default 1)")
    rp.add_argument("--servers", type=_int, help="number of SMARS servers")
    rp.add_argument(
        "--stale-server",
        type=_int,
        action="append",
        dest="stale",
        metavar="K",
        help="server the technician misses (repeat for several)",
    )
    rollback = rp.add_mutually_exclusive_group()
    rollback.add_argument("--no-rollback", action="store_true", help="operators never roll back")
    rollback.add_argument("--rollback-at", metavar="HH:MM[:SS]", help="when the rollback starts")
    rp.add_argument(
        "--halt-at", metavar="HH:MM[:SS]", help="stop every server at once at this time"
    )
    rp.add_argument(
        "--fix",
        action="append",
        default=[],
        metavar="NAME",  # checked by the scenario, whose message lists the fixes
        help=f"apply a fix (repeatable): {', '.join(AVAILABLE)}",
    )
    rp.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    rp.add_argument(
        "--out",
        metavar="DIR",
        help="write every table as parquet into DIR (needs the analysis extra)",
    )
    rp.add_argument(
        "--kill-at", metavar="HH:MM[:SS]", help="press the fleet-wide kill switch at this time"
    )
    for spec in SPECS:  # each fix with parameters declares its option in the registry
        if spec.cli_option:
            rp.add_argument(
                spec.cli_option,
                action="append",
                default=[],
                dest=_option_dest(spec),
                metavar="NAME=VALUE",
                help=f"a parameter of the {spec.name} fix (repeatable), "
                "e.g. capital_threshold_usd=5e7 (off: no such control)",
            )
    rp.add_argument("--flag", metavar="KEY", help="the flag key the old build reads")
    wi = sub.add_parser("whatif", help="replay every combination of the four fixes")
    wi.add_argument("--json", action="store_true", help="print the rows as a JSON list")
    wi.add_argument(
        "--scale", type=_float, default=None, help="resolution in (0, 1] (default 0.01)"
    )
    wi.add_argument("--seed", type=_int, help="the one seed (default: the scenario's)")
    wi.add_argument(
        "--sweep", action="store_true", help="sweep the manual kill time instead (no fixes)"
    )
    fi = sub.add_parser("fidelity", help="compare the 1 Aug 2012 replay with the public record")
    fi.add_argument("--scale", type=_float, default=None, help="resolution in (0, 1] (default 1)")
    fi.add_argument("--seed", type=_int, help="the one seed (default: the scenario's)")
    fi.add_argument(
        "--seeds",
        type=_int_list,
        metavar="LIST",
        help="replay seeds, comma-separated (e.g. 1,2,3): an ensemble with --market-seeds",
    )
    fi.add_argument(
        "--market-seeds",
        type=_int_list,
        metavar="LIST",
        help="market draws, comma-separated (default: the stored draw, data/symbols.csv)",
    )
    fi.add_argument(
        "--json",
        action="store_true",
        help="print the rows as a JSON list (median, min and max over the runs)",
    )
    cb = sub.add_parser("class-board", help="per learner and exercise: checks passed, attempts")
    cb.add_argument("--db", required=True, metavar="PATH", help="the class database (SQLite)")
    cb.add_argument("--json", action="store_true", help="print the rows as a JSON list")
    return parser


def _cmd_class_board(args: argparse.Namespace) -> int:
    import sqlite3

    from .analysis import classboard

    try:
        conn = classboard.connect(args.db, create=False)
        try:
            rows = classboard.board_rows(conn)
        finally:
            conn.close()
    except (classboard.BoardError, sqlite3.Error, OSError) as exc:
        raise ValueError(f"--db: {exc}") from None
    _emit(classboard.board_json(rows) if args.json else classboard.board_text(rows))
    return 0


def _check_out_dir(path: str) -> None:
    """Fail early, before a long replay, if ``path`` cannot take an output set.

    Refused: ``""``, a link, a file, a folder holding anything but a previous set
    (e.g. a folder named like a table), and a place where nothing can be created.
    """
    from .analysis.output import check_target

    target = check_target(path)
    probe_dir = os.path.dirname(target)  # the set is written beside the target first
    while not os.path.lexists(probe_dir):
        parent = os.path.dirname(probe_dir)
        if parent == probe_dir:
            break
        probe_dir = parent
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".smars-sim-probe-", dir=probe_dir))
    except OSError:
        raise ValueError(
            f"--out {path!r} cannot be written; give a directory you can write to"
        ) from None


def _progress_bar() -> Callable[[float], None]:
    """A progress bar on stderr that appears only once a run passes about a second.

    On a terminal it redraws one line; otherwise (a log, a pipe) it writes a line
    at each quarter, so captured output stays short.
    """
    started = time.perf_counter()
    tty = sys.stderr.isatty()
    state = {"shown": False, "next": 0.25}

    def report(fraction: float) -> None:
        elapsed = time.perf_counter() - started
        if elapsed < 1.0 and not state["shown"]:
            return
        state["shown"] = True
        if tty:
            width = 30
            filled = int(width * min(1.0, fraction))
            bar = "#" * filled + "." * (width - filled)
            sys.stderr.write(f"\rreplaying [{bar}] {fraction:4.0%} {elapsed:5.1f}s")
            if fraction >= 1.0:
                sys.stderr.write("\n")
        elif fraction >= state["next"] or fraction >= 1.0:
            sys.stderr.write(f"replaying: {fraction:4.0%} after {elapsed:.1f}s\n")
            state["next"] = min(1.0, fraction + 0.25)
        sys.stderr.flush()

    return report


def _option_dest(spec: FixSpec) -> str:
    return "fix_" + spec.cli_option.lstrip("-").replace("-", "_")


def _need_analysis(what: str) -> None:
    """Exit 2 before any replay if the ``analysis`` extra (pandas, pyarrow) is missing."""
    import importlib.util

    missing = [m for m in ("pandas", "pyarrow") if importlib.util.find_spec(m) is None]
    if missing:
        raise ValueError(
            f"{what} needs the analysis extra ({', '.join(missing)} not installed); "
            "install it with: pip install 'smars-sim[analysis]'"
        )


def _seed_and_scale(args: argparse.Namespace, default_scale: float | None = None) -> dict[str, Any]:
    """The ``--seed`` and ``--scale`` options every subcommand shares, as scenario changes."""
    changes: dict[str, Any] = {}
    if args.seed is not None:
        changes["seed"] = args.seed
    if args.scale is not None:
        changes["scale"] = args.scale
    elif default_scale is not None:
        changes["scale"] = default_scale
    return changes


def _scenario(args: argparse.Namespace) -> Any:
    from .core.clock import parse_time
    from .core.scenario import Scenario

    changes = _seed_and_scale(args)
    if args.servers is not None:
        changes["servers"] = args.servers
    if args.stale:
        changes["stale_servers"] = tuple(args.stale)
    if args.no_rollback:
        changes["rollback_at"] = None
    if args.rollback_at is not None:
        changes["rollback_at"] = parse_time(args.rollback_at, what="--rollback-at")
    if args.halt_at is not None:
        changes["halt_at"] = parse_time(args.halt_at, what="--halt-at")
    if args.fix:
        changes["fixes"] = tuple(args.fix)
    if args.kill_at is not None:
        changes["kill_at"] = parse_time(args.kill_at, what="--kill-at")
    params: dict[str, object] = {}
    for spec in SPECS:
        given = getattr(args, _option_dest(spec), None) if spec.cli_option else None
        if not given:
            continue
        if spec.name not in args.fix:
            raise ValueError(
                f"{spec.cli_option} sets the {spec.name} fix's parameters; add --fix {spec.name}"
            )
        kind = spec.params_type()
        assert kind is not None  # a registry entry with a CLI option has parameters
        params[spec.name] = kind.parse(given)  # type: ignore[attr-defined]
    if params:
        changes["fix_params"] = params
    if args.flag is not None:
        changes["flag"] = args.flag
    base = Scenario.named(args.scenario)
    resized = args.servers is not None and args.servers >= 1 and not args.stale
    if resized and base.stale_servers and max(base.stale_servers) > args.servers:
        # With fewer servers and no --stale-server, the technician misses the last one.
        changes["stale_servers"] = (args.servers,)
    scenario = base.with_(**changes) if changes else base
    scenario.validate()
    return scenario


def _table(summary: Summary) -> str:
    stale = ", ".join(map(str, summary.stale_servers))
    ran = f"{summary.start or '-'} to {summary.stop or '-'}"
    rows = [
        ("scenario", f"{summary.scenario} (seed {summary.seed}, scale {summary.scale})"),
        ("fixes", ", ".join(summary.fixes) or "none"),
        (
            "servers",
            f"{summary.servers} (stale: {stale or 'none'})",
        ),
        ("parent orders via Power Peg", f"{summary.parent_orders:,}"),
        ("child orders", f"{summary.child_orders:,}"),
        ("executions", f"{summary.executions:,}"),
        ("symbols traded", f"{summary.symbols_traded:,}"),
        ("shares traded", f"{summary.shares_traded:,}"),
        ("net long", f"{usd_report(summary.long_usd)} in {summary.long_symbols} symbols"),
        ("net short", f"{usd_report(summary.short_usd)} in {summary.short_symbols} symbols"),
        ("realised loss", usd_report(summary.loss_usd)),
        (
            "Power Peg ran",
            f"{ran} ({summary.duration_minutes} min)",
        ),
        ("BNET e-mails", f"{summary.bnet_emails}"),
        ("execution digest", summary.execution_digest[:16] + _ellipsis()),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def _cmd_replay(args: argparse.Namespace) -> int:
    from .fixes import replay

    if args.stale and len(set(args.stale)) != len(args.stale):
        twice = sorted({k for k in args.stale if args.stale.count(k) > 1})
        raise ValueError(
            f"--stale-server {', '.join(map(str, twice))} given twice; give each server once"
        )
    scenario = _scenario(args)
    if args.out is not None:
        _need_analysis("--out")
        _check_out_dir(args.out)
    result = replay(scenario, progress=_progress_bar())
    if args.out is not None:
        from .analysis.output import write_set

        try:
            write_set(result, args.out)
        except OSError as exc:
            raise ValueError(
                f"--out {args.out!r} could not be written ({exc.strerror or exc}); "
                "nothing was written and the folder is as it was"
            ) from None
    if args.json:
        _emit(json.dumps(result.summary.as_dict(), sort_keys=True))
    else:
        _emit(_table(result.summary))
    return 0


def _cmd_whatif(args: argparse.Namespace) -> int:
    _need_analysis("smars-sim whatif")
    from .analysis.whatif import DEFAULT_SCALE, kill_time_sweep, what_if
    from .core.scenario import Scenario

    scenario = Scenario.aug1_2012(**_seed_and_scale(args, DEFAULT_SCALE))
    table = kill_time_sweep(scenario=scenario) if args.sweep else what_if(scenario)
    if args.json:
        _emit(json.dumps(json.loads(table.to_json(orient="records")), sort_keys=True))
        return 0
    shown = table.copy()
    shown["loss_usd"] = shown["loss_usd"].map(lambda x: usd(x, 3, smallest="M"))
    columns = (
        list(shown.columns)
        if args.sweep
        else [
            "fixes",
            "loss_usd",
            "loss_pct_of_unfixed",
            "executions",
            "power_peg_minutes",
            "stopped_by",
        ]
    )
    _emit(shown[columns].to_string(index=False))
    return 0


def _fidelity_run(job: tuple[int | None, int | None, float | None]) -> list[float]:
    """One run of a fidelity ensemble (in a worker process): its row values."""
    from .core.fidelity import run_values
    from .core.scenario import Scenario
    from .fixes import replay

    seed, market_seed, scale = job
    overrides: dict[str, Any] = {"market_seed": market_seed}
    if seed is not None:
        overrides["seed"] = seed
    if scale is not None:
        overrides["scale"] = scale
    return run_values(replay(Scenario.aug1_2012(**overrides)))


def _cmd_fidelity(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from .core.fidelity import (
        ensemble_rows,
        ensemble_table,
        fidelity_rows,
        format_table,
        headlines_ok,
        run_values,
    )
    from .core.scenario import Scenario
    from .fixes import replay

    if args.seed is not None and args.seeds is not None:
        raise _UsageError("give --seed or --seeds, not both")
    seeds: list[int | None] = list(args.seeds) if args.seeds else [args.seed]
    markets: list[int | None] = list(args.market_seeds) if args.market_seeds else [None]
    if len(seeds) * len(markets) > MAX_RUNS:
        raise _UsageError(
            f"--seeds x --market-seeds is {len(seeds) * len(markets):,} runs; "
            f"allowed: at most {MAX_RUNS:,}"
        )
    jobs = [(seed, market, args.scale) for seed in seeds for market in markets]
    # Validate every value before any work: a bad one exits 2 at once, naming it.
    scenario = Scenario.aug1_2012(
        **_seed_and_scale(argparse.Namespace(seed=seeds[0], scale=args.scale))
    )
    for seed in seeds[1:]:
        scenario.with_(seed=seed)
    for market in markets:
        scenario.with_(market_seed=market)
    scenario = scenario.with_(market_seed=markets[0])
    scale = scenario.scale
    if len(jobs) == 1:
        result = replay(scenario, progress=_progress_bar())
        runs = [run_values(result)]
        single = fidelity_rows(result)
    else:
        runs = _run_ensemble(jobs)
        single = None
    rows = ensemble_rows(scale, runs)
    ok = headlines_ok(rows)
    if args.json:
        _emit(json.dumps([_finite(asdict(row)) for row in rows], sort_keys=True))
    else:
        verdict = (
            "every modelled headline within tolerance"
            if ok
            else "some modelled headlines outside tolerance"
        )
        if single is not None:
            title = f"1 August 2012: record vs replay (seed {scenario.seed}, scale {scale})"
            table = format_table(single)
        else:
            title = (
                f"1 August 2012: record vs an ensemble of {len(runs)} runs "
                f"(seeds {_list(seeds)} x market draws {_list(markets)}, scale {scale})"
            )
            table = ensemble_table(scale, rows)
        _emit(
            f"{title}\n{table}\n\n"
            "kinds: input = a record fact given to the model (holds by construction, not a "
            "match); calibrated = a parameter of data/calibration.csv tuned to hit it; "
            "emergent = produced by the mechanism\n"
            f"{verdict}" + ("" if scale == 1 else " (only scale 1 decides the exit code)")
        )
    # Only the full-scale replay is held to the record: coarser ones are for speed.
    return 0 if ok or scale < 1 else 1


def _finite(row: dict[str, Any]) -> dict[str, Any]:
    """A row with NaN and infinities as ``null`` (JSON has neither)."""
    return {
        k: (None if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))) else v)
        for k, v in row.items()
    }


def _list(values: list[int | None]) -> str:
    return ",".join("stored" if v is None else str(v) for v in values)


def _run_ensemble(jobs: list[tuple[int | None, int | None, float | None]]) -> list[list[float]]:
    """Run the jobs on every core; results come back in the jobs' order (deterministic)."""
    from concurrent.futures import ProcessPoolExecutor

    workers = max(1, min(len(jobs), os.cpu_count() or 1))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_fidelity_run, jobs))


def _ellipsis() -> str:
    """An ellipsis standard output can encode: "..." for e.g. ``PYTHONIOENCODING=ascii``."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        "…".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return "..."
    return "…"


def _emit(text: str) -> None:
    """Print to standard output and flush now, so a write error is reported here."""
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except OSError as exc:
        raise _OutputError(exc) from None


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so the flush at exit cannot fail again.

    The recipe of the Python docs for SIGPIPE ("Note on SIGPIPE" in the signal module).
    """
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _tolerant_streams() -> None:
    # Text the terminal cannot encode is replaced rather than failing the command
    # (e.g. PYTHONIOENCODING=ascii); stderr already uses backslashreplace.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if callable(reconfigure) and getattr(stream, "errors", "") == "strict":
            with contextlib.suppress(Exception):
                reconfigure(errors="replace")


def _on_sigterm(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one clean-up, not two
    raise _Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``smars-sim`` console script.

    Exit codes: 0 done; 1 the fidelity check failed, or standard output was closed
    early (``| head``: quietly, as the Python docs recommend); 2 bad input or an
    output that cannot be written, in one line on stderr; 130 Ctrl-C; 143 SIGTERM
    (any temporary output folder is removed first).
    """
    _tolerant_streams()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _main(argv)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _main(argv: Sequence[str] | None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "replay":
            return _cmd_replay(args)
        if args.command == "whatif":
            return _cmd_whatif(args)
        if args.command == "fidelity":
            return _cmd_fidelity(args)
        if args.command == "class-board":
            return _cmd_class_board(args)
        raise _UsageError(f"unknown command {args.command!r}")
    except _OutputError as exc:
        _silence_stdout()
        if exc.error.errno == errno.EPIPE or isinstance(exc.error, BrokenPipeError):
            return 1  # the reader has gone (``| head``): nothing to say
        _error(f"cannot write the output: {exc.error.strerror or exc.error}")
        return 2
    except (_UsageError, ValueError) as exc:
        _error(str(exc))
        return 2
    except OSError as exc:
        _error(f"{exc.strerror or exc}" + (f": {exc.filename!r}" if exc.filename else ""))
        return 2
    except KeyboardInterrupt:
        _error("interrupted", prefix="smars-sim: ")
        return 130
    except _Terminated:
        _error("terminated by SIGTERM; no output set was left half-written", prefix="smars-sim: ")
        return 143


def _error(message: str, prefix: str = "smars-sim: error: ") -> None:
    """One line on stderr (a newline in a message is shown as a space)."""
    with contextlib.suppress(OSError):
        print(prefix + " ".join(message.splitlines()), file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
