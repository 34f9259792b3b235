"""The class board in Voilà, in Chromium, at projector sizes (1920×1080 and 1280×800).

Voilà serves ``tools/class_board.ipynb`` as ``make class-board`` does (template
``smars-offline``), on a class database of eight learners and a game day. The test
checks the grid, the stuck list, the check that trips most people and the debrief
chart; then a new learner's check is written to the database and the board shows it
without a reload (it refreshes itself). The 1920×1080 picture is saved to
``docs/screenshots/class_board.png``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import REPO, Server, assert_charts_drawn, assert_page_healthy, wait_text
from conftest import BIN, _server_env, _start, _stop, _wait_ready, free_port

from smars_sim.analysis import classboard as cb

SHOT = REPO / "docs" / "screenshots" / "class_board.png"
Q1 = ["finds the rogue server", "finds when it started", "finds its symbols", "a normal day"]
Q2 = ["fires on the runaway", "quiet on a normal day", "fires within budget"]


def _at(minutes_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def demo_class(db: Path) -> None:
    """Eight learners at different places, two of them stuck, and five game days."""
    conn = cb.connect(db)
    t, f = True, False
    plan: dict[str, list[tuple[str, list[bool], float]]] = {
        "ana": [("q1", [t, t, f, t], 30), ("q1", [t, t, t, t], 25), ("q2", [t, t, t], 5)],
        "bilal": [("q1", [t, f, f, t], 28)]
        + [("q1", [t, t, f, t], m) for m in (22, 18, 12, 3)],  # stuck: failed 5 in a row
        "chen": [("q1", [t, t, t, t], 20), ("q2", [t, f, t], 14)],
        "dara": [("q1", [f, f, f, t], 26)],  # quiet for 26 minutes after a failure
        "eli": [("q1", [t, t, t, t], 15), ("q2", [t, t, t], 4)],
        "femi": [("q1", [t, t, f, t], 9), ("q1", [t, t, t, t], 6)],
        "gus": [("q1", [t, t, f, t], 7), ("q1", [t, t, f, t], 2)],
        "hana": [("q1", [t, t, t, t], 11), ("q2", [t, t, f], 1)],
    }
    for learner, runs in plan.items():
        for exercise, passed, ago in runs:
            names = Q1 if exercise == "q1" else Q2
            cb.insert_checks(
                conn, learner, exercise, list(zip(names, passed, strict=True)), at=_at(ago)
            )
    games = {
        "ana": (2.9, 6.1e7),
        "chen": (11.5, 1.9e8),
        "eli": (4.2, 8.8e7),
        "femi": (26.0, 3.4e8),
        "hana": (7.4, 1.3e8),
    }
    for learner, (minutes, loss) in games.items():
        cb.insert_game(conn, learner, {"loss_usd": loss, "minutes_to_stop": minutes, "actions": 2})
    conn.close()


@pytest.fixture(scope="module")
def voila_board() -> Iterator[tuple[Server, Path]]:
    tmp = Path(tempfile.mkdtemp(prefix="smars-board-"))
    root = tmp / "root"
    root.mkdir()
    shutil.copy(REPO / "tools" / "class_board.ipynb", root / "class_board.ipynb")
    db = tmp / "class.db"
    demo_class(db)
    port, token = free_port(), secrets.token_hex(16)
    cmd = [
        str(BIN / "voila"),
        "class_board.ipynb",
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--Voila.port_retries=0",
        f"--Voila.token={token}",
        "--template=smars-offline",
    ]
    env = _server_env(tmp)
    env["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(REPO / "share" / "jupyter"), os.environ.get("JUPYTER_PATH")) if p
    )
    env.update(SMARS_CLASS_DB=str(db), SMARS_BOARD_REFRESH_S="2", SMARS_BOARD_IDLE_MINUTES="20")
    # The kernel imports this clone's smars_sim, whatever is installed in the venv.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    proc, log = _start(cmd, root, f"voila-board-{port}.log", env)
    server = Server(f"http://127.0.0.1:{port}", token, root, proc, log)
    try:
        _wait_ready(server, "/voila/static/voila.js")
        yield server, db
    finally:
        _stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)


def _open(page: Any, server: Server, width: int, height: int) -> Any:
    page.set_viewport_size({"width": width, "height": height})
    page.goto(server.url("/"))
    board = page.locator(".smars-class-board")
    board.wait_for(timeout=90_000)
    return board


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 800)], ids=["1920x1080", "1280x800"])
def test_the_board_shows_the_class_and_refreshes_itself(
    page: Any, voila_board: tuple[Server, Path], size: tuple[int, int]
) -> None:
    server, db = voila_board
    board = _open(page, server, *size)
    grid = page.locator(".smars-board-grid")
    text = wait_text(grid, lambda t: "hana" in t)
    for name in ("ana", "bilal", "chen", "dara", "eli", "femi", "gus", "hana"):
        assert name in text
    assert "4/4" in text and "×5" in text  # bilal: 5 attempts
    stuck = page.locator(".smars-board-stuck").inner_text()
    assert "bilal on q1: 5 failed attempts in a row" in stuck
    assert "dara on q1" in stuck and "no check for" in stuck
    hardest = page.locator(".smars-board-hardest").inner_text()
    assert hardest.splitlines()[1].startswith("q1 · finds its symbols")
    charts = page.locator(".smars-board-games")
    assert_charts_drawn(page, charts, minimum=1)
    assert "stopped the runaway after" in charts.inner_text() or charts.locator("svg").count()

    # Readable on a projector: the grid's text is at least 24 px, and nothing spills
    # out sideways at this width.
    size_px = grid.locator("td").first.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    assert size_px >= 24
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the board is {overflow} px wider than the window"

    if size == (1920, 1080):
        page.wait_for_timeout(800)
        SHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOT))

    # A new learner runs a check: the board shows them within a few refreshes.
    learner = f"zoe{size[0]}"
    conn = cb.connect(db)
    cb.insert_checks(conn, learner, "q1", [(n, True) for n in Q1])
    conn.close()
    wait_text(grid, lambda t: learner in t, timeout_s=30)
    # The stuck threshold can be changed on the board: at 6 failed attempts bilal is not stuck.
    field = page.locator(".smars-board-failed input")
    field.fill("6")
    field.press("Enter")
    wait_text(page.locator(".smars-board-stuck"), lambda t: "bilal" not in t, timeout_s=30)
    assert board.is_visible()
    assert_page_healthy(page)
