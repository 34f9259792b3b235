"""Build the wheel and sdist, install the wheel into a fresh venv, use it from outside the repo.

Offline: the wheel is built with --no-build-isolation (hatchling comes from the test extra),
and installed with --no-deps into a throwaway venv that sees the test venv's packages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 180


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert proc.returncode == 0, (
        f"{cmd} exited {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    )
    return proc.stdout


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["PYTHONNOUSERSITE"] = "1"
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheelhouse")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-cache-dir",
            "-q",
            "-w",
            str(out),
            str(REPO),
        ],
        cwd=out,
    )
    wheels = sorted(out.glob("smars_sim-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A fresh venv holding only the wheel; dependencies come from the running test venv."""
    root = tmp_path_factory.mktemp("venv")
    venv_dir = root / "venv"
    _run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv_dir)],
        cwd=root,
    )
    py = venv_dir / "bin" / "python"
    get_purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    purelib = Path(_run([str(py), "-c", get_purelib], root).strip())
    # A venv made from inside a venv sees the *base* interpreter's site-packages, not
    # the test venv's; this .pth appends the test venv's site-packages (after the
    # new venv's own, and without processing its .pth files, so the repo's editable
    # install stays invisible).
    here = sysconfig.get_paths()["purelib"]
    if sys.prefix != sys.base_prefix:
        (purelib / "_smars_test_deps.pth").write_text(here + "\n")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(py),
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            str(wheel),
        ],
        cwd=root,
    )
    cwd = root / "elsewhere"
    cwd.mkdir()
    return {"python": py, "bin": venv_dir / "bin", "purelib": purelib, "cwd": cwd}


def test_wheel_contains_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    csvs = [n for n in names if n.startswith("smars_sim/_data/") and n.endswith(".csv")]
    assert csvs, f"no smars_sim/_data/*.csv in {wheel.name}: {names}"
    assert "smars_sim/__init__.py" in names


def test_sdist_contains_data(tmp_path: Path) -> None:
    code = "import sys; from hatchling.build import build_sdist; print(build_sdist(sys.argv[1]))"
    name = _run([sys.executable, "-c", code, str(tmp_path)], cwd=REPO).strip().splitlines()[-1]
    with tarfile.open(tmp_path / name) as tar:
        members = tar.getnames()
    top = name.removesuffix(".tar.gz")
    assert any(m.startswith(f"{top}/data/") and m.endswith(".csv") for m in members), members
    assert f"{top}/pyproject.toml" in members


def test_import_from_installed_wheel(installed: dict[str, Path]) -> None:
    code = (
        "import json, importlib.resources as r, smars_sim; "
        "d = r.files('smars_sim') / '_data'; "
        "print(json.dumps({'file': smars_sim.__file__, "
        "'csv': sorted(p.name for p in d.iterdir() if p.name.endswith('.csv'))}))"
    )
    out = json.loads(_run([str(installed["python"]), "-c", code], installed["cwd"], _clean_env()))
    module_file = Path(out["file"]).resolve()
    assert module_file.is_relative_to(installed["purelib"].resolve()), module_file
    assert not module_file.is_relative_to(REPO), module_file
    assert out["csv"], "installed package has no CSV in smars_sim/_data"


def test_cli_replay_json(installed: dict[str, Path]) -> None:
    exe = installed["bin"] / "smars-sim"
    assert exe.exists(), "console script smars-sim was not installed"
    out = _run([str(exe), "replay", "--scale", "0.01", "--json"], installed["cwd"], _clean_env())
    obj = json.loads(out)
    assert isinstance(obj, dict), out
    assert "execution_digest" in obj, out


# ----------------------------------------------------------------------------------
# The base install: the wheel and its two pure-Python dependencies, nothing else
# ----------------------------------------------------------------------------------
BASE_DEPS = ("openfeature", "vulture")  # the fixes' own dependencies (pyproject's base)


@pytest.fixture(scope="module")
def base(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A venv that sees no site-packages but the wheel's and its base dependencies'.

    Offline: the two dependencies are linked in from the test venv (one folder each),
    so pandas, numpy, pyarrow, altair and ipywidgets are not importable in it.
    """
    root = tmp_path_factory.mktemp("base")
    venv_dir = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv_dir)], cwd=root)
    py = venv_dir / "bin" / "python"
    get_purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    purelib = Path(_run([str(py), "-c", get_purelib], root).strip())
    here = Path(sysconfig.get_paths()["purelib"])
    for name in BASE_DEPS:
        (purelib / name).symlink_to(here / name, target_is_directory=True)
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(py),
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            str(wheel),
        ],
        cwd=root,
    )
    cwd = root / "elsewhere"
    cwd.mkdir()
    return {"python": py, "bin": venv_dir / "bin", "cwd": cwd}


def test_base_install_has_no_pandas_numpy_pyarrow_altair_or_ipywidgets(
    base: dict[str, Path],
) -> None:
    code = (
        "import importlib.util as u, json; "
        "print(json.dumps({m: u.find_spec(m) is not None for m in "
        "('pandas', 'numpy', 'pyarrow', 'altair', 'ipywidgets', 'smars_sim')}))"
    )
    found = json.loads(_run([str(base["python"]), "-c", code], base["cwd"], _clean_env()))
    assert found == {
        "pandas": False,
        "numpy": False,
        "pyarrow": False,
        "altair": False,
        "ipywidgets": False,
        "smars_sim": True,
    }


def test_base_install_replays_with_every_fix(base: dict[str, Path]) -> None:
    from smars_sim.fixes import AVAILABLE

    exe = str(base["bin"] / "smars-sim")
    plain = json.loads(
        _run([exe, "replay", "--scale", "0.01", "--json"], base["cwd"], _clean_env())
    )
    assert plain["executions"] > 0 and plain["loss_usd"] > 0
    for fix in AVAILABLE:
        fixed = json.loads(
            _run(
                [exe, "replay", "--scenario", "small", "--fix", fix, "--json"],
                base["cwd"],
                _clean_env(),
            )
        )
        assert fixed["fixes"] == [fix]


def test_base_install_refuses_out_in_one_line_naming_the_extra(base: dict[str, Path]) -> None:
    exe = str(base["bin"] / "smars-sim")
    proc = subprocess.run(
        [exe, "replay", "--scenario", "small", "--out", str(base["cwd"] / "out")],
        cwd=base["cwd"],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "smars-sim[analysis]" in lines[0], proc.stderr
    assert not (base["cwd"] / "out").exists()  # refused before any replay or write
