"""Benchmark: seconds per notebook when grading a synthetic class at 1 and N workers, and on Dask.

    python bench/grading.py [--students 50] [--workers 2] [--course .] [--out DIR]
    python bench/grading.py --make-class example_class --students 4   # only the class

A synthetic class of ``--students`` students submits every assignment of the course
(``solutions/``): a quarter solve everything, a quarter half, a quarter nothing, a quarter
solve everything but one answer that crashes its process. It writes a dated
``grading-<date>.json`` (with the machine it ran on) into ``--out`` (default
``<course>/bench/results``), which the book's Performance page shows.

The class is graded three times: with one local worker (SQLite), with N local workers, and on
a Dask cluster of N workers started on loopback (PostgreSQL gradebook when PostgreSQL is
installed). It reports seconds per notebook end to end for each, and per assignment (end to
end, in the judge, in nbgrader) against the targets, and checks that all runs agree. The tests
run it on a class of two and one assignment.
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


#: Chapters whose notebook trains a model in a demonstration cell (smaller when graded).
TRAINING = {"ch06_char_lm"}
#: The issue's targets: seconds per notebook end to end at 1 worker.
TARGET_PLAIN, TARGET_TRAINING = 2.0, 6.0


def _per_assignment(report):
    """Seconds per notebook of each assignment at one worker, end to end and by phase.

    End to end is everything the run spent on that assignment (release, preflight, the judge,
    nbgrader's record, feedback) divided by its notebooks; the run's shared steps (export,
    copy detection, report) are spread over all notebooks.
    """
    phases = report["phases"]
    per_phase_total = sum(sum(v for k, v in ph.items() if k != "notebooks") for ph in phases.values())
    shared = max(0.0, report["seconds_total"] - per_phase_total) / max(1, report["notebooks"])
    out = {}
    for a, ph in sorted(phases.items()):
        n = max(1, ph.get("notebooks", 0))
        own = sum(v for k, v in ph.items() if k != "notebooks")
        out[a] = {"end_to_end": own / n + shared, "judge": ph.get("judge", 0.0) / n,
                  "nbgrader": (ph.get("record", 0.0) + ph.get("feedback", 0.0)
                               + ph.get("release", 0.0)) / n,
                  "preflight": ph.get("preflight", 0.0) / n, "training": a in TRAINING,
                  "target": TARGET_TRAINING if a in TRAINING else TARGET_PLAIN}
        out[a]["met"] = out[a]["end_to_end"] <= out[a]["target"]
    return out


def _timed(label, results, key, fn):
    t = time.monotonic()
    report = fn()
    results[f"seconds_{key}"] = time.monotonic() - t
    results[f"per_notebook_{key}"] = results[f"seconds_{key}"] / report["notebooks"]
    results[f"runner_{key}"] = label
    return report


def run_benchmark(course=".", students=50, workers=2, limits=None, assignments=None,
                  dask=True, echo=print):
    """Grade the synthetic class at 1 and ``workers`` local workers, and on a Dask cluster
    of ``workers`` workers on loopback; return the timings.

    ``assignments`` limits the grading to those (default: all of them).
    """
    from tests.grading_fixtures.daskcluster import dask_cluster
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
        common = dict(course=course, limits=limits, assignments=names, seed=1, echo=quiet,
                      progress=False)
        one = _timed("1 local worker, SQLite", results, "1", lambda: grade_class(
            tmp / "submitted", out=tmp / "one", workers=1, **common))
        results["notebooks"] = one["notebooks"]
        results["per_assignment_1"] = _per_assignment(one)
        many = _timed(f"{workers} local workers, SQLite", results, "n", lambda: grade_class(
            tmp / "submitted", out=tmp / "many", workers=workers, **common))
        runs = [one, many]
        if dask:
            pg = find_bin() is not None
            with (postgres_server() if pg else contextlib.nullcontext(None)) as url, \
                    dask_cluster(workers, cwd=course) as cluster:
                dist = _timed(f"{workers} Dask workers on loopback, "
                              f"{'PostgreSQL' if pg else 'SQLite'}", results, "dask",
                              lambda: grade_class(tmp / "submitted", out=tmp / "dask",
                                                  scheduler=cluster.address, db_url=url, **common))
            results["gradebook_dask"] = "postgresql" if pg else "sqlite"
            runs.append(dist)
        grades = [_scores(r["grades_csv"]) for r in runs]
        results["identical"] = all(g == grades[0] for g in grades)
        # Which grades differ, and why each run said what it said (to find the cause).
        keys = sorted(set().union(*grades))
        results["differences"] = [
            {"student": s, "assignment": a, "scores": [g.get((s, a)) for g in grades],
             "tests": [next((e["tests"] for e in r["entries"]
                             if (e["student"], e["assignment"]) == (s, a)), None) for r in runs]}
            for s, a in keys if len({g.get((s, a)) for g in grades}) > 1]
        results["exit_codes"] = [r["exit"] for r in runs]
    results["machine"]["loadavg_end"] = loadavg()
    n = results["notebooks"]
    echo(f"{n} notebooks ({students} students x {len(results['assignments'])} assignments), "
         "seconds per notebook end to end:")
    for key in ("1", "n", "dask"):
        if f"seconds_{key}" in results:
            echo(f"  {results[f'runner_{key}']:<40} {results[f'per_notebook_{key}']:.2f} "
                 f"({results[f'seconds_{key}']:.0f} s)")
    echo("  per assignment at 1 worker (end to end / judge / nbgrader), target:")
    for a, row in results["per_assignment_1"].items():
        echo(f"    {a:<24} {row['end_to_end']:.2f} / {row['judge']:.2f} / {row['nbgrader']:.2f}"
             f"  <= {row['target']:g} {'met' if row['met'] else 'MISSED'}")
    echo(f"  identical grades: {results['identical']}")
    return results


def main(argv=None):
    p = argparse.ArgumentParser(prog="python bench/grading.py", description=__doc__.splitlines()[0])
    p.add_argument("--course", default=".")
    p.add_argument("--students", type=int, default=50)
    p.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 2))
    p.add_argument("--no-dask", action="store_true", help="skip the Dask run")
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
    res = run_benchmark(args.course, args.students, args.workers, assignments=args.assignments,
                        dask=not args.no_dask)
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
