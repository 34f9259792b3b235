"""The routing functions and the code paths, driven with a stand-in server."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from smars_sim import FLAG, ParentOrder
from smars_sim.core.router import (
    AT_TOUCH,
    path_name,
    power_peg,
    rlp,
    route_pre_rlp,
    route_rlp,
    route_without_flags,
    standard,
)


@dataclass
class FakeExchange:
    is_open: bool = True


@dataclass
class FakeServer:
    """Records what a code path asks the server to do; fills nothing unless told to."""

    exchange: FakeExchange = field(default_factory=FakeExchange)
    peg_lot: int = 100
    fill: bool = False
    sent: list[tuple[int, int | None, int]] = field(default_factory=list)
    posted: list[int] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def send_child(self, parent, price, qty, now):
        self.sent.append((parent.id, price, qty))
        if self.fill:  # what the fill handler does since 2005
            parent.filled_qty += qty

    def post_rlp(self, parent, now):
        self.posted.append(parent.id)

    def reject_bnet(self, parent, reason, now):
        parent.rejected = reason
        self.rejected.append((parent.id, reason))


def _parent(qty=300, retail=True) -> ParentOrder:
    return ParentOrder(7, 0, 1, qty, 0, retail=retail, for_open=retail)


@pytest.mark.parametrize("retail", [True, False])
def test_route_pre_rlp_sends_every_flagged_parent_to_power_peg(retail):
    assert route_pre_rlp({FLAG: True}, _parent(retail=retail), FLAG) is power_peg
    assert route_pre_rlp({FLAG: False}, _parent(retail=retail), FLAG) is standard
    assert route_pre_rlp({}, _parent(retail=retail), FLAG) is standard


def test_route_rlp_sends_flagged_retail_to_rlp_and_the_rest_to_standard():
    assert route_rlp({FLAG: True}, _parent(retail=True), FLAG) is rlp
    assert route_rlp({FLAG: True}, _parent(retail=False), FLAG) is standard
    assert route_rlp({FLAG: False}, _parent(retail=True), FLAG) is standard
    assert route_rlp({"other": True}, _parent(retail=True), FLAG) is standard
    assert route_rlp({"other": True}, _parent(retail=True), "other") is rlp


def test_route_without_flags_ignores_the_flags():
    for flags in ({}, {FLAG: True}, {FLAG: False}):
        assert route_without_flags(flags, _parent(), FLAG) is standard


def test_path_names():
    assert [path_name(p) for p in (standard, rlp, power_peg)] == ["standard", "rlp", "power_peg"]


def test_standard_asks_for_what_is_left_and_stops_when_filled():
    server = FakeServer(fill=True)
    parent = _parent(qty=300)
    parent.filled_qty = 120
    assert standard(server, parent, 0) is False  # filled now: nothing more to do
    assert server.sent == [(7, AT_TOUCH, 180)]
    assert standard(server, parent, 1) is False
    assert len(server.sent) == 1  # a filled parent sends nothing


def test_standard_keeps_working_while_unfilled_and_waits_for_held_orders():
    server = FakeServer(fill=False)
    parent = _parent(qty=300)
    assert standard(server, parent, 0) is True
    parent.held_qty = 300  # the exchange holds a child until the open
    assert standard(server, parent, 1) is False
    assert len(server.sent) == 1


def test_rlp_posts_once_and_never_more_than_the_parent():
    server = FakeServer()
    parent = _parent()
    assert rlp(server, parent, 0) is False
    assert server.posted == [7] and server.sent == []
    parent.filled_qty = parent.qty
    assert rlp(server, parent, 1) is False
    assert server.posted == [7]


def test_power_peg_never_stops_even_when_the_parent_is_filled():
    """The 2005 defect: fills update filled_qty, Power Peg checks peg_cum_qty."""
    server = FakeServer(fill=True, peg_lot=100)
    parent = _parent(qty=300)
    for tick in range(20):
        assert power_peg(server, parent, tick) is True
    assert len(server.sent) == 20
    assert parent.filled_qty == 2_000 > parent.qty
    assert parent.peg_cum_qty == 0  # nothing advances its stop counter
    assert all(qty == server.peg_lot and price is AT_TOUCH for _, price, qty in server.sent)


def test_power_peg_would_stop_if_its_counter_were_advanced():
    server = FakeServer()
    parent = _parent(qty=300)
    parent.peg_cum_qty = 300
    assert power_peg(server, parent, 0) is False
    assert server.sent == []


def test_power_peg_before_the_open_rejects_and_emails():
    server = FakeServer(exchange=FakeExchange(is_open=False))
    parent = _parent()
    assert power_peg(server, parent, 0) is False
    assert server.sent == []
    assert server.rejected == [(7, "Power Peg disabled")]
    assert parent.rejected == "Power Peg disabled" and not parent.is_open
