"""Every course notebook at laptop and desktop widths: no output is cut off or scrolls sideways.

Each notebook of the course (00-10) runs in JupyterLab at 1280×800 with the file
browser open (a laptop: about 968 px of notebook column) and at 1920×1080. Then, for
every output area: it does not scroll sideways (``scrollWidth <= clientWidth``), and
no element inside it (a chart, a legend, a table, a widget) reaches past its edges.
"""

from __future__ import annotations

from typing import Any

import pytest
from browser_helpers import (
    COURSE,
    Server,
    assert_no_cell_errors,
    open_notebook,
    run_all,
)

NOTEBOOKS = sorted(p.name for p in COURSE.glob("[0-9][0-9]_*.ipynb"))
SIZES = {"1280x800": (1280, 800), "1920x1080": (1920, 1080)}

_MEASURE_JS = """(panel) => {
  const bad = [];
  panel.querySelectorAll('.jp-OutputArea-output').forEach((area, i) => {
    const box = area.getBoundingClientRect();
    if (box.width === 0) return;
    const cell = area.closest('.jp-CodeCell');
    const prompt = cell ? cell.querySelector('.jp-InputArea-prompt') : null;
    const where = (prompt ? prompt.innerText.trim() : '') + ' output ' + i;
    if (area.scrollWidth > area.clientWidth + 1) {
      bad.push(`${where}: scrolls sideways (${area.scrollWidth} > ${area.clientWidth} px)`);
      return;
    }
    for (const el of area.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      if (getComputedStyle(el).visibility === 'hidden') continue;
      if (r.right > box.right + 1 || r.left < box.left - 1) {
        const name = el.tagName.toLowerCase() + (el.getAttribute('class') ? '.' +
          String(el.getAttribute('class')).split(' ')[0] : '');
        bad.push(`${where}: ${name} spans ${Math.round(r.left)}-${Math.round(r.right)} px ` +
                 `outside ${Math.round(box.left)}-${Math.round(box.right)} px`);
        break;
      }
    }
  });
  return bad;
}"""


def _file_browser_open(page: Any) -> None:
    """Show the file browser in the left sidebar (a learner's usual layout)."""
    browser = page.locator("#filebrowser")
    if not browser.is_visible():
        page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="filebrowser"]').click()
    browser.wait_for(state="visible")


def _params() -> list[Any]:
    params = []
    for size in SIZES:
        for name in NOTEBOOKS:
            params.append(pytest.param(size, name, id=f"{size}-{name[:2]}"))
    return params


@pytest.mark.parametrize(("size", "name"), _params())
def test_no_output_is_cut_off(page: Any, clean_lab: Server, size: str, name: str) -> None:
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    panel = open_notebook(page, clean_lab, name)
    _file_browser_open(page)
    run_all(page, panel, timeout_s=240)
    assert_no_cell_errors(panel)
    page.wait_for_timeout(1500)  # charts and widgets finish their layout
    handle = panel.element_handle()
    bad = page.evaluate(_MEASURE_JS, handle)
    assert not bad, f"{name} at {size}, file browser open:\n" + "\n".join(bad)
