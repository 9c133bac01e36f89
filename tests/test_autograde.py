"""Autograding end to end with nbgrader, in a temporary course folder.

For every assignment a small class is graded: a student who solved everything (full marks),
one who submitted the untouched notebook (0) and one who solved the first half of the
exercises (exactly the points of those exercises). The grades CSV must say so. The hidden
tests run with an instructor's grading seed set, as they would in a real grading run.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys

import pytest

from rnnlib.checks import GRADING_SEED_ENV
from tests.conftest import ROOT
from tests.nbtools import assignments, max_points, points_after, solution_ids, student_notebook


def _nbgrader(course, *args):
    # nbgrader runs `alembic` from PATH to create the gradebook: put the venv's bin first.
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    env = dict(os.environ, PATH=path)
    env[GRADING_SEED_ENV] = "20261125"
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args, "--log-level=WARN"],
                          cwd=course, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions", course / "solutions")
    expected = {}
    for name in assignments():
        _nbgrader(course, "generate_assignment", name, "--force")
        ids = solution_ids(name)
        half = ids[: len(ids) // 2]
        for student, solved in {"solved": ids, "untouched": [], "half": half}.items():
            folder = course / "submitted" / student / name
            folder.mkdir(parents=True)
            (folder / f"{name}.ipynb").write_text(json.dumps(student_notebook(name, solved)))
            expected[(student, name)] = points_after(name, solved)
        assert expected[("solved", name)] == max_points(name)
    for name in assignments():
        _nbgrader(course, "autograde", name, "--force")
    _nbgrader(course, "export", "--to", "grades.csv")
    with open(course / "grades.csv") as f:
        rows = list(csv.DictReader(f))
    return rows, expected


def test_grades_csv_has_one_row_per_student_and_assignment(graded_class):
    rows, expected = graded_class
    got = {(r["student_id"], r["assignment"]) for r in rows}
    assert got == set(expected)


@pytest.mark.parametrize("student", ["solved", "untouched", "half"])
def test_autograde_scores_exactly_the_solved_parts(graded_class, student):
    rows, expected = graded_class
    for row in rows:
        if row["student_id"] == student:
            want = expected[(student, row["assignment"])]
            assert float(row["score"]) == pytest.approx(want), (
                f"{student} on {row['assignment']}: scored {row['score']}, expected {want} "
                f"of {row['max_score']}"
            )
