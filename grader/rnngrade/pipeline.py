"""Grade a whole class with one command: normalise, autograde, judge, feedback, export, report.

    python -m rnngrade SUBMISSIONS [--zip FILE --assignment A] [--out grading]
        [--db-url URL] [--workers N] [--seed S] [--cell-timeout 30] [--memory 2G] ...

``SUBMISSIONS`` is a folder in nbgrader's ``<student>/<assignment>/`` layout (for example the
course's ``submitted/``). With ``--zip`` an LMS download is unpacked by ``nbgrader
zip_collect`` first. Everything the run makes goes into the grading folder (``--out``), which
is nbgrader's course folder for the run: ``submitted/`` (the normalised notebooks),
``autograded/``, ``feedback/`` (HTML per student), ``grades.csv``, ``report.md`` and, with
SQLite, ``gradebook.db``. For each student and assignment:

1. the submission is normalised (:mod:`rnngrade.normalise`);
2. ``nbgrader autograde`` runs it in a confined kernel (for the feedback notebook);
3. the judge scores it (:mod:`rnngrade.judge`) and its scores are written to the
   gradebook as the autograded scores, overriding whatever the kernel's test cells said (if
   nbgrader dropped the notebook because its kernel died, it is autograded again without the
   cells that crashed the judge's worker, or else without executing, so the gradebook and the
   feedback still have it);
4. a "Grading report" cell with the judge's lines is put at the top of the autograded notebook.

Then ``generate_feedback`` and ``export`` run, and a table of students x assignments is printed
with every problem met. Students are split across ``--workers`` processes (use PostgreSQL for
more than one).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from rnngrade.judge import judge_notebook
from rnngrade.normalise import normalise
from rnngrade.sandbox import Confinement, Limits, available
from rnngrade.settings import CONFINE_ENV, REPORT_MARK, SEED_ENV, SOCKETS_ENV

#: LMS file names like ``<student>_<notebook>.ipynb`` (nbgrader matches the full path).
DEFAULT_ZIP_REGEXP = r".*/(?P<student_id>[^/_]+)_(?P<file_id>[^/]+\.ipynb)$"

__all__ = ["grade_class", "main", "parse_size"]


def parse_size(text):
    """``"1G"``, ``"512M"``, ``"100k"`` or a number of bytes -> int bytes."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)i?[bB]?\s*", str(text))
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}")
    return int(float(m.group(1)) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[m.group(2).lower()])


def _assignments(source_dir):
    return sorted(p.name for p in Path(source_dir).iterdir() if (p / f"{p.name}.ipynb").is_file())


def _write_config(course, out, source_dir, db_url, limits, confine):
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
        f"c.Execute.timeout = {int(limits.cell_timeout)}",
        "c.Execute.interrupt_on_timeout = True",
        "c.Execute.raise_on_iopub_timeout = False",
        "c.LimitOutput.max_lines = 200",
        "c.Autograde.create_student = True",
    ]
    if confine:
        text += [
            "from nbconvert.preprocessors import ClearMetadataPreprocessor",
            "from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata,",
            "    IgnorePattern, LimitOutput, SaveAutoGrades)",
            "from rnngrade.kernel import ConfinedExecute",
            "# nbgrader's autograde pipeline, with the kernel confined.",
            "c.Autograde.autograde_preprocessors = [ConfinedExecute, IgnorePattern,",
            "    ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades, AssignLatePenalties,",
            "    CheckCellMetadata]",
        ]
    (Path(out) / "nbgrader_config.py").write_text("\n".join(text) + "\n")


def _nbgrader(out, args, env=None, timeout=None, check=True):
    cmd = [sys.executable, "-m", "nbgrader", *args, "--log-level=WARN"]
    env = dict(os.environ if env is None else env)
    # The confined kernels' IPC sockets live here, and go when nbgrader is done.
    sockets = tempfile.mkdtemp(prefix="rnnk-", dir="/tmp")
    env[SOCKETS_ENV] = sockets
    try:
        proc = subprocess.run(cmd, cwd=out, capture_output=True, text=True, env=env,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, "nbgrader did not finish in time"
    finally:
        shutil.rmtree(sockets, ignore_errors=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
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
        raise RuntimeError(f"nbgrader zip_collect found no notebook in {zip_path} whose name "
                           f"matches {regexp!r} (set --zip-regexp)")
    return raw


def _submission_folders(submissions, assignments):
    """{(student, assignment): folder} for every folder in the submitted layout."""
    found = {}
    for sdir in sorted(p for p in Path(submissions).iterdir() if p.is_dir()):
        if sdir.name.startswith("."):
            continue
        for a in assignments:
            if (sdir / a).is_dir():
                found[(sdir.name, a)] = sdir / a
    return found


def _sources(source_dir, a):
    nb = nbformat.read(str(Path(source_dir) / a / f"{a}.ipynb"), as_version=4)
    return nb


class _Job:
    """What a worker process needs for its share of the class (plain data: it is pickled)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def _confine_env(job):
    env = dict(os.environ)
    env.pop(SEED_ENV, None)  # the seed is the judge's, never the kernel's
    env[CONFINE_ENV] = json.dumps(
        {"hide": _hidden(job), "limits": job.limits, "enabled": job.confine})
    return env


def _hidden(job):
    """What student code must not see: the course, the grading folder, submissions, /tmp, $HOME."""
    return [str(job.out), str(job.course), str(job.submissions), str(Path.home()), "/tmp"]


def _autograde(job, a, mine, others):
    """``nbgrader autograde`` for this share of students (one nbgrader process for all).

    Returns the students whose notebook nbgrader dropped (its kernel died or hung).
    """
    out = Path(job.out)
    limits = Limits(**job.limits)
    cells = max(len(nbformat.read(str(out / "submitted" / s / a / f"{a}.ipynb"), as_version=4).cells)
                for s in mine)
    args = ["autograde", a, "--force", "--CourseDirectory.student_id=*"]
    if others:
        args.append("--CourseDirectory.student_id_exclude=" + ",".join(others))
    _nbgrader(out, args, env=_confine_env(job),
              timeout=len(mine) * (limits.cell_timeout * cells + 60), check=False)
    return [s for s in mine if not (out / "autograded" / s / a / f"{a}.ipynb").is_file()]


CRASHED_CELL = ("# rnngrade: this cell stopped the process that ran it (a crash, or past the\n"
                "# time limit), so it was not run for the feedback. Your original code:\n")


def _autograde_again(job, a, student, skipped):
    """A dropped notebook: autograde it without the cells that crashed, else without executing.

    Either way the gradebook gets the submission, and the student gets a feedback notebook.
    Returns the line for the report.
    """
    out = Path(job.out)
    env = _confine_env(job)
    path = out / "submitted" / student / a / f"{a}.ipynb"
    if skipped:
        nb = nbformat.read(str(path), as_version=4)
        for idx in skipped:
            cell = nb.cells[idx]
            cell.source = CRASHED_CELL + "\n".join("# " + line for line in cell.source.splitlines())
        nbformat.write(nb, str(path))
        _nbgrader(out, ["autograde", a, "--student", student, "--force"], env=env, check=False)
        if (out / "autograded" / student / a / f"{a}.ipynb").is_file():
            return ("The cells that crashed were commented out in the feedback notebook, which "
                    "was run without them.")
    _nbgrader(out, ["autograde", a, "--student", student, "--force", "--Execute.enabled=False"],
              env=env, check=False)
    return ("The notebook's kernel did not finish (it crashed or was stopped), so the feedback "
            "shows it unexecuted; the scores come from the independent check.")


def _judge(job, student, a):
    out = Path(job.out)
    student_nb = nbformat.read(str(out / "submitted" / student / a / f"{a}.ipynb"), as_version=4)
    source_nb = _sources(job.source_dir, a)
    limits = Limits(**job.limits)
    old_seed = os.environ.get(SEED_ENV)
    if job.seed is not None:
        os.environ[SEED_ENV] = str(job.seed)  # read by the checkers, in this process only
    try:
        conf = Confinement(hide=_hidden(job), limits=limits, enabled=job.confine)
        with tempfile.TemporaryDirectory(prefix="rnnj-", dir="/tmp") as work:
            return judge_notebook(student_nb, source_nb, conf, timeout=limits.cell_timeout,
                                  workdir=work)
    finally:
        if old_seed is None:
            os.environ.pop(SEED_ENV, None)
        else:
            os.environ[SEED_ENV] = old_seed


def _grade_assignment(job, a, mine, others):
    """Autograde, judge and record this share of students for one assignment."""
    from nbgrader.api import Gradebook

    out = Path(job.out)
    started = time.monotonic()
    crashed = set(_autograde(job, a, mine, others))
    entries, reports = [], {}
    for student in mine:
        key = f"{student}/{a}"
        entry = {"student": student, "assignment": a, "status": job.status[key],
                 "problems": list(job.problems.get(key, []))}
        report = _judge(job, student, a)
        reports[student] = report
        entry["problems"] += report.problems
        if student in crashed:
            entry["problems"].append(_autograde_again(job, a, student, report.skipped))
        entry["score"] = report.score
        entry["max"] = sum(r.max_points for r in report.tests.values())
        entries.append(entry)
    # The judge's scores replace what the kernel's test cells said (kept for the report).
    with Gradebook(job.db_url, job.course_id) as gb:
        for entry in entries:
            student = entry["student"]
            lines = []
            for gid, result in reports[student].tests.items():
                line = f"{gid}: {result.points:g}/{result.max_points:g} — {result.message}"
                try:
                    grade = gb.find_grade(gid, a, a, student)
                except Exception:  # noqa: BLE001 - a cell the gradebook does not know
                    lines.append(line)
                    continue
                kernel = grade.auto_score
                if student not in crashed and kernel is not None and float(kernel) != result.points:
                    line += (f" (the notebook's own test cell gave {float(kernel):g}; the "
                             "independent check decides)")
                grade.auto_score = result.points
                grade.needs_manual_grade = False
                lines.append(line)
            entry["tests"] = lines
        gb.db.commit()
    per = (time.monotonic() - started) / max(1, len(mine))
    for entry in entries:
        entry["seconds"] = per
        _insert_report_cell(out / "autograded" / entry["student"] / a / f"{a}.ipynb", entry)
    return entries


def _insert_report_cell(path, entry):
    if not path.is_file():
        return
    nb = nbformat.read(str(path), as_version=4)
    nb.cells = [c for c in nb.cells if not c.metadata.get(REPORT_MARK)]
    lines = [f"## Grading report: {entry['score']:g} / {entry['max']:g} points", ""]
    lines += [f"* {t}" for t in entry["tests"]]
    if entry["problems"]:
        lines += ["", "What the grader noticed:", ""] + [f"* {p}" for p in entry["problems"]]
    cell = nbformat.v4.new_markdown_cell("\n".join(lines))
    cell.metadata[REPORT_MARK] = True
    cell["id"] = REPORT_MARK
    nb.cells.insert(0, cell)
    nbformat.write(nb, str(path))


def _grade_students(job, students):
    """Grade a share of the class (one worker process), assignment by assignment."""
    entries = []
    for a in job.assignments:
        mine = [s for s in students if f"{s}/{a}" in job.status]
        if not mine:
            continue
        others = sorted(k.split("/")[0] for k in job.status
                        if k.endswith(f"/{a}") and k.split("/")[0] not in mine)
        try:
            entries += _grade_assignment(job, a, mine, others)
        except Exception as err:  # noqa: BLE001 - one failure must not stop the class
            for s in mine:
                entries.append({"student": s, "assignment": a, "status": "error", "score": 0.0,
                                "max": job.max_points[a], "tests": [],
                                "problems": [f"Grading failed: {type(err).__name__}: {err}"]})
    return entries


def grade_class(submissions, course=".", out=None, assignments=None, db_url=None, workers=1,
                seed=None, limits=None, confine=True, zip_path=None, zip_regexp=None,
                feedback=True, echo=print):
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
        Processes that grade students in parallel.
    seed : int or str, optional
        The hidden tests' grading seed (default: the environment variable ``rnnlib.checks.GRADING_SEED_ENV``); given to the judge only.
    limits : Limits, optional
    confine : bool
        Run student code confined (requires bubblewrap and prlimit).
    zip_path, zip_regexp : optional
        An LMS download for one assignment, unpacked with ``nbgrader zip_collect``.

    Returns
    -------
    dict
        ``entries`` (one per student and assignment), ``table`` (text), paths of the outputs.
    """
    # nbgrader's Gradebook runs the `alembic` command: it must be on PATH (a venv's bin/).
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    course = Path(course).resolve()
    out = Path(out or course / "grading").resolve()
    out.mkdir(parents=True, exist_ok=True)
    limits = limits or Limits()
    if confine and not available():
        raise RuntimeError("bubblewrap (bwrap) and prlimit are needed to confine student code: "
                           "apt-get install bubblewrap (or pass --no-confine on a trusted class).")
    seed = seed if seed is not None else os.environ.get(SEED_ENV)
    db_url = db_url or f"sqlite:///{out / 'gradebook.db'}"
    source_dir = course / "solutions"
    assignments = assignments or _assignments(source_dir)
    _write_config(course, out, source_dir, db_url, limits, confine)
    for a in assignments:
        _nbgrader(out, ["generate_assignment", a, "--force"])
    if zip_path:
        if len(assignments) != 1:
            raise ValueError("--zip needs exactly one --assignment")
        submissions = _collect_zip(zip_path, assignments[0], out,
                                   zip_regexp or DEFAULT_ZIP_REGEXP)
    submissions = Path(submissions).resolve()
    folders = _submission_folders(submissions, assignments)
    students = sorted({s for s, _ in folders} | {p.name for p in submissions.iterdir()
                                                  if p.is_dir() and not p.name.startswith(".")})
    release = {a: nbformat.read(str(out / "release" / a / f"{a}.ipynb"), as_version=4)
               for a in assignments}
    max_points = {a: sum(float(c.metadata.get("nbgrader", {}).get("points", 0))
                         for c in release[a].cells if c.metadata.get("nbgrader", {}).get("grade"))
                  for a in assignments}
    # 1. Normalise into <out>/submitted (the raw submissions are never modified).
    problems, status = {}, {}
    for (student, a), folder in folders.items():
        norm = normalise(folder, a, release[a])
        dest = out / "submitted" / student / a
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        nbformat.write(norm.nb, str(dest / f"{a}.ipynb"))
        if (folder / "timestamp.txt").is_file():
            shutil.copy(folder / "timestamp.txt", dest)
        problems[f"{student}/{a}"] = norm.problems
        status[f"{student}/{a}"] = norm.status
    import nbgrader.api  # noqa: F401 - fail early, here, if nbgrader is missing

    job = _Job(out=str(out), course=str(course), submissions=str(submissions),
               source_dir=str(source_dir), assignments=assignments, db_url=db_url,
               course_id=_course_id(course), limits=limits.as_dict(), confine=confine,
               seed=seed, problems=problems, status=status, max_points=max_points)
    started = time.monotonic()
    entries = []
    workers = max(1, int(workers))
    if workers > 1 and db_url.startswith("sqlite"):
        echo("warning: several workers writing one SQLite gradebook may find it locked; "
             "use --db-url postgresql+psycopg2://... for --workers > 1")
    if workers == 1:
        entries = _grade_students(job, students)
    else:
        shares = [students[i::workers] for i in range(workers)]
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
            for part in pool.map(_grade_students, [job] * workers, shares):
                entries += part
    grading_seconds = time.monotonic() - started
    for student in students:
        for a in assignments:
            if f"{student}/{a}" not in status:
                entries.append({"student": student, "assignment": a, "status": "not submitted",
                                "score": 0.0, "max": max_points[a], "tests": [],
                                "problems": [f"No folder {a}/ was submitted."]})
    if feedback:
        for a in assignments:
            if not any(k.endswith(f"/{a}") for k in status):
                continue  # nobody submitted it: nothing to give feedback on
            code, log = _nbgrader(out, ["generate_feedback", a, "--force"], check=False)
            if code != 0:
                echo(f"warning: generate_feedback {a} exited {code}:\n{log}")
    _nbgrader(out, ["export", "--to", str(out / "grades.csv")])
    entries.sort(key=lambda e: (e["student"], e["assignment"]))
    table = summary_table(entries, assignments, students)
    report = {"entries": entries, "table": table, "grades_csv": str(out / "grades.csv"),
              "feedback": str(out / "feedback"), "report": str(out / "report.md"),
              "seconds": grading_seconds,
              "notebooks": sum(1 for e in entries if e["status"] not in ("not submitted",))}
    (out / "report.md").write_text(table)
    (out / "report.json").write_text(json.dumps(report, indent=1))
    echo(table)
    return report


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
            mark = f"{e['score']:g}/{e['max']:g}" + ("*" if e["problems"] else "")
            if e["status"] == "not submitted":
                mark = "—"
            total += e["score"]
            cells.append(mark.rjust(len(a)))
        rows.append(f"| {s.ljust(width)} | " + " | ".join(cells) + f" | {total:5g} |")
    lines = ["# Grading report", "", *rows, "", "`*` the grader noticed something (listed below).", ""]
    for e in entries:
        if not e["problems"] and all(" passed." in t for t in e["tests"]):
            continue
        lines.append(f"## {e['student']} / {e['assignment']}: {e['score']:g}/{e['max']:g}")
        lines += [f"- {p}" for p in e["problems"]]
        lines += [f"- {t}" for t in e["tests"] if " passed." not in t]
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    """The instructor's command (``python -m rnngrade --help``)."""
    p = argparse.ArgumentParser(prog="python -m rnngrade", description=__doc__.splitlines()[0])
    p.add_argument("submissions", nargs="?", default="submitted",
                   help="folder in the <student>/<assignment>/ layout (default: submitted)")
    p.add_argument("--course", default=".", help="course folder with nbgrader_config.py and solutions/")
    p.add_argument("--out", help="grading folder (default: <course>/grading)")
    p.add_argument("--assignment", action="append", help="grade only this assignment (repeatable)")
    p.add_argument("--zip", help="an LMS download (zip) for one --assignment, via nbgrader zip_collect")
    p.add_argument("--zip-regexp", help="FileNameCollectorPlugin.named_regexp for --zip")
    p.add_argument("--db-url", help="gradebook URL (default: SQLite in the grading folder)")
    p.add_argument("--workers", type=int, default=1, help="parallel grading processes")
    p.add_argument("--seed", help=f"hidden tests' seed (default: ${SEED_ENV})")
    d = Limits()
    p.add_argument("--cell-timeout", type=float, default=d.cell_timeout, help="seconds per cell")
    p.add_argument("--memory", type=parse_size, default=d.memory, help="memory limit, e.g. 2G")
    p.add_argument("--cpu", type=int, default=d.cpu, help="CPU seconds per notebook process")
    p.add_argument("--file-size", type=parse_size, default=d.file_size, help="largest file, e.g. 64M")
    p.add_argument("--output", type=int, default=d.output, help="characters printed per cell kept")
    p.add_argument("--no-confine", action="store_true", help="run student code unconfined (trusted class only)")
    p.add_argument("--no-feedback", action="store_true", help="skip generate_feedback")
    args = p.parse_args(argv)
    limits = Limits(cell_timeout=args.cell_timeout, memory=args.memory, cpu=args.cpu,
                    file_size=args.file_size, output=args.output)
    grade_class(args.submissions, course=args.course, out=args.out, assignments=args.assignment,
                db_url=args.db_url, workers=args.workers, seed=args.seed, limits=limits,
                confine=not args.no_confine, zip_path=args.zip, zip_regexp=args.zip_regexp,
                feedback=not args.no_feedback)
    return 0
