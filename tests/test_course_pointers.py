"""Every command and path the course mentions exists (issue 15, item 7: stale pointers).

Read: the Markdown of ``course/*.ipynb``, ``exercises/**/*.ipynb``, and the files
``course/*.md``, ``exercises/*.md``, ``README.md`` and ``docs/*.md``. Checked:

* ``smars-sim ...``: the subcommand and every ``--flag`` against the real argparse
  parser of :mod:`smars_sim.cli`;
* ``make ...``: every target against the Makefile's rules;
* ``python -m MODULE ...``: the module can be found (the repository's own modules from
  the repository root), and a subcommand of a repository module answers ``--help``;
* relative Markdown links: the file exists, relative to the file that links it;
* paths in inline code (``smars_sim/ui/panel.py``, ``docs/setup.md``, ``router.py``):
  the path exists in the repository (a bare file name: some file of that name), except
  the few that a build or an installation creates, listed in :data:`GENERATED` with why.

A file outside the repository may not be referenced as if it were present.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from smars_sim.cli import _parser

ROOT = Path(__file__).resolve().parents[1]

#: Paths that do not exist in a clone because a command creates them: path -> what does.
GENERATED = {
    ".venv/": "make install",
    ".venv/.installed": "make install",
    ".venv/share/jupyter/lab/settings/overrides.json": "make install",
    "_build/lite/": "make lite",
    "my-course/": "make lab (tools/learner_copy.py: the learner's own, untracked copy)",
    "test-artifacts/lite/": "pytest tests/lite",
    "exercises/backups/": "make reset-exercises (keeps the attempt there)",
    # files of the built browser edition, named in docs/lite.md
    "pypi/all.json": "make lite",
    "./pypi/all.json": "make lite",
    "./static/pyodide/pyodide.js": "make lite",
    "summary.json": "make lite",
    "pyodide-lock.json": "make lite (jupyterlite-pyodide-kernel)",
    # a hub deployment's own files, named in docs/jupyterhub.md
    "config.yaml": "the hub's Helm values, written by the reader",
    "board.json": "the class board's export (smars-sim class-board --json)",
    "jupyterhub/values.yaml": "the JupyterHub Helm chart",
    "jupyterhub/values.schema.yaml": "the JupyterHub Helm chart",
    "/lab/tree/course": "a URL path of the hub",
    "manifest.json": "smars-sim replay --out DIR writes it next to the tables",
}
#: Names in inline code that look like files but name a tool.
TOOLS = {"coverage.py": "the coverage.py tool (https://coverage.readthedocs.io)"}
#: Where a path in inline code may be rooted: the repository, or the package or tools
#: folder a listing describes (``analysis/series.py``, ``lite/build.py``).
BASES = ("", "smars_sim/", "smars_sim/core/", "tools/")


def _documents() -> list[Path]:
    found = {
        *ROOT.glob("course/*.ipynb"),
        *ROOT.glob("course/*.md"),
        *ROOT.glob("exercises/**/*.ipynb"),
        *ROOT.glob("exercises/*.md"),
        *ROOT.glob("docs/*.md"),
        ROOT / "README.md",
    }
    return sorted(p for p in found if p.exists() and ".ipynb_checkpoints" not in p.parts)


DOCUMENTS = _documents()


def _text(path: Path) -> str:
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text(encoding="utf-8"))
        return "\n".join(
            "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in nb["cells"]
            if c["cell_type"] == "markdown"
        )
    return path.read_text(encoding="utf-8")


_COMMAND = re.compile(r"^(?:\$ )?((?:smars-sim|make|python3? -m)(?![\w\[-])[^\n`]*)")


def _commands(text: str) -> list[str]:
    """Commands in inline code and on the lines of code blocks."""
    spans = [m.group(1) for m in re.finditer(r"`([^`\n]+)`", text)]
    spans += re.findall(
        r"^\s*(.+)$", "\n".join(re.findall(r"```[^\n]*\n(.*?)```", text, re.S)), re.M
    )
    out = []
    for span in spans:
        m = _COMMAND.match(span.strip())
        if m:
            out.append(m.group(1).split(" #")[0].strip())
    return out


def _paths(text: str) -> list[str]:
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    out = []
    for m in re.finditer(r"`([^`\n]+)`", text):
        s = m.group(1).strip()
        if not re.fullmatch(r"[\w./-]+", s) or (s.startswith("/") and s not in GENERATED):
            continue  # not a path, or an absolute path on a deployed machine
        if s[0].isdigit() or re.match(r"[A-Z][A-Z0-9_]+/", s):
            continue  # arithmetic (1/scale), or under an environment variable (VAR/file)
        if re.search(r"(^|[/_])(NN|name)([._/]|$)", s):
            continue  # a pattern for names (exercises/NN_name.ipynb), not a file
        if "/" in s or re.search(r"\.(md|py|ipynb|csv|toml|cfg|json|txt|ya?ml|sh)$", s):
            out.append(s)
    return out


def _links(text: str) -> list[str]:
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    return [x for x in links if not re.match(r"[a-z]+:", x) and not x.startswith("#")]


@cache
def _file_names() -> frozenset[str]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return frozenset(Path(p).name for p in listed)


@cache
def _make_targets() -> frozenset[str]:
    rules = re.findall(r"^([\w.-]+)\s*:(?!=)", (ROOT / "Makefile").read_text(), re.M)
    return frozenset(rules)


def _options(sub: str) -> set[str] | None:
    parser = _parser()
    for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
        choices = getattr(action, "choices", None) or {}
        if sub in choices:
            return {o for a in choices[sub]._actions for o in a.option_strings}
    return None


def _check_command(command: str) -> str | None:
    """Why ``command`` does not exist, or ``None``."""
    words = shlex.split(command.replace("[", " ").replace("]", " ").replace("|", " "))
    if words[0] == "smars-sim":
        if len(words) == 1:
            return None
        options = _options(words[1])
        if options is None:
            return f"smars-sim has no subcommand {words[1]!r}"
        unknown = [w for w in words[2:] if w.startswith("-") and w.split("=")[0] not in options]
        return f"smars-sim {words[1]} has no option {unknown[0]}" if unknown else None
    if words[0] == "make":
        rest, targets = iter(words[1:]), []
        for w in rest:
            if w == "-C":
                next(rest, None)
            elif not w.startswith("-") and "=" not in w and w != "TARGET":
                targets.append(w)
        missing = [t for t in targets if t not in _make_targets()]
        return f"the Makefile has no target {missing[0]!r}" if missing else None
    module = words[words.index("-m") + 1]
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    if importlib.util.find_spec(module) is None:
        return f"no module {module!r}"
    sub = words[words.index("-m") + 2 :]
    if module.split(".")[0] in ("smars_sim", "tools") and sub and not sub[0].startswith("-"):
        run = subprocess.run(
            [sys.executable, "-m", module, sub[0], "--help"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if run.returncode != 0:
            return f"python -m {module} has no subcommand {sub[0]!r}"
    return None


def _folder(doc: Path) -> Path:
    """The folder a document's relative links start from.

    An exercise's source is written for ``exercises/``, where its learner version lives
    (the builder adds a ``../`` to the links of the solution, one folder deeper).
    """
    return doc.parent.parent if doc.parent.name == "source" else doc.parent


def _check_path(doc: Path, path: str) -> str | None:
    if path in GENERATED or path in TOOLS:
        return None
    if any((base / path).exists() for base in (_folder(doc), *(ROOT / b for b in BASES))):
        return None
    if "/" not in path.rstrip("/") and path in _file_names():
        return None
    return f"{path!r} does not exist in the repository"


def _ids(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_documents_are_found() -> None:
    names = {_ids(p) for p in DOCUMENTS}
    assert {"README.md", "course/10_what_if.ipynb", "exercises/README.md"} <= names


@pytest.mark.parametrize("doc", DOCUMENTS, ids=_ids)
def test_every_command_exists(doc: Path) -> None:
    problems = [f"`{c}`: {why}" for c in _commands(_text(doc)) if (why := _check_command(c))]
    assert problems == [], f"{_ids(doc)}: " + "; ".join(problems)


@pytest.mark.parametrize("doc", DOCUMENTS, ids=_ids)
def test_every_relative_link_exists(doc: Path) -> None:
    missing = [
        link for link in _links(_text(doc)) if not (_folder(doc) / link.split("#")[0]).exists()
    ]
    assert missing == [], f"{_ids(doc)} links to files that do not exist: {missing}"


@pytest.mark.parametrize("doc", DOCUMENTS, ids=_ids)
def test_every_path_in_code_exists(doc: Path) -> None:
    problems = [why for p in _paths(_text(doc)) if (why := _check_path(doc, p))]
    assert problems == [], f"{_ids(doc)}: " + "; ".join(problems)


@pytest.mark.parametrize(
    ("command", "wrong"),
    [
        ("smars-sim run --fix verified-deploy", True),
        ("smars-sim replay --fix verified-deploy", False),
        ("smars-sim replay --no-such-flag", True),
        ("make reset-exercises EX=05", False),
        ("make no-such-target", True),
        ("python -m tools.exercise_builder verify", False),
        ("python -m tools.exercise_builder no-such-command", True),
        ("python -m no_such_module", True),
    ],
)
def test_the_checker_tells_a_stale_command(command: str, wrong: bool) -> None:
    assert (_check_command(command) is not None) == wrong


def test_the_checker_tells_a_file_that_is_not_in_the_repository() -> None:
    doc = ROOT / "course" / "10_what_if.ipynb"
    assert _check_path(doc, "industry-practice.md") is not None
    assert _check_path(doc, "smars_sim/viz/theme.py") is None
    assert _check_path(doc, "analysis/series.py") is None
