"""The forensic helpers (smars_sim.analysis.forensics): the cache, metrics and alert rules."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from smars_sim import Scenario, replay
from smars_sim.analysis import execution_log, tables
from smars_sim.analysis import forensics as fx
from smars_sim.core.clock import OPEN_NS, SECOND_NS

SMALL = Scenario.small()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    # In-process builds keep these tests fast; test_the_cache_is_built_in_a_child_process
    # covers the child.
    monkeypatch.setattr(fx, "BUILD_IN_CHILD", False)
    fx._MEMO.clear()
    yield tmp_path / "smars-sim"
    fx._MEMO.clear()


@pytest.fixture(scope="module")
def small():
    return replay(SMALL)


def test_cache_dir_respects_xdg(cache):
    assert fx.cache_dir() == cache


def test_cache_dir_defaults_to_home(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert fx.cache_dir() == tmp_path / ".cache" / "smars-sim"


def test_cache_key_depends_on_the_scenario():
    assert fx.cache_key(SMALL) == fx.cache_key(Scenario.small())
    assert fx.cache_key(SMALL) != fx.cache_key(SMALL.with_(seed=2))
    assert fx.cache_key(SMALL) != fx.cache_key(SMALL.with_(peg_interval_ms=150.0))


def test_cache_key_depends_on_the_simulation_code(monkeypatch):
    before = fx.cache_key(SMALL)
    monkeypatch.setattr(execution_log, "code_fingerprint", lambda: "changed")
    assert fx.cache_key(SMALL) != before


def test_full_day_executions_writes_then_reads_the_cache(cache, small):
    frame = fx.full_day_executions(SMALL)
    pd.testing.assert_frame_equal(frame, fx.compact(tables.executions(small)))
    files = sorted(p.name for p in cache.iterdir())
    key = fx.cache_key(SMALL)
    assert files == [f"executions-{key}.json", f"executions-{key}.parquet"]
    summary = json.loads((cache / f"executions-{key}.json").read_text())
    assert summary["execution_digest"] == small.summary.execution_digest
    assert fx.full_day_summary(SMALL).executions == len(frame)
    assert fx.full_day_summary(SMALL) == small.summary
    assert fx.full_day_executions(SMALL) is frame  # memoised in the process
    fx._MEMO.clear()
    again = fx.full_day_executions(SMALL)  # from disk this time
    assert again is not frame
    pd.testing.assert_frame_equal(again, frame)


def test_the_cache_is_built_in_a_child_process(cache, small, monkeypatch):
    """Issue 16: the kernel never holds the full-size logs; a child replays and writes."""
    monkeypatch.setattr(fx, "BUILD_IN_CHILD", True)
    monkeypatch.setattr(fx, "_build", lambda *a: pytest.fail("built in the kernel's process"))
    frame = fx.full_day_executions(SMALL)
    pd.testing.assert_frame_equal(frame, fx.compact(tables.executions(small)))
    assert dict(frame.dtypes.astype(str)) == {
        "time_ns": "int64",
        "server": "int8",
        "child_id": "int32",
        "parent_id": "int32",
        "symbol": "category",
        "side": "category",
        "price_usd": "float64",
        "qty": "int32",
    }


def test_a_failed_child_build_is_one_clear_error(cache, monkeypatch):
    monkeypatch.setattr(fx, "BUILD_IN_CHILD", True)
    broken = SMALL.with_(seed=3)
    monkeypatch.setattr(fx.sys, "executable", "/bin/false")
    with pytest.raises(RuntimeError, match="building the full-day cache failed"):
        fx.full_day_executions(broken)


def test_only_the_columns_asked_for_are_read(cache, small):
    whole = fx.full_day_executions(SMALL)
    some = fx.full_day_executions(SMALL, columns=["time_ns", "server", "qty"])
    assert list(some.columns) == ["time_ns", "server", "qty"]
    pd.testing.assert_frame_equal(some, whole[["time_ns", "server", "qty"]])
    assert fx.full_day_executions(SMALL, columns=("time_ns", "server", "qty")) is some
    assert tuple(whole.columns) == fx.EXECUTION_COLUMNS


@pytest.mark.parametrize("columns", [["price"], [], ["qty", "nope"]])
def test_unknown_columns_are_named(cache, columns):
    with pytest.raises(ValueError, match=r"choose one or more of time_ns, server"):
        fx.full_day_executions(SMALL, columns=columns)


def test_the_cache_written_a_slice_at_a_time_equals_the_table(cache, small, monkeypatch):
    monkeypatch.setattr(execution_log, "ROW_GROUP", 7)  # many row groups, the last one short
    frame = fx.full_day_executions(SMALL)
    pd.testing.assert_frame_equal(frame, fx.compact(tables.executions(small)))


def test_a_failed_write_leaves_no_partial_file(cache, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(execution_log, "execution_rows", full_disk)
    with pytest.raises(OSError, match="No space"):
        fx.full_day_executions(SMALL.with_(seed=5))
    assert not list(cache.glob("*.partial")) and not list(cache.glob("*.parquet"))


def test_a_value_too_wide_for_the_compact_table_is_refused():
    with pytest.raises(OverflowError, match="qty does not fit int32"):
        execution_log.narrow("qty", np.array([2**31], dtype=np.int64))


def test_a_damaged_cache_file_is_rebuilt(cache, small):
    fx.full_day_executions(SMALL)
    key = fx.cache_key(SMALL)
    table = cache / f"executions-{key}.parquet"
    tables.executions(small).head(3).to_parquet(table, index=False)  # wrong row count
    fx._MEMO.clear()
    frame = fx.full_day_executions(SMALL)
    assert len(frame) == small.summary.executions
    assert len(pd.read_parquet(table)) == small.summary.executions


def test_single_bit_and_byte_flips_in_the_cache_are_rebuilt(cache, small):
    """Issue 16: the row count let 31 of 60 single-bit flips through as wrong data.

    The meta now records the file's sha256: every flip is caught, and the rebuilt
    table equals a fresh replay (and the file is byte-identical to the first one).
    """
    import random

    fx.full_day_executions(SMALL)
    table = cache / f"executions-{fx.cache_key(SMALL)}.parquet"
    original = table.read_bytes()
    rng = random.Random(16)
    for i in range(30):
        damaged = bytearray(original)
        position = rng.randrange(len(damaged))
        if i % 2:
            damaged[position] ^= 1 << rng.randrange(8)  # one bit
        else:
            damaged[position] = (damaged[position] + rng.randrange(1, 256)) % 256  # one byte
        table.write_bytes(bytes(damaged))
        fx._MEMO.clear()
        frame = fx.full_day_executions(SMALL)
        pd.testing.assert_frame_equal(frame, fx.compact(tables.executions(small)))
        assert table.read_bytes() == original


def test_a_cache_from_before_the_sha256_is_rebuilt(cache, small):
    fx.full_day_executions(SMALL)
    meta = cache / f"executions-{fx.cache_key(SMALL)}.json"
    recorded = json.loads(meta.read_text())
    del recorded["parquet_sha256"]
    meta.write_text(json.dumps(recorded))
    fx._MEMO.clear()
    pd.testing.assert_frame_equal(
        fx.full_day_executions(SMALL), fx.compact(tables.executions(small))
    )
    assert "parquet_sha256" in json.loads(meta.read_text())
    assert fx.full_day_summary(SMALL) == small.summary


def test_old_cache_files_are_pruned(cache):
    for seed in (2, 3, 4, 5):
        fx.full_day_executions(SMALL.with_(seed=seed))
    assert len(list(cache.glob("executions-*.parquet"))) <= 3


def test_executions_per_minute_and_busy_since(small):
    per_minute = fx.executions_per_minute(tables.executions(small), n_servers=3)
    assert per_minute["executions"].sum() == (tables.executions(small)["time_ns"] >= OPEN_NS).sum()
    assert set(per_minute["server_id"]) == {1, 2, 3}
    since = fx.busy_since(per_minute)
    # the missed server is busy from the open; the others only after the rollback
    assert since[3] == OPEN_NS
    rollback = SMALL.t("rollback_at")
    assert all(since[k] >= rollback - 60 * SECOND_NS for k in (1, 2))


@pytest.mark.parametrize(
    ("values", "threshold", "hold", "expected"),
    [
        ([0, 1, 5, 5, 5], 5, 0, 2),
        ([0, 1, 5, 5, 5], 5, 10, 4),
        ([5, 0, 5, 5, 0], 5, 10, None),
        ([0, 0, 0], 1, 0, None),
    ],
)
def test_first_fire(values, threshold, hold, expected):
    times = np.arange(len(values)) * 5 * SECOND_NS
    fired = fx.first_fire(times, values, threshold, hold)
    assert fired == (None if expected is None else int(times[expected]))


@pytest.mark.parametrize("metric", list(fx.METRICS))
def test_metric_series_on_the_incident_and_a_normal_morning(small, metric):
    series = fx.metric_series(small, metric)
    assert list(series.columns) == ["time_ns", "value"]
    assert series["time_ns"].is_monotonic_increasing
    assert (series["value"] >= 0).all()
    normal = replay(SMALL.with_(stale_servers=(), rollback_at=None, stop_all_at=None))
    quiet = fx.metric_series(normal, metric)
    assert series["value"].max() > quiet["value"].max()


def test_metric_series_rejects_unknown_metric(small):
    with pytest.raises(ValueError, match="unknown metric"):
        fx.metric_series(small, "nope")


def test_loss_metric_ends_at_the_days_loss(small):
    series = fx.metric_series(small, "loss_usd")
    end = small.scenario.t("window_end")
    assert fx.loss_at(small, end) == pytest.approx(series["value"].iloc[-1], rel=1e-6)
    assert fx.loss_at(small, OPEN_NS - SECOND_NS) == 0.0


def test_alerts_that_existed(small):
    table = fx.alerts_that_existed(small)
    assert table.loc[0, "signal"].startswith("BNET")
    assert table.loc[0, "count"] == small.summary.bnet_emails
    assert table.loc[3, "count"] == small.summary.pages


# ----------------------------------------------------------------------------------
# The class's shared, read-only copy of the full-day log
# ----------------------------------------------------------------------------------
def test_a_shared_cache_is_read_and_never_written(cache, small, tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    built = fx.build_shared_cache(shared, SMALL)
    before = {p.name: p.read_bytes() for p in shared.iterdir()}
    assert built.name in before and len(before) == 2  # the parquet file and its meta
    monkeypatch.setenv(fx.SHARED_CACHE_ENV, str(shared))
    fx._MEMO.clear()
    monkeypatch.setattr(fx, "_build", lambda *a: pytest.fail("replayed despite the shared copy"))
    frame = fx.full_day_executions(SMALL)
    pd.testing.assert_frame_equal(frame, fx.compact(tables.executions(small)))
    assert fx.full_day_summary(SMALL) == small.summary
    assert not (tmp_path / "smars-sim").exists()  # nothing written to the learner's cache
    assert {p.name: p.read_bytes() for p in shared.iterdir()} == before


def test_a_damaged_shared_cache_is_not_used(cache, small, tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    built = fx.build_shared_cache(shared, SMALL)
    data = bytearray(built.read_bytes())
    data[len(data) // 2] ^= 0x01
    built.write_bytes(bytes(data))
    monkeypatch.setenv(fx.SHARED_CACHE_ENV, str(shared))
    fx._MEMO.clear()
    frame = fx.full_day_executions(SMALL)  # replays into the learner's own cache instead
    pd.testing.assert_frame_equal(frame, fx.compact(tables.executions(small)))
    assert (tmp_path / "smars-sim").is_dir()
    assert built.read_bytes() == bytes(data)  # the shared copy is left as it was


def test_build_cache_from_the_command_line_refuses_bad_usage():
    proc = subprocess.run(
        [sys.executable, "-m", "smars_sim.analysis.execution_log", "build"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stderr.strip().startswith("usage:")
    assert "Traceback" not in proc.stderr


_RUN_BUILDER = """
import runpy, sys
sys.argv = ["execution_log", *sys.argv[1:]]
try:
    runpy.run_module("smars_sim.analysis.execution_log", run_name="__main__")
except SystemExit as done:
    assert not done.code, done.code
print(sorted(m for m in ("pandas", "altair", "ipywidgets") if m in sys.modules))
"""


def test_the_builder_process_never_imports_pandas(cache, small, tmp_path):
    """Issue 16: the process holding the full-size logs carries numpy and pyarrow only."""
    import pickle

    job = pickle.dumps((SMALL, str(tmp_path / "t.parquet"), str(tmp_path / "t.json")))
    proc = subprocess.run(
        [sys.executable, "-c", _RUN_BUILDER, "build-from-stdin"],
        input=job,
        capture_output=True,
        timeout=300,
        check=True,
    )
    assert proc.stdout.decode().strip() == "[]"
    meta = json.loads((tmp_path / "t.json").read_text())
    assert meta["execution_digest"] == small.summary.execution_digest
    assert execution_log.verified_file(tmp_path / "t.parquet", tmp_path / "t.json")


def test_build_cache_builds_once_into_a_folder(tmp_path, monkeypatch):
    """``make lab`` and the class hub: ``build-cache [DIR]``; a second run keeps the file."""
    monkeypatch.setattr(execution_log, "full_day", lambda: SMALL)
    table = execution_log.build_cache(tmp_path / "c")
    assert table == execution_log.cache_paths(SMALL, tmp_path / "c")[0]
    first = table.stat().st_mtime_ns
    monkeypatch.setattr(
        execution_log, "write_table", lambda *a: pytest.fail("rebuilt a verified file")
    )
    assert execution_log.build_cache(tmp_path / "c") == table
    assert table.stat().st_mtime_ns == first


def test_a_damaged_file_does_not_verify(tmp_path):
    table, meta = tmp_path / "t.parquet", tmp_path / "t.json"
    table.write_bytes(b"parquet bytes")
    meta.write_text(json.dumps({execution_log.SHA256_KEY: execution_log.file_sha256(table)}))
    assert execution_log.verified_file(table, meta)
    table.write_bytes(b"parquet bytez")
    assert not execution_log.verified_file(table, meta)
    meta.write_text("{")
    assert not execution_log.verified_file(table, meta)
    assert not execution_log.verified_file(tmp_path / "absent.parquet", meta)


# ----------------------------------------------------------------------------------
# Notebook 04's first line: the log built before the kernel grows
# ----------------------------------------------------------------------------------
def test_prepare_runs_the_builder_in_a_process_of_its_own(monkeypatch, capsys):
    from smars_sim.course import full_day_log

    calls = []

    def fake_run(argv, **kwargs):
        calls.append(argv)
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(full_day_log.subprocess, "run", fake_run)
    full_day_log.prepare()
    assert calls == [[sys.executable, "-m", "smars_sim.analysis.execution_log", "build-cache"]]
    assert capsys.readouterr().out == ""  # nothing to say when it is built


def test_prepare_says_one_line_and_never_raises(monkeypatch, capsys):
    from smars_sim.course import full_day_log

    monkeypatch.setattr(full_day_log.sys, "executable", "/bin/false")
    full_day_log.prepare()  # exits 1 with nothing on stderr
    monkeypatch.setattr(full_day_log.sys, "executable", "/nonexistent/python")
    full_day_log.prepare()  # cannot even start
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0] == (
        "The full-size log was not built in advance (exit 1); the drill builds it later."
    )
    assert lines[1].startswith("The full-size log was not built in advance (")


def test_prepare_imports_nothing_heavy():
    """Its point is to run while the kernel is small: no numpy, pandas, pyarrow or altair."""
    probe = (
        "import sys; import smars_sim.course.full_day_log; "
        "print(sorted(m for m in ('numpy', 'pandas', 'pyarrow', 'altair', 'ipywidgets')"
        " if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_build_cache_counts_a_verified_shared_copy_as_built(cache, tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    built = fx.build_shared_cache(shared, SMALL)
    monkeypatch.setenv(fx.SHARED_CACHE_ENV, str(shared))
    monkeypatch.setattr(
        execution_log, "write_table", lambda *a: pytest.fail("built despite the shared copy")
    )
    assert execution_log.build_cache(None, SMALL) == built
    assert not cache.exists()  # nothing written to the learner's own cache
