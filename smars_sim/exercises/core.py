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
import copy
import inspect
import io
import json
import linecache
import os
import signal
import sys
import sysconfig
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, ModuleType, TracebackType
from typing import Any

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
_PACKAGE = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------
# Declaring checks (otter's exception-based test style)
# --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Case:
    """One check.

    Attributes:
        name: What it checks, as the learner reads it.
        func: The check; its parameters name objects in the learner's namespace.
        hidden: Runs on a variant the notebook never showed.
        variant: The variant in a few words (shown when a hidden case fails).
        timeout: Seconds before the check is stopped.
        points: As in otter (unused here, kept for a later move).
        success_message: Shown under a passing visible check (otter's name).
        failure_message: Prepended to the hint of a failing check (otter's name).
        missing_hint: What to do when a learner name is not defined (default: run its cell).
    """

    name: str
    func: Callable[..., Any]
    hidden: bool = False
    variant: str = ""
    timeout: float = 20.0
    points: float | None = None
    success_message: str | None = None
    failure_message: str | None = None
    missing_hint: str | None = None

    @property
    def params(self) -> list[str]:
        """The learner names this check needs."""
        return list(inspect.signature(self.func).parameters)


def test_case(
    name: str | None = None,
    *,
    points: float | None = None,
    hidden: bool = False,
    variant: str = "",
    timeout: float = 20.0,
    success_message: str | None = None,
    failure_message: str | None = None,
    missing_hint: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a check (otter-grader's ``test_case`` signature, plus ``variant`` and ``timeout``).

    The decorated function may return a string: an information line shown under a
    passing visible check (e.g. when an alert fired).
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        func.__smars_case__ = Case(  # type: ignore[attr-defined]
            name or func.__name__.replace("_", " "),
            func,
            hidden,
            variant,
            timeout,
            points,
            success_message,
            failure_message,
            missing_hint,
        )
        return func

    decorate.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
    return decorate


test_case.__test__ = False  # type: ignore[attr-defined]  # pytest: this is not a test


def cases_of(module: ModuleType) -> list[Case]:
    """A question module's checks, in the order they are written (visible ones first)."""
    found = [
        obj.__smars_case__
        for obj in vars(module).values()
        if callable(obj) and hasattr(obj, "__smars_case__")
    ]
    found.sort(key=lambda c: (c.hidden, c.func.__code__.co_firstlineno))
    return found


# --------------------------------------------------------------------------
# Calling learner code
# --------------------------------------------------------------------------
class CheckTimeout(BaseException):
    """A check ran past its time limit (a BaseException: ``except Exception`` won't swallow it)."""


class LearnerError(Exception):
    """The learner's code raised; carries a one-line description."""

    def __init__(self, what: str, exc: BaseException) -> None:
        super().__init__(what)
        self.what = what
        self.exc = exc

    @property
    def not_written(self) -> bool:
        """The learner's code is still the stub."""
        return isinstance(self.exc, NotImplementedError)

    def hint(self) -> str:
        """One line: what raised, where in the learner's cell, and what to do."""
        exc = self.exc
        text = " ".join(str(exc).split())
        if isinstance(exc, NotImplementedError):
            said = f": {text}" if text else ""
            return (
                f"not written yet ({self.what} raises NotImplementedError{said}). Write it in "
                "the answer cell, run that cell, then run this check again."
            )
        where = _learner_line(exc.__traceback__)
        message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        if len(message) > 160:
            message = message[:157] + "..."
        return f"{self.what} raised {message}{where}."


def _library_dirs() -> tuple[str, ...]:
    dirs = {str(_PACKAGE)}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            dirs.add(str(Path(path).resolve()))
    return tuple(sorted(dirs))


_LIBRARIES = _library_dirs()


def _is_learner_file(filename: str) -> bool:
    if filename.startswith("<") and not filename.startswith("<ipython-input"):
        # <string>, <frozen ...>: not a cell (but "<your router cell>" is, see q5)
        return filename.startswith("<your")
    try:
        resolved = str(Path(filename).resolve())
    except (OSError, ValueError):
        return True
    return not resolved.startswith(_LIBRARIES)


def _cell_label(filename: str) -> str:
    if filename.startswith("<"):
        return "your cell"
    if "ipykernel_" in filename or "/tmp" in filename.replace(os.sep, "/"):
        return "your cell"
    return Path(filename).name


def _learner_line(tb: TracebackType | None) -> str:
    """`` (line N of your cell: `code`)`` for the innermost learner frame, or ``""``."""
    last = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if _is_learner_file(filename):
            last = (filename, tb.tb_lineno)
        tb = tb.tb_next
    if last is None:
        return ""
    return _line_of(*last)


def _running_line(frame: FrameType | None) -> str:
    """`` (line N of your cell: `code`)`` for the innermost learner frame running, or ``""``."""
    while frame is not None:
        filename = frame.f_code.co_filename
        if _is_learner_file(filename):
            return _line_of(filename, frame.f_lineno)
        frame = frame.f_back
    return ""


def _line_of(filename: str, lineno: int) -> str:
    code = linecache.getline(filename, lineno).strip()
    shown = f": `{code[:80]}`" if code else ""
    return f" (line {lineno} of {_cell_label(filename)}{shown})"


#: True while a check runs: learner exceptions become LearnerError hints.
_CHECKING: contextvars.ContextVar[bool] = contextvars.ContextVar("smars_checking", default=False)

_IMMUTABLE = (str, bytes, int, float, complex, bool, type(None), frozenset)


def _copied(value: Any) -> Any:
    """A deep copy, except of values that cannot be mutated (strings, numbers, frozen records)."""
    if isinstance(value, _IMMUTABLE):
        return value
    params = getattr(type(value), "__dataclass_params__", None)
    if params is not None and params.frozen:
        return value  # a frozen record such as q6's Order (its fields are immutable too)
    return copy.deepcopy(value)


def call(func: Any, *args: Any, what: str | None = None, **kwargs: Any) -> Any:
    """Call learner code with deep copies of its arguments; wrap any exception.

    Args:
        func: The learner's function, class or bound method.
        *args: Arguments (deep-copied first).
        what: How to name it in a hint (default: its name).
        **kwargs: Keyword arguments (deep-copied first).

    Outside a check (a helper called from the notebook) exceptions propagate as they
    are: the traceback is then the learner's own code, which is what they want to see.

    Raises:
        LearnerError: If the learner's code raised during a check (CheckTimeout passes
            through).
    """
    label = str(what or getattr(func, "__qualname__", None) or getattr(func, "__name__", "code"))
    args = tuple(_copied(a) for a in args)
    kwargs = {k: _copied(v) for k, v in kwargs.items()}
    if not _CHECKING.get():
        return func(*args, **kwargs)  # a helper used in the notebook: the learner's own errors
    try:
        return func(*args, **kwargs)
    except (CheckTimeout, KeyboardInterrupt):
        raise
    except LearnerError:
        raise
    except Exception as exc:
        raise LearnerError(label, exc) from None
    except BaseException as exc:  # SystemExit and friends from learner code
        raise LearnerError(label, exc) from None


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


def learner_names(module: ModuleType) -> set[str]:
    """Every learner name a question's checks use."""
    return {name for case in cases_of(module) for name in case.params}


def blame(what: str, exc: BaseException) -> BaseException:
    """The exception to raise for learner code that failed: a hint in a check, else itself."""
    return LearnerError(what, exc) if _CHECKING.get() else exc


def blames_learner(exc: BaseException) -> bool:
    """Whether a traceback passes through learner code (a notebook cell)."""
    tb = exc.__traceback__
    while tb is not None:
        if _is_learner_file(tb.tb_frame.f_code.co_filename):
            return True
        tb = tb.tb_next
    return False


def is_learner_code(obj: Any) -> bool:
    """Whether a function was defined outside the installed libraries (in a notebook)."""
    code = getattr(obj, "__code__", None)
    return code is not None and _is_learner_file(code.co_filename)
