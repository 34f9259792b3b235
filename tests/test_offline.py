"""The offline chart bundle (smars_sim.viz.offline): made once in a child, kept sealed."""

from __future__ import annotations

import altair as alt
import pytest

from smars_sim.viz import offline


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """A learner with an empty cache, and JupyterChart not yet offline."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("SMARS_SHARED_CACHE", raising=False)
    monkeypatch.setattr(alt.JupyterChart, "_is_offline", False)
    monkeypatch.setattr(alt.JupyterChart, "_esm", alt.JupyterChart._esm)
    return tmp_path / "cache" / "smars-sim"


def _no_vl_convert_here(*args, **kwargs):
    pytest.fail("vl-convert was started in this process")


def test_the_bundle_is_made_in_a_child_and_equals_altairs_own(fresh, monkeypatch):
    monkeypatch.setattr(alt.JupyterChart, "enable_offline", _no_vl_convert_here)
    offline.enable_offline_charts()
    assert alt.JupyterChart._is_offline
    path = fresh / offline.bundle_name()
    assert path.exists()
    assert offline._read(path) == alt.JupyterChart._esm
    assert "addDataListener" in alt.JupyterChart._esm  # altair's widget code, bundled


def test_a_kept_bundle_is_read_without_a_child(fresh, monkeypatch):
    offline.write_bundle(fresh)
    monkeypatch.setattr(alt.JupyterChart, "enable_offline", _no_vl_convert_here)
    monkeypatch.setattr(offline, "write_bundle", _no_vl_convert_here)
    offline.enable_offline_charts()
    assert alt.JupyterChart._is_offline


def test_a_damaged_bundle_is_made_again(fresh, monkeypatch):
    path = offline.write_bundle(fresh)
    good = path.read_text()
    path.write_text(good[: len(good) // 2])  # cut short, as by a full disk
    assert offline._read(path) is None
    path.write_text(good.replace("addDataListener", "addDataListenes", 1))  # one byte
    assert offline._read(path) is None
    offline.enable_offline_charts()
    assert path.read_text() == good


def test_the_class_copy_is_read_and_never_written(fresh, tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    offline.write_bundle(shared)
    before = {p.name: p.read_bytes() for p in shared.iterdir()}
    monkeypatch.setenv("SMARS_SHARED_CACHE", str(shared))
    monkeypatch.setattr(offline, "write_bundle", _no_vl_convert_here)
    offline.enable_offline_charts()
    assert alt.JupyterChart._is_offline
    assert {p.name: p.read_bytes() for p in shared.iterdir()} == before
    assert not fresh.exists()  # nothing written to the learner's own cache


def test_without_a_cache_altairs_own_way_still_works(fresh, monkeypatch):
    def broken(folder):
        raise RuntimeError("making the offline chart bundle failed: no space")

    called = []
    monkeypatch.setattr(offline, "write_bundle", broken)
    monkeypatch.setattr(alt.JupyterChart, "enable_offline", lambda on: called.append(on))
    offline.enable_offline_charts()
    assert called == [True]


def test_build_makes_the_bundle_once_in_the_users_cache(fresh, monkeypatch, capsys):
    """``make lab`` runs ``build`` before Lab: it makes the bundle, then only checks it."""
    assert offline._main(["build"]) == 0
    path = fresh / offline.bundle_name()
    assert capsys.readouterr().out.strip() == str(path)
    assert offline._read(path) is not None
    monkeypatch.setattr(offline, "write_bundle", _no_vl_convert_here)
    assert offline._main(["build", str(fresh)]) == 0  # sealed and there: kept
    path.write_text("cut short", encoding="utf-8")
    monkeypatch.undo()
    monkeypatch.setenv("XDG_CACHE_HOME", str(fresh.parent))
    assert offline._main(["build"]) == 0  # a broken seal is made again
    assert offline._read(path) is not None


@pytest.mark.parametrize("argv", [[], ["make"], ["build", "a", "b"]])
def test_build_refuses_other_usage(argv, capsys):
    assert offline._main(argv) == 2
    assert capsys.readouterr().err.startswith("usage: python -m smars_sim.viz.offline build")
