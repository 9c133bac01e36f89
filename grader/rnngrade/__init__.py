"""rnngrade: the instructor's grader for the course (a package of its own, beside rnnlib).

Students install ``rnnlib`` (numpy and the checkers); instructors install this package too
(``pip install ./grader``), which brings nbgrader and the confinement. ``python -m rnngrade``
(or ``make grade``) runs the whole pipeline; see ``book/instructors.md``. The parts, each
readable on its own:

* :mod:`rnngrade.settings` — the environment variables the grader uses, named once;
* :mod:`rnngrade.normalise` — repair what a submission did to the notebook's structure;
* :mod:`rnngrade.sandbox` — confinement (bubblewrap + prlimit) for student code;
* :mod:`rnngrade.worker` / :mod:`rnngrade.judge` — the trusted judge;
* :mod:`rnngrade.kernel` — the confined kernel nbgrader autograde runs (feedback);
* :mod:`rnngrade.pipeline` — the class, the gradebook, the report.

The grading benchmark is ``bench/grading.py`` in the repository.
Importing this package does not import nbgrader (only the pipeline does, when it runs).
"""
