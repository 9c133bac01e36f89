"""Grades out of the gradebook: nbgrader's CSV, and the import layouts of Canvas and Moodle.

Every file is written from the gradebook (so manual grades entered in formgrader are in it
after ``python -m rnngrade export``), one row per student and one column per assignment:

``grades.csv``
    nbgrader's own export (one row per student *and* assignment).
``canvas.csv``
    Canvas's gradebook import layout: ``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``,
    ``Section``, then one column per assignment (named after it, so Canvas creates or matches
    that assignment), and a second row ``Points Possible``. The nbgrader student id goes into
    ``SIS User ID`` and ``SIS Login ID`` (and ``ID`` when it is Canvas's numeric user id).
``moodle.csv``
    Moodle's "Import grades from CSV": ``Username``, ``Email address``, then one column per
    assignment; map ``Username`` to the user and each assignment column to a grade item.

A cell is empty when the gradebook has no score (nothing submitted, or not graded because
the grader failed): an LMS reads that as "no grade", never as a grade. Scores still waiting
for a manual grade count what has been graded so far.

``python -m rnngrade formgrader`` opens nbgrader's formgrader (the instructor's web page for
manual grading) on the grading folder, whose gradebook holds the judge's scores.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

__all__ = ["export_all", "lms_rows", "main"]


def lms_rows(db_url, course_id, assignments):
    """``(students, {(student, assignment): score or None}, {assignment: max})`` from the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    scores, maxima, students = {}, {}, []
    with Gradebook(db_url, course_id) as gb:
        for st in sorted(gb.students, key=lambda s: s.id):
            students.append({"id": st.id, "first": st.first_name or "", "last": st.last_name or "",
                             "email": st.email or "", "lms": st.lms_user_id or ""})
        for a in assignments:
            try:
                maxima[a] = gb.find_assignment(a).max_score
            except MissingEntry:
                maxima[a] = 0.0
            for st in students:
                try:
                    scores[(st["id"], a)] = gb.find_submission(a, st["id"]).score
                except MissingEntry:
                    scores[(st["id"], a)] = None
    return students, scores, maxima


def _fmt(x):
    return "" if x is None else f"{x:g}"


def write_canvas(path, students, scores, maxima, assignments):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *assignments])
        w.writerow(["Points Possible", "", "", "", "", *(_fmt(maxima[a]) for a in assignments)])
        for st in students:
            name = f"{st['last']}, {st['first']}" if st["last"] or st["first"] else st["id"]
            canvas_id = st["lms"] or (st["id"] if st["id"].isdigit() else "")
            w.writerow([name, canvas_id, st["id"], st["id"], "",
                        *(_fmt(scores[(st["id"], a)]) for a in assignments)])


def write_moodle(path, students, scores, assignments):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Username", "Email address", *assignments])
        for st in students:
            w.writerow([st["id"], st["email"], *(_fmt(scores[(st["id"], a)]) for a in assignments)])


def export_all(out, db_url, course_id, assignments, nbgrader, not_graded=()):
    """Write grades.csv (nbgrader), canvas.csv and moodle.csv into ``out``; return their paths.

    ``not_graded``: (student, assignment) pairs the judge could not judge: nbgrader's export
    would give them 0, so their rows are removed (no grade is not a grade of 0).
    """
    out = Path(out)
    nbgrader(out, ["export", "--to", str(out / "grades.csv")])
    drop = set(map(tuple, not_graded))
    if drop:
        with open(out / "grades.csv", newline="") as f:
            rows = list(csv.DictReader(f))
            fields = list(rows[0]) if rows else []
        with open(out / "grades.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields)
            w.writeheader()
            w.writerows(r for r in rows if (r["student_id"], r["assignment"]) not in drop)
    students, scores, maxima = lms_rows(db_url, course_id, assignments)
    write_canvas(out / "canvas.csv", students, scores, maxima, assignments)
    write_moodle(out / "moodle.csv", students, scores, assignments)
    return {"grades_csv": str(out / "grades.csv"), "canvas_csv": str(out / "canvas.csv"),
            "moodle_csv": str(out / "moodle.csv")}


def _config_value(out, name):
    import re

    text = (Path(out) / "nbgrader_config.py").read_text()
    m = re.search(rf"{name}\s*=\s*'([^']*)'", text) or re.search(rf'{name}\s*=\s*"([^"]*)"', text)
    return m.group(1) if m else None


def main(argv):
    """``python -m rnngrade formgrader|export [--out grading] ...``."""
    p = argparse.ArgumentParser(prog=f"python -m rnngrade {argv[0]}")
    p.add_argument("--out", default="grading", help="the grading folder of a run (default: grading)")
    p.add_argument("--port", type=int, default=8888, help="formgrader: port on 127.0.0.1")
    p.add_argument("--token", default=None, help="formgrader: the server's token (default: random)")
    args = p.parse_args(argv[1:])
    out = Path(args.out).resolve()
    if not (out / "nbgrader_config.py").is_file():
        print(f"error: {out} is not a grading folder (run python -m rnngrade first)", file=sys.stderr)
        return 2
    if argv[0] == "export":
        from rnngrade.pipeline import _assignments, _nbgrader

        db_url = _config_value(out, "db_url")
        course = _config_value(out, "course_id") or "default_course"
        assignments = _assignments(_config_value(out, "source_directory"))
        report = out / "report.json"
        not_graded = [(e["student"], e["assignment"]) for e in
                      (json.loads(report.read_text())["entries"] if report.is_file() else [])
                      if e["status"] == "not graded"]
        for path in export_all(out, db_url, course, assignments, _nbgrader, not_graded).values():
            print(f"wrote {path}")
        return 0
    cmd = [sys.executable, "-m", "jupyter", "server", "--no-browser", "--ip=127.0.0.1",
           f"--port={args.port}", f"--ServerApp.root_dir={out}",
           "--ServerApp.default_url=/formgrader"]
    if args.token is not None:
        cmd.append(f"--IdentityProvider.token={args.token}")
    if os.geteuid() == 0:
        cmd.append("--allow-root")  # the page serves the grading folder only, on loopback
    print(f"formgrader on http://127.0.0.1:{args.port}/formgrader (grading folder {out})", flush=True)
    os.chdir(out)
    os.execv(sys.executable, cmd)  # the server is this process: stopping it stops the page
