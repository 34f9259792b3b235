"""Output sets (smars_sim.analysis.output): written whole, moved in whole, read back verified.

Fault injections: a full disk and an I/O error at every write, a read-only file
system at every step that creates something, SIGTERM during the replay and during
the write, SIGKILL part-way, two writers at once, a symlink planted where the old
writer put its partial files. After each, the target holds the previous set (or
nothing), whole, and no temporary folder is left (except after SIGKILL, which no
process can clean up after: then the target is still whole).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from smars_sim import Scenario, replay
from smars_sim.analysis import output
from smars_sim.analysis import tables as T
from smars_sim.analysis.output import MANIFEST, TABLES, OutputSetError, read_set, write_set
from smars_sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted([f"{t}.parquet" for t in TABLES] + [MANIFEST])


@pytest.fixture(scope="module")
def other():
    """A second replay, to tell two sets apart."""
    return replay(Scenario.small(seed=2))


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _leftovers(parent: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name not in keep)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


# ------------------------------------------------------------------ the set itself
def test_a_set_round_trips_with_a_manifest(small, tmp_path):
    out = tmp_path / "out"
    paths = write_set(small, str(out))
    assert sorted(p.name for p in out.iterdir()) == FILES
    assert [Path(p).name for p in paths] == [f"{t}.parquet" for t in TABLES]
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["execution_digest"] == small.summary.execution_digest
    assert manifest["scenario"]["name"] == "small" and manifest["scenario"]["seed"] == 1
    assert set(manifest["versions"]) == {"smars-sim", "python", "pandas", "pyarrow"}
    for name in TABLES:
        entry = manifest["files"][f"{name}.parquet"]
        data = (out / f"{name}.parquet").read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    tables = read_set(str(out))
    for name in TABLES:
        pd.testing.assert_frame_equal(tables[name], pd.read_parquet(out / f"{name}.parquet"))
        assert len(tables[name]) == len(getattr(T, name)(small))
    assert _leftovers(tmp_path, {"out"}) == []
    assert out.stat().st_mode & 0o777 == 0o777 & ~output._umask()  # as a plain mkdir


def test_writing_twice_is_byte_identical_and_replaces_the_set(small, other, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_set(small, str(a))
    write_set(small, str(b))
    assert _snapshot(a) == _snapshot(b)  # deterministic, manifest included
    write_set(other, str(a))  # a previous set is replaced whole
    assert read_set(str(a))["executions"].equals(T.executions(other))
    assert json.loads((a / MANIFEST).read_text())["execution_digest"] == (
        other.summary.execution_digest
    )
    assert _leftovers(tmp_path, {"a", "b"}) == []


def test_the_fallback_without_renameat2_replaces_the_set_too(small, other, tmp_path, monkeypatch):
    monkeypatch.setattr(output, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    write_set(small, str(out))
    write_set(other, str(out))
    assert read_set(str(out))["executions"].equals(T.executions(other))
    assert _leftovers(tmp_path, {"out"}) == []


@pytest.mark.parametrize("damage", ["flip", "truncate", "swap", "drop", "extra", "manifest"])
def test_read_set_refuses_a_set_that_does_not_match_its_manifest(small, other, tmp_path, damage):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    write_set(small, str(out))
    write_set(other, str(elsewhere))
    target = out / "executions.parquet"
    if damage == "flip":
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0x01
        target.write_bytes(bytes(data))
    elif damage == "truncate":
        target.write_bytes(target.read_bytes()[:-1])
    elif damage == "swap":  # a table of another run: the mix the old writer produced
        target.write_bytes((elsewhere / "executions.parquet").read_bytes())
    elif damage == "drop":
        target.unlink()
    elif damage == "extra":
        (out / "notes.txt").write_text("x")
    else:
        (out / MANIFEST).unlink()
    with pytest.raises(OutputSetError) as err:
        read_set(str(out))
    assert "\n" not in str(err.value)
    assert str(out) in str(err.value)


# ------------------------------------------------------------------ the target
@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        ("empty-string", "is empty; give a directory name"),
        ("table-named-folder", "it exists and is not a file"),
        ("file", "is a file; give a directory"),
        ("symlink", "is a symbolic link"),
        ("foreign-files", "which is not part of an output set"),
    ],
)
def test_bad_targets_are_refused_before_the_replay(capsys, tmp_path, monkeypatch, make, fragment):
    import smars_sim.fixes

    def no_replay(*args, **kwargs):  # the check comes first, not after a long replay
        raise AssertionError("replayed before checking --out")

    monkeypatch.setattr(smars_sim.fixes, "replay", no_replay)
    target = tmp_path / "out"
    if make == "empty-string":
        target = Path("")
    elif make == "table-named-folder":
        (target / "executions.parquet").mkdir(parents=True)
    elif make == "file":
        target.write_text("keep me")
    elif make == "symlink":
        (tmp_path / "real").mkdir()
        target.symlink_to(tmp_path / "real")
    else:
        target.mkdir()
        (target / "thesis.tex").write_text("keep me")
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    code = main(
        ["replay", "--scenario", "small", "--out", str(target) if make != "empty-string" else ""]
    )
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and fragment in err, err
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_a_planted_symlink_is_never_followed(small, tmp_path):
    """The old writer wrote DIR/executions.parquet.partial: a link there overwrote its target."""
    out = tmp_path / "out"
    write_set(small, str(out))
    victim = tmp_path / "victim"
    victim.write_text("precious")
    for name in TABLES:
        (out / f"{name}.parquet.partial").symlink_to(victim)
    # Links planted in the target make it no longer a set: refused, the victim untouched.
    with pytest.raises(OutputSetError):
        write_set(small, str(out))
    assert victim.read_text() == "precious"
    for name in TABLES:
        (out / f"{name}.parquet.partial").unlink()
    # Links planted beside it, under names a writer might guess, are not used either.
    for guess in (".out.tmp", ".out.partial", ".out.lock", "out.tmp"):
        (tmp_path / guess).symlink_to(victim)
    write_set(small, str(out))
    assert victim.read_text() == "precious"
    assert read_set(str(out))["executions"].equals(T.executions(small))


# ------------------------------------------------------------------ faults, in process
def _fail_nth_write(monkeypatch, n: int, code: int) -> dict[str, int]:
    calls = {"n": 0}
    real = os.write

    def write(fd, data):
        calls["n"] += 1
        if calls["n"] == n:
            raise OSError(code, os.strerror(code))
        return real(fd, data)

    monkeypatch.setattr(output.os, "write", write)
    return calls


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO])
@pytest.mark.parametrize("nth", [1, 3, 5, 8])  # a table, the last table, the manifest
def test_a_full_disk_or_an_io_error_leaves_the_previous_set(
    capsys, small, other, tmp_path, monkeypatch, code, nth
):
    out = tmp_path / "out"
    write_set(other, str(out))
    before = _snapshot(out)
    _fail_nth_write(monkeypatch, nth, code)
    status = main(["replay", "--scenario", "small", "--out", str(out), "--json"])
    stdout, err = capsys.readouterr()
    assert status == 2 and stdout == ""
    assert len(err.splitlines()) == 1 and os.strerror(code) in err, err
    assert "Traceback" not in err and repr(str(out)) in err
    assert _snapshot(out) == before
    assert _leftovers(tmp_path, {"out"}) == []


@pytest.mark.parametrize("step", ["mkdtemp", "open", "rename", "exchange"])
def test_a_read_only_file_system_at_any_step_gives_one_line(
    capsys, small, other, tmp_path, monkeypatch, step
):
    out = tmp_path / "out"
    write_set(other, str(out))
    before = _snapshot(out)

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    target = {
        "mkdtemp": (output.tempfile, "mkdtemp"),
        "open": (output, "_open_new"),
        "rename": (output.os, "rename"),
        "exchange": (output, "_exchange"),
    }[step]
    if step == "rename":
        monkeypatch.setattr(output, "_exchange", lambda a, b: False)
    monkeypatch.setattr(*target, refuse)
    status = main(["replay", "--scenario", "small", "--out", str(out)])
    stdout, err = capsys.readouterr()
    assert status == 2 and stdout == ""
    # (mkdtemp refusing is found by the check before the replay already)
    expected = "cannot be written" if step == "mkdtemp" else "Read-only file system"
    assert len(err.splitlines()) == 1 and expected in err, err
    assert _snapshot(out) == before
    assert _leftovers(tmp_path, {"out"}) == []


def test_a_folder_that_cannot_be_written_is_refused_before_the_replay(capsys, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    # Root writes into a 0555 folder; an immutable one (chattr +i) refuses even root.
    as_root = os.geteuid() == 0
    if as_root:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
    try:
        status = main(["replay", "--scenario", "small", "--out", str(folder / "out")])
    finally:
        if as_root:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)
    _, err = capsys.readouterr()
    assert status == 2 and "cannot be written" in err and len(err.splitlines()) == 1


# ------------------------------------------------------------------ faults, real processes
_HOOK = textwrap.dedent(
    """
    import os, signal, sys
    from smars_sim.analysis import output
    from smars_sim.cli import main

    nth, how = int(sys.argv[1]), sys.argv[2]
    calls = {"n": 0}
    real = output._write_file

    def write_file(*args):
        calls["n"] += 1
        if calls["n"] == nth:
            if how == "term":
                os.kill(os.getpid(), signal.SIGTERM)
            else:
                os.kill(os.getpid(), signal.SIGKILL)
        return real(*args)

    output._write_file = write_file
    if how == "term-in-replay":
        import smars_sim.fixes
        real_replay = smars_sim.fixes.replay

        def replay(scenario, progress=None):
            os.kill(os.getpid(), signal.SIGTERM)
            return real_replay(scenario, progress)

        smars_sim.fixes.replay = replay
    raise SystemExit(main(sys.argv[3:]))
    """
)


@pytest.mark.parametrize(
    ("nth", "how"),
    [(1, "term"), (4, "term"), (8, "term"), (0, "term-in-replay"), (3, "kill"), (8, "kill")],
)
def test_signals_leave_the_previous_set_whole(other, tmp_path, nth, how):
    out = tmp_path / "out"
    write_set(other, str(out))
    before = _snapshot(out)
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _HOOK,
            str(nth),
            how,
            "replay",
            "--scenario",
            "small",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        check=False,
    )
    assert _snapshot(out) == before
    assert read_set(str(out))["executions"].equals(T.executions(other))
    if how == "kill":
        assert proc.returncode == -signal.SIGKILL
        return  # nobody can clean up after SIGKILL; the target is whole all the same
    assert proc.returncode == 143, proc.stderr
    assert proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1 and "SIGTERM" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert _leftovers(tmp_path, {"out"}) == []


def test_two_writers_at_once_never_mix(tmp_path):
    """The issue's reproduction: seeds 1 and 2 into one folder at the same time."""
    out = tmp_path / "out"
    digests = {}
    for seed in (1, 2):
        ref = tmp_path / f"ref{seed}"
        assert (
            main(
                ["replay", "--scenario", "small", "--seed", str(seed), "--out", str(ref), "--json"]
            )
            == 0
        )
        digests[seed] = json.loads((ref / MANIFEST).read_text())["execution_digest"]
    for _ in range(4):
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
                    str(out),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                env=_env(),
            )
            for seed in (1, 2)
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode in (0, 2), err
            if proc.returncode == 2:
                assert len(err.splitlines()) == 1
        tables = read_set(str(out))  # whole: every file matches the manifest
        digest = json.loads((out / MANIFEST).read_text())["execution_digest"]
        assert digest in digests.values()
        seed = 1 if digest == digests[1] else 2
        assert _snapshot(out) == _snapshot(tmp_path / f"ref{seed}")
        assert len(tables["executions"]) > 0
    assert _leftovers(tmp_path, {"out", "ref1", "ref2"}) == []


def test_a_busy_lock_gives_up_with_one_line(small, tmp_path):
    import fcntl

    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(OutputSetError, match="another writer"):
            write_set(small, str(tmp_path / "out"), lock_timeout_s=0.2)
    finally:
        os.close(fd)
    assert _leftovers(tmp_path, set()) == []
