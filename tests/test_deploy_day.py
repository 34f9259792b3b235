"""Notebook 02's deploy-day panel (smars_sim.ui.deploy_day), headless: tick, click, read."""

from __future__ import annotations

import pytest

from smars_sim import Scenario
from smars_sim.analysis.runs import run
from smars_sim.ui.deploy_day import DeployDay

SMALL = Scenario.small()

pytestmark = pytest.mark.usefixtures("offline_renderer")


def test_deploy_checklist_and_checks():
    deploy = DeployDay(SMALL)
    assert deploy.missed() == [1, 2, 3]  # nothing copied yet
    deploy.technician_button.click()
    assert deploy.missed() == [3]
    rows = {r["check"]: r["reveals"] for r in deploy.check_rows()}
    assert rows["Ask the technician"] == "no"
    assert rows["Spot-check server 1's build"] == "no"
    assert rows["Send a test order with the flag off"] == "no"
    assert rows["Compare every server's build hash with the release"] == "YES"
    assert rows["Send a test retail order to each server with the flag on"] == "YES"
    assert "power_peg()" in deploy.fleet_html.value
    deploy.boxes[0].value = False  # miss server 1 as well: the spot check now sees it
    rows = {r["check"]: r["reveals"] for r in deploy.check_rows()}
    assert rows["Spot-check server 1's build"] == "YES"
    deploy.all_button.click()
    assert deploy.missed() == []
    assert {r["reveals"] for r in deploy.check_rows()} == {"no"}
    assert "power_peg()" not in deploy.fleet_html.value


def test_deploy_run_the_morning_uses_the_fleet():
    deploy = DeployDay(SMALL)
    deploy.technician()
    deploy.run_button.click()
    missed = run(SMALL.with_(stale_servers=(3,)))
    assert deploy.runs[-1]["fleet"] == "missed: 3"
    assert deploy.runs[-1]["bnet_emails"] == missed.summary.bnet_emails
    deploy.copy_all()
    clean = deploy.run_morning()
    assert clean.scenario.stale_servers == () and clean.scenario.rollback_at is None
    assert [r["fleet"] for r in deploy.runs] == ["missed: 3", "missed: none"]
    assert len(deploy.view.data) == 2
    assert "Worst so far: missed: 3" in deploy.view.describe()
    deploy.reset_button.click()
    assert deploy.runs == [] and deploy.missed() == [1, 2, 3]
