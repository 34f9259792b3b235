"""docs/architecture.md's recipe "Add a fix", followed to the letter on a copy of the package.

Issue 13: adding a fix should mean one module and one registry entry. Here a toy fix is
added that way to a copy of ``smars_sim`` (nothing else in the copy is edited), and the
CLI's ``--fix``, ``Scenario(fixes=...)``, ``whatif``'s combinations and the course's
control tables all know it: they read the registry, never a list of their own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: The new fix's module, as docs/architecture.md asks: ``NAME`` and ``install(sim)``,
#: noting the moment it acts with ``control=NAME``.
TOY_MODULE = '''"""A toy fix for the recipe's test: it notes the opening bell on the timeline."""

from ..core.clock import OPEN_NS

NAME = "open-bell"


def install(sim):
    def ring(now):
        sim.fleet.note(now, NAME, "rang the opening bell", control=NAME)

    sim.call_at(OPEN_NS, ring)
'''

#: The one registry entry, appended to ``SPECS``.
TOY_SPEC = """    FixSpec(
        name="open-bell",
        mends="nobody heard the open",
        does="Notes the opening bell on the timeline.",
        module="open_bell",
        control="open-bell",
    ),
)

#: Fix name -> installer"""

PROBE = """
import json
from smars_sim import Scenario, replay
from smars_sim.analysis.controls import control_actions
from smars_sim.analysis.whatif import fix_combinations
from smars_sim.fixes import AVAILABLE, spec

result = replay(Scenario.aug1_2012(scale=0.01, fixes=("open-bell",)))
print(json.dumps({
    "available": list(AVAILABLE),
    "combinations": len(fix_combinations()),
    "with_it": sum("open-bell" in c for c in fix_combinations()),
    "controls": sorted({a.control for a in control_actions(result)}),
    "mends": spec("open-bell").mends,
}))
"""


@pytest.fixture(scope="module")
def package_with_a_new_fix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("recipe")
    shutil.copytree(
        REPO / "smars_sim", root / "smars_sim", ignore=shutil.ignore_patterns("__pycache__")
    )
    (root / "data").symlink_to(REPO / "data")  # the record's tables, read as in a clone
    fixes = root / "smars_sim" / "fixes"
    (fixes / "open_bell.py").write_text(TOY_MODULE)
    registry = fixes / "__init__.py"
    text = registry.read_text()
    anchor = "\n)\n\n#: Fix name -> installer"
    assert text.count(anchor) == 1, "the recipe's anchor moved: update this test"
    registry.write_text(text.replace(anchor, "\n" + TOY_SPEC))
    return root


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, cwd=root, timeout=300
    )


def test_the_copy_is_the_copy(package_with_a_new_fix: Path) -> None:
    done = _run(package_with_a_new_fix, "-c", "import smars_sim; print(smars_sim.__file__)")
    assert done.stdout.strip() == str(package_with_a_new_fix / "smars_sim" / "__init__.py")


def test_one_module_and_one_entry_reach_scenario_whatif_and_the_controls(
    package_with_a_new_fix: Path,
) -> None:
    done = _run(package_with_a_new_fix, "-c", PROBE)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["available"] == [
        "dead-code",
        "flag-registry",
        "verified-deploy",
        "kill-switch",
        "open-bell",
    ]
    assert seen["combinations"] == 32 and seen["with_it"] == 16  # 2**5, half with it
    assert seen["controls"] == ["open-bell"]  # the fix acted, and said so
    assert seen["mends"] == "nobody heard the open"


def test_one_module_and_one_entry_reach_the_cli(package_with_a_new_fix: Path) -> None:
    done = _run(
        package_with_a_new_fix,
        "-m",
        "smars_sim.cli",
        "replay",
        "--scale",
        "0.01",
        "--fix",
        "open-bell",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["fixes"] == ["open-bell"]
    helped = _run(package_with_a_new_fix, "-m", "smars_sim.cli", "replay", "--help")
    assert "open-bell" in helped.stdout
