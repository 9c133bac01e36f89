"""rnngrade: the instructor's grader for the course (a package of its own, beside rnnlib).

Students install ``rnnlib`` (numpy and the checkers); instructors install this package too
(``pip install ./grader``), which brings nbgrader, the confinement, Dask and copy detection.
``python -m rnngrade`` (or ``make grade``) runs the whole pipeline; see ``book/instructors.md``.
The parts, each readable on its own:

* :mod:`rnngrade.settings` — the environment variables the grader uses, named once;
* :mod:`rnngrade.normalise` — read a submission safely, repair its notebook's structure;
* :mod:`rnngrade.sandbox` — confinement (bubblewrap, setpriv, prlimit) for student code;
* :mod:`rnngrade.worker` / :mod:`rnngrade.judge` — the trusted judge, the one execution;
* :mod:`rnngrade.task` — one submission in, its results out (local or on Dask);
* :mod:`rnngrade.pipeline` — the class, the gradebook, the report, the command;
* :mod:`rnngrade.copies` — near-copies between answers (reported, never scored);
* :mod:`rnngrade.export` — nbgrader's CSV, Canvas and Moodle files, formgrader.

The grading benchmark is ``bench/grading.py`` in the repository.
Importing this package does not import nbgrader (only the pipeline does, when it runs).
"""
