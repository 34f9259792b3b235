"""Tables and escaping as text: what a panel's view shows and its model describes.

Standard library only, so the widget-free models (:mod:`smars_sim.ui.deploy_model`,
:mod:`smars_sim.ui.respond_model`, ...) describe their state without importing
ipywidgets; :mod:`smars_sim.ui.panel` re-exports these for the views.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Table", "esc", "html_table", "table", "text_table"]


def esc(value: object) -> str:
    """``value`` as text, HTML-escaped."""
    return html.escape(str(value))


def html_table(rows: Sequence[dict[str, object]], columns: Sequence[str] | None = None) -> str:
    """A small HTML table (values escaped)."""
    if not rows:
        return "<p><i>(nothing yet)</i></p>"
    columns = list(columns or rows[0].keys())
    head = "".join(f"<th style='text-align:left;padding:2px 8px'>{esc(c)}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td style='padding:2px 8px'>{esc(r.get(c, ''))}</td>" for c in columns)
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def text_table(rows: Sequence[dict[str, object]], columns: Sequence[str] | None = None) -> str:
    """The same rows as aligned plain text (for printing in a notebook cell)."""
    if not rows:
        return "(none)"
    columns = list(columns or rows[0].keys())
    cells = [[str(c) for c in columns]] + [[str(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )


@dataclass(frozen=True, slots=True)
class Table:
    """Rows shown in a notebook cell as a real HTML table (no wrapping text, no "…").

    The cell's text form (``text/plain``: a terminal, nbval, a screen reader's fallback)
    is the same rows as :func:`text_table`.
    """

    rows: Sequence[dict[str, object]]
    columns: Sequence[str] | None = None

    def _repr_html_(self) -> str:
        return html_table(self.rows, self.columns)

    def __repr__(self) -> str:
        return text_table(self.rows, self.columns)


def table(rows: Sequence[dict[str, object]], columns: Sequence[str] | None = None) -> Table:
    """Rows to display as the last expression of a cell: an HTML table, every value whole."""
    return Table(list(rows), list(columns) if columns is not None else None)
