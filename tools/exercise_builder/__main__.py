"""``python -m tools.exercise_builder build | reset EX | verify | list``.

* ``build``: generate the learner notebooks from ``exercises/source/`` and run the
  solutions (``make exercises``). ``--no-execute`` only writes the learner versions;
  ``--force`` re-runs every solution; ``--check`` writes nothing and fails on drift.
* ``reset EX``: restore one learner notebook to pristine, keeping the attempt in
  ``exercises/backups/`` (``make reset-exercises EX=01``). ``EX=all`` resets all.
* ``verify``: the CI gates, in-process: every solution passes every check, every
  blank learner version fails every check with a hint.
* ``list``: the exercises and the course notebook each follows.
"""

from __future__ import annotations

import argparse
import sys

from smars_sim.exercises import QUESTIONS

from .notebooks import build, drift, exercises, reset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.exercise_builder", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="generate learner notebooks and run the solutions")
    b.add_argument("only", nargs="*", help="exercises to build (default: all)")
    b.add_argument("--no-execute", action="store_true", help="do not run the solutions")
    b.add_argument("--force", action="store_true", help="re-run every solution")
    b.add_argument("--check", action="store_true", help="write nothing; exit 1 on drift")
    r = sub.add_parser("reset", help="restore a learner notebook (your attempt is kept)")
    r.add_argument("exercise", nargs="?", default="", help="e.g. 01, q1, 01_rogue_server, or all")
    v = sub.add_parser("verify", help="run the CI gates in-process")
    v.add_argument("only", nargs="*", help="exercises to verify (default: all)")
    sub.add_parser("list", help="list the exercises")
    args = parser.parse_args(argv)

    try:
        if args.command == "build":
            if args.check:
                problems = drift()
                for line in problems:
                    print(line)
                return 1 if problems else 0
            build(execute=not args.no_execute, force=args.force, only=args.only)
            return 0
        if args.command == "reset":
            if not args.exercise:
                names = ", ".join(ex.stem.split("_", 1)[0] for ex in exercises())
                print(
                    f"which exercise? e.g. make reset-exercises EX=01 (exercises: {names}, or all)"
                )
                return 2
            targets = [ex.stem for ex in exercises()] if args.exercise == "all" else [args.exercise]
            for target in targets:
                reset(target)
            return 0
        if args.command == "verify":
            from .notebooks import find
            from .verify import gate_problems

            only = tuple(find(k).stem for k in args.only)
            problems = gate_problems(only=only)
            for line in problems:
                print(line)
            print("verify: ok" if not problems else f"verify: {len(problems)} problem(s)")
            return 1 if problems else 0
        for q in QUESTIONS.values():
            print(
                f"{q.key}  exercises/{q.notebook}.ipynb  {q.title}  "
                f"(follows course/{q.follows}.ipynb)"
            )
        return 0
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
