"""Benchmark: seconds per notebook when grading a synthetic class at 1 and N workers.

    python bench/grading.py [--students 50] [--workers 2] [--course .] [--out DIR]
    python bench/grading.py --make-class example_class --students 4   # only the class

A synthetic class of ``--students`` students submits every assignment of the course
(``solutions/``): a quarter solve everything, a quarter half, a quarter nothing, a quarter
solve everything but one answer that crashes its process. The class is graded twice with the
instructor's command: once with one worker on SQLite, once with N workers sharing a PostgreSQL
gradebook (a throwaway server on loopback; SQLite when PostgreSQL is not installed). It prints
seconds per notebook for both, checks that the two runs gave identical grades, and writes a
dated ``grading-<date>.json`` (with the machine it ran on) into ``--out`` (default
``<course>/bench/results``), which the book's Performance page shows.

This takes about an hour at 50 students x 7 assignments (350 notebooks, graded twice); the
tests run it on a class of two and one assignment.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import csv
import datetime as _dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run from anywhere: bench.machine and the test fixtures

from bench.machine import loadavg, machine_info  # noqa: E402
from rnngrade.pipeline import _assignments, grade_class  # noqa: E402
from rnngrade.sandbox import Limits  # noqa: E402

PROFILES = ("solved", "half", "untouched", "crash")


def _answers(source_nb):
    out = {}
    for c in source_nb.cells:
        meta = c.metadata.get("nbgrader", {})
        if meta.get("solution"):
            out[meta["grade_id"]] = "\n".join(
                l for l in c.source.splitlines() if "BEGIN SOLUTION" not in l and "END SOLUTION" not in l)
    return out


def synthetic_class(course, folder, students):
    """Write ``students`` submissions of every assignment into ``folder``; return profiles."""
    course = Path(course)
    with tempfile.TemporaryDirectory(prefix="rnn-bench-release-") as tmp:
        shutil.copy(course / "nbgrader_config.py", tmp)
        shutil.copytree(course / "solutions", Path(tmp) / "solutions")
        names = _assignments(Path(tmp) / "solutions")
        releases, answers = {}, {}
        for a in names:
            subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", a, "--force",
                            "--no-db", "--log-level=ERROR"], cwd=tmp, check=True)
            releases[a] = nbformat.read(str(Path(tmp) / "exercises" / a / f"{a}.ipynb"), as_version=4)
            answers[a] = _answers(nbformat.read(str(Path(tmp) / "solutions" / a / f"{a}.ipynb"),
                                                as_version=4))
    profiles = {}
    for i in range(students):
        sid = f"s{i:03d}"
        profile = PROFILES[i % len(PROFILES)]
        profiles[sid] = profile
        for a in names:
            nb = copy.deepcopy(releases[a])
            ids = list(answers[a])
            solved = {"solved": ids, "half": ids[: len(ids) // 2], "untouched": [],
                      "crash": ids}[profile]
            for cell in nb.cells:
                gid = cell.metadata.get("nbgrader", {}).get("grade_id")
                if gid in solved:
                    cell.source = answers[a][gid]
                    if profile == "crash" and gid == ids[-1]:
                        cell.source = "import os\nos._exit(1)\n" + cell.source
            dest = Path(folder) / sid / a
            dest.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, str(dest / f"{a}.ipynb"))
    return names, profiles


def _scores(path):
    with open(path) as f:
        return {(r["student_id"], r["assignment"]): r["score"] for r in csv.DictReader(f)}


def _machine():
    import nbgrader

    return machine_info(nbgrader=nbgrader.__version__)


def _per_assignment(entries):
    """Mean seconds per notebook of each assignment (a worker times its share of each)."""
    sums = {}
    for e in entries:
        total, n = sums.get(e["assignment"], (0.0, 0))
        sums[e["assignment"]] = (total + e.get("seconds", 0.0), n + 1)
    return {a: total / n for a, (total, n) in sorted(sums.items())}


def run_benchmark(course=".", students=50, workers=2, limits=None, assignments=None, echo=print):
    """Grade the synthetic class at 1 and ``workers`` workers; return the timings.

    ``assignments`` limits the grading to those (default: all of them).
    """
    from tests.grading_fixtures.pgserver import find_bin, postgres_server

    limits = limits or Limits(cell_timeout=30)
    results = {"date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
               "students": students, "workers": workers, "machine": _machine(),
               "limits": limits.as_dict()}
    with tempfile.TemporaryDirectory(prefix="rnn-bench-") as tmp:
        tmp = Path(tmp)
        names, _ = synthetic_class(course, tmp / "submitted", students)
        names = [a for a in names if assignments is None or a in assignments]
        results["assignments"] = names
        quiet = lambda *a, **k: None  # noqa: E731
        t = time.monotonic()
        one = grade_class(tmp / "submitted", course=course, out=tmp / "one", limits=limits,
                          assignments=names, workers=1, seed=1, echo=quiet)
        results["seconds_1"] = time.monotonic() - t
        results["notebooks"] = one["notebooks"]
        results["per_assignment_1"] = _per_assignment(one["entries"])
        pg = find_bin() is not None
        ctx = postgres_server() if pg else contextlib.nullcontext(None)
        with ctx as url:
            t = time.monotonic()
            many = grade_class(tmp / "submitted", course=course, out=tmp / "many", limits=limits,
                               assignments=names, workers=workers, seed=1, db_url=url, echo=quiet)
            results["seconds_n"] = time.monotonic() - t
        results["gradebook_n"] = "postgresql" if pg else "sqlite"
        results["identical"] = _scores(one["grades_csv"]) == _scores(many["grades_csv"])
    results["machine"]["loadavg_end"] = loadavg()
    n = results["notebooks"]
    results["per_notebook_1"] = results["seconds_1"] / n
    results["per_notebook_n"] = results["seconds_n"] / n
    echo(f"{n} notebooks ({students} students x {len(results['assignments'])} assignments)")
    echo(f"  1 worker  (SQLite):     {results['per_notebook_1']:.2f} s per notebook "
         f"({results['seconds_1']:.0f} s)")
    echo(f"  {workers} workers ({results['gradebook_n']}): {results['per_notebook_n']:.2f} s per "
         f"notebook ({results['seconds_n']:.0f} s)")
    echo(f"  identical grades: {results['identical']}")
    return results


def main(argv=None):
    p = argparse.ArgumentParser(prog="python bench/grading.py", description=__doc__.splitlines()[0])
    p.add_argument("--course", default=".")
    p.add_argument("--students", type=int, default=50)
    p.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 2))
    p.add_argument("--assignments", nargs="+", metavar="NAME", help="only these (default: all)")
    p.add_argument("--out", help="folder for grading-<date>.json (default <course>/bench/results)")
    p.add_argument("--make-class", metavar="FOLDER",
                   help="only write the synthetic class into FOLDER (an example to grade)")
    args = p.parse_args(argv)
    if args.make_class:
        names, profiles = synthetic_class(args.course, args.make_class, args.students)
        for sid, profile in profiles.items():
            print(f"{sid}: {profile}")
        print(f"Wrote {len(profiles)} students x {len(names)} assignments into {args.make_class}")
        return 0
    res = run_benchmark(args.course, args.students, args.workers, assignments=args.assignments)
    given = argv if argv is not None else sys.argv[1:]
    res["command"] = " ".join(["python bench/grading.py", *given])
    out = Path(args.out) if args.out else Path(args.course) / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.fromisoformat(res["date"]).strftime("%Y-%m-%dT%H%M%S")
    path = out / f"grading-{stamp}.json"
    tmp = path.with_suffix(".json.tmp")  # written whole, then renamed: never half a file
    tmp.write_text(json.dumps(res, indent=1) + "\n")
    tmp.replace(path)
    print(f"Wrote {path}")
    return 0 if res["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
