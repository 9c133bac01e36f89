"""One grading task: one submission in, its results out (plain data, picklable).

:func:`grade_submission` is what runs wherever the class is graded: in this process, in one
of N local processes, or on a Dask worker on another machine. It normalises the submission,
runs the judge (the notebook's one execution) and returns the judge's scores, the executed
notebook and the feedback lines. It writes nothing shared: the gradebook is written by the
one process that owns it (:mod:`rnngrade.pipeline`), from these results.

A machine that runs tasks needs the course's ``rnnlib`` (the same one: the task carries a
fingerprint of the owner's rnnlib and refuses to judge with another), this package and
bubblewrap. The task's result says ``"error"`` when the judge could not judge for a reason
that is not the student's (:class:`rnngrade.judge.JudgeUnavailable`): then it carries no
score at all.
"""
from __future__ import annotations

import atexit
import dataclasses
import functools
import hashlib
import multiprocessing.util
import os
import tempfile
import threading
import time
from pathlib import Path

import nbformat

from rnngrade.judge import (JudgeUnavailable, Worker, executed_notebook, judge_notebook,
                            preload_modules)
from rnngrade.normalise import normalise_files, utf8
from rnngrade.sandbox import Confinement, Limits, available, package_dirs, prepare_workdir
from rnngrade.settings import SEED_ENV

__all__ = ["grade_submission", "rnnlib_fingerprint", "solution_sources", "stop_worker_ahead"]

# The checkers read the seed from the environment; one judge at a time per process.
_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def rnnlib_fingerprint():
    """A hash of the rnnlib this process imports (its checkers decide the grades)."""
    digest = hashlib.sha256()
    root = Path(package_dirs()[0])
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def solution_sources(nb):
    """{grade_id: source} of the answer cells of a normalised notebook (for copy detection)."""
    out = {}
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and cell["cell_type"] == "code":
            out[meta["grade_id"]] = cell["source"]
    return out


class _WorkerAhead:
    """The next notebook's worker, started while this process judges the current one.

    A worker's start (bubblewrap, Python, numpy, the instructor's imports: about a second for
    a notebook that plots) is most of what a short notebook costs. Started ahead, in a folder
    of its own, it starts on another core (if one is free) while the current notebook runs,
    and the next notebook of the same assignment (the class is graded assignment by
    assignment) finds it ready. It runs no student code before its notebook takes it: each
    notebook still gets a fresh process, folder and sandbox of its own.
    """

    def __init__(self):
        self.key = self.folder = self.worker = None

    def take(self, key):
        """``(folder, worker)`` started for ``key``, or ``None``. A worker started for another
        key is stopped; one that could not start is dropped (a fresh start will say why)."""
        if self.worker is None or self.key != key:
            self.stop()
            return None
        folder, worker = self.folder, self.worker
        self.key = self.folder = self.worker = None
        try:
            worker.ready()
        except JudgeUnavailable:
            folder.cleanup()
            return None
        if worker.proc.poll() is not None:  # it said hello, then died while it waited
            worker.kill()
            folder.cleanup()
            return None
        return folder, worker

    def start(self, key, confinement, preload):
        """Start a worker for the next notebook of ``key`` (stopping any other)."""
        self.stop()
        folder, work = _work_folder(confinement.slot)
        try:
            self.worker = Worker(confinement, work, preload, wait=False)
        except OSError:
            folder.cleanup()
            return
        self.key, self.folder = key, folder

    def stop(self):
        if self.worker is not None:
            self.worker.kill()
            self.folder.cleanup()
        self.key = self.folder = self.worker = None


def _work_folder(slot):
    """``(temporary folder, the worker's folder in it)``, for sandbox user ``slot``."""
    folder = tempfile.TemporaryDirectory(prefix="rnnj-")
    return folder, str(prepare_workdir(Path(folder.name) / "work", slot))


_AHEAD = _WorkerAhead()
# The pool's processes leave through multiprocessing's exit (no atexit there); bubblewrap's
# --die-with-parent would end the worker anyway, these remove its folder too.
atexit.register(_AHEAD.stop)
multiprocessing.util.Finalize(_AHEAD, _AHEAD.stop, exitpriority=0)


def stop_worker_ahead():
    """Stop the worker started ahead in this process, if any (at the end of a class)."""
    _AHEAD.stop()


def grade_submission(task, shared):
    """Grade one submission.

    Parameters
    ----------
    task : dict
        ``student``, ``assignment``, ``files`` ({relative path: bytes}: the submission's
        notebooks), ``problems`` (lines found while reading it), ``timestamp`` (or None).
    shared : dict
        What every task of the run shares: ``release`` and ``source`` ({assignment: notebook
        JSON}), ``limits``, ``seed``, ``confine``, ``hide`` (folders student code may not
        see), ``fingerprint`` (the owner's rnnlib), ``ahead`` (start the next notebook's
        worker while this one is judged: see :class:`_WorkerAhead`).

    Returns
    -------
    dict
        ``student``, ``assignment``, ``status``, ``problems``, ``tests`` (one dict per test
        cell), ``manual``, ``notebook`` (the executed notebook, JSON), ``sources``, ``seconds``,
        ``error`` (None, or why the judge could not judge: then no score).
    """
    started = time.monotonic()
    a = task["assignment"]
    result = {"student": task["student"], "assignment": a, "status": "error", "problems": [],
              "tests": [], "manual": [], "notebook": None, "sources": {}, "error": None,
              "timestamp": task.get("timestamp"), "host": os.uname().nodename}
    try:
        if shared["fingerprint"] != rnnlib_fingerprint():
            raise JudgeUnavailable(f"the rnnlib on {result['host']} is not the grader's "
                                   "(its checkers differ): install the course's rnnlib there")
        if shared["confine"] and not available():
            raise JudgeUnavailable(f"bubblewrap is not installed on {result['host']}")
        release = nbformat.reads(shared["release"][a], as_version=4)
        source = nbformat.reads(shared["source"][a], as_version=4)
        norm = normalise_files(task["files"], a, release, task.get("problems", ()))
        limits = Limits(**shared["limits"])
        hide = list(shared["hide"]) + [str(Path.home()), tempfile.gettempdir()]
        conf = Confinement(hide=hide, limits=limits, enabled=shared["confine"])
        preload = preload_modules(source)
        key = (repr(conf), preload)
        with _LOCK:
            ahead = _AHEAD.take(key)
            if ahead is not None:
                folder, worker = ahead
                conf, work = worker.confinement, worker.workdir
            else:
                (folder, work), worker = _work_folder(conf.slot), None
            if shared.get("ahead"):
                # The next notebook's worker, started now, runs as the other sandbox user:
                # its process does not count against this notebook's process limit.
                _AHEAD.start(key, dataclasses.replace(conf, slot=1 - conf.slot), preload)
            old = os.environ.get(SEED_ENV)
            if shared.get("seed") is not None:
                os.environ[SEED_ENV] = str(shared["seed"])  # read by the checkers, here only
            try:
                report = judge_notebook(norm.nb, source, conf, timeout=limits.cell_timeout,
                                        workdir=work, worker=worker)
            finally:
                if old is None:
                    os.environ.pop(SEED_ENV, None)
                else:
                    os.environ[SEED_ENV] = old
                if worker is not None:
                    worker.kill()  # stopped by the judge, unless it failed before using it
                folder.cleanup()  # the worker's folder with it
    except JudgeUnavailable as err:
        result["error"] = str(err)
        result["seconds"] = time.monotonic() - started
        return result
    result.update(
        status=norm.status,
        problems=norm.problems + report.problems,
        tests=[{"grade_id": t.grade_id, "points": t.points, "max_points": t.max_points,
                "message": t.message, "diagnosis": t.diagnosis} for t in report.tests.values()],
        manual=report.manual,
        notebook=nbformat.writes(nbformat.from_dict(executed_notebook(norm.nb, report))),
        sources=solution_sources(norm.nb),
        seconds=time.monotonic() - started,
    )
    # What the worker sent (outputs, error messages) may hold lone surrogates too.
    return utf8(result)
