"""Tables and escaping as text: what a panel's view shows and its model describes.

Standard library only, so the widget-free models (:mod:`smars_sim.ui.deploy_model`,
:mod:`smars_sim.ui.respond_model`, ...) describe their state without importing
ipywidgets; :mod:`smars_sim.ui.panel` re-exports these for the views.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
    is the same rows as :func:`text_table`. The HTML is marked ``tex2jax_ignore``, so
    JupyterLab's MathJax leaves dollar amounts alone (two of them in one table would
    otherwise be typeset as a formula).
    """

    rows: Sequence[dict[str, object]]
    columns: Sequence[str] | None = None

    def _repr_html_(self) -> str:
        return (
            f"<div class='tex2jax_ignore smars-table'>{html_table(self.rows, self.columns)}</div>"
        )

    def __repr__(self) -> str:
        return text_table(self.rows, self.columns)


def table(data: Any, columns: Sequence[str] | None = None) -> Table:
    """Rows (or a DataFrame) to display as a cell's output: an HTML table, every value whole.

    Args:
        data: The rows (dicts), or a pandas DataFrame (its index is not shown).
        columns: Which columns, in order (default: all).
    """
    # Duck-typed: this module stays standard-library only (the widget-free models).
    if hasattr(data, "to_dict") and hasattr(data, "columns"):
        columns = list(columns if columns is not None else data.columns)
        rows: list[dict[str, object]] = data.to_dict("records")
    else:
        rows = list(data)
    return Table(rows, list(columns) if columns is not None else None)
