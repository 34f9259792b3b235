"""The execution log as columns, and the full-day cache file's writer (numpy only).

One definition of an execution row lives here: :func:`execution_rows` joins each
execution to its child order and parent, without copying the (large) flat logs
(:func:`execution_arrays` does it for a finished replay). ``tables.executions`` wraps
these arrays in a DataFrame; :func:`write_table` writes them, a slice of rows at a
time, as the full-day cache file that notebook 04 reads.

Why a module of its own, free of pandas: the full-day cache is built by a process of
its own, started by the class hub, by ``make lab``, by notebook 04's set-up cell
(``smars_sim.course.full_day_log``) or, failing those, by the drill itself
(``forensics.BUILD_IN_CHILD``). That process holds the full-size replay's logs (about
290 MB), and pandas there would add about 45 MB more to a learner's peak for nothing.
``python -m smars_sim.analysis.execution_log build-cache [DIR]`` runs it with numpy
and pyarrow only.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import pickle
import sys
from array import array
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..core.orders import CHILD_FIELDS, EXEC_FIELDS

if TYPE_CHECKING:
    import pyarrow as pa

    from ..core.result import Result
    from ..core.scenario import Scenario

__all__ = [
    "COMPACT_DTYPES",
    "EXECUTION_COLUMNS",
    "SHARED_CACHE_ENV",
    "SIDES",
    "build_cache",
    "cache_dir",
    "cache_key",
    "cache_paths",
    "execution_arrays",
    "execution_rows",
    "field_view",
    "parent_lookup",
    "shared_cache_dir",
    "verified_file",
    "write_table",
]

#: The executions table's columns, in order.
EXECUTION_COLUMNS = (
    "time_ns",
    "server",
    "child_id",
    "parent_id",
    "symbol",
    "side",
    "price_usd",
    "qty",
)
#: The categories of the ``side`` column (its codes are positions in this tuple).
SIDES = ("buy", "sell")
#: The full-day table's narrower integer columns. Its other columns keep the
#: dtypes of ``tables.executions``. At full size the table has about four million
#: rows: these save a third of its memory, and every value fits (checked when built).
COMPACT_DTYPES: dict[str, str] = {
    "server": "int8",
    "child_id": "int32",
    "parent_id": "int32",
    "qty": "int32",
}
#: Rows per row group of the cache file (and per slice built and written at a time).
ROW_GROUP = 500_000
#: A read-only folder with the full-day log built once for a whole class (see
#: ``forensics.build_shared_cache``); learners read it and never write there.
SHARED_CACHE_ENV = "SMARS_SHARED_CACHE"
#: Key of the cache file's sha256 in its ``.json`` meta.
SHA256_KEY = "parquet_sha256"
#: Bump when the cached table's layout changes (2: compact integer columns).
FORMAT_VERSION = "2"
#: The layers whose source decides the replay's output (the presentation layers above
#: them cannot change an execution, so editing them keeps the cache).
_SIMULATION_LAYERS = ("core", "fixes")


def field_view(flat, fields: tuple[str, ...], name: str) -> np.ndarray:
    """One field of a flat log (``CHILD_FIELDS`` or ``EXEC_FIELDS``) as a strided view: no copy."""
    data = np.frombuffer(flat, dtype="<i8") if len(flat) else np.zeros(0, dtype="<i8")
    return data.reshape(-1, len(fields))[:, fields.index(name)]


def parent_lookup(result: Result) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrays indexed by parent id: server, symbol index and side."""
    size = max((p.id for p in result.parents), default=0) + 1
    server = np.zeros(size, dtype=np.int64)
    symbol = np.zeros(size, dtype=np.int64)
    side = np.zeros(size, dtype=np.int64)
    for p in result.parents:
        server[p.id], symbol[p.id], side[p.id] = p.server, p.symbol, p.side
    return server, symbol, side


def execution_arrays(result: Result, rows: slice | None = None) -> dict[str, np.ndarray]:
    """The executions table's columns as arrays, ``symbol`` and ``side`` as codes.

    A full-size replay logs millions of child orders and executions; copying every
    field of both logs first (as a plain per-field split would) more than doubles the
    memory. Here only the columns the table keeps are materialised, each once.

    Args:
        result: A finished replay.
        rows: Only these executions (default: all); the cache writes the full-size
            log a slice at a time.

    Returns:
        :data:`EXECUTION_COLUMNS`, in order. ``symbol`` holds indexes into
        ``result.symbols``; ``side`` holds indexes into :data:`SIDES`.
    """
    child_parent = field_view(result.children, CHILD_FIELDS, "parent_id")
    return execution_rows(result.journal, child_parent, parent_lookup(result), rows)


def execution_rows(
    journal: array,
    child_parent: np.ndarray,
    lookup: tuple[np.ndarray, np.ndarray, np.ndarray],
    rows: slice | None = None,
) -> dict[str, np.ndarray]:
    """:func:`execution_arrays` from its parts: the one definition of an execution row.

    Args:
        journal: The execution log (``Result.journal``, flat, see ``EXEC_FIELDS``).
        child_parent: Each child order's parent id, by row (a child's id is its row + 1).
        lookup: :func:`parent_lookup`'s arrays, indexed by parent id.
        rows: Only these executions (default: all).
    """
    rows = rows or slice(None)
    server, symbol, side = lookup

    def field(name: str) -> np.ndarray:
        return field_view(journal, EXEC_FIELDS, name)[rows]

    order_id = field("order_id")
    parents = child_parent[order_id - 1]
    columns = {
        "time_ns": field("time").copy(),
        "server": server[parents],
        "child_id": order_id.copy(),
        "parent_id": parents,
        "symbol": symbol[parents],
        "side": (side[parents] < 0).astype(np.int8),
        "price_usd": field("price") / 100.0,
        "qty": field("qty").copy(),
    }
    assert tuple(columns) == EXECUTION_COLUMNS
    return columns


def narrow(name: str, values: np.ndarray) -> np.ndarray:
    """``values`` in the cache's type for column ``name``; OverflowError if one does not fit."""
    dtype = np.dtype(COMPACT_DTYPES[name])
    info = np.iinfo(dtype)
    if len(values) and (values.min() < info.min or values.max() > info.max):
        raise OverflowError(f"{name} does not fit {dtype}: widen COMPACT_DTYPES")
    return values.astype(dtype)


# Arrow arrays straight from numpy buffers. ``pa.array`` would do, but it asks whether
# its input is a pandas object and so imports pandas (about 45 MB) into the builder.
def _arrow(values: np.ndarray) -> pa.Array:
    import pyarrow as pa

    values = np.ascontiguousarray(values)
    return pa.Array.from_buffers(
        pa.from_numpy_dtype(values.dtype), len(values), [None, pa.py_buffer(values)]
    )


def _strings(words: list[str] | tuple[str, ...]) -> pa.Array:
    import pyarrow as pa

    encoded = [w.encode() for w in words]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(w) for w in encoded], out=offsets[1:])
    data = b"".join(encoded)
    return pa.Array.from_buffers(
        pa.string(), len(encoded), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def _categories(codes: np.ndarray, words: pa.Array) -> pa.DictionaryArray:
    import pyarrow as pa

    codes = np.ascontiguousarray(codes)
    kind = pa.dictionary(pa.from_numpy_dtype(codes.dtype), pa.string())
    return pa.DictionaryArray.from_buffers(kind, len(codes), [None, pa.py_buffer(codes)], words)


def write_table(scenario: Scenario, table: Path, meta: Path) -> None:
    """Replay ``scenario`` and write its executions (compact) and summary as a cache file.

    The file is written beside its final name and moved into place, then its meta
    (the summary and the file's sha256) the same way. Nothing half-written is ever
    under either name; a reader that meets a new file with an old meta finds the
    sha256 differ and builds again.
    """
    from ..fixes import replay

    result = replay(scenario)
    summary = result.summary.as_dict()
    if len(result.symbols) > np.iinfo(np.int16).max:  # the symbol codes are int16
        raise OverflowError(f"{len(result.symbols)} symbols do not fit int16 codes")
    # The replay's logs are the largest thing this process ever holds (about 290 MB at
    # full size). Of the child-order log the table needs only each child's parent:
    # keep that (4 bytes a child) and let the rest go before pyarrow is even imported,
    # so the peak is the replay's own.
    child_parent = field_view(result.children, CHILD_FIELDS, "parent_id").astype(np.int32)
    lookup = parent_lookup(result)
    journal, words = result.journal, list(result.symbols)
    del result
    # The finished simulation's objects refer to each other (the fleet and the engine's
    # callbacks), so its logs go only when the cycle collector runs: run it now.
    gc.collect()

    import pyarrow as pa
    import pyarrow.parquet as pq

    table.parent.mkdir(parents=True, exist_ok=True)
    tmp = table.with_name(f"{table.name}.{os.getpid()}.partial")
    symbols = _strings(words)
    sides = _strings(SIDES)
    # A slice of rows at a time (one row group each): the table is never built whole
    # beside the execution log.
    rows = summary["executions"]
    writer: pq.ParquetWriter | None = None
    try:
        for start in range(0, max(rows, 1), ROW_GROUP):
            columns = execution_rows(journal, child_parent, lookup, slice(start, start + ROW_GROUP))
            arrays = {}
            for name, values in columns.items():
                if name == "symbol":
                    arrays[name] = _categories(values.astype(np.int16), symbols)
                elif name == "side":
                    arrays[name] = _categories(values, sides)
                elif name in COMPACT_DTYPES:
                    arrays[name] = _arrow(narrow(name, values))
                else:
                    arrays[name] = _arrow(values)
            del columns
            group = pa.table(arrays)
            if writer is None:
                writer = pq.ParquetWriter(tmp, group.schema)
            writer.write_table(group)
            del arrays, group
    except BaseException:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)  # nothing half-written is left behind
        raise
    if writer is not None:
        writer.close()
    del journal, child_parent
    # The meta records the file's sha256: a later read checks every byte, not just
    # the row count (a flipped bit can keep the count and change a price).
    summary[SHA256_KEY] = file_sha256(tmp)
    os.replace(tmp, table)
    tmp_meta = meta.with_name(f"{meta.name}.{os.getpid()}.partial")
    tmp_meta.write_text(json.dumps(summary, indent=1, sort_keys=True))
    os.replace(tmp_meta, meta)
    prune(table.parent, keep={table.name, meta.name})


# --------------------------------------------------------------------------
# Where the cache lives, and its key
# --------------------------------------------------------------------------
def cache_dir() -> Path:
    """The per-user cache folder: ``$XDG_CACHE_HOME/smars-sim`` (default ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "smars-sim"


def code_fingerprint() -> str:
    """sha256 of the simulation layers' source: a change to any of them is a new cache."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for layer in _SIMULATION_LAYERS:
        for path in sorted((package / layer).rglob("*.py")):
            digest.update(str(path.relative_to(package)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key(scenario: Scenario) -> str:
    """A key for a scenario's cached executions: its parameters and the simulation's code."""
    digest = hashlib.sha256(f"executions v{FORMAT_VERSION}\n".encode())
    digest.update(repr(scenario).encode())
    digest.update(code_fingerprint().encode())
    return digest.hexdigest()[:24]


def cache_paths(scenario: Scenario, folder: Path | None = None) -> tuple[Path, Path]:
    """The cache file and its ``.json`` meta for ``scenario``.

    Args:
        scenario: What was replayed.
        folder: Where the files are (default: :func:`cache_dir`).
    """
    key = cache_key(scenario)
    folder = cache_dir() if folder is None else folder
    return folder / f"executions-{key}.parquet", folder / f"executions-{key}.json"


def full_day() -> Scenario:
    """The scenario notebook 04's drill reads: 1 August 2012 at full size."""
    from ..core.scenario import Scenario

    return Scenario.aug1_2012(scale=1.0)


def verified_file(table: Path, meta: Path) -> bool:
    """Whether ``table`` exists and its bytes are those its meta records (no parsing)."""
    try:
        recorded = json.loads(meta.read_text())
        return bool(table.exists()) and file_sha256(table) == recorded[SHA256_KEY]
    except (OSError, ValueError, KeyError, TypeError):
        return False


def shared_cache_dir() -> Path | None:
    """The class's read-only cache folder (``$SMARS_SHARED_CACHE``), or ``None``."""
    folder = os.environ.get(SHARED_CACHE_ENV)
    return Path(folder) if folder else None


def build_cache(folder: Path | None = None, scenario: Scenario | None = None) -> Path:
    """Build the full-day cache file in ``folder`` (default: the user's) unless it is there.

    A class hub runs it once for every learner before they arrive, into a read-only
    shared folder (``docs/jupyterhub.md``); ``make lab`` runs it for a learner alone
    before Jupyter starts, and notebook 04 before its own imports
    (``smars_sim.course.full_day_log``). Either way no big kernel holds the learner's
    memory while the full-size replay runs beside it. With no ``folder``, a verified
    copy in the class's shared cache counts as built.

    Returns:
        The parquet file (its ``.json`` meta beside it).
    """
    scenario = scenario or full_day()
    shared = shared_cache_dir()
    if folder is None and shared is not None:
        table, meta = cache_paths(scenario, shared)
        if verified_file(table, meta):
            return table
    table, meta = cache_paths(scenario, None if folder is None else Path(folder))
    if not verified_file(table, meta):
        write_table(scenario, table, meta)
    return table


def prune(folder: Path, keep: set[str], newest: int = 2) -> None:
    """Delete all but the ``newest`` other cached logs (stale code or scenarios)."""
    others = sorted(
        (p for p in folder.glob("executions-*.parquet") if p.name not in keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for path in others[newest:]:
        for victim in (path, path.with_suffix(".json")):
            with contextlib.suppress(FileNotFoundError):
                victim.unlink()


def file_sha256(path: Path) -> str:
    """sha256 of a file, read a megabyte at a time (never the whole file at once)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _main(argv: list[str]) -> int:
    if len(argv) in (1, 2) and argv[0] == "build-cache":  # make lab, the class hub
        print(build_cache(Path(argv[1]) if len(argv) == 2 else None))
        return 0
    if argv == ["build-from-stdin"]:  # a kernel's own cache (forensics._build_elsewhere)
        scenario, table, meta = pickle.loads(sys.stdin.buffer.read())  # from our parent
        write_table(scenario, Path(table), Path(meta))
        return 0
    print(
        "usage: python -m smars_sim.analysis.execution_log build-cache [DIR]"
        " (DIR: default the user's cache folder)",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
