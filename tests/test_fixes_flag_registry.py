"""The ``flag-registry`` fix: lifecycle, tombstones, fresh keys, OpenFeature evaluation."""

from __future__ import annotations

import gc
from datetime import date

import pytest
from fix_variants import SMALL_VARIANTS, unfixed_loss
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

from smars_sim import Scenario, Simulation, replay
from smars_sim.cli import main
from smars_sim.core.builds import rlp_build
from smars_sim.fixes import flag_registry
from smars_sim.fixes.flag_registry import RLP_FLAG, FlagRegistry, FlagView, stale_flags

_unfixed_loss = unfixed_loss


def _registry() -> FlagRegistry:
    reg = FlagRegistry()
    reg.register_legacy("powerpeg", type="release", owner="smars")
    reg.retire("powerpeg", reason="Power Peg stopped in 2003")
    reg.create(RLP_FLAG, type="release", owner="rlp-team", created=date(2012, 7, 27))
    return reg


# ----------------------------------------------------------------- lifecycle
def test_every_flag_has_type_owner_dates_and_state():
    reg = _registry()
    spec = reg.flags[RLP_FLAG]
    assert (spec.type, spec.owner, spec.created, spec.state) == (
        "release",
        "rlp-team",
        date(2012, 7, 27),
        "active",
    )
    assert spec.expires == date(2012, 9, 5)  # a release flag lives 40 days (Unleash)
    assert reg.flags["powerpeg"].state == "retired" and reg.flags["powerpeg"].tombstoned


def test_tombstoned_keys_cannot_be_created_bound_or_set():
    reg = _registry()
    with pytest.raises(ValueError, match=r"tombstoned.*single-use"):
        reg.register_legacy("powerpeg", type="release", owner="someone")
    with pytest.raises(ValueError, match="tombstoned"):
        reg.bind("powerpeg", rlp_build(flag="powerpeg"))
    with pytest.raises(ValueError, match="tombstoned"):
        reg.set("powerpeg", True)
    with pytest.raises(ValueError, match="tombstoned"):
        reg.view()["powerpeg"] = True
    assert "tombstoned" in (reg.guard("powerpeg", True, 0) or "")


def test_creation_is_checked():
    reg = _registry()
    with pytest.raises(ValueError, match="already exists"):
        reg.create(RLP_FLAG, type="release", owner="x", created=date(2012, 8, 1))
    with pytest.raises(ValueError, match="naming pattern"):
        reg.create("RLP", type="release", owner="x", created=date(2012, 8, 1))
    with pytest.raises(ValueError, match="flag type"):
        reg.create("smars.a.b", type="forever", owner="x", created=date(2012, 8, 1))
    with pytest.raises(ValueError, match="owner"):
        reg.create("smars.a.b", type="release", owner=" ", created=date(2012, 8, 1))
    with pytest.raises(ValueError, match="not in the flag registry"):
        reg.set("smars.unknown.flag", True)
    with pytest.raises(TypeError, match="retire"):
        del reg.view()[RLP_FLAG]


# ---------------------------------------------------------------- OpenFeature
def test_retired_key_evaluates_to_the_default_with_the_error_code_visible():
    reg = _registry()
    details = reg.details("powerpeg", False)
    assert details.value is False
    assert details.reason == Reason.ERROR
    assert details.error_code == ErrorCode.GENERAL
    assert "retired" in (details.error_message or "")
    assert reg.retired_reads["powerpeg"] == 1


def test_active_key_evaluates_through_the_provider_with_metadata():
    reg = _registry()
    assert reg.view().get(RLP_FLAG, False) is False
    reg.set(RLP_FLAG, True)
    details = reg.details(RLP_FLAG)
    assert details.value is True and details.error_code is None
    assert details.flag_metadata["owner"] == "rlp-team"
    assert details.flag_metadata["expires"] == "2012-09-05"
    unknown = reg.details("smars.never.created", False)
    assert unknown.value is False and unknown.error_code == ErrorCode.FLAG_NOT_FOUND
    view = reg.view()
    assert isinstance(view, FlagView) and dict(view) == {RLP_FLAG: True}
    with pytest.raises(KeyError):
        view["smars.never.created"]


def test_two_simulations_in_one_process_do_not_share_flags():
    a = Simulation(Scenario.small(fixes=("flag-registry",)))
    b = Simulation(Scenario.small(fixes=("flag-registry",), flag="legacy_peg"))
    ra, rb = a.fleet.flags.registry, b.fleet.flags.registry
    assert ra.domain != rb.domain
    a.advance_to("09:00")  # operations turned a's RLP flag on at 08:59
    assert a.fleet.flags.get(RLP_FLAG, False) is True
    assert b.fleet.flags.get(RLP_FLAG, False) is False  # b has not got there yet
    assert "legacy_peg" in rb.flags and "legacy_peg" not in ra.flags
    b.run()
    a.run()
    assert a.fleet.flags.get(RLP_FLAG) is True and b.fleet.flags.get(RLP_FLAG) is True


def test_openfeature_domains_are_reused_not_leaked():
    before = set(flag_registry._free_domains)
    reg = FlagRegistry()
    domain = reg.domain
    reg.close()
    assert domain in flag_registry._free_domains
    again = FlagRegistry()
    assert again.domain in before | {domain}
    del reg, again
    gc.collect()


# -------------------------------------------------------------------- the fix
def test_rlp_release_gets_a_fresh_key_and_the_stale_server_ignores_it():
    sim = Simulation(Scenario.small(fixes=("flag-registry",)))
    assert sim.rlp_flag == RLP_FLAG
    assert sim.new_build.flag == RLP_FLAG and sim.old_build.flag == "powerpeg"
    reg = sim.fleet.flags.registry
    assert reg.flags["powerpeg"].tombstoned
    assert sim.new_build.version in reg.flags[RLP_FLAG].readers
    result = sim.run()
    assert not any(p.ran_power_peg for p in result.parents)
    assert {p.path for p in result.parents if p.server == 3 and p.path} == {"standard"}
    assert reg.retired_reads["powerpeg"] > 0
    read = [e for e in result.timeline if e.action == "retired key read"]
    assert read and "served the default False" in read[0].detail


def test_turning_the_retired_key_on_is_refused_in_the_timeline():
    sim = Simulation(Scenario.small(fixes=("flag-registry",)))
    sim.set_flag("powerpeg", True, at="09:20", actor="operator")
    result = sim.run()
    refused = [e for e in result.timeline if e.action == "flag change refused"]
    assert refused and "tombstoned" in refused[0].detail
    assert not any(p.ran_power_peg for p in result.parents)


@pytest.mark.parametrize(("name", "kw"), SMALL_VARIANTS)
def test_loss_at_most_one_percent_over_variants(name, kw):
    fixed = replay(Scenario.named(name, fixes=("flag-registry",), **kw)).summary
    assert fixed.parent_orders == 0
    assert fixed.loss_usd <= 0.01 * _unfixed_loss(name, **kw)


def test_reusing_the_fresh_key_as_the_old_flag_is_refused():
    with pytest.raises(ValueError, match="tombstoned"):
        Simulation(Scenario.small(fixes=("flag-registry",), flag=RLP_FLAG))


def test_cli_refuses_a_tombstoned_key_in_one_line(capsys):
    code = main(["replay", "--scenario", "small", "--fix", "flag-registry", "--flag", RLP_FLAG])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "tombstoned" in err and "Traceback" not in err


# ---------------------------------------------------------------- stale report
def test_stale_report():
    sim = Simulation(Scenario.small(fixes=("flag-registry",)))
    reg = sim.fleet.flags.registry
    on_the_day = {f.key: f for f in stale_flags(reg)}
    # The retired key is still in the source (builds.py's FLAG): delete the code path.
    assert "powerpeg" in on_the_day
    assert any("builds.py" in ref for ref in on_the_day["powerpeg"].references)
    assert RLP_FLAG not in on_the_day  # fresh and read by the release build
    later = {f.key: f for f in stale_flags(reg, today=date(2012, 10, 1))}
    assert "past its expiry 2012-09-05" in later[RLP_FLAG].reasons[0]


def test_stale_report_finds_unreferenced_flags(tmp_path):
    (tmp_path / "code.py").write_text("FLAG = 'smars.used.flag'\n", encoding="utf-8")
    reg = FlagRegistry()
    reg.create("smars.used.flag", type="kill-switch", owner="x", created=date(2012, 1, 1))
    reg.create("smars.orphan.flag", type="kill-switch", owner="x", created=date(2012, 1, 1))
    report = {f.key: f for f in stale_flags(reg, source_root=tmp_path)}
    assert list(report) == ["smars.orphan.flag"]
    assert "referenced nowhere" in report["smars.orphan.flag"].reasons[0]
    assert reg.flags["smars.used.flag"].expires is None  # kill-switch flags are permanent
