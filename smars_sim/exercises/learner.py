"""Learner code, as the checker meets it: declaring checks, and calling the learner's code.

A check is a function decorated with :func:`test_case` (otter-grader's exception-based
style); its parameters name objects in the learner's namespace. :func:`call` is how a
check runs the learner's code: it copies every argument, turns any exception into a
one-line hint naming the learner's line, and reads a ``NotImplementedError`` stub as
"not written yet". Where the checks run, and how they are stopped in time, is
:mod:`.core`'s business.
"""

from __future__ import annotations

import contextvars
import copy
import inspect
import linecache
import os
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, ModuleType, TracebackType
from typing import Any

__all__ = [
    "Case",
    "CheckTimeout",
    "LearnerError",
    "blame",
    "blames_learner",
    "call",
    "cases_of",
    "is_learner_code",
    "learner_names",
    "test_case",
]

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
