"""The 1 August 2012 replay against the public record.

One full-scale replay (about 10-15 s on this machine) is shared by the headline
check, the golden digest and the scale-stability comparison; everything else runs
at small scales.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from smars_sim import Scenario, replay
from smars_sim.core.fidelity import fidelity_rows, format_table, headlines_ok, loss_rates
from smars_sim.core.record import figure

#: sha256 of the executions of ``Scenario.aug1_2012()`` (seed 20120801, scale 1). It changes
#: only when the mechanism or the calibration changes deliberately: re-derive it then and
#: say why in the commit message.
GOLDEN_AUG1_DIGEST = "a325610dd4f25309446eb2cfb3e08984c7f84392246e9087bd2079f2007bebce"

HEADLINES = {
    "executions",
    "symbols traded",
    "shares traded",
    "net long",
    "net long symbols",
    "net short",
    "net short symbols",
    "realised loss",
    "duration (minutes)",
    "parent orders (via Power Peg)",
    "BNET e-mails before the open",
    "Knight >20% of volume, move >5%",
    "Knight >50% of volume, move >10%",
    "busted symbols (>=30% from the open)",
}


@pytest.fixture(scope="module")
def full():
    return replay(Scenario.aug1_2012())


@pytest.fixture(scope="module")
def coarse():
    return {scale: replay(Scenario.aug1_2012(scale=scale)) for scale in (0.01, 0.03, 0.1)}


def test_rows_cover_every_headline_with_a_source(coarse):
    rows = fidelity_rows(coarse[0.01])
    assert {r.figure for r in rows if r.headline} == HEADLINES
    for row in rows:
        assert row.source, row.figure
    executions = next(r for r in rows if r.figure == "executions")
    assert executions.scaled  # 0.01 of the executions, compared after dividing by the scale
    assert not next(r for r in rows if r.figure == "shares traded").scaled


def test_ok_flags_follow_the_tolerances(coarse):
    result = coarse[0.01]
    rows = {r.figure: r for r in fidelity_rows(result)}
    s = result.summary
    assert rows["symbols traded"].ok == (s.symbols_traded == 154)
    assert rows["realised loss"].ok == (460e6 <= s.loss_usd <= 483e6)
    assert rows["net long"].ok == (abs(s.long_usd / 3.5e9 - 1) <= 0.05)
    assert rows["BNET e-mails before the open"].ok == (s.bnet_emails == 97)
    assert headlines_ok(list(rows.values())) == all(r.ok for r in rows.values() if r.headline)
    text = format_table(list(rows.values()))
    assert "✓" in text or "✗" in text
    assert figure("loss_usd_min").source in text


def test_a_replay_outside_the_record_is_flagged():
    """A replay with no stale server trades almost nothing: the headlines must fail."""
    result = replay(Scenario.aug1_2012(scale=0.01, stale_servers=()))
    rows = {r.figure: r for r in fidelity_rows(result)}
    assert not rows["executions"].ok
    assert not rows["BNET e-mails before the open"].ok
    assert not headlines_ok(list(rows.values()))


def test_the_loss_rate_is_worse_after_the_rollback(coarse):
    before, after = loss_rates(coarse[0.1])
    assert after > before > 0
    # About $10M per minute on average over the run (record: ~$10.2M).
    s = coarse[0.1].summary
    assert 8e6 <= s.loss_usd / s.duration_minutes <= 12e6


@pytest.mark.parametrize("headline", sorted(HEADLINES))
def test_full_scale_matches_the_record(full, headline):
    row = next(r for r in fidelity_rows(full) if r.figure == headline)
    assert row.ok, f"{row.figure}: record {row.record}, replay {row.replay} ({row.tolerance})"


def test_golden_digest_of_the_default_scenario(full):
    assert full.summary.execution_digest == GOLDEN_AUG1_DIGEST


@pytest.mark.parametrize("scale", [0.01, 0.03, 0.1])
def test_figures_are_stable_across_scales(full, coarse, scale):
    """Shares, dollars, symbol and impact counts within ±5% of scale 1; counts of orders scale."""
    f, c = full.summary, coarse[scale].summary
    for key in (
        "shares_traded",
        "long_usd",
        "short_usd",
        "loss_usd",
        "symbols_traded",
        "long_symbols",
        "short_symbols",
        "impact_20_5",
        "impact_50_10",
    ):
        assert getattr(c, key) == pytest.approx(getattr(f, key), rel=0.05), key
    assert c.executions / scale == pytest.approx(f.executions, rel=0.05)
    assert c.child_orders / scale == pytest.approx(f.child_orders, rel=0.05)


def test_cli_fidelity_prints_the_table_and_json():
    run = subprocess.run(
        [sys.executable, "-m", "smars_sim.cli", "fidelity", "--scale", "0.01"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "record vs replay" in run.stdout
    assert "[SEC] ¶19" in run.stdout
    run = subprocess.run(
        [sys.executable, "-m", "smars_sim.cli", "fidelity", "--scale", "0.01", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    rows = json.loads(run.stdout)
    assert {r["figure"] for r in rows if r["headline"]} == HEADLINES
