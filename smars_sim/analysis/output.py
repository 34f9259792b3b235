"""Output sets: every table of one replay written, moved into place and read back as a whole.

``smars-sim replay --out DIR`` and :meth:`Result.write` call :func:`write_set`:

1. The tables are written into a fresh temporary folder created beside ``DIR``
   (``tempfile.mkdtemp``: an unpredictable name, mode 0700). Files are created there
   with ``O_CREAT | O_EXCL | O_NOFOLLOW``, so nothing planted in ``DIR`` or beside it
   (a symlink, a ``.partial`` file) is ever followed or overwritten.
2. ``manifest.json`` is written last: the execution digest, the scenario, the versions
   of smars-sim, Python, pandas and pyarrow, and every file's sha256 and size. Files
   and the folder are fsync'ed before the move.
3. Under a lock (``flock`` on the parent folder, so no lock file is left behind), the
   set is moved into place. A missing or empty ``DIR`` is replaced by one ``rename``.
   A ``DIR`` holding a previous set is swapped with the new one by
   ``renameat2(RENAME_EXCHANGE)`` on Linux, so at every instant ``DIR`` holds either
   the old set or the new one, whole. Where that call is missing (other systems, some
   file systems) the old set is renamed aside, the new one renamed in and the old one
   removed: ``DIR`` is then briefly absent, but never holds a mix; if the process
   dies in that instant the old set is left beside it as ``.DIR.old-*``.
4. On any failure (a full disk, an I/O error, SIGTERM turned into an exception) the
   temporary folder is removed and ``DIR`` is as it was.

Two writers to one ``DIR`` each write their own temporary folder; the moves are
serialised by the lock, so the last one wins and the sets never mix. A ``DIR`` that
holds anything other than a previous set (other files, a folder named like a table)
is refused: replacing it would delete someone's files.

:func:`read_set` reads a set back through one open folder descriptor, so a swap in
the middle of reading cannot mix two sets, and checks each file against the manifest.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import dataclasses
import errno
import fcntl
import hashlib
import io
import json
import os
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from . import tables

if TYPE_CHECKING:
    import pandas as pd

    from ..core.result import Result

__all__ = ["MANIFEST", "TABLES", "OutputSetError", "check_target", "read_set", "write_set"]

#: The tables of a set, in the order they are written.
TABLES = ("parent_orders", "child_orders", "executions", "positions", "pnl", "alerts", "actions")
#: The manifest's file name; it is written last.
MANIFEST = "manifest.json"
#: The names a set may hold (a previous set, with or without a manifest).
_OURS = frozenset({f"{name}.parquet" for name in TABLES} | {MANIFEST})
#: How long a writer waits for another writer's move into the same folder.
LOCK_TIMEOUT_S = 60.0
_FORMAT = "smars-sim output set"
_FORMAT_VERSION = 1


class OutputSetError(ValueError):
    """A set cannot be written or read as a whole; the message says why in one line."""


# ----------------------------------------------------------------------- checks
def check_target(out_dir: str) -> str:
    """Check that ``out_dir`` can take a set, before any work; return its absolute path.

    Refused: the empty string, a symbolic link, a file, and a folder that holds
    anything but a previous set (for instance a folder named like a table).

    Raises:
        OutputSetError: Naming the folder and what is allowed.
    """
    if not isinstance(out_dir, str) or not out_dir.strip():
        raise OutputSetError(f"--out {out_dir!r} is empty; give a directory name")
    target = os.path.abspath(out_dir)
    try:
        info = os.lstat(target)
    except OSError:  # missing, or under a file: whether it can be created is checked later
        return target
    if stat.S_ISLNK(info.st_mode):
        raise OutputSetError(
            f"--out {out_dir!r} is a symbolic link; give the real directory (links are not "
            "followed, so a planted link cannot redirect the output)"
        )
    if not stat.S_ISDIR(info.st_mode):
        raise OutputSetError(f"--out {out_dir!r} is a file; give a directory that can be written")
    try:
        entries = list(os.scandir(target))
    except OSError as exc:
        raise OutputSetError(
            f"--out {out_dir!r} cannot be read ({exc.strerror}); give a directory you can "
            "read and write"
        ) from None
    for entry in entries:
        if entry.name not in _OURS:
            raise OutputSetError(
                f"--out {out_dir!r} holds {entry.name!r}, which is not part of an output "
                "set; give a new or empty directory, or one a previous --out wrote"
            )
        if not entry.is_file(follow_symlinks=False):
            raise OutputSetError(
                f"cannot write {os.path.join(target, entry.name)!r}: it exists and is not "
                "a file; remove it or give another directory"
            )
    return target


# ----------------------------------------------------------------------- writing
def _open_new(folder_fd: int, name: str) -> int:
    """Create ``name`` in the folder: never an existing file, never through a link."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    return os.open(name, flags, 0o666, dir_fd=folder_fd)


def _write_file(folder_fd: int, name: str, data: bytes) -> dict[str, Any]:
    fd = _open_new(folder_fd, name)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _jsonable(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _versions() -> dict[str, str]:
    from importlib import metadata

    import pandas
    import pyarrow

    try:
        own = metadata.version("smars-sim")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        own = "unknown"
    return {
        "smars-sim": own,
        "python": sys.version.split()[0],
        "pandas": pandas.__version__,
        "pyarrow": pyarrow.__version__,
    }


def _manifest(result: Result, files: dict[str, dict[str, Any]]) -> bytes:
    summary = result.summary
    manifest = {
        "format": _FORMAT,
        "format_version": _FORMAT_VERSION,
        "execution_digest": summary.execution_digest,
        "scenario": _jsonable(result.scenario),
        "versions": _versions(),
        "files": files,
    }
    return (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def _locked(parent: str, target: str, timeout_s: float) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the parent folder (no lock file is left behind)."""
    fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise OutputSetError(
                        f"--out {target!r}: another writer is still moving its set into place "
                        f"after {timeout_s:g} s; try again"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing releases the lock


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: str, b: str) -> bool:
    """Atomically swap two paths with Linux's ``renameat2``; False if not available here."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False  # the file system cannot exchange: fall back to two renames
    raise OSError(code, os.strerror(code), b)


def _fsync_dir(path: str) -> None:
    with contextlib.suppress(OSError):  # some file systems refuse fsync on a folder
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _make_parents(parent: str) -> list[str]:
    """Create missing parent folders; return those created (deepest last)."""
    created: list[str] = []
    missing = []
    probe = parent
    while not os.path.lexists(probe):
        missing.append(probe)
        up = os.path.dirname(probe)
        if up == probe:
            break
        probe = up
    for folder in reversed(missing):
        os.mkdir(folder)
        created.append(folder)
    return created


def write_set(result: Result, out_dir: str, *, lock_timeout_s: float = LOCK_TIMEOUT_S) -> list[str]:
    """Write every table of ``result`` into ``out_dir`` as one set (see the module doc).

    Args:
        result: The replay.
        out_dir: The folder to create, or an empty one, or one holding a previous set.
        lock_timeout_s: How long to wait for another writer's move into ``out_dir``.

    Returns:
        The paths of the tables written.

    Raises:
        OutputSetError: If ``out_dir`` cannot take a set (see :func:`check_target`).
        OSError: If writing fails (full disk, I/O error, no permission); ``out_dir``
            is then as it was and no temporary folder is left.
    """
    target = check_target(out_dir)
    parent = os.path.dirname(target)
    created = _make_parents(parent)
    tmp: str | None = None
    try:
        tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=parent)
        folder_fd = os.open(tmp, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            files: dict[str, dict[str, Any]] = {}
            for name in TABLES:
                files[f"{name}.parquet"] = _write_file(
                    folder_fd, f"{name}.parquet", _parquet_bytes(getattr(tables, name)(result))
                )
            _write_file(folder_fd, MANIFEST, _manifest(result, files))
            os.fsync(folder_fd)
            # mkdtemp made it 0700; a set gets the mode a plain mkdir would give it.
            os.fchmod(folder_fd, 0o777 & ~_umask())
        finally:
            os.close(folder_fd)
        with _locked(parent, target, lock_timeout_s):
            check_target(out_dir)  # again: another writer may have changed it meanwhile
            if not os.path.lexists(target) or not os.listdir(target):
                os.rename(tmp, target)  # onto nothing, or onto an empty folder: one step
            elif not _exchange(tmp, target):
                aside = tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.old-", dir=parent)
                try:
                    os.rename(target, aside)  # onto the empty folder mkdtemp made
                    os.rename(tmp, target)
                except BaseException:
                    # Decide from what is on disk (a signal may land between the calls):
                    # put the old set back if it was moved aside, else drop the empty folder.
                    if not os.path.lexists(target) and os.listdir(aside):
                        os.rename(aside, target)
                    if os.path.lexists(aside) and not os.listdir(aside):
                        os.rmdir(aside)
                    raise
                tmp = aside  # the old set: removed below
            # (After an exchange, tmp holds the old set: removed below too.)
            _fsync_dir(parent)
        if os.path.lexists(tmp) and tmp != target:
            shutil.rmtree(tmp, ignore_errors=True)
        tmp = None
    except BaseException:
        if tmp is not None and os.path.lexists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
        for folder in reversed(created):
            with contextlib.suppress(OSError):
                os.rmdir(folder)  # only if still empty
        raise
    return [os.path.join(target, f"{name}.parquet") for name in TABLES]


# ----------------------------------------------------------------------- reading
def read_set(out_dir: str) -> dict[str, pd.DataFrame]:
    """Read a set back, every file checked against the manifest.

    The folder is opened once and every file read through that descriptor, so a
    writer swapping a new set in meanwhile cannot mix two sets.

    Args:
        out_dir: A folder written by :func:`write_set` (``smars-sim replay --out``).

    Returns:
        Table name -> DataFrame, for every table of the set.

    Raises:
        OutputSetError: If the manifest is missing or unreadable, a file is missing,
            extra, or differs from its sha256 or size in the manifest.
    """
    import pandas as pd

    try:
        folder_fd = os.open(out_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        raise OutputSetError(f"cannot read the set {out_dir!r}: {exc.strerror}") from None
    try:
        try:
            manifest = json.loads(_read(folder_fd, MANIFEST))
            files = manifest["files"]
            if manifest.get("format") != _FORMAT or not isinstance(files, dict):
                raise ValueError("not a manifest")
        except FileNotFoundError:
            raise OutputSetError(
                f"{out_dir!r} has no {MANIFEST}: not a complete output set (write it again)"
            ) from None
        except (OSError, ValueError, KeyError, TypeError):
            raise OutputSetError(
                f"{os.path.join(out_dir, MANIFEST)!r} is damaged; write the set again"
            ) from None
        expected = {f"{name}.parquet" for name in TABLES}
        if set(files) != expected:
            raise OutputSetError(
                f"{out_dir!r}: the manifest lists {sorted(files)}, not the set's tables"
            )
        present = set(os.listdir(folder_fd)) - {MANIFEST}
        if present != expected:
            raise OutputSetError(
                f"{out_dir!r} holds {sorted(present ^ expected)} the manifest does not match; "
                "write the set again"
            )
        tables: dict[str, pd.DataFrame] = {}
        for name in TABLES:
            file = f"{name}.parquet"
            try:
                data = _read(folder_fd, file)
            except OSError as exc:  # e.g. replaced by a new set and removed meanwhile
                raise OutputSetError(
                    f"{os.path.join(out_dir, file)!r} cannot be read ({exc.strerror}); if "
                    "another run is replacing the set, read it again"
                ) from None
            entry = files[file]
            if len(data) != entry.get("bytes") or hashlib.sha256(data).hexdigest() != entry.get(
                "sha256"
            ):
                raise OutputSetError(
                    f"{os.path.join(out_dir, file)!r} does not match its sha256 in the "
                    "manifest (damaged or from another run); write the set again"
                )
            tables[name] = pd.read_parquet(io.BytesIO(data))
        return tables
    finally:
        os.close(folder_fd)


def _read(folder_fd: int, name: str) -> bytes:
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=folder_fd)
    try:
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read()
    finally:
        os.close(fd)
