"""The checker's machinery: otter-style test cases, run safely, reported in one line each.

A question's checks live in one module (``q1_rogue_server.py`` and so on), written the
way otter-grader's exception-based test files are written: each check is a function
decorated with :func:`test_case`, whose parameters name the learner's objects (otter
looks them up in the notebook's globals by name, and so does :func:`run_question`).
A failed ``assert`` is a failed check, and its message is the hint. Moving to otter
later is mechanical: swap the import of ``test_case`` for ``otter.test_files``'s.

What this adds to otter's style, for learners working alone:

* **No traceback, ever.** The learner's code is called through :func:`call`, which
  turns any exception into a one-line hint naming the exception and the line of the
  learner's cell it came from. ``NotImplementedError`` (the stub) reads "not written yet".
* **A time limit the learner's code cannot defeat.** A question's checks run in a child
  process (``os.fork``: the learner's functions live in this process's memory, and the
  child gets all of it), which the parent kills with SIGKILL when a check runs past its
  limit. A bare ``except:`` around ``time.sleep``, an ignored SIGALRM, or a child that
  deadlocks cannot keep :func:`run_question` from answering: it returns within the sum
  of the limits of the checks it ran, plus a second or so. Only plain data (indices and
  strings, as JSON lines) comes back from the child, never the learner's objects; so
  nothing the learner's code does in a check (changing a global, a cache, a signal
  handler, calling ``os._exit``) reaches the notebook. Where there is no ``fork``
  (Windows, Pyodide) see :func:`isolated`.
* **Capped output.** Whatever the learner's code prints during the checks (``print``,
  warnings, ``sys.stderr``, even a subprocess writing to file descriptor 1) is kept up
  to :data:`OUTPUT_CAP_BYTES`; the rest is counted and dropped. The report shows at
  most :data:`OUTPUT_SHOWN_LINES` lines of it, and only when a check did not pass.
* **Copies.** :func:`call` deep-copies every argument, so the learner's code can
  mutate what it is given without changing what the next check sees.
* **Hidden variants.** A case marked ``hidden=True`` runs the learner's code on a
  scenario the notebook never showed; when the visible cases pass and a hidden one
  fails, the hint starts "passes the example, fails on a variant: ...".
"""

from __future__ import annotations

import builtins
import contextlib
import contextvars
import io
import json
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType, ModuleType
from typing import Any

from .learner import (
    _CHECKING,
    Case,
    CheckTimeout,
    LearnerError,
    _learner_line,
    _running_line,
    call,
    cases_of,
    test_case,
)

__all__ = [
    "ISOLATION_ENV",
    "MESSAGE_CAP_CHARS",
    "OUTPUT_CAP_BYTES",
    "OUTPUT_SHOWN_LINES",
    "Case",
    "CheckTimeout",
    "LearnerError",
    "Outcome",
    "Report",
    "call",
    "cases_of",
    "isolated",
    "run_question",
    "test_case",
]

#: Multiplies every timeout (for a slow or crowded machine): ``SMARS_CHECK_TIMEOUT_SCALE=3``.
TIMEOUT_SCALE_ENV = "SMARS_CHECK_TIMEOUT_SCALE"
#: ``fork`` (the default on Linux): checks run in a child process killed at the deadline;
#: ``none`` (the default elsewhere): in this process. See :func:`isolated`.
ISOLATION_ENV = "SMARS_CHECK_ISOLATION"
#: What the learner's code prints during a question's checks is kept up to this many
#: bytes; the rest is counted, not kept.
OUTPUT_CAP_BYTES = 4_000
#: A report shows at most this many lines of that output (each cut to 160 characters),
#: and only when a check did not pass. So a report is at most one line per check, plus
#: this many lines, plus three.
OUTPUT_SHOWN_LINES = 10
#: A hint or an information line from a check is cut to this many characters (a hint can
#: quote what the learner's code returned, which may be huge).
MESSAGE_CAP_CHARS = 1_000


# --------------------------------------------------------------------------
# Time limits
# --------------------------------------------------------------------------
def _scaled(seconds: float) -> float:
    try:
        factor = float(os.environ.get(TIMEOUT_SCALE_ENV, "1") or 1)
    except ValueError:
        factor = 1.0
    return max(0.1, seconds * max(factor, 0.1))


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: Any) -> None:
        raise CheckTimeout(seconds)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _with_time_limit(func: Callable[[], Any], seconds: float) -> Any:
    """Run ``func()``; raise :class:`CheckTimeout` after ``seconds``."""
    main = threading.current_thread() is threading.main_thread()
    if main and hasattr(signal, "setitimer"):
        try:
            with _alarm(seconds):
                return func()
        except CheckTimeout:
            raise
    # Not the main thread (or no SIGALRM): a watchdog thread. A check that runs
    # past its limit is abandoned, not killed, so it may still use a core meanwhile.
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = func()
        except BaseException as exc:
            box["error"] = exc

    context = contextvars.copy_context()
    try:
        worker = threading.Thread(target=lambda: context.run(target), daemon=True)
        worker.start()
    except RuntimeError:  # no threads (Pyodide): run without a limit
        return func()
    worker.join(seconds)
    if worker.is_alive():
        raise CheckTimeout(seconds)
    if "error" in box:
        raise box["error"]
    return box.get("value")


# --------------------------------------------------------------------------
# Running a question
# --------------------------------------------------------------------------
@dataclass(slots=True)
class Outcome:
    """What one check found.

    Attributes:
        case: The check.
        status: ``"pass"``, ``"fail"`` (wrong answer), ``"error"`` (the learner's code
            raised), ``"missing"`` (a name is not defined), ``"stub"`` (not written
            yet), ``"timeout"``, ``"skipped"`` (not run after a timeout) or ``"checker"``
            (a bug in the checker itself).
        message: The hint (or, for a pass, an optional information line).
    """

    case: Case
    status: str
    message: str = ""

    @property
    def passed(self) -> bool:
        """Whether the check passed."""
        return self.status == "pass"


@dataclass(slots=True)
class Report:
    """The result of checking one question."""

    question: str
    title: str
    outcomes: list[Outcome] = field(default_factory=list)
    #: The start of what the learner's code printed during the checks (at most
    #: :data:`OUTPUT_CAP_BYTES`), and how many bytes more it printed.
    printed: str = ""
    printed_cut: int = 0

    @property
    def passed(self) -> bool:
        """Every check passed."""
        return bool(self.outcomes) and all(o.passed for o in self.outcomes)

    @property
    def failed(self) -> list[Outcome]:
        """The checks that failed."""
        return [o for o in self.outcomes if not o.passed]

    def text(self) -> str:
        """What the learner sees: a ✅/❌ line, then one line per failed check."""
        n = len(self.outcomes)
        hidden = sum(1 for o in self.outcomes if o.case.hidden)
        head = f"{self.question} · {self.title}"
        if self.passed:
            lines = [
                f"✅ {head}: all {n} checks passed "
                f"({n - hidden} on the examples, {hidden} on variants you have not seen)."
            ]
            lines += [f"   · {o.message}" for o in self.outcomes if o.message and not o.case.hidden]
            return "\n".join(lines)
        ok = n - len(self.failed)
        lines = [f"❌ {head}: {ok} of {n} checks passed."]
        visible_ok = all(o.passed for o in self.outcomes if not o.case.hidden)
        said: set[str] = set()
        for o in self.failed:
            case = o.case
            if case.hidden and visible_ok and o.status not in ("stub", "missing", "skipped"):
                label = f"passes the example, fails on a variant: {case.variant}"
            else:
                label = _label(case)
            if o.message in said:  # the same hint again: one short line, not a wall of text
                short = {
                    "stub": "not written yet",
                    "missing": "not defined",
                    "skipped": "not run",
                }.get(o.status, "same hint")
                lines.append(f"   ✗ {label}: {short} (as above).")
                continue
            said.add(o.message)
            lines.append(f"   ✗ {label}: {o.message}")
        return "\n".join(lines + self._printed_lines())

    def _printed_lines(self) -> list[str]:
        """A short excerpt of what the learner's code printed (only under a failed check)."""
        if not self.printed and not self.printed_cut:
            return []
        total = len(self.printed.encode("utf-8", "replace")) + self.printed_cut
        kept = self.printed.splitlines()[:OUTPUT_SHOWN_LINES]
        shown = [line if len(line) <= 160 else line[:157] + "..." for line in kept]
        lines = [f"   your code printed {total:,} bytes during the checks; the first lines:"]
        lines += [f"   │ {line}" for line in shown]
        more = total - sum(len(line.encode("utf-8", "replace")) + 1 for line in shown)
        if more > 0:
            lines.append(f"   … (output cut: {more:,} bytes more)")
        return lines


def _label(case: Case) -> str:
    return f"variant you have not seen ({case.variant})" if case.hidden else case.name


def _timeout_hint(limit: float, where: str = "") -> str:
    """The hint for a check stopped at its limit; ``where`` is `` (line N of your cell...)``."""
    at = f" (it was at {where.removeprefix(' (')}" if where.startswith(" (line ") else ""
    return (
        f"stopped after {limit:.3g} s: your code did not return{at}. Look for an endless loop "
        "(a `while` whose condition never changes, or a bare `except:` that keeps a loop "
        "going) or for very slow code."
    )


def _cut(message: str) -> str:
    text = message.encode("utf-8", "replace").decode("utf-8")  # no lone surrogates
    if len(text) > MESSAGE_CAP_CHARS:
        text = text[: MESSAGE_CAP_CHARS - 3] + "..."
    return text


def _run_case(case: Case, env: Mapping[str, Any], *, limited: bool = True) -> Outcome:
    """Run one check here; ``limited=False`` in a child process (the parent keeps time)."""
    missing = [name for name in case.params if name not in env]
    if missing:
        return Outcome(
            case,
            "missing",
            f"`{missing[0]}` is not defined. "
            + (
                case.missing_hint
                or "Run the cell that defines it (Run > Run All Above), then this check again."
            ),
        )
    args = [env[name] for name in case.params]
    token = _CHECKING.set(True)
    limit = _scaled(case.timeout)
    run = (lambda: _with_time_limit(lambda: case.func(*args), limit)) if limited else None
    try:
        info = run() if run is not None else case.func(*args)
    except CheckTimeout as exc:
        where = _learner_line(exc.__traceback__)
        return Outcome(case, "timeout", _cut(_timeout_hint(limit, where)))
    except LearnerError as err:
        return Outcome(case, "stub" if err.not_written else "error", _cut(err.hint()))
    except AssertionError as err:
        hint = " ".join(str(err).split()) or "wrong answer."
        if case.failure_message:
            hint = f"{case.failure_message} {hint}"
        return Outcome(case, "fail", _cut(hint))
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        return Outcome(
            case,
            "checker",
            _cut(
                f"the checker itself failed here ({type(exc).__name__}: {exc}); "
                "please tell your instructor."
            ),
        )
    finally:
        _CHECKING.reset(token)
    message = case.success_message or (str(info) if isinstance(info, str) else "")
    return Outcome(case, "pass", _cut(message))


_SKIPPED_AFTER_TIMEOUT = "not run: an earlier check ran out of time (see above)."
_SKIPPED_AFTER_CRASH = "not run: an earlier check stopped the checker (see above)."


def run_question(question: str, title: str, module: ModuleType, env: Mapping[str, Any]) -> Report:
    """Run every check of a question against the learner's namespace ``env``.

    In a child process that is killed at each check's deadline where :func:`isolated`,
    else in this process. Either way what the learner's code prints is captured and
    capped (see :class:`Report`), and after a check runs out of time the rest are skipped.
    """
    cases = cases_of(module)
    report = Report(question, title)
    printed = _Capped(OUTPUT_CAP_BYTES)
    outcomes = None
    if cases and isolated():
        outcomes = _run_in_child(cases, env, printed)  # None if the fork failed
    if outcomes is None:
        outcomes = _run_here(cases, env, printed)
    report.outcomes = outcomes
    report.printed = printed.text()
    # exact, even if the kept part ended inside a character (text() drops it)
    report.printed_cut = len(printed.head) + printed.cut - len(report.printed.encode())
    return report


# --------------------------------------------------------------------------
# Where the checks run: a child process, or (without fork) this process
# --------------------------------------------------------------------------
def isolated() -> bool:
    """Whether a question's checks run in a child process killed at the deadline.

    Yes on Linux (the default there; ``SMARS_CHECK_ISOLATION=none`` turns it off, for
    debugging the checker). The child is made with ``os.fork``, not ``spawn``: the
    learner's functions live only in the kernel's memory, and a forked child has all of
    it, so nothing needs to be pickled and nothing is re-imported. The parent kills the
    child (and anything it started: it has its own process group) with SIGKILL when a
    check runs past its limit, and reaps it, always; just before, it asks the child
    (SIGUSR1, half a second at most) which line of the learner's code it was running,
    for the hint. The child asks Linux to kill it if the kernel dies first (a restart).
    If the fork itself fails (no memory left for a child), the checks run in this
    process, as below.

    No elsewhere. Windows and Pyodide (JupyterLite) have no ``fork``; macOS has one,
    but forking a process that has started Apple's frameworks may crash the child, so
    it is used there only with ``SMARS_CHECK_ISOLATION=fork`` (and a child there may
    outlive a kernel restart in the middle of a check). Without a child the
    checks run in this process, as they always did: the limit is SIGALRM in the main
    thread, or a watchdog thread elsewhere (which stops waiting: the check is abandoned,
    not stopped), or, in Pyodide (no threads), no limit at all. There, learner code that
    swallows the timeout (a bare ``except:``) or ignores SIGALRM can still make a check
    run long, and what the learner's code changes (globals, signal handlers) stays
    changed. What it prints through ``sys.stdout`` and ``sys.stderr`` is still
    captured and capped (not what is written to file descriptor 1 directly).
    """
    choice = os.environ.get(ISOLATION_ENV, "").strip().lower()
    if choice in ("none", "0", "off", "no", "in-process"):
        return False
    if not hasattr(os, "fork"):
        return False
    return choice == "fork" or sys.platform.startswith("linux")


class _Capped:
    """The first ``cap`` bytes of a stream; how many bytes more there were."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.head = bytearray()
        self.cut = 0

    def add(self, data: bytes) -> None:
        room = self.cap - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        self.cut += len(data)

    def text(self) -> str:
        """What was kept, decoded (a character cut at the end is dropped)."""
        return bytes(self.head).decode("utf-8", "ignore")


class _CappedWriter(io.TextIOBase):
    """A text stream that feeds a :class:`_Capped` (``sys.stdout`` during in-process checks)."""

    encoding = "utf-8"

    def __init__(self, sink: _Capped) -> None:
        super().__init__()
        self._sink = sink

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._sink.add(text.encode("utf-8", "replace"))
        return len(text)


def _run_here(cases: list[Case], env: Mapping[str, Any], printed: _Capped) -> list[Outcome]:
    """Run the checks in this process (no fork), with their output captured."""
    outcomes: list[Outcome] = []
    writer = _CappedWriter(printed)
    with contextlib.redirect_stdout(writer), contextlib.redirect_stderr(writer):
        for case in cases:
            if outcomes and outcomes[-1].status in ("timeout", "skipped"):
                # one endless loop is enough: do not make the learner wait for each check
                outcomes.append(Outcome(case, "skipped", _SKIPPED_AFTER_TIMEOUT))
                continue
            outcomes.append(_run_case(case, env))
    return outcomes


class _Child:
    """A forked child running a question's checks; killed (with its group) and reaped once."""

    def __init__(self, pid: int, where: int) -> None:
        self.pid = pid
        self.status: int | None = None
        self._where = where

    def where(self, wait: float = 0.5) -> str:
        """Ask the child (SIGUSR1) which line of the learner's code it is running."""
        try:
            os.kill(self.pid, signal.SIGUSR1)
        except OSError:
            return ""
        import selectors  # here, not at the top: Pyodide has no select module

        with selectors.DefaultSelector() as selector:
            selector.register(self._where, selectors.EVENT_READ)
            if not selector.select(wait):
                return ""  # busy in C code, or the learner's code took over SIGUSR1
        try:
            return os.read(self._where, 4096).decode("utf-8", "replace")
        except OSError:
            return ""

    def end(self) -> int:
        """SIGKILL the child and its process group (if still there); reap it; its wait status."""
        if self.status is None:
            for kill in (os.killpg, os.kill):
                with contextlib.suppress(OSError):  # already gone, or never had its own group
                    kill(self.pid, signal.SIGKILL)
            while True:
                try:
                    _, self.status = os.waitpid(self.pid, 0)
                    break
                except ChildProcessError:  # reaped elsewhere (a SIGCHLD handler)
                    self.status = 0
                    break
                except InterruptedError:  # pragma: no cover (retried by Python itself)
                    continue
        return self.status

    def how_it_ended(self) -> str:
        """How the child ended, in words, after :meth:`end`."""
        status = self.end()
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = f"signal {sig}"
            extra = ": out of memory?" if sig == signal.SIGKILL else ""
            return f"the process running the check was killed ({name}{extra})"
        return (
            f"the process running the check ended (exit status {os.WEXITSTATUS(status)}: "
            "os._exit()?)"
        )


def _no_input(prompt: object = "") -> str:
    raise EOFError("input() cannot be answered during a check; pass values as arguments")


def _send(fd: int, record: list[Any]) -> None:
    data = (json.dumps(record) + "\n").encode("ascii")
    while data:
        data = data[os.write(fd, data) :]


def _die_with_parent(parent: int) -> None:
    """Linux: have the kernel SIGKILL this child when the thread that forked it ends.

    The child has its own process group, so a kernel restart (which kills the kernel's
    group) would not reach it; without this, a child in an endless loop would outlive it.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError, ImportError):  # not Linux, or no C library to ask
        pass
    if os.getppid() != parent:  # the parent ended before prctl
        os._exit(1)


def _tell_where_on_request(where: int) -> None:
    """On SIGUSR1 (the parent's deadline), write the learner line running now to ``where``."""

    def tell(signum: int, frame: FrameType | None) -> None:
        text = _cut(_running_line(frame)) or "-"
        with contextlib.suppress(OSError):
            os.write(where, text.encode("utf-8", "replace")[:3000])

    signal.signal(signal.SIGUSR1, tell)


def _in_child(
    cases: list[Case], env: Mapping[str, Any], parent: int, results: int, output: int, where: int
) -> None:
    """The child's whole life: run the checks, send one JSON line per outcome."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)  # its own group: the parent kills it and whatever it started
    _die_with_parent(parent)
    _tell_where_on_request(where)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(output, 1)  # what print, warnings or a subprocess write goes to the parent,
    os.dup2(output, 2)  # which keeps the start of it (not to the notebook)
    stream = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(1, "w", closefd=False)),
        encoding="utf-8",
        errors="replace",
        line_buffering=True,
        write_through=True,
    )
    sys.stdout = sys.stderr = stream
    sys.stdin = io.StringIO()
    builtins.input = _no_input
    for index, case in enumerate(cases):
        outcome = _run_case(case, env, limited=False)
        with contextlib.suppress(Exception):
            stream.flush()
        _send(results, [index, outcome.status, outcome.message])


def _fork() -> int:
    with warnings.catch_warnings():
        # Python 3.12 warns that forking a process with threads (every Jupyter kernel)
        # may deadlock the child; the parent kills a child that hangs, so that is safe.
        warnings.simplefilter("ignore", DeprecationWarning)
        return os.fork()


def _run_in_child(
    cases: list[Case], env: Mapping[str, Any], printed: _Capped
) -> list[Outcome] | None:
    """Run the checks in a forked child, kill it at a deadline; ``None`` if fork failed."""
    results_r, results_w = os.pipe()
    output_r, output_w = os.pipe()
    where_r, where_w = os.pipe()
    parent = os.getpid()
    try:
        pid = _fork()
    except OSError:
        for fd in (results_r, results_w, output_r, output_w, where_r, where_w):
            os.close(fd)
        return None
    if pid == 0:  # the child: never returns, whatever happens
        code = 0
        try:
            for fd in (results_r, output_r, where_r):
                os.close(fd)
            _in_child(cases, env, parent, results_w, output_w, where_w)
        except BaseException:
            code = 70
        finally:
            os._exit(code)
    for fd in (results_w, output_w, where_w):
        os.close(fd)
    with contextlib.suppress(OSError):
        os.setpgid(pid, pid)  # also from here, so that a kill right away finds the group
    child = _Child(pid, where_r)
    try:
        return _watch(child, cases, results_r, output_r, printed)
    finally:
        child.end()
        _drain(output_r, printed)
        for fd in (results_r, output_r, where_r):
            os.close(fd)


def _drain(fd: int, printed: _Capped) -> None:
    """Read what is left in the output pipe (after the child is dead), without blocking."""
    os.set_blocking(fd, False)
    until = time.monotonic() + 1.0
    while time.monotonic() < until:
        try:
            data = os.read(fd, 1 << 16)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return
        if not data:
            return
        printed.add(data)


def _watch(
    child: _Child, cases: list[Case], results: int, output: int, printed: _Capped
) -> list[Outcome]:
    """Collect outcomes as the child sends them; kill it when a check passes its limit.

    Each check's limit starts when the previous check's outcome arrives (the first's at
    the fork), so the whole question answers within the sum of the limits it used.
    """
    outcomes: list[Outcome] = []
    pending = b""
    skipped = ""
    limit = _scaled(cases[0].timeout)
    deadline = time.monotonic() + limit
    import selectors  # here, not at the top: Pyodide has no select module

    with selectors.DefaultSelector() as selector:
        selector.register(results, selectors.EVENT_READ)
        selector.register(output, selectors.EVENT_READ)
        while len(outcomes) < len(cases) and not skipped:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                hint = _cut(_timeout_hint(limit, child.where()))
                child.end()
                outcomes.append(Outcome(cases[len(outcomes)], "timeout", hint))
                skipped = _SKIPPED_AFTER_TIMEOUT
                break
            for key, _ in selector.select(remaining):
                data = os.read(key.fd, 1 << 16)
                if key.fd == output:
                    if data:
                        printed.add(data)
                    else:
                        selector.unregister(output)
                    continue
                pending += data
                *lines, pending = pending.split(b"\n")
                try:
                    records = [json.loads(line) for line in lines]
                except ValueError:
                    records, data = [], b""  # not from the checker: treat as a crash
                for _, status, message in records[: len(cases) - len(outcomes)]:
                    outcomes.append(Outcome(cases[len(outcomes)], str(status), str(message)))
                    if len(outcomes) < len(cases):
                        limit = _scaled(cases[len(outcomes)].timeout)
                        deadline = time.monotonic() + limit
                if not data and len(outcomes) < len(cases):  # gone before its last outcome
                    what = child.how_it_ended()
                    outcomes.append(
                        Outcome(
                            cases[len(outcomes)],
                            "error",
                            f"{what}; the checks after it were not run.",
                        )
                    )
                    skipped = _SKIPPED_AFTER_CRASH
                    break
    outcomes += [Outcome(case, "skipped", skipped) for case in cases[len(outcomes) :]]
    return outcomes
