"""smars_sim: replay Knight Capital's 1 August 2012, mechanism by mechanism.

The core (this package, minus ``tables``) is pure standard-library Python, so it
also runs under Pyodide. Start with :func:`replay` and :class:`Scenario`::

    from smars_sim import Scenario, replay
    result = replay(Scenario.aug1_2012(scale=0.05))
    result.summary.loss_usd

or step through the morning with :class:`Simulation`.
"""

from .core.book import BUY, SELL, OrderBook
from .core.builds import FLAG, OLD_BUILD, RLP_BUILD, Build
from .core.clock import format_time, parse_time
from .core.exchange import Exchange
from .core.fleet import Fleet, ParentOrder, Server
from .core.result import Result
from .core.scenario import ParentSpec, Scenario, SymbolSpec
from .fixes import Simulation, replay

__all__ = [
    "BUY",
    "FLAG",
    "OLD_BUILD",
    "RLP_BUILD",
    "SELL",
    "Build",
    "Exchange",
    "Fleet",
    "OrderBook",
    "ParentOrder",
    "ParentSpec",
    "Result",
    "Scenario",
    "Server",
    "Simulation",
    "SymbolSpec",
    "format_time",
    "parse_time",
    "replay",
]

__version__ = "0.1.0"
