"""The incident console in Voilà, in Chromium: play, change speed, stop a server, kill switch."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
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


# ---------------------------------------------------------------- the projector
#: Text the audience must never see: how to serve the page, module and class names.
INTERNAL_TEXT = (
    "make console",
    "Voilà",
    "Voila",
    "fixes.",
    "RiskGate",
    "Simulation.",
    "scale 0.01",
)

_LAYOUT_JS = """() => {
  const px = (sel) => {
    const el = document.querySelector(sel);
    return el ? parseFloat(getComputedStyle(el).fontSize) : 0;
  };
  const box = (el) => { const r = el.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  const rows = [...document.querySelectorAll('.smars-fleet-row')];
  const overflowing = [...document.querySelectorAll('.smars-console *')]
    .filter(el => (el.scrollWidth > el.clientWidth + 1
                   && getComputedStyle(el).overflowX !== 'visible')
                  || el.getBoundingClientRect().right > window.innerWidth + 1)
    .map(el => el.className || el.tagName);
  return {
    clock: px('.smars-clock'), pnl: px('.smars-pnl-value'),
    row: px('.smars-row-text .smars-field-rate'), feed: px('.smars-feed'),
    rows: rows.map(box), rowTexts: [...document.querySelectorAll('.smars-row-text')].map(box),
    right: box(document.querySelector('.smars-right')),
    left: box(document.querySelector('.smars-left')),
    pageScrolls: document.documentElement.scrollWidth > window.innerWidth + 1,
    overflowing,
  };
}"""


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["left"] < b["right"] - 1
        and b["left"] < a["right"] - 1
        and (a["top"] < b["bottom"] - 1 and b["top"] < a["bottom"] - 1)
    )


@pytest.mark.parametrize(
    ("width", "height", "min_px"),
    [
        # At 1920×1080 (the projector) the back row reads it: big clock and P&L,
        # fleet rows and alerts at body size or more.
        (1920, 1080, {"clock": 72, "pnl": 64, "row": 20, "feed": 18}),
        # At 1280×720 (a small projector, a laptop) it still fits without overlap.
        (1280, 720, {"clock": 48, "pnl": 44, "row": 14, "feed": 13}),
        (1024, 768, {"clock": 40, "pnl": 36, "row": 14, "feed": 13}),
    ],
    ids=["1920x1080", "1280x720", "1024x768"],
)
def test_console_reads_on_a_projector(
    page, voila_console: Server, width: int, height: int, min_px: dict[str, int]
) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.goto(voila_console.url("/"))
    page.locator(".smars-console").wait_for(timeout=90_000)
    # play into the incident, so server 8 shows its full-size rate and the feed fills
    page.locator(".smars-speed button", has_text="120×").click()
    page.locator(".smars-play").click()
    row8 = page.locator(".smars-server-8")
    text8 = wait_text(
        row8, lambda t: re.search(r"[1-9][\d,]{2,} orders/s \(full size\)", t) is not None
    )
    page.locator(".smars-play").click()
    # the runaway server reads in hundreds of full-size orders a second, not a 1% rate
    rate8 = int(re.search(r"([\d,]+) orders/s", text8).group(1).replace(",", ""))
    assert rate8 >= 100, text8

    body = page.locator("body").inner_text()
    for internal in INTERNAL_TEXT:
        assert internal not in body, f"the audience sees internal text {internal!r}"

    layout = page.evaluate(_LAYOUT_JS)
    for key, floor in min_px.items():
        assert layout[key] >= floor, f"{key} is {layout[key]} px at {width}×{height}, want {floor}"
    assert not layout["pageScrolls"], "the page scrolls sideways"
    assert not layout["overflowing"], f"cut off or overflowing: {layout['overflowing'][:5]}"
    right = layout["right"]
    for i, (row, text) in enumerate(zip(layout["rows"], layout["rowTexts"], strict=True), 1):
        assert not _overlap(row, right), f"server {i}'s row runs into the P&L column"
        assert text["right"] <= row["right"] + 1, f"server {i}'s text leaves its row"
    assert not _overlap(layout["left"], right)
    assert_page_healthy(page)
