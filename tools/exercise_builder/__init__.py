"""The exercise builder, kept out of the wheel: ``python -m tools.exercise_builder``.

It generates the learner and solution notebooks from ``exercises/source/``, checks they
are in sync, resets a learner's notebook, and runs the CI gates. Learners' checks stay
in the package (``smars_sim.exercises``); this tooling needs nbformat, nbclient and
IPython, which only the repository's test set-up installs.
"""
