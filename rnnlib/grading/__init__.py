"""Grading a class with nbgrader, so that an instructor can trust the grades.

``python -m rnnlib.grading`` (or ``make grade``) runs the whole pipeline; see
``book/instructors.md``. The parts, each readable on its own:

* :mod:`rnnlib.grading.normalise` — repair what a submission did to the notebook's structure;
* :mod:`rnnlib.grading.sandbox` — confinement (bubblewrap + prlimit) for student code;
* :mod:`rnnlib.grading.worker` / :mod:`rnnlib.grading.judge` — the trusted judge;
* :mod:`rnnlib.grading.kernel` — the confined kernel nbgrader autograde runs (feedback);
* :mod:`rnnlib.grading.pipeline` — the class, the gradebook, the report;
* :mod:`rnnlib.grading.bench` — seconds per notebook at 1 and N workers.

Importing this package does not import nbgrader (only the pipeline does, when it runs).
"""
