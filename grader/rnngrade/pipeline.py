"""Grade a whole class with one command: normalise, judge, gradebook, feedback, export, report.

    python -m rnngrade SUBMISSIONS [--zip FILE --assignment A] [--out grading]
        [--db-url URL] [--workers N | --scheduler tcp://HOST:PORT] [--seed S]
        [--cell-timeout 30] [--memory 2G] [--nproc 32] ...
    python -m rnngrade formgrader [--out grading] [--port 8888]   # nbgrader's web page
    python -m rnngrade export [--out grading]                      # CSVs after manual grading

``SUBMISSIONS`` is a folder in nbgrader's ``<student>/<assignment>/`` layout (for example the
course's ``submitted/``). With ``--zip`` an LMS download is unpacked by ``nbgrader
zip_collect`` first. Everything the run makes goes into the grading folder (``--out``), which
is nbgrader's course folder for the run: ``submitted/`` (the notebooks as the judge executed
them), ``autograded/``, ``feedback/`` (HTML per student), ``grades.csv`` and the LMS files
``canvas.csv`` and ``moodle.csv``, ``report.md`` and, with SQLite, ``gradebook.db``.

1. **Preflight.** The instructor's own solutions are judged first, on the same machines and
   through the same path as the class; they must earn every point. If they do not (the
   sandbox cannot start, the worker imports another rnnlib, a checker is broken), the
   command says why and exits 2 before anyone is graded: it fails closed.
2. **Tasks.** Each submission is one task (:func:`rnngrade.task.grade_submission`): it is
   normalised and executed once, by the judge, which scores it and returns the executed
   notebook. Tasks run here (``--workers 1``), in N local processes (``--workers N``) or on
   a Dask cluster (``--scheduler``); a progress bar counts them.
3. **Gradebook.** This process alone writes the gradebook: the executed notebooks go into
   ``submitted/`` and ``nbgrader autograde`` records them *without executing anything*; the
   judge's points are then written over nbgrader's reading of the outputs, cells a person must
   grade are marked so, and a "Grading report" cell goes on top of each notebook.
4. ``generate_feedback``, ``export``, the LMS files, copy detection and the report.

A submission whose judge failed for the grader's reason (:class:`rnngrade.judge.JudgeUnavailable`)
gets no score anywhere (it is listed as not graded) and the command exits 3.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import nbformat

from rnngrade.normalise import read_submission
from rnngrade.sandbox import Limits, available, sandbox_uid
from rnngrade.settings import REPORT_MARK, SEED_ENV
from rnngrade.task import grade_submission, rnnlib_fingerprint, stop_worker_ahead

#: LMS file names like ``<student>_<notebook>.ipynb`` (nbgrader matches the full path).
DEFAULT_ZIP_REGEXP = r".*/(?P<student_id>[^/_]+)_(?P<file_id>[^/]+\.ipynb)$"
#: The student id of the preflight task (the instructor's solutions).
PREFLIGHT = "__solutions__"
#: Exit statuses of the command.
EXIT_OK, EXIT_PREFLIGHT, EXIT_NOT_GRADED = 0, 2, 3

__all__ = ["grade_class", "main", "parse_size", "GraderFailure"]


class GraderFailure(RuntimeError):
    """The class cannot be graded (the grader's fault, not a student's): nothing was scored."""


def parse_size(text):
    """``"1G"``, ``"512M"``, ``"100k"`` or a number of bytes -> int bytes."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)i?[bB]?\s*", str(text))
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}")
    return int(float(m.group(1)) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[m.group(2).lower()])


def _assignments(source_dir):
    return sorted(p.name for p in Path(source_dir).iterdir() if (p / f"{p.name}.ipynb").is_file())


def _write_config(course, out, source_dir, db_url):
    """nbgrader_config.py of the grading folder: the course's config, with the run's settings."""
    course_cfg = Path(course) / "nbgrader_config.py"
    text = [
        "# Written by rnngrade for one grading run; see book/instructors.md.",
        "c = get_config()  # noqa: F821",
    ]
    if course_cfg.is_file():
        text.append(f"exec(compile(open({str(course_cfg)!r}).read(), {str(course_cfg)!r}, 'exec'))")
    text += [
        f"c.CourseDirectory.root = {str(out)!r}",
        f"c.CourseDirectory.source_directory = {str(source_dir)!r}",
        "c.CourseDirectory.release_directory = 'release'",
        "c.CourseDirectory.submitted_directory = 'submitted'",
        f"c.CourseDirectory.db_url = {db_url!r}",
        "c.Autograde.create_student = True",
        "# The judge executed each notebook once (confined); nbgrader records it, keeping the",
        "# judge's outputs, and executes nothing itself.",
        "from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata,",
        "    DeduplicateIds, IgnorePattern, LimitOutput, OverwriteCells, OverwriteKernelspec,",
        "    SaveAutoGrades)",
        "from nbconvert.preprocessors import ClearMetadataPreprocessor",
        "c.Autograde.sanitize_preprocessors = [DeduplicateIds, OverwriteKernelspec,",
        "    OverwriteCells, CheckCellMetadata]",
        "c.Autograde.autograde_preprocessors = [IgnorePattern, ClearMetadataPreprocessor,",
        "    LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]",
        "c.LimitOutput.max_lines = 200",
        "# Students' Markdown is shown to the instructor (formgrader) and in feedback: no",
        "# script or active HTML of theirs is rendered.",
        "c.HTMLExporter.sanitize_html = True",
    ]
    (Path(out) / "nbgrader_config.py").write_text("\n".join(text) + "\n")


def _nbgrader(out, args, timeout=None, check=True):
    cmd = [sys.executable, "-m", "nbgrader", *args, "--log-level=WARN"]
    env = {k: v for k, v in os.environ.items() if k != SEED_ENV}
    try:
        proc = subprocess.run(cmd, cwd=out, capture_output=True, text=True, env=env,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        if check:
            raise GraderFailure(f"nbgrader {' '.join(args)} did not finish in time") from None
        return 124, "nbgrader did not finish in time"
    if check and proc.returncode != 0:
        raise GraderFailure(f"nbgrader {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n"
                            f"{proc.stderr[-3000:]}")
    return proc.returncode, (proc.stdout + proc.stderr)[-3000:]


def _collect_zip(zip_path, assignment, out, regexp):
    """Unpack an LMS download with nbgrader's zip_collect into ``<out>/raw/``."""
    archive = Path(out) / "downloaded" / assignment / "archive"
    for old in (archive.parent, Path(out) / "raw"):
        if old.exists():
            shutil.rmtree(old)
    archive.mkdir(parents=True)
    shutil.copy(zip_path, archive)
    _nbgrader(out, ["zip_collect", assignment, "--force",
                    "--CourseDirectory.submitted_directory=raw",
                    f"--FileNameCollectorPlugin.named_regexp={regexp}"])
    raw = Path(out) / "raw"
    if not raw.is_dir():
        raise GraderFailure(f"nbgrader zip_collect found no notebook in {zip_path} whose name "
                            f"matches {regexp!r} (set --zip-regexp)")
    return raw


_STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}")


def _students(submissions):
    """Student folders of the submissions folder; odd names are refused, with a warning."""
    good, odd = [], []
    for p in sorted(Path(submissions).iterdir()):
        if p.name.startswith(".") or p.is_symlink() or not p.is_dir():
            continue
        (good if _STUDENT_ID.fullmatch(p.name) and p.name != PREFLIGHT else odd).append(p.name)
    return good, odd


def _read_timestamp(folder):
    path = Path(folder) / "timestamp.txt"
    if path.is_symlink() or not path.is_file() or path.stat().st_size > 100:
        return None
    text = path.read_text(errors="replace").strip()
    try:
        from dateutil.parser import parse

        parse(text)
    except (ValueError, OverflowError):
        return None
    return text


def _notebook_json(path):
    return nbformat.writes(nbformat.read(str(path), as_version=4))


def _preflight_task(source_nb, a):
    """The instructor's solutions, submitted like a student's notebook."""
    return {"student": PREFLIGHT, "assignment": a, "problems": [], "timestamp": None,
            "files": {f"{a}.ipynb": nbformat.writes(source_nb).encode()}}


# ------------------------------------------------------------------------- running tasks

class _Local:
    """Tasks in this process (``workers == 1``) or in N local processes."""

    def __init__(self, workers):
        self.workers = workers
        self.pool = None

    def __enter__(self):
        if self.workers > 1:
            self.pool = self._new_pool()
        return self

    def _new_pool(self):
        # forkserver: a fresh interpreter per worker, not a fork of this process's threads.
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("forkserver"),
            initializer=_end_with_the_command, initargs=(os.getpid(),))

    def __exit__(self, exc_type, exc, tb):
        if self.pool is not None:
            if exc_type is not None:
                # Interrupted (Ctrl-C, SIGTERM): stop now, not after the notebooks under way;
                # the pool's sandboxed workers end with their processes.
                for process in list(self.pool._processes.values()):
                    process.kill()
            self.pool.shutdown(wait=exc_type is None, cancel_futures=True)
        stop_worker_ahead()  # the worker started ahead in this process for a next notebook

    def run(self, tasks, shared):
        """Yield each task's result as it is done (a crashed pool is restarted, tasks rerun)."""
        if self.pool is None:
            for task in tasks:
                yield grade_submission(task, shared)
            return
        pending = list(tasks)
        for attempt in range(3):
            futures = {self.pool.submit(grade_submission, t, shared): t for t in pending}
            pending = []
            for fut in concurrent.futures.as_completed(futures):
                try:
                    yield fut.result()
                except concurrent.futures.process.BrokenProcessPool:
                    pending.append(futures[fut])
            if not pending:
                return
            self.pool.shutdown(cancel_futures=True)
            self.pool = self._new_pool()
        for task in pending:
            yield {"student": task["student"], "assignment": task["assignment"],
                   "error": "the local grading processes kept dying", "problems": [], "tests": []}


def _end_with_the_command(command_pid):
    """In a pool process: end as soon as the command (process ``command_pid``) ends.

    Killed (``kill -9``, the out-of-memory killer), the command cannot stop its pool, whose
    processes would go on waiting, each keeping a sandboxed worker started ahead, for nobody.
    Their parent is multiprocessing's fork server, which lives as long as they do: so each
    watches the command itself (its pidfd; on a kernel without pidfds, Linux < 5.3, by asking
    every second) and kills itself (bubblewrap's --die-with-parent then ends its workers)."""
    def ended():
        os.kill(os.getpid(), signal.SIGKILL)

    try:
        pidfd = os.pidfd_open(command_pid)
    except ProcessLookupError:
        ended()
    except (OSError, AttributeError):
        def watch():
            while True:
                time.sleep(1.0)
                try:
                    os.kill(command_pid, 0)
                except ProcessLookupError:
                    ended()
    else:
        def watch():
            select.select([pidfd], [], [])
            ended()

    threading.Thread(target=watch, name="end-with-the-command", daemon=True).start()


class _Dask:
    """Tasks on a Dask distributed cluster: one task per submission, results come back here."""

    def __init__(self, address):
        self.address = address

    def __enter__(self):
        try:
            from distributed import Client
        except ImportError as err:  # pragma: no cover - a dependency of the grader
            raise GraderFailure("--scheduler needs the `distributed` package") from err
        try:
            self.client = Client(self.address, timeout=30, set_as_default=False)
        except OSError as err:
            raise GraderFailure(f"cannot reach the Dask scheduler at {self.address}: {err}") from None
        if not self.client.scheduler_info().get("workers"):
            self.client.wait_for_workers(1, timeout=60)
        return self

    def __exit__(self, *exc):
        self.client.close()

    def run(self, tasks, shared):
        from distributed import as_completed

        run_id = uuid.uuid4().hex[:8]
        # What every task shares goes to the workers once per run, under a key of its own
        # (hash=False: the preflight's copy, being released, is never reused by the class).
        [shared_f] = self.client.scatter([shared], broadcast=True, hash=False)
        futures = {}
        for i, t in enumerate(tasks):
            key = f"rnngrade-{run_id}-{i}-{t['student']}-{t['assignment']}"
            # A worker lost mid-task: the scheduler runs the task again elsewhere.
            futures[self.client.submit(grade_submission, t, shared_f, key=key, pure=False,
                                       retries=2)] = t
        for fut in as_completed(list(futures), loop=self.client.loop):
            try:
                yield fut.result()
            except Exception as err:  # noqa: BLE001 - a task that could not run anywhere
                t = futures[fut]
                yield {"student": t["student"], "assignment": t["assignment"], "problems": [],
                       "tests": [], "error": f"the Dask task failed: {type(err).__name__}: {err}"}
        del shared_f


def _progress(total, enabled, desc):
    """A progress bar over the class: done / total, failures so far, ETA (tqdm, on stderr)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="notebook", disable=not enabled, file=sys.stderr,
                dynamic_ncols=True, smoothing=0.1)


# ------------------------------------------------------------------------- the gradebook

def _entry(result, max_points):
    tests = result.get("tests") or []
    entry = {"student": result["student"], "assignment": result["assignment"],
             "status": result.get("status", "error"), "problems": list(result.get("problems") or []),
             "score": sum(t["points"] for t in tests), "max": max_points,
             "tests": [f"{t['grade_id']}: {t['points']:g}/{t['max_points']:g} — {t['message']}"
                       for t in tests],
             "diagnoses": {t["grade_id"]: t["diagnosis"] for t in tests if t.get("diagnosis")},
             "results": [{k: t.get(k) for k in ("grade_id", "points", "max_points", "diagnosis")}
                         for t in tests],
             "manual": list(result.get("manual") or []), "copies": [],
             "seconds": result.get("seconds", 0.0), "host": result.get("host")}
    if result.get("error"):
        entry.update(status="not graded", score=None, tests=[],
                     problems=[f"NOT GRADED: the grader could not judge this notebook, for a "
                               f"reason that is not the student's: {result['error']}"])
    return entry


def _record(out, a, results, db_url, course_id):
    """Write one assignment's judged notebooks into the gradebook (this process only).

    ``nbgrader autograde`` records the executed notebooks without executing them; then the
    judge's points replace whatever nbgrader read from the outputs.
    """
    from nbgrader.api import Gradebook

    out = Path(out)
    for r in results:
        for step in ("submitted", "autograded", "feedback"):
            old = out / step / r["student"] / a
            if old.exists():
                shutil.rmtree(old)
        dest = out / "submitted" / r["student"] / a
        dest.mkdir(parents=True)
        (dest / f"{a}.ipynb").write_text(r["notebook"])
        if r.get("timestamp"):
            (dest / "timestamp.txt").write_text(r["timestamp"])
    if not results:
        return
    students = sorted(r["student"] for r in results)
    graded = {p.name for p in (out / "submitted").iterdir() if p.is_dir()}
    others = sorted(graded - set(students))
    args = ["autograde", a, "--force", "--CourseDirectory.student_id=*"]
    if others:
        args.append("--CourseDirectory.student_id_exclude=" + ",".join(others))
    _nbgrader(out, args, timeout=600 + 10 * len(students))
    missing = [s for s in students if not (out / "autograded" / s / a / f"{a}.ipynb").is_file()]
    if missing:
        raise GraderFailure(f"nbgrader autograde did not record {a} for {', '.join(missing)}")
    with Gradebook(db_url, course_id) as gb:
        for r in results:
            for t in r["tests"]:
                grade = gb.find_grade(t["grade_id"], a, a, r["student"])
                grade.auto_score = t["points"]
                grade.needs_manual_grade = False
        gb.db.commit()
        for r in results:  # what still waits for a person, as nbgrader sees it
            nb = gb.find_submission_notebook(a, a, r["student"])
            r["manual"] = sorted(g.name for g in nb.grades if g.needs_manual_grade)


def _forget(out, db_url, course_id, keys):
    """Remove what an earlier run recorded for these (student, assignment) pairs."""
    if not keys:
        return
    from nbgrader.api import Gradebook, MissingEntry

    for student, a in keys:
        for step in ("submitted", "autograded", "feedback"):
            shutil.rmtree(Path(out) / step / student / a, ignore_errors=True)
    with Gradebook(db_url, course_id) as gb:
        for student, a in keys:
            try:
                gb.remove_submission(a, student)
            except MissingEntry:
                pass


def _insert_report_cell(path, entry):
    if not path.is_file():
        return
    nb = nbformat.read(str(path), as_version=4)
    nb.cells = [c for c in nb.cells if not c.metadata.get(REPORT_MARK)]
    lines = [f"## Grading report: {entry['score']:g} / {entry['max']:g} points", ""]
    lines += [f"* {t}" for t in entry["tests"]]
    if entry["manual"]:
        lines += ["", f"* Needs manual grading: {', '.join(entry['manual'])} (points to come)."]
    if entry["problems"]:
        lines += ["", "What the grader noticed:", ""] + [f"* {p}" for p in entry["problems"]]
    cell = nbformat.v4.new_markdown_cell("\n".join(lines))
    cell.metadata[REPORT_MARK] = True
    cell["id"] = REPORT_MARK
    nb.cells.insert(0, cell)
    nbformat.write(nb, str(path))


# ------------------------------------------------------------------------- the command

def grade_class(submissions, course=".", out=None, assignments=None, db_url=None, workers=1,
                scheduler=None, seed=None, limits=None, confine=True, zip_path=None,
                zip_regexp=None, feedback=True, progress=None, copies=True, echo=print):
    """Grade every assignment of every student; return the report (and write it).

    Parameters
    ----------
    submissions : str or Path or None
        ``<student>/<assignment>/`` folder (ignored when ``zip_path`` is given).
    course : str or Path
        The course folder (holds ``nbgrader_config.py`` and ``solutions/``).
    out : str or Path, optional
        The grading folder (default ``<course>/grading``).
    assignments : list of str, optional
        Default: every assignment in the source folder.
    db_url : str, optional
        Gradebook URL (default SQLite ``<out>/gradebook.db``; ``postgresql://...`` to share).
    workers : int
        Local processes that grade in parallel (ignored with ``scheduler``).
    scheduler : str, optional
        ``tcp://HOST:PORT`` of a Dask scheduler: grade on its workers.
    seed : int or str, optional
        The hidden tests' grading seed (default: the environment variable named by
        ``rnnlib.checks.GRADING_SEED_ENV``); given to the judge only. Without one, the run
        draws a random seed (reported as ``seed``): hidden cases from public seeds only could
        be answered in advance by the student's notebook.
    limits : Limits, optional
    confine : bool
        Run student code confined (requires bubblewrap, prlimit and, as root, setpriv).
    zip_path, zip_regexp : optional
        An LMS download for one assignment, unpacked with ``nbgrader zip_collect``.
    progress : bool, optional
        Show a progress bar (default: when stderr is a terminal).
    copies : bool
        Look for near-copies between answers (reported, never scored).

    Returns
    -------
    dict
        ``entries`` (one per student and assignment), ``table`` (text), paths of the outputs,
        ``exit`` (the command's exit status).

    Raises
    ------
    GraderFailure
        When the class cannot be graded at all (preflight failed, nbgrader failed).
    """
    # nbgrader's Gradebook runs the `alembic` command: it must be on PATH (a venv's bin/).
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    course = Path(course).resolve()
    out = Path(out or course / "grading").resolve()
    out.mkdir(parents=True, exist_ok=True)
    limits = limits or Limits()
    progress = sys.stderr.isatty() if progress is None else progress
    if confine and scheduler is None and not available():
        raise GraderFailure("bubblewrap (bwrap), prlimit and setpriv are needed to confine "
                            "student code: apt-get install bubblewrap util-linux (or pass "
                            "--no-confine on a trusted class).")
    seed = seed if seed is not None else os.environ.get(SEED_ENV)
    if seed is None or not str(seed).strip():
        # Without a seed of the instructor's, the hidden tests' cases would all come from the
        # public seeds: a notebook could compute the reference's answers to them in a cell
        # (where nothing is blocked) and return those. A random seed keeps them unknown.
        import secrets

        seed = str(secrets.randbelow(2**32))
        echo(f"note: no grading seed was given (--seed or ${SEED_ENV}); this run's hidden tests "
             f"use the seed {seed} (kept in report.json: pass --seed {seed} to grade the same way).")
    db_url = db_url or f"sqlite:///{out / 'gradebook.db'}"
    source_dir = course / "solutions"
    assignments = assignments or _assignments(source_dir)
    _write_config(course, out, source_dir, db_url)
    phases = {a: {} for a in assignments}  # seconds spent on each assignment, by phase
    for a in assignments:
        t = time.monotonic()
        _nbgrader(out, ["generate_assignment", a, "--force"])
        phases[a]["release"] = time.monotonic() - t
    if zip_path:
        if len(assignments) != 1:
            raise ValueError("--zip needs exactly one --assignment")
        submissions = _collect_zip(zip_path, assignments[0], out, zip_regexp or DEFAULT_ZIP_REGEXP)
    submissions = Path(submissions).resolve()
    students, odd = _students(submissions)
    for name in odd:
        echo(f"warning: the folder {name!r} is not a student id nbgrader accepts; skipped")
    release = {a: _notebook_json(out / "release" / a / f"{a}.ipynb") for a in assignments}
    source = {a: _notebook_json(source_dir / a / f"{a}.ipynb") for a in assignments}
    max_points = {a: sum(float(c.metadata.get("nbgrader", {}).get("points", 0))
                         for c in nbformat.reads(release[a], as_version=4).cells
                         if c.metadata.get("nbgrader", {}).get("grade")) for a in assignments}
    shared = {"release": release, "source": source, "limits": limits.as_dict(), "seed": seed,
              "confine": confine, "fingerprint": rnnlib_fingerprint(),
              "hide": [str(out), str(course), str(submissions)],
              # Local processes start their next notebook's worker ahead; a Dask worker, which
              # outlives the run, does not keep one waiting.
              "ahead": scheduler is None}
    tasks = []
    # Assignment by assignment: a process's next notebook is most often of the same assignment,
    # whose worker it starts ahead (rnngrade.task).
    for a in assignments:
        for student in students:
            folder = submissions / student / a
            if folder.is_dir() and not folder.is_symlink():
                files, problems = read_submission(folder)
                tasks.append({"student": student, "assignment": a, "files": files,
                              "problems": problems, "timestamp": _read_timestamp(folder)})
    import nbgrader.api  # noqa: F401 - fail early, here, if nbgrader is missing

    runner = _Dask(scheduler) if scheduler else _Local(max(1, int(workers)))
    started = time.monotonic()
    results = {}
    with runner:
        # 1. Preflight: the instructor's solutions must earn every point, where the class runs.
        preflight = [_preflight_task(nbformat.reads(source[a], as_version=4), a) for a in assignments]
        for r in runner.run(preflight, shared):
            _check_preflight(r, max_points[r["assignment"]])
            phases[r["assignment"]]["preflight"] = r.get("seconds", 0.0)
        # 2. The class.
        failed = 0
        with _progress(len(tasks), progress, "grading") as bar:
            for r in runner.run(tasks, shared):
                key = (r["student"], r["assignment"])
                if key in results:
                    continue  # a task rerun after its worker died: the first result stands
                results[key] = r
                failed += bool(r.get("error"))
                bar.set_postfix(failed=failed, refresh=False)
                bar.update(1)
    grading_seconds = time.monotonic() - started
    # 3. The gradebook, written here only. A notebook the judge could not judge keeps nothing
    # of an earlier run either: no stale score may stand for it.
    _forget(out, db_url, _course_id(course),
            [key for key, r in results.items() if r.get("error")])
    entries = []
    for a in assignments:
        judged = [r for (s, aa), r in sorted(results.items()) if aa == a and not r.get("error")]
        phases[a]["judge"] = sum(r.get("seconds", 0.0) for r in judged)
        phases[a]["notebooks"] = len(judged)
        t = time.monotonic()
        _record(out, a, judged, db_url, _course_id(course))
        phases[a]["record"] = time.monotonic() - t
        for (s, aa), r in sorted(results.items()):
            if aa == a:
                entry = _entry(r, max_points[a])
                entries.append(entry)
                if not r.get("error"):
                    _insert_report_cell(out / "autograded" / s / a / f"{a}.ipynb", entry)
    recorded_seconds = time.monotonic() - started - grading_seconds
    for student in students:
        for a in assignments:
            if (student, a) not in results:
                entries.append({"student": student, "assignment": a, "status": "not submitted",
                                "score": 0.0, "max": max_points[a], "tests": [], "manual": [],
                                "copies": [], "diagnoses": {},
                                "problems": [f"No folder {a}/ was submitted."]})
    pairs = []
    if copies:
        from rnngrade.copies import flag_copies

        pairs = flag_copies(entries, results, source)
    if feedback:
        for a in assignments:
            if any(aa == a and not r.get("error") for (_, aa), r in results.items()):
                t = time.monotonic()
                code, log = _nbgrader(out, ["generate_feedback", a, "--force"], check=False)
                phases[a]["feedback"] = time.monotonic() - t
                if code != 0:
                    echo(f"warning: generate_feedback {a} exited {code}:\n{log}")
    from rnngrade.export import export_all

    paths = export_all(out, db_url, _course_id(course), assignments, _nbgrader,
                       [key for key, r in results.items() if r.get("error")])
    entries.sort(key=lambda e: (e["student"], e["assignment"]))
    not_graded = [e for e in entries if e["status"] == "not graded"]
    table = summary_table(entries, assignments, students)
    paths["misconceptions"] = _misconceptions(out, course, entries, source)
    report = {"entries": entries, "table": table, **paths,
              "feedback": str(out / "feedback"), "report": str(out / "report.md"),
              "seconds": grading_seconds, "record_seconds": recorded_seconds,
              "seconds_total": time.monotonic() - started,
              "copies": pairs, "phases": phases, "notebooks": len(results), "runner": scheduler or f"{max(1, int(workers))} local",
              "sandbox_uid": sandbox_uid() if confine else None, "seed": str(seed),
              "exit": EXIT_NOT_GRADED if not_graded else EXIT_OK}
    (out / "report.md").write_text(table)
    (out / "report.json").write_text(json.dumps(report, indent=1))
    echo(table)
    if not_graded:
        echo(f"error: {len(not_graded)} notebook(s) could not be graded for a reason that is not "
             "the student's (listed above as NOT GRADED); they have no score anywhere. Fix the "
             "cause and grade again.")
    return report


def _misconceptions(out, course, entries, source):
    """What the class got wrong (:mod:`rnngrade.misconceptions`), beside the report."""
    from rnngrade.misconceptions import checked_functions, section_links, write_report

    functions = {a: checked_functions(json.loads(nb)) for a, nb in source.items()}
    return write_report(out, entries, functions, section_links(Path(course) / "book", _site_url(course)))


def _site_url(course):
    """The site's address (``html: baseurl`` of the course's ``_config.yml``), or ""."""
    cfg = Path(course) / "_config.yml"
    if not cfg.is_file():
        return ""
    import yaml

    return ((yaml.safe_load(cfg.read_text()) or {}).get("html") or {}).get("baseurl") or ""


def _check_preflight(r, max_points):
    a = r["assignment"]
    if r.get("error"):
        raise GraderFailure(f"preflight: the judge cannot run on {r.get('host', 'this machine')}: "
                            f"{r['error']}. Nobody was graded.")
    lost = [t for t in r["tests"] if t["points"] < t["max_points"]]
    if lost:
        lines = "\n".join(f"  {t['grade_id']}: {t['message']}" for t in lost)
        raise GraderFailure(f"preflight: the instructor's own solutions of {a} do not earn every "
                            f"point with the judge on {r.get('host')}, so the judge cannot be "
                            f"trusted here. Nobody was graded.\n{lines}\n"
                            + "\n".join(f"  {p}" for p in r["problems"]))


def _course_id(course):
    cfg = Path(course) / "nbgrader_config.py"
    m = re.search(r"course_id\s*=\s*['\"]([^'\"]+)", cfg.read_text()) if cfg.is_file() else None
    return m.group(1) if m else "default_course"


def summary_table(entries, assignments, students):
    """The students x assignments table, then every problem, as Markdown text."""
    by = {(e["student"], e["assignment"]): e for e in entries}
    width = max([7] + [len(s) for s in students])
    head = f"| {'student'.ljust(width)} | " + " | ".join(assignments) + " | total |"
    rows = [head, "|" + "-" * (width + 2) + "|" + "|".join("-" * (len(a) + 2) for a in assignments) + "|-------|"]
    for s in students:
        cells, total = [], 0.0
        for a in assignments:
            e = by.get((s, a))
            if e["status"] == "not submitted":
                mark = "—"
            elif e["status"] == "not graded":
                mark = "NOT GRADED"
            else:
                mark = (f"{e['score']:g}/{e['max']:g}" + ("*" if e["problems"] or e["copies"] else "")
                        + ("+M" if e["manual"] else ""))
                total += e["score"]
            cells.append(mark.rjust(len(a)))
        rows.append(f"| {s.ljust(width)} | " + " | ".join(cells) + f" | {total:5g} |")
    lines = ["# Grading report", "", *rows, "",
             "`*` the grader noticed something (listed below). `+M` needs manual grading "
             "(nbgrader's formgrader: `python -m rnngrade formgrader`).", ""]
    for e in entries:
        if not e["problems"] and not e["copies"] and not e["manual"] and \
                all(" passed." in t for t in e["tests"]):
            continue
        score = "not graded" if e["score"] is None else f"{e['score']:g}/{e['max']:g}"
        lines.append(f"## {e['student']} / {e['assignment']}: {score}")
        lines += [f"- {p}" for p in e["problems"]]
        lines += [f"- {t}" for t in e["tests"] if " passed." not in t]
        if e["manual"]:
            lines.append(f"- needs manual grading: {', '.join(e['manual'])}")
        lines += [f"- possible copy: {c}" for c in e["copies"]]
        lines.append("")
    return "\n".join(lines)


def _grade_args(argv):
    p = argparse.ArgumentParser(prog="python -m rnngrade", description=__doc__.splitlines()[0])
    p.add_argument("submissions", nargs="?", default="submitted",
                   help="folder in the <student>/<assignment>/ layout (default: submitted)")
    p.add_argument("--course", default=".", help="course folder with nbgrader_config.py and solutions/")
    p.add_argument("--out", help="grading folder (default: <course>/grading)")
    p.add_argument("--assignment", action="append", help="grade only this assignment (repeatable)")
    p.add_argument("--zip", help="an LMS download (zip) for one --assignment, via nbgrader zip_collect")
    p.add_argument("--zip-regexp", help="FileNameCollectorPlugin.named_regexp for --zip")
    p.add_argument("--db-url", help="gradebook URL (default: SQLite in the grading folder)")
    p.add_argument("--workers", type=int, default=1, help="local grading processes")
    p.add_argument("--scheduler", help="grade on a Dask cluster: tcp://HOST:PORT of its scheduler")
    p.add_argument("--seed", help="hidden tests' seed (default: $" + SEED_ENV + ")")
    d = Limits()
    p.add_argument("--cell-timeout", type=float, default=d.cell_timeout, help="seconds per cell")
    p.add_argument("--notebook-timeout", type=float, default=d.notebook_timeout,
                   help="seconds per notebook in all (cells, checks, restarts)")
    p.add_argument("--memory", type=parse_size, default=d.memory, help="memory limit, e.g. 2G")
    p.add_argument("--cpu", type=int, default=d.cpu, help="CPU seconds per notebook process")
    p.add_argument("--file-size", type=parse_size, default=d.file_size, help="largest file, e.g. 64M")
    p.add_argument("--nproc", type=int, default=d.nproc,
                   help="processes and threads student code may hold at once")
    p.add_argument("--disk", type=parse_size, default=d.disk, help="bytes student code may write, e.g. 256M")
    p.add_argument("--output", type=int, default=d.output, help="characters printed per cell kept")
    p.add_argument("--no-confine", action="store_true", help="run student code unconfined (trusted class only)")
    p.add_argument("--no-feedback", action="store_true", help="skip generate_feedback")
    p.add_argument("--no-copies", action="store_true", help="skip copy detection")
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="show the progress bar (default: on a terminal)")
    bar.add_argument("--no-progress", dest="progress", action="store_false")
    return p.parse_args(argv)


def _interrupted(signum, frame):
    raise KeyboardInterrupt(f"stopped by signal {signum}")


def main(argv=None):
    """The instructor's command (``python -m rnngrade --help``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("formgrader", "export"):
        from rnngrade.export import main as tool_main

        return tool_main(argv)
    args = _grade_args(argv)
    # Stopped with SIGTERM (a job scheduler's timeout, `kill`), the command exits as on
    # Ctrl-C: its sandboxed workers are stopped and their folders removed.
    signal.signal(signal.SIGTERM, _interrupted)
    limits = Limits(cell_timeout=args.cell_timeout, memory=args.memory, cpu=args.cpu,
                    file_size=args.file_size, output=args.output, nproc=args.nproc,
                    disk=args.disk, notebook_timeout=args.notebook_timeout)
    try:
        report = grade_class(args.submissions, course=args.course, out=args.out,
                             assignments=args.assignment, db_url=args.db_url, workers=args.workers,
                             scheduler=args.scheduler, seed=args.seed, limits=limits,
                             confine=not args.no_confine, zip_path=args.zip,
                             zip_regexp=args.zip_regexp, feedback=not args.no_feedback,
                             progress=args.progress, copies=not args.no_copies)
    except GraderFailure as err:
        print(f"error: grading failed, nothing was scored: {err}", file=sys.stderr)
        return EXIT_PREFLIGHT
    return report["exit"]
