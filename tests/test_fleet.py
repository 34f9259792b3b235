"""The fleet: the manual deploy, flags, servers sending child orders, stops and re-installs."""

from __future__ import annotations

import pytest

from smars_sim import BUY, FLAG, OLD_BUILD, RLP_BUILD, SELL, Fleet, ParentOrder
from smars_sim.core.clock import OPEN_NS
from smars_sim.core.fleet import CHILD_FIELDS, EXEC_FIELDS, PATH_CODES, Ledger
from smars_sim.core.pnl import marked_cents

WOKEN: list[tuple[int, int]] = []


@pytest.fixture
def fleet(market):
    exchange, _ = market(prices=(10_000, 2_000))
    WOKEN.clear()
    return Fleet(
        3,
        OLD_BUILD,
        exchange,
        [10_000, 2_000],
        peg_lot=50,
        wake=lambda server, now: WOKEN.append((server.id, now)),
    )


def _parent(fleet, pid=1, symbol=0, side=BUY, qty=200, retail=True, for_open=True):
    parent = ParentOrder(pid, symbol, side, qty, 0, retail=retail, for_open=for_open)
    fleet.parents[pid] = parent
    return parent


def _children(fleet):
    width = len(CHILD_FIELDS)
    return [tuple(fleet.children[i : i + width]) for i in range(0, len(fleet.children), width)]


def test_manual_deploy_misses_the_given_servers(fleet):
    fleet.manual_deploy(RLP_BUILD, miss=[3], when="test:")
    assert [s.build for s in fleet.servers] == [RLP_BUILD, RLP_BUILD, OLD_BUILD]
    actions = [(e.action, e.server) for e in fleet.timeline]
    assert actions == [("deploy", 1), ("deploy", 2), ("deploy skipped", 3)]
    assert RLP_BUILD.short_hash in fleet.timeline[0].detail
    assert OLD_BUILD.version in fleet.timeline[2].detail


@pytest.mark.parametrize("bad", [0, 4, -1])
def test_server_lookup_refuses_unknown_ids(fleet, bad):
    with pytest.raises(ValueError, match=rf"server {bad} does not exist; servers are 1\.\.3"):
        fleet.server(bad)
    assert fleet.server(3).id == 3


def test_set_flag_and_the_flag_guard(fleet):
    assert fleet.set_flag(FLAG, True, 5) is True
    assert fleet.flags[FLAG] is True
    fleet.flag_guard = lambda name, value, now: "frozen for the test" if name == FLAG else None
    assert fleet.set_flag(FLAG, False, 6) is False
    assert fleet.flags[FLAG] is True  # refused: unchanged
    assert fleet.set_flag("other", True, 7) is True
    actions = [(e.action, e.detail) for e in fleet.timeline]
    assert actions[0] == ("flag on", FLAG)
    assert actions[1][0] == "flag change refused" and "frozen for the test" in actions[1][1]
    assert actions[2] == ("flag on", "other")


def test_auction_parents_wait_for_the_open(fleet):
    fleet.set_flag(FLAG, True, 0)
    server = fleet.server(1)
    parent = _parent(fleet)
    server.accept(parent, 10)
    assert parent.server == 1 and server.waiting == [parent] and parent.path == ""
    fleet.exchange.open(OPEN_NS)
    server.open(OPEN_NS)
    assert server.waiting == [] and parent.path == "power_peg"
    assert parent.ran_power_peg and parent.first_child == OPEN_NS
    assert WOKEN == [(1, OPEN_NS)]


def test_a_stopped_server_rejects_new_parents(fleet):
    server = fleet.server(2)
    server.stop(100)
    parent = _parent(fleet)
    server.accept(parent, 200)
    assert parent.rejected == "server stopped" and parent.server == 2
    assert fleet.children == type(fleet.children)("q")
    server.stop(300)
    assert server.stopped_at == 100  # stopping twice keeps the first time


def test_send_child_books_fills_in_the_ledger_and_logs(fleet):
    fleet.exchange.open(OPEN_NS)
    server = fleet.server(1)
    buy = _parent(fleet, 1, symbol=0, side=BUY, qty=100)
    sell = _parent(fleet, 2, symbol=1, side=SELL, qty=60)
    for p in (buy, sell):
        p.path, p.path_code = "standard", PATH_CODES["standard"]
    server.send_child(buy, None, 100, OPEN_NS + 1)
    server.send_child(sell, None, 60, OPEN_NS + 2)
    ledger = fleet.ledger
    assert ledger.position == [100, -60]
    assert ledger.traded == [100, 60]
    assert buy.filled_qty == 100 and sell.filled_qty == 60
    width = len(EXEC_FIELDS)
    rows = [tuple(fleet.journal[i : i + width]) for i in range(0, len(fleet.journal), width)]
    cash = sum((-1 if r[1] == 1 else 1) * r[2] * r[3] for r in rows)
    assert ledger.cash == cash
    assert {r[1] for r in rows} == {1, 2}  # executions name the child ids
    children = _children(fleet)
    assert [(c[0], c[1], c[3], c[4]) for c in children] == [
        (OPEN_NS + 1, 1, 100, 0),
        (OPEN_NS + 2, 2, 60, 0),
    ]
    assert children[0][2] > 0  # an at-touch child logs the price it filled at
    assert fleet.next_child_id == 3
    assert fleet.exchange.maker_position == [-100, 60]


def test_children_sent_before_the_open_are_held_and_booked_at_release(fleet):
    server = fleet.server(1)
    parent = _parent(fleet, 1, qty=100, for_open=False)
    parent.path, parent.path_code = "standard", PATH_CODES["standard"]
    server.send_child(parent, None, 100, 500)
    assert parent.held_qty == 100 and parent.filled_qty == 0
    assert _children(fleet) == [(500, 1, 0, 100, 0)]
    fleet.exchange.open(OPEN_NS)
    assert parent.held_qty == 0
    assert parent.filled_qty == fleet.ledger.position[0] > 0
    assert fleet.journal[0] == OPEN_NS and fleet.journal[1] == 1


def test_the_gate_can_refuse_a_child(fleet):
    fleet.exchange.open(OPEN_NS)

    class Gate:
        def __init__(self) -> None:
            self.recorded: list[tuple[int, int, int]] = []

        def allow(self, server, parent, price, qty, now):
            return qty <= 50

        def record(self, server, parent, qty, filled, notional, now):
            self.recorded.append((parent.id, qty, filled))

    gate = fleet.gate = Gate()
    server = fleet.server(1)
    parent = _parent(fleet, qty=500)
    server.send_child(parent, None, 500, OPEN_NS)
    assert len(fleet.children) == 0 and fleet.ledger.position == [0, 0]
    server.send_child(parent, None, 50, OPEN_NS + 1)
    assert len(_children(fleet)) == 1 and gate.recorded == [(1, 50, 50)]


def test_stop_ends_ticking_and_cancels_rlp_orders(fleet):
    fleet.manual_deploy(RLP_BUILD)
    fleet.set_flag(FLAG, True, 0)
    fleet.exchange.open(OPEN_NS)
    server = fleet.server(1)
    parent = _parent(fleet, qty=100)
    server.accept(parent, OPEN_NS)
    assert parent.path == "rlp" and fleet.rlp_resting == {1: [parent]}
    server.stop(OPEN_NS + 5)
    assert fleet.rlp_resting == {} and not server.running
    server.working = [(parent, lambda *a: True)]
    assert server.tick(OPEN_NS + 6) is False and server.working == []


def test_install_leaves_rlp_orders_and_routes_new_arrivals_through_the_old_build(fleet):
    """SEC ¶27: after the rollback, *additional incoming* parents activate Power Peg.

    Orders resting in the RLP stay at the exchange (the kit's model): a restart does
    not take them back and re-route them.
    """
    fleet.manual_deploy(RLP_BUILD)
    fleet.set_flag(FLAG, True, 0)
    fleet.exchange.open(OPEN_NS)
    server = fleet.server(1)
    resting = _parent(fleet, 1, qty=100)
    server.accept(resting, OPEN_NS)  # RLP: rests, stays open
    filled = _parent(fleet, 2, qty=100, retail=False, for_open=False)
    server.accept(filled, OPEN_NS)  # standard: fills at once
    assert filled.filled_qty == 100 and not filled.is_open
    server.install(OLD_BUILD, OPEN_NS + 10)
    assert server.build is OLD_BUILD
    assert resting.path == "rlp" and fleet.rlp_resting == {1: [resting]}
    assert filled.path == "standard"  # a filled parent is not re-routed
    assert server.working == []
    arriving = _parent(fleet, 3, qty=100)
    arriving.peg_cum_qty = 0
    server.accept(arriving, OPEN_NS + 20)
    assert arriving.path == "power_peg"
    assert [p for p, _ in server.working] == [arriving]


def test_install_on_a_stopped_server_starts_nothing(fleet):
    fleet.manual_deploy(RLP_BUILD)
    fleet.set_flag(FLAG, True, 0)
    fleet.exchange.open(OPEN_NS)
    server = fleet.server(1)
    parent = _parent(fleet, qty=100)
    server.accept(parent, OPEN_NS)
    server.stop(OPEN_NS + 1)
    children = len(fleet.children)
    server.install(OLD_BUILD, OPEN_NS + 2)
    assert server.working == [] and len(fleet.children) == children


def test_ledger_value():
    ledger = Ledger(2)
    ledger.cash = -1_000
    ledger.position = [10, -5]
    assert marked_cents(ledger.cash, ledger.position, [100.0, 40.0]) == -1_000 + 1_000 - 200
