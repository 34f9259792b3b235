"""Builds: content hashes that track what a build would run, and routing through a build."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from smars_sim import FLAG, OLD_BUILD, RLP_BUILD, Build, ParentOrder
from smars_sim.core.builds import old_build, rlp_build
from smars_sim.core.router import (
    power_peg,
    rlp,
    route_pre_rlp,
    route_rlp,
    route_without_flags,
    standard,
)


def _parent(retail: bool = True) -> ParentOrder:
    return ParentOrder(1, 0, 1, 100, 0, retail=retail, for_open=retail)


def _same_name_other_source():
    """Functions named like the real router and path, with different bodies."""

    def route_pre_rlp(flags, parent, flag):  # same name as the real router
        return power_peg if flags.get(flag) and parent.retail else standard

    def standard(server, parent, now):  # same name as the real path
        return False

    return route_pre_rlp, standard


ALL_BUILDS = {
    "old": old_build(),
    "old-clean": old_build(with_power_peg=False),
    "rlp": rlp_build(),
    "rlp-clean": rlp_build(with_power_peg=False),
}


def test_hashes_differ_between_builds():
    hashes = [b.sha256 for b in ALL_BUILDS.values()]
    assert len(set(hashes)) == len(hashes)
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in hashes)
    assert OLD_BUILD.short_hash == OLD_BUILD.sha256[:12]


def test_hashes_are_stable_across_calls():
    assert old_build().sha256 == old_build().sha256 == OLD_BUILD.sha256
    assert rlp_build().sha256 == rlp_build().sha256 == RLP_BUILD.sha256


def test_hashes_are_stable_across_processes():
    code = "from smars_sim import OLD_BUILD, RLP_BUILD; print(OLD_BUILD.sha256, RLP_BUILD.sha256)"
    outputs = set()
    for seed in ("0", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        outputs.add(proc.stdout.strip())
    assert outputs == {f"{OLD_BUILD.sha256} {RLP_BUILD.sha256}"}


def test_hash_covers_the_source_of_the_router():
    fake_router, _ = _same_name_other_source()
    assert fake_router.__name__ == route_pre_rlp.__name__
    real = Build("v", route_pre_rlp, (standard, power_peg))
    other = Build("v", fake_router, (standard, power_peg))
    assert real.sha256 != other.sha256


def test_hash_covers_the_source_of_every_code_path():
    _, fake_standard = _same_name_other_source()
    assert fake_standard.__name__ == standard.__name__
    real = Build("v", route_pre_rlp, (standard, power_peg))
    other = Build("v", route_pre_rlp, (fake_standard, power_peg))
    assert real.path_names == other.path_names  # the manifest alone cannot tell them apart
    assert real.sha256 != other.sha256


@pytest.mark.parametrize(
    "change",
    [
        {"version": "v2"},
        {"router": route_rlp},
        {"paths": (standard,)},
        {"flag": "another-flag"},
    ],
)
def test_hash_covers_the_manifest(change):
    base = {"version": "v", "router": route_pre_rlp, "paths": (standard, power_peg), "flag": FLAG}
    assert Build(**base).sha256 != Build(**{**base, **change}).sha256


def test_hash_ignores_path_order_and_notes():
    a = Build("v", route_rlp, (standard, rlp, power_peg), notes="one")
    b = Build("v", route_rlp, (power_peg, standard, rlp), notes="two")
    assert a.sha256 == b.sha256


def test_builds_are_immutable():
    with pytest.raises(AttributeError):
        OLD_BUILD.version = "tampered"  # type: ignore[misc]


def test_contents():
    assert OLD_BUILD.contains("power_peg") and OLD_BUILD.contains(power_peg)
    assert not OLD_BUILD.contains("rlp")
    assert RLP_BUILD.contains(rlp) and RLP_BUILD.contains("power_peg")  # dead but present
    assert not rlp_build(with_power_peg=False).contains("power_peg")
    assert not old_build(with_power_peg=False).contains("power_peg")
    assert old_build(with_power_peg=False).router is route_without_flags


@pytest.mark.parametrize(
    ("build", "retail", "flags", "expected"),
    [
        (OLD_BUILD, True, {FLAG: True}, power_peg),
        (OLD_BUILD, False, {FLAG: True}, power_peg),
        (OLD_BUILD, True, {FLAG: False}, standard),
        (OLD_BUILD, True, {}, standard),
        (RLP_BUILD, True, {FLAG: True}, rlp),
        (RLP_BUILD, False, {FLAG: True}, standard),
        (RLP_BUILD, True, {}, standard),
        (old_build(with_power_peg=False), True, {FLAG: True}, standard),
        (rlp_build(with_power_peg=False), True, {FLAG: True}, rlp),
    ],
)
def test_build_route(build, retail, flags, expected):
    assert build.route(flags, _parent(retail)) is expected


def test_build_reads_its_own_flag_key():
    build = rlp_build(flag="rlp-2012")
    assert build.route({FLAG: True}, _parent()) is standard
    assert build.route({"rlp-2012": True}, _parent()) is rlp
    assert old_build(flag="rlp-2012").route({FLAG: True}, _parent()) is standard


def test_route_refuses_a_path_the_build_does_not_contain():
    broken = Build("broken", route_pre_rlp, (standard,))
    assert broken.route({}, _parent()) is standard
    with pytest.raises(RuntimeError, match="power_peg"):
        broken.route({FLAG: True}, _parent())
    broken_rlp = Build("broken-rlp", route_rlp, (standard, power_peg))
    with pytest.raises(RuntimeError, match=r"broken-rlp.*rlp"):
        broken_rlp.route({FLAG: True}, _parent(retail=True))
