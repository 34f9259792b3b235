"""The incident console in Voilà, in Chromium: play, change speed, stop a server, kill switch."""

from __future__ import annotations

import re
import time
from pathlib import Path

from browser_helpers import REPO, Server, assert_page_healthy, wait_text


def _clock(text: str) -> str:
    match = re.search(r"\b(\d{2}:\d{2}:\d{2})\b", text)
    assert match, text
    return match.group(1)


def test_console_plays_and_acts(page, voila_console: Server) -> None:
    page.goto(voila_console.url("/"))
    console = page.locator(".smars-console")
    console.wait_for(timeout=90_000)
    header = page.locator(".smars-header")
    status = page.locator(".smars-status")
    pnl = page.locator(".smars-pnl")
    alerts = page.locator(".smars-alerts")

    # Before playing: 8 servers, the stale one marked, the pre-market e-mails in the feed.
    assert _clock(header.inner_text()) == "09:29:30"
    assert "PAUSED" in status.inner_text()
    rows = page.locator(".smars-fleet-row")
    assert rows.count() == 8
    row8 = page.locator(".smars-server-8")
    assert "2011.12-pre-rlp" in row8.inner_text() and "≠ release" in row8.inner_text()
    assert "2012.07-rlp" in page.locator(".smars-server-1").inner_text()
    assert "BNET reject" in alerts.inner_text()
    assert page.locator(".smars-pnl svg").count() == 1

    # Speed 120× and play: the clock runs and server 8 starts sending orders.
    page.locator(".smars-speed button", has_text="120×").click()
    page.locator(".smars-play").click()
    wait_text(status, lambda t: "LIVE 120×" in t)
    wait_text(header, lambda t: _clock(t) >= "09:31:00", timeout_s=30)
    text8 = wait_text(
        row8, lambda t: re.search(r"[1-9][\d,]* orders/s \(full size\)", t) is not None
    )
    assert "running" in text8
    for i in range(1, 8):
        assert " 0 orders/s (full size)" in page.locator(f".smars-server-{i}").inner_text()
    wait_text(pnl, lambda t: "−$" in t)  # the loss shows in the ticker
    assert page.locator(".smars-pnl polyline").count() == 1  # the P&L line is drawn

    # Pause: the clock stops.
    page.locator(".smars-play").click()
    wait_text(status, lambda t: "PAUSED" in t)
    paused_at = _clock(header.inner_text())
    page.wait_for_timeout(1500)
    assert _clock(header.inner_text()) == paused_at

    # Stop server 8 from its row.
    page.locator(".smars-stop-8").click()
    wait_text(row8, lambda t: "stopped" in t and " 0 orders/s (full size)" in t)
    assert page.locator(".smars-stop-8").is_disabled()
    wait_text(alerts, lambda t: "console: stop server (server 8)" in t)
    assert "running" in page.locator(".smars-server-1").inner_text()

    # The kill switch stops every server.
    page.locator(".smars-kill-switch").click()
    wait_text(status, lambda t: "kill switch:" in t)
    for i in range(1, 9):
        assert "stopped" in page.locator(f".smars-server-{i}").inner_text()
    wait_text(alerts, lambda t: "KILL SWITCH pressed" in t)

    assert_page_healthy(page)


def _kernels_of(pid: int) -> list[int]:
    """ipykernel processes started by the server ``pid``."""
    kernels = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid and b"ipykernel" in cmdline:
            kernels.append(int(entry.name))
    return kernels


def test_make_console_culls_idle_kernels() -> None:
    makefile = (REPO / "Makefile").read_text()
    target = makefile[makefile.index("\nconsole:") :].split("\n\n")[0]
    assert "--MappingKernelManager.cull_idle_timeout=600" in target
    assert "--MappingKernelManager.cull_interval=60" in target


def test_console_kernel_is_culled_once_the_page_is_closed(
    browser, voila_console_fast_cull: Server
) -> None:
    server = voila_console_fast_cull
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url("/"))
    page.locator(".smars-console").wait_for(timeout=90_000)
    assert len(_kernels_of(server.proc.pid)) == 1  # one kernel for the page
    context.close()  # the projector is switched off
    deadline = time.monotonic() + 40
    while _kernels_of(server.proc.pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _kernels_of(server.proc.pid) == [], "the idle kernel was not culled"
