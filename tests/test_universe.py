"""The symbol universe: ``data/symbols.csv`` is generated, and it keeps the record's shape."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from smars_sim.core.record import data_dir
from smars_sim.core.scenario import load_calibration, load_universe
from smars_sim.core.universe import COLUMNS, build_universe, render_csv

#: The tickers the record names (record §4). Everything else is synthetic.
NAMED = {"WZE", "CO", "EJ", "ARC", "CODE", "JWF", "ANF", "HOG", "EXC", "NOK", "BRK/B"}


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    text = (Path(data_dir()) / "symbols.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def test_symbols_csv_is_what_the_generator_makes():
    """Drift check: regenerate with ``python -m smars_sim.core.universe`` after changing either."""
    committed = (Path(data_dir()) / "symbols.csv").read_bytes()
    generated = render_csv(build_universe(load_calibration())).encode("utf-8")
    assert committed == generated, (
        "data/symbols.csv differs from render_csv(build_universe(calibration)); "
        "run `python -m smars_sim.core.universe`"
    )


def test_the_generator_is_deterministic():
    calibration = load_calibration()
    assert render_csv(build_universe(calibration)) == render_csv(build_universe(calibration))


def test_shape_of_the_record(rows):
    assert list(rows[0]) == list(COLUMNS)
    assert len(rows) == 154  # symbols Knight traded (SEC ¶1, ¶17)
    sides = [int(r["knight_side"]) for r in rows]
    assert sides.count(1) == 80 and sides.count(-1) == 74  # net long / net short names
    parents = [int(r["knight_parents"]) for r in rows]
    assert sum(parents) == 212  # parent orders (SEC ¶1, ¶17, ¶21)
    assert set(parents) <= {1, 2}
    assert len({r["symbol"] for r in rows}) == len(rows)


def test_named_and_synthetic_tickers(rows):
    tickers = {r["symbol"] for r in rows}
    assert tickers >= NAMED
    for r in rows:
        assert r["synthetic"] in ("true", "false")
        if r["symbol"] not in NAMED:
            assert r["symbol"].startswith("~S"), r["symbol"]  # no listed ticker has a "~"
            assert r["synthetic"] == "true", r["symbol"]
        assert r["source"].strip(), f"{r['symbol']} has no source"


def test_values_are_usable(rows):
    for r in rows:
        assert int(r["open_cents"]) >= 1
        assert float(r["depth_shares"]) > 0
        assert float(r["others_shares_per_s"]) >= 0


def test_documented_figures_are_kept(rows):
    """Named symbols with a documented open and direction keep them, and are not synthetic."""
    by = {r["symbol"]: r for r in rows}
    assert (by["WZE"]["open_cents"], by["WZE"]["knight_side"]) == ("360", "1")
    assert (by["CO"]["open_cents"], by["CO"]["knight_side"]) == ("247", "1")
    assert (by["HOG"]["open_cents"], by["HOG"]["knight_side"]) == ("4323", "-1")
    assert by["WZE"]["synthetic"] == by["HOG"]["synthetic"] == "false"
    assert by["ARC"]["synthetic"] == "true"  # its price and side are not in the record
    assert by["CODE"]["synthetic"] == "true"  # its open is the kit's model (the 09:31 peak)


def test_the_scenario_loads_the_same_universe(rows):
    specs = load_universe()
    assert [s.ticker for s in specs] == [r["symbol"] for r in rows]
    assert [s.synthetic for s in specs] == [r["synthetic"] == "true" for r in rows]
    assert [s.knight_parents for s in specs] == [int(r["knight_parents"]) for r in rows]


def test_market_draws_differ_only_in_the_simulated_part():
    calibration = load_calibration()
    stored = {r["symbol"]: r for r in build_universe(calibration)}
    for seed in (1, 2, 3):
        drawn = {r["symbol"]: r for r in build_universe(calibration, market_seed=seed)}
        assert list(drawn) == list(stored)
        for ticker, row in drawn.items():
            if not row["synthetic"]:
                assert row["open_cents"] == stored[ticker]["open_cents"], ticker
                assert row["knight_side"] == stored[ticker]["knight_side"], ticker
        assert sum(r["knight_side"] == 1 for r in drawn.values()) == 80
        assert sum(r["knight_parents"] for r in drawn.values()) == 212
        opens = [r["open_cents"] for r in drawn.values() if r["symbol"].startswith("~S")]
        assert opens != [r["open_cents"] for r in stored.values() if r["symbol"].startswith("~S")]


def test_simulated_tickers_cannot_be_mistaken_for_real_ones():
    from smars_sim.core.universe import SIMULATED_PREFIX, simulated_ticker

    assert simulated_ticker(12) == "~S012"
    assert not SIMULATED_PREFIX.isalnum()
