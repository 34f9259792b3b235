"""Notebook 08's red headline names the servers whose check failed, computed from their reports."""

from __future__ import annotations

import pytest

from smars_sim.fixes.contrasts import RELEASES
from smars_sim.ui.fix_models import RLP_RELEASE, DeployLabModel

BAD = next(r for r in RELEASES if r != RLP_RELEASE)


@pytest.fixture(scope="module")
def model() -> DeployLabModel:
    return DeployLabModel()


@pytest.mark.parametrize(
    ("missed", "named"), [([3, 5], "servers 3, 5"), ([8], "server 8"), ([1], "server 1")]
)
def test_the_headline_names_the_missed_servers_only(
    model: DeployLabModel, missed: list[int], named: str
) -> None:
    model.set(missed=missed, unreachable=0, release=RLP_RELEASE)
    head = model.headline()
    assert head.startswith(f"rollout FAILED: {named} reported a hash other than the release's")
    others = [k for k in range(1, 9) if k not in missed]
    # no other server is named anywhere in the headline
    assert not any(f"{k}," in head or f"{k} " in head for k in others)
    assert model.describe().splitlines()[0] == head
    assert "REFUSED" in head


def test_a_silent_server_and_a_bad_release_are_named_as_such(model: DeployLabModel) -> None:
    model.set(missed=[], unreachable=4, release=RLP_RELEASE)
    assert "server 4 sent no hash report" in model.headline()
    model.set(missed=[], unreachable=0, release=BAD)
    assert "the canary's analysis: FAIL" in model.headline()
    model.set(missed=[], unreachable=0, release=RLP_RELEASE)
    assert model.headline() == "rollout SUCCEEDED; turning 'powerpeg' on is allowed"
