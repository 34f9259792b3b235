"""Panels of notebook 07: the flag registry console and the stale-flag report.

The console is a view on :class:`~smars_sim.ui.fix_models.FlagConsoleModel` (the
registry and the last action, without widgets). The report keeps no state beyond its
audit date, so it has no separate model: the audit is
:func:`smars_sim.fixes.flag_registry.stale_flags`.
"""

from __future__ import annotations

import html
from datetime import date, timedelta

import ipywidgets as W

from ..analysis.fix_tables import CORE, not_trading_code, rlp_registry, stale_flag_rows
from ..core.builds import FLAG
from ..fixes import flag_registry as flags
from ..viz.theme import OKABE_ITO
from .fix_models import FlagConsoleModel
from .panel import Panel, html_table, text_table

__all__ = ["FlagConsole", "StaleFlagReport"]


def _esc(value: object) -> str:
    return html.escape(str(value))


class FlagConsole(Panel):
    """The flag registry as a release manager meets it: create, turn on, retire, evaluate.

    Every refusal is the registry's own ``ValueError``, caught and shown as a message.
    A method called without a key uses the key typed in the panel.
    """

    name = "flag registry console"

    def __init__(self) -> None:
        self.model = FlagConsoleModel()
        self.key = W.Text(value=FLAG, description="Key:", layout=W.Layout(width="340px"))
        self.kind = W.Dropdown(
            options=list(flags.FLAG_TYPES),
            value="release",
            description="Type:",
            layout=W.Layout(width="220px"),
        )
        self.buttons = {
            name: W.Button(description=label, layout=W.Layout(width="auto"))
            for name, label in (
                ("create", "Create flag"),
                ("on", "Turn on"),
                ("retire", "Retire"),
                ("evaluate", "Evaluate"),
            )
        }
        self.buttons["create"].button_style = "primary"
        self.buttons["create"].on_click(lambda _: self.create())
        self.buttons["on"].on_click(lambda _: self.turn_on())
        self.buttons["retire"].on_click(lambda _: self.retire())
        self.buttons["evaluate"].on_click(lambda _: self.evaluate())
        self.reset_button = W.Button(
            description="Reset the registry", icon="undo", layout=W.Layout(width="auto")
        )
        self.reset_button.on_click(lambda _: self.reset())
        self.message = W.HTML()
        self.table = W.HTML()
        self.evaluation = W.HTML()
        self.widget = W.VBox(
            [
                W.HBox([self.key, self.kind]),
                W.HBox([*self.buttons.values(), self.reset_button]),
                self.message,
                self.table,
                self.evaluation,
            ]
        )
        self._refresh()

    # the model's state
    @property
    def registry(self) -> flags.FlagRegistry:
        """The registry."""
        return self.model.flags

    @property
    def last(self) -> str:
        """What the last action did."""
        return self.model.last

    @property
    def ok(self) -> bool:
        """Whether the last action was accepted."""
        return self.model.ok

    def _typed(self, key: str | None) -> str:
        return self.key.value.strip() if key is None else key

    # actions
    def reset(self) -> None:
        """Back to the registry with only the retired old key."""
        self.model.reset()
        self._refresh()

    def create(self, key: str | None = None, type: str | None = None) -> bool:
        """Create a flag; returns whether the registry accepted it."""
        done = self.model.create(self._typed(key), self.kind.value if type is None else type)
        self._refresh()
        return done

    def turn_on(self, key: str | None = None) -> bool:
        """Turn a flag on; returns whether the registry accepted it."""
        done = self.model.turn_on(self._typed(key))
        self._refresh()
        return done

    def retire(self, key: str | None = None) -> bool:
        """Retire a flag (it becomes a tombstone); returns whether the registry accepted it."""
        done = self.model.retire(self._typed(key))
        self._refresh()
        return done

    def evaluate(self, key: str | None = None) -> dict[str, object]:
        """Evaluate a flag through OpenFeature (never raises: errors serve the default)."""
        row = self.model.evaluate(self._typed(key))
        self._refresh()
        return row

    def _refresh(self) -> None:
        colour = OKABE_ITO["green"] if self.ok else OKABE_ITO["vermillion"]
        self.message.value = f"<b style='color:{colour}'>{_esc(self.last)}</b>"
        self.table.value = html_table(self.model.rows())
        rows = self.model.evaluations()
        self.evaluation.value = "<b>OpenFeature evaluations</b>" + html_table(rows) if rows else ""

    def describe(self) -> str:
        return "\n".join([self.last, text_table(self.model.rows(), ["key", "state", "value"])])


class StaleFlagReport(Panel):
    """The stale-flag report on an audit date of your choice (a slider).

    Args:
        registry: The registry to audit (default: the old key retired, the RLP
            release's fresh key created on 27 July 2012).
    """

    name = "stale-flag report"

    def __init__(self, registry: flags.FlagRegistry | None = None) -> None:
        self.registry = registry if registry is not None else rlp_registry()
        start = flags.TRADE_DATE
        self.dates = [start + timedelta(days=7 * i) for i in range(0, 14)]
        self.slider = W.SelectionSlider(
            options=[(d.isoformat(), d) for d in self.dates],
            value=start,
            description="Audit on:",
            continuous_update=False,
            layout=W.Layout(width="520px"),
        )
        self.table = W.HTML()
        self.slider.observe(lambda _: self._refresh(), "value")
        self.widget = W.VBox([self.slider, self.table])
        self._refresh()

    def audit(self, on: date | None = None) -> list[flags.StaleFlag]:
        """The report on a date (default: the slider's), over the trading code only."""
        if on is not None:
            self.slider.value = on
        return flags.stale_flags(
            self.registry,
            today=self.slider.value,
            source_root=CORE,
            exclude=not_trading_code(),
        )

    def rows(self) -> list[dict[str, object]]:
        """One row per stale flag."""
        return stale_flag_rows(self.audit())

    def _refresh(self) -> None:
        self.table.value = html_table(self.rows())

    def describe(self) -> str:
        rows = self.rows()
        head = f"Audit on {self.slider.value.isoformat()}: {len(rows)} stale flag(s)"
        lines = [head]
        for finding in self.audit():
            files = sorted({ref.rsplit(":", 1)[0] for ref in finding.references})
            where = f" (in {', '.join(files)})" if files else ""
            lines.append(f"- {finding.key} ({finding.state}): {'; '.join(finding.reasons)}{where}")
        return "\n".join(lines)
