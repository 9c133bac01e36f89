"""Grading on a real Dask cluster on loopback (one scheduler, two worker processes).

The cluster is started once for the module with the ``dask`` commands and stopped by the PIDs
it started. A small class is graded sequentially (here, SQLite), then on the cluster with the
gradebook on PostgreSQL, written by the one process that owns it: the grades must be the same.
Then a worker process is killed while it grades: its tasks run again elsewhere, every student
is graded once, and the gradebook has exactly one submission per student.
"""
from __future__ import annotations

import csv
import os
import signal
import sys
import threading
import time

import pytest

from rnngrade.pipeline import grade_class
from rnngrade.sandbox import Limits, available
from tests.conftest import ROOT
from tests.grading_fixtures.adversarial import (
    A, ANSWERS, adversarial_class, make_course, release_notebook, student, write_class,
)
from tests.grading_fixtures.daskcluster import dask_cluster
from tests.grading_fixtures.pgserver import find_bin, postgres_server

pytestmark = [
    pytest.mark.skipif(not available(), reason="bubblewrap/prlimit not installed"),
    pytest.mark.skipif(find_bin() is None, reason="PostgreSQL binaries not installed"),
]

CLASS = ["honest", "honest_half", "untouched", "exit_call", "patched_checks", "syntax_error"]
LIMITS = Limits(cell_timeout=15, memory=2**30, cpu=60)
#: Students whose notebook takes a few seconds (a sleeping cell): time to kill a worker.
SLOW = [f"slow{i}" for i in range(4)]


@pytest.fixture(scope="module")
def course_and_class(tmp_path_factory):
    base = tmp_path_factory.mktemp("dask")
    course = make_course(base / "course", ROOT)
    release = release_notebook(course)
    secrets = {"solutions": "/nonexistent", "other": "/nonexistent", "gradebook": "/nonexistent",
               "outside": base / "owned.txt", "port": 9}
    klass = {k: v for k, v in adversarial_class(release, secrets).items() if k in CLASS}
    write_class(base / "submitted", klass)
    slow = {s: ({f"{A}.ipynb": _nbbytes(student(release, extra=[
        ("setup", "import time\ntime.sleep(4)")]))}, 7, ()) for s in SLOW}
    write_class(base / "slow", slow)
    return base, course, klass


def _nbbytes(nb):
    import nbformat

    return nbformat.writes(nb).encode()


@pytest.fixture(scope="module")
def cluster(course_and_class):
    _, course, _ = course_and_class
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    with dask_cluster(workers=2, cwd=course) as c:
        yield c


@pytest.fixture(scope="module")
def pg():
    with postgres_server() as url:
        yield url


def _scores(path):
    with open(path) as f:
        return {(r["student_id"], r["assignment"]): float(r["score"]) for r in csv.DictReader(f)}


def _quiet(*a, **k):
    pass


def test_a_class_graded_on_dask_gets_the_grades_of_a_sequential_run(course_and_class, cluster, pg):
    base, course, klass = course_and_class
    seq = grade_class(base / "submitted", course=course, out=base / "seq", limits=LIMITS,
                      seed=3, echo=_quiet, progress=False)
    dist = grade_class(base / "submitted", course=course, out=base / "dist", limits=LIMITS,
                       seed=3, scheduler=cluster.address, db_url=pg, echo=_quiet, progress=False)
    assert seq["exit"] == dist["exit"] == 0
    assert _scores(dist["grades_csv"]) == _scores(seq["grades_csv"])
    assert {s: sc for (s, _), sc in _scores(dist["grades_csv"]).items()} == \
        {name: float(v[1]) for name, v in klass.items()}

    def lines(report):
        return {(e["student"], e["assignment"]): (e["score"], [t.split(" — ")[0] for t in e["tests"]])
                for e in report["entries"]}

    assert lines(dist) == lines(seq)


def test_a_worker_killed_mid_class_loses_nothing_and_duplicates_nothing(course_and_class, cluster):
    base, course, _ = course_and_class
    killed, errors = [], []

    def kill_a_busy_worker():
        from distributed import Client

        try:
            with Client(cluster.address, timeout=30, set_as_default=False) as client:
                deadline = time.monotonic() + 180
                while time.monotonic() < deadline and not killed:
                    busy = [addr for addr, keys in client.processing().items()
                            if any("slow" in str(k) for k in keys)]
                    if busy:
                        time.sleep(1.0)  # in the middle of a notebook
                        pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                        os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
                    time.sleep(0.1)
        except Exception as err:  # noqa: BLE001 - reported by the test below
            errors.append(repr(err))

    killer = threading.Thread(target=kill_a_busy_worker)
    killer.start()
    # A SQLite gradebook this time: the owner is its only writer, whatever the cluster does.
    report = grade_class(base / "slow", course=course, out=base / "killed", limits=LIMITS, seed=3,
                         scheduler=cluster.address, echo=_quiet, progress=False)
    killer.join()
    assert killed, f"no worker was caught in the middle of a notebook {errors}"
    assert report["exit"] == 0
    assert {e["student"]: e["score"] for e in report["entries"]} == {s: 7.0 for s in SLOW}
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{base / 'killed' / 'gradebook.db'}", "rnns-simplified") as gb:
        subs = [(s.student.id, s.assignment.name) for s in gb.assignment_submissions(A)]
    assert sorted(subs) == sorted((s, A) for s in SLOW)
    assert ANSWERS  # the class answered with the course's solutions
