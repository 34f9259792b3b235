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
* **A timeout per check** (SIGALRM in the main thread, a watchdog thread elsewhere).
* **Copies.** :func:`call` deep-copies every argument, so the learner's code can
  mutate what it is given without changing what the next check sees.
* **Hidden variants.** A case marked ``hidden=True`` runs the learner's code on a
  scenario the notebook never showed; when the visible cases pass and a hidden one
  fails, the hint starts "passes the example, fails on a variant: ...".
"""

from __future__ import annotations

import contextvars
import copy
import inspect
import linecache
import os
import signal
import sysconfig
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

__all__ = [
    "Case",
    "CheckTimeout",
    "LearnerError",
    "Outcome",
    "Report",
    "call",
    "cases_of",
    "run_question",
    "test_case",
]

#: Multiplies every timeout (for a slow or crowded machine): ``SMARS_CHECK_TIMEOUT_SCALE=3``.
TIMEOUT_SCALE_ENV = "SMARS_CHECK_TIMEOUT_SCALE"
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
    filename, lineno = last
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
        return "\n".join(lines)


def _label(case: Case) -> str:
    return f"variant you have not seen ({case.variant})" if case.hidden else case.name


def _run_case(case: Case, env: Mapping[str, Any]) -> Outcome:
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
    try:
        info = _with_time_limit(lambda: case.func(*args), limit)
    except CheckTimeout:
        return Outcome(
            case,
            "timeout",
            f"stopped after {limit:.3g} s: your code did not finish (an endless loop, "
            "or very slow code?).",
        )
    except LearnerError as err:
        return Outcome(case, "stub" if err.not_written else "error", err.hint())
    except AssertionError as err:
        hint = " ".join(str(err).split()) or "wrong answer."
        if case.failure_message:
            hint = f"{case.failure_message} {hint}"
        return Outcome(case, "fail", hint)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        return Outcome(
            case,
            "checker",
            f"the checker itself failed here ({type(exc).__name__}: {exc}); "
            "please tell your instructor.",
        )
    finally:
        _CHECKING.reset(token)
    message = case.success_message or (info if isinstance(info, str) else "")
    return Outcome(case, "pass", message)


def run_question(question: str, title: str, module: ModuleType, env: Mapping[str, Any]) -> Report:
    """Run every check of a question against the learner's namespace ``env``."""
    report = Report(question, title)
    timed_out = False
    for case in cases_of(module):
        if timed_out:  # one endless loop is enough: do not make the learner wait for each check
            report.outcomes.append(
                Outcome(case, "skipped", "not run: an earlier check ran out of time (see above).")
            )
            continue
        outcome = _run_case(case, env)
        timed_out = outcome.status == "timeout"
        report.outcomes.append(outcome)
    return report


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
