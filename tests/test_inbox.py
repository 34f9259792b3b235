"""The morning's e-mail (smars_sim.analysis.inbox): the inbox and the counts per minute."""

from __future__ import annotations

import numpy as np
import pytest

from smars_sim import Scenario
from smars_sim.analysis.inbox import emails_per_minute, inbox, inbox_volume_data, slot_counts
from smars_sim.analysis.runs import run
from smars_sim.analysis.series import clock
from smars_sim.core.clock import OPEN_NS


@pytest.fixture(scope="module")
def small():
    return run(Scenario.small())


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.intp])
def test_slot_counts_matches_bincount_for_any_int_width(dtype):
    slots = np.array([0, 3, 3, 7, 1, 3], dtype=dtype)
    for n in (0, 5, 8, 12):
        expected = np.bincount(slots.astype(np.intp), minlength=n)
        got = slot_counts(slots, n)
        assert got.dtype == np.int64
        assert got.tolist() == expected.tolist()
    assert slot_counts(np.zeros(0, dtype=dtype), 3).tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="non-negative"):
        slot_counts(np.array([-1], dtype=dtype), 3)


def test_emails_per_minute_counts_every_email(small):
    data = emails_per_minute(small)
    assert int(data["emails"].sum()) == len(small.emails)
    assert (data["end"] - data["time"]).dt.total_seconds().eq(60).all()
    before_open = data[data["time"] < clock(OPEN_NS)]
    assert int(before_open["emails"].sum()) == sum(1 for e in small.emails if e[0] < OPEN_NS)


def test_inbox_volume_counts_both_kinds(small):
    mail = inbox(small)
    volume = inbox_volume_data(mail)
    assert set(volume["kind"]) == {"other e-mail", "BNET reject"}
    assert int(volume["count"].sum()) == len(mail)
