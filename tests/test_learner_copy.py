"""tools/learner_copy.py: `make lab`'s untracked copy of the course never blocks `git pull`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tools import learner_copy as lc

REPO = Path(__file__).resolve().parents[1]


def _course(tmp: Path) -> Path:
    src = tmp / "course"
    src.mkdir()
    (src / "00_welcome.ipynb").write_text('{"cells": ["v1"]}')
    (src / "01_meet.ipynb").write_text('{"cells": ["a"]}')
    (src / "README.md").write_text("outline")
    (src / ".ipynb_checkpoints").mkdir()
    (src / ".ipynb_checkpoints" / "00_welcome-checkpoint.ipynb").write_text("{}")
    return src


def test_first_run_copies_the_course_but_not_lab_checkpoints(tmp_path: Path) -> None:
    src, dest = _course(tmp_path), tmp_path / "my-course"
    report = lc.sync(src, dest)
    assert sorted(report.copied) == ["00_welcome.ipynb", "01_meet.ipynb", "README.md"]
    assert (dest / "00_welcome.ipynb").read_text() == '{"cells": ["v1"]}'
    assert not (dest / ".ipynb_checkpoints").exists()
    assert report.updated_upstream == []


def test_a_learners_work_is_never_overwritten_and_an_update_is_reported(tmp_path: Path) -> None:
    src, dest = _course(tmp_path), tmp_path / "my-course"
    lc.sync(src, dest)
    (dest / "00_welcome.ipynb").write_text('{"cells": ["my work"]}')  # Lab's autosave
    (src / "00_welcome.ipynb").write_text('{"cells": ["v2"]}')  # git pull of a course fix
    (src / "02_new.ipynb").write_text('{"cells": ["new"]}')  # a notebook added upstream
    report = lc.sync(src, dest)
    assert (dest / "00_welcome.ipynb").read_text() == '{"cells": ["my work"]}'
    assert report.copied == ["02_new.ipynb"]
    assert report.updated_upstream == ["00_welcome.ipynb"]
    assert "--reset 00_welcome" in report.text()
    # the learner's own edits alone are not an upstream update
    (dest / "01_meet.ipynb").write_text('{"cells": ["edited"]}')
    assert "01_meet.ipynb" not in lc.sync(src, dest).updated_upstream


def test_reset_takes_a_fresh_copy_and_keeps_the_learners(tmp_path: Path) -> None:
    src, dest = _course(tmp_path), tmp_path / "my-course"
    lc.sync(src, dest)
    (dest / "00_welcome.ipynb").write_text("mine 1")
    (src / "00_welcome.ipynb").write_text('{"cells": ["v2"]}')
    kept = lc.reset("00_welcome", src, dest)
    assert kept == dest / "00_welcome.mine-1.ipynb" and kept.read_text() == "mine 1"
    assert (dest / "00_welcome.ipynb").read_text() == '{"cells": ["v2"]}'
    assert lc.sync(src, dest).updated_upstream == []  # the fresh copy is current
    (dest / "00_welcome.ipynb").write_text("mine 2")
    assert lc.reset("00_welcome.ipynb", src, dest) == dest / "00_welcome.mine-2.ipynb"
    manifest = json.loads((dest / lc.MANIFEST).read_text())
    assert set(manifest) == {"00_welcome.ipynb", "01_meet.ipynb", "README.md"}


def test_reset_of_an_unknown_notebook_fails_and_touches_nothing(tmp_path: Path) -> None:
    src, dest = _course(tmp_path), tmp_path / "my-course"
    with pytest.raises(FileNotFoundError):
        lc.reset("99_nothing", src, dest)
    assert lc.main(["--reset", "99_nothing", "--source", str(src), "--dest", str(dest)]) == 2


def test_the_real_course_copies_and_its_links_still_resolve(tmp_path: Path) -> None:
    dest = tmp_path / "my-course"
    report = lc.sync(lc.SOURCE, dest)
    notebooks = sorted(p.name for p in lc.SOURCE.glob("*.ipynb"))
    assert notebooks and all(n in report.copied for n in notebooks)
    # my-course/ sits beside course/, so the notebooks' ../exercises and ../docs links hold
    assert lc.DEST.parent == lc.SOURCE.parent


def test_make_lab_opens_the_copy_and_git_ignores_it() -> None:
    makefile = (REPO / "Makefile").read_text()
    target = makefile[makefile.index("\nlab:") :].split("\n\n")[0]
    assert "tools/learner_copy.py" in target
    assert "my-course/00_welcome.ipynb" in target
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "my-course/00_welcome.ipynb"], cwd=REPO, check=False
    )
    assert ignored.returncode == 0, "my-course/ must be in .gitignore"


def test_command_line_sync_prints_what_it_copied(tmp_path: Path) -> None:
    src, dest = _course(tmp_path), tmp_path / "my-course"
    out = subprocess.run(
        [
            sys.executable,
            str(REPO / "tools" / "learner_copy.py"),
            "--source",
            str(src),
            "--dest",
            str(dest),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "copied 3 file(s)" in out
