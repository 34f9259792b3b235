"""Hypothesis over ``smars-sim replay`` argument vectors (issue 16).

Every vector either exits 0 with valid output, or exits 2 with exactly one line on
stderr that names the value or option at fault. Never a traceback, never another
exit code, and never a run past a bound: the small scenario, whose accepted vectors
all finish in well under a second or two.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smars_sim.analysis.output import read_set
from smars_sim.cli import main

NUMBERS = st.sampled_from(
    ["1", "0.5", "0.01", "0.001", "0", "-1", "1e-9", "5e-324", "1e400", "nan", "inf",
     "-inf", "2", "1.5", "abc", "", " ", "0x10", "1_000", "64", "65", "1000000", "3", "8"]
)  # fmt: skip
TIMES = st.sampled_from(
    ["09:31", "09:33", "09:40", "09:44:59", "08:00", "25:00", "9h30", "", "16:00",
     "16:01", "09:30:00.5", "-1", "09:60", "23:59"]
)  # fmt: skip
FIXES = st.sampled_from(
    ["dead-code", "flag-registry", "verified-deploy", "kill-switch", "kill-swich", "", "DEAD"]
)


def _option(out_dir: str) -> st.SearchStrategy[list[str]]:
    return st.one_of(
        st.tuples(st.just("--seed"), NUMBERS).map(list),
        st.tuples(st.just("--scale"), NUMBERS).map(list),
        st.tuples(st.just("--servers"), NUMBERS).map(list),
        st.tuples(st.just("--stale-server"), NUMBERS).map(list),
        st.tuples(st.sampled_from(["--rollback-at", "--halt-at", "--kill-at"]), TIMES).map(list),
        st.just(["--no-rollback"]),
        st.just(["--json"]),
        st.tuples(st.just("--fix"), FIXES).map(list),
        st.tuples(
            st.just("--limit"),
            st.sampled_from(["max_order_shares=10", "bogus=1", "x", "capital_threshold_usd=-5"]),
        ).map(list),
        st.tuples(
            st.just("--out"),
            st.sampled_from(["", "out", "out/nested", "file", "file/under", "tablefolder"]).map(
                lambda name: os.path.join(out_dir, name) if name else ""
            ),
        ).map(list),
        st.tuples(st.just("--flag"), st.sampled_from(["power_peg", "x", ""])).map(list),
        st.sampled_from([["--bogus"], ["--scale"], ["extra"], ["-h"]]),
    )


def _prepare(out_dir: str) -> None:
    with open(os.path.join(out_dir, "file"), "w") as fh:
        fh.write("keep me")
    os.makedirs(os.path.join(out_dir, "tablefolder", "executions.parquet"))


def _forms(token: str) -> list[str]:
    """How a message may spell a token: as given, quoted, or as the number it parses to."""
    forms = [token, repr(token)] if token else [repr(token)]
    for parse in (int, float):
        with contextlib.suppress(ValueError):
            forms.append(str(parse(token)))
    return forms


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_argument_vector_is_a_result_or_one_clear_line(data):
    with tempfile.TemporaryDirectory() as out_dir:
        _prepare(out_dir)
        options = data.draw(st.lists(_option(out_dir), max_size=5))
        argv = ["replay", "--scenario", "small"] + [token for option in options for token in option]
        stdout, stderr = io.StringIO(), io.StringIO()
        started = time.perf_counter()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = main(argv)
            except SystemExit as exc:  # -h: argparse prints help and exits 0
                code = exc.code
        elapsed = time.perf_counter() - started
        out, err = stdout.getvalue(), stderr.getvalue()
        assert "Traceback" not in err and "Traceback" not in out
        assert elapsed < 30, (argv, elapsed)
        if "-h" in argv and code == 0:
            return
        assert code in (0, 2), (argv, code, err)
        if code == 2:
            lines = err.splitlines()
            assert len(lines) == 1, (argv, err)
            assert out == "", argv
            line = lines[0]
            assert line.startswith("smars-sim: error: "), line
            named = [t for t in argv[3:] if any(form in line for form in _forms(t))]
            named += [t for t in argv[3:] if t.startswith("--") and t.lstrip("-") in line]
            assert named, (argv, line)
            return
        if "--json" in argv:
            summary = json.loads(out)
            assert summary["scenario"] == "small"
        else:
            assert "execution digest" in out
        outs = [argv[i + 1] for i, t in enumerate(argv[:-1]) if t == "--out"]
        if outs:
            tables = read_set(outs[-1])  # a whole, verified set
            assert len(tables["executions"]) >= 0
