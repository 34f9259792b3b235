"""The symbol universe of the 1 August 2012 replay, and how ``data/symbols.csv`` is made.

The record names a dozen of the 154 stocks. Those keep their tickers and every
figure the record documents (opening or reference prices, which way they moved,
typical volume). Everything else is simulated and marked so: tickers ``~S001``…
(a style no listed ticker has, see :func:`simulated_ticker`), and ``synthetic=True``
on every row whose figures are not from the record.

A *market draw* (``market_seed``) redraws the simulated part: prices and liquidity are
stratified draws (one value from each of ``n`` equal-probability slices of the
distribution, in a random order), so every draw has the same spread of small and
large, thin and deep names, and differs in which name gets which. The default draw,
from the calibration's ``universe_seed``, is stored in ``data/symbols.csv``.

Run ``python -m smars_sim.core.universe`` to regenerate ``data/symbols.csv`` from the
calibration table; a test checks that the committed file matches.
"""

from __future__ import annotations

import csv
import io
import math
import sys
from pathlib import Path
from random import Random
from statistics import NormalDist
from typing import Any

from .record import data_dir, load_table

__all__ = ["SIMULATED_PREFIX", "build_universe", "render_csv", "simulated_ticker"]

#: How every simulated ticker starts. No listed ticker contains ``~``, so a simulated
#: name can never be mistaken for a real one, in a table, a chart or an e-mail.
SIMULATED_PREFIX = "~S"


def simulated_ticker(number: int) -> str:
    """The ticker of the ``number``-th simulated name (1-based): ``~S001``, ``~S002``…"""
    return f"{SIMULATED_PREFIX}{number:03d}"


#: What a stock's second parent adds to its position, relative to its first: it arrives
#: late (after the rollback, in the kit's model), so it runs for less of the morning.
#: The kit's estimate; with it the marked positions vary across market draws by about
#: ±2% (with 1, by ±5%: measured on seeds 1-3 x 7 draws at scale 0.05).
_SECOND_PARENT = 0.4


def _stratified(rng: Random, n: int) -> list[float]:
    """``n`` standard-normal values, one from each of ``n`` equal-probability slices, shuffled.

    A plain random draw of 154 names sometimes gives a few extremely thin, expensive
    names that dominate the day's loss; stratifying keeps every draw's spread the
    same (the distribution's quantiles) and redraws which name gets which value.
    """
    normal = NormalDist()
    values = [normal.inv_cdf((k + rng.random()) / n) for k in range(n)]
    rng.shuffle(values)
    return values


COLUMNS = (
    "symbol",
    "synthetic",
    "open_cents",
    "depth_shares",
    "others_shares_per_s",
    "knight_parents",
    "knight_side",
    "source",
)

#: Shares in a regular trading day of 6.5 hours, to turn a daily volume into a rate.
_DAY_SECONDS = 6.5 * 3600


def _named(calibration: dict[str, float]) -> list[dict[str, Any]]:
    """The tickers the record names, with only the figures it documents."""
    thin = calibration["thin_depth_shares"]
    quiet = 100_000 / _DAY_SECONDS  # "about 100k a day normally" (CODE, JWF)
    return [
        # ticker, open (cents) or None, side or None, depth override, others rate override, source
        {
            "symbol": "WZE",
            "open": 360,
            "side": 1,
            "depth": thin,
            "source": "record §4: opened $3.60, rose; bust >= $4.68",
        },
        {
            "symbol": "CO",
            "open": 247,
            "side": 1,
            "depth": thin,
            "source": "record §4: opened $2.47, rose to $6.20; bust >= $3.22",
        },
        {
            "symbol": "EJ",
            "open": 480,
            "side": -1,
            "depth": thin,
            "source": "record §4: bust <= $3.36; open derived as $3.36/0.70 (30% rule)",
        },
        {
            "symbol": "ARC",
            "open": round(calibration["price_median_usd"] * 100),
            "open_is_model": True,
            "side": None,
            "depth": thin,
            "source": (
                "record §4: trades busted (threshold not known); price (the simulated "
                "names' median, kit's model) and side synthetic"
            ),
        },
        {
            "symbol": "CODE",
            "open": 1146,
            "open_is_model": True,
            "side": -1,
            "others": quiet,
            "source": (
                "record §4: peaked at $11.46 at 09:31, then Knight's selling pushed it below "
                "$10; ~100k shares/day normally; open set to the $11.46 peak (kit's model)"
            ),
        },
        {
            "symbol": "JWF",
            "open": None,
            "side": None,
            "others": quiet,
            "source": "record §4: ~100k shares/day normally; price and side synthetic",
        },
        {
            "symbol": "ANF",
            "open": 3380,
            "side": 1,
            "source": "record §4: rose 9% from a $33.80 close",
        },
        {"symbol": "HOG", "open": 4323, "side": -1, "source": "record §4: fell 12% from $43.23"},
        {
            "symbol": "EXC",
            "open": None,
            "side": None,
            "source": "record §4: heavy Knight-pattern trading; price and side synthetic",
        },
        {
            "symbol": "NOK",
            "open": None,
            "side": None,
            "source": "record §4: heavy Knight-pattern trading; price and side synthetic",
        },
        {
            "symbol": "BRK/B",
            "open": None,
            "side": None,
            "source": "record §4: heavy Knight-pattern trading; price and side synthetic",
        },
    ]


def _named_depth(calibration: dict[str, float], named: dict[str, Any]) -> float | None:
    """A named stock's calibrated impact depth, if the calibration table gives one.

    ``depth_shares_<ticker>`` (lower case) tunes one documented stock to its documented
    move (``data/calibration.csv`` says which move); otherwise the four busted names
    share ``thin_depth_shares`` and the rest draw their depth like any other name.
    """
    key = "depth_shares_" + named["symbol"].lower().replace("/", "_")
    if key in calibration:
        return calibration[key]
    return named.get("depth")


def build_universe(
    calibration: dict[str, float], market_seed: int | None = None
) -> list[dict[str, Any]]:
    """Build the 154-symbol universe deterministically from the calibration table.

    Args:
        calibration: Parameter name -> value (``data/calibration.csv``).
        market_seed: Which draw of the simulated market (``None``: the calibration's
            ``universe_seed``, the draw stored in ``data/symbols.csv``). The documented
            figures of named stocks are the same in every draw.

    Returns:
        One dict per symbol with the ``COLUMNS`` keys.
    """
    seed = int(calibration["universe_seed"]) if market_seed is None else market_seed
    rng = Random(seed)
    n_symbols = int(calibration["symbols"])
    n_long = int(calibration["long_symbols"])
    n_parents = int(calibration["parent_orders"])
    named_rows = _named(calibration)
    # Stratified draws, one per symbol, for the price and the three liquidity terms.
    z_price = _stratified(rng, n_symbols)
    z_liquidity = _stratified(rng, n_symbols)
    z_depth = _stratified(rng, n_symbols)
    z_others = _stratified(rng, n_symbols)

    def price(i: int) -> int:
        median = calibration["price_median_usd"] * 100
        return max(100, round(median * math.exp(z_price[i] * calibration["price_sigma"])))

    def liquidity(i: int) -> tuple[float, float]:
        # One liquidity factor drives both a name's impact depth and the other
        # participants' volume in it: thin stocks are thin on both counts. Volume
        # grows faster than depth across names (the exponent), as trading does.
        # Dearer names are more liquid (large caps): the liquidity draw leans on the
        # price draw, so an expensive name is rarely also among the thinnest.
        rho = calibration["price_liquidity_correlation"]
        z = rho * z_price[i] + math.sqrt(1 - rho * rho) * z_liquidity[i]
        factor = math.exp(z * calibration["liquidity_sigma"])
        depth = (
            calibration["depth_median_shares"]
            * factor
            * math.exp(z_depth[i] * calibration["depth_noise_sigma"])
        )
        others = (
            calibration["others_median_shares_per_s"]
            * factor ** calibration["others_liquidity_exponent"]
            * math.exp(z_others[i] * calibration["others_noise_sigma"])
        )
        return round(depth), round(others, 2)

    rows: list[dict[str, Any]] = []
    for i, named in enumerate(named_rows):
        documented = (
            named["open"] is not None
            and named["side"] is not None
            and not named.get("open_is_model", False)
        )
        depth, others = liquidity(i)
        rows.append(
            {
                "symbol": named["symbol"],
                "synthetic": not documented,
                "open_cents": named["open"] if named["open"] is not None else price(i),
                "depth_shares": _named_depth(calibration, named) or depth,
                "others_shares_per_s": round(named["others"], 2) if "others" in named else others,
                "knight_side": named["side"],
                "source": named["source"],
            }
        )
    for i in range(n_symbols - len(rows)):
        depth, others = liquidity(len(named_rows) + i)
        rows.append(
            {
                "symbol": simulated_ticker(i + 1),
                "synthetic": True,
                "open_cents": price(len(named_rows) + i),
                "depth_shares": depth,
                "others_shares_per_s": others,
                "knight_side": None,
                "source": "simulated: drawn by smars_sim.core.universe from data/calibration.csv",
            }
        )
    # Parents: 212 orders over 154 names, so 58 names get two. Which ones is spread
    # over the range of weights (a randomly offset golden-ratio selection of the
    # ranks), so no draw gives the second parents only to the costliest names. A
    # name's weight is its price times the makers' lean per share (depth ** -0.6,
    # the impact law): roughly what a minute of Power Peg costs there.
    # The named stocks keep one parent each in every draw (kit's model: the record
    # does not say how many there were), so their documented paths do not depend
    # on the draw.
    for row in rows:
        row["knight_parents"] = 1
    n_named = len(named_rows)
    golden = (5**0.5 - 1) / 2
    offset = rng.random()
    by_price = sorted(
        range(n_named, len(rows)),
        key=lambda i: (rows[i]["open_cents"] * rows[i]["depth_shares"] ** -0.6, rows[i]["symbol"]),
    )
    keys = sorted(range(len(by_price)), key=lambda rank: ((rank * golden + offset) % 1.0, rank))
    for rank in keys[: n_parents - len(rows)]:
        rows[by_price[rank]]["knight_parents"] = 2

    # Sides: the record gives 80 net-long and 74 net-short names. Named symbols keep
    # their documented side. The rest are assigned greedily, biggest first, so that
    # the opening value of the short side is ``short_long_value_ratio`` times the
    # long side's, weighting each name by its price times the share of the morning its
    # parents run: a stock's second parent meets Power Peg only after every stock's
    # first (see smars_sim.core.engine), so it runs for less of it (_SECOND_PARENT).
    # Marked at the stop, the longs are worth more and the shorts less, because Power
    # Peg moved the prices.
    def weight(row: dict[str, Any]) -> float:
        return row["open_cents"] * (1 + _SECOND_PARENT * (row["knight_parents"] - 1))

    ratio = calibration["short_long_value_ratio"]
    total = sum(weight(r) for r in rows)
    target = {1: total / (1 + ratio), -1: total * ratio / (1 + ratio)}
    value = {1: 0.0, -1: 0.0}
    left = {1: n_long, -1: n_symbols - n_long}
    for row in rows:
        if row["knight_side"] is not None:
            value[row["knight_side"]] += weight(row)
            left[row["knight_side"]] -= 1
    free = sorted(
        (r for r in rows if r["knight_side"] is None), key=lambda r: (-weight(r), r["symbol"])
    )
    for row in free:
        if not left[-1]:
            side = 1
        elif not left[1]:
            side = -1
        else:  # the side further below its target value takes it
            side = 1 if target[1] - value[1] >= target[-1] - value[-1] else -1
        row["knight_side"] = side
        value[side] += weight(row)
        left[side] -= 1
    return rows


def render_csv(rows: list[dict[str, Any]]) -> str:
    """The CSV text of a universe, exactly as committed in ``data/symbols.csv``."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: ("true" if row[k] is True else "false" if row[k] is False else row[k])
                for k in COLUMNS
            }
        )
    return buffer.getvalue()


def _calibration() -> dict[str, float]:
    return {row["parameter"]: float(row["value"]) for row in load_table("calibration")}


def main() -> int:
    """Regenerate ``data/symbols.csv``."""
    target = Path(data_dir()) / "symbols.csv"
    target.write_text(render_csv(build_universe(_calibration())), encoding="utf-8")
    print(f"wrote {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
