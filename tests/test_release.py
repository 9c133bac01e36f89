"""Assignments: exercises/ is exactly what nbgrader generates from solutions/, and is complete."""
from __future__ import annotations

import pytest
import yaml

from scripts import release
from tests.conftest import ROOT
from tests.nbtools import assignments, load, max_points, nbgrader_meta


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    return release.generate(tmp_path_factory.mktemp("release") / "exercises")


def test_exercises_equal_a_fresh_nbgrader_release(fresh_release):
    diff = release.differences(ROOT / "exercises", fresh_release)
    assert not diff, f"exercises/ drifted from solutions/ (run `make release`): {diff}"


def test_every_chapter_has_an_assignment_and_a_toc_entry():
    toc = (ROOT / "_toc.yml").read_text()
    names = assignments()
    assert names, "no assignments in solutions/"
    chapters = sorted(p.stem for p in (ROOT / "book").glob("ch*.md"))
    assert chapters == names, f"chapters {chapters} vs assignments {names}"
    for name in names:
        assert f"exercises/{name}/{name}" in toc, f"{name}'s exercise page is not in _toc.yml"
        assert "solutions" not in yaml.safe_load(toc).__repr__()


@pytest.mark.parametrize("name", assignments())
def test_assignment_has_graded_exercises_with_visible_and_hidden_tests(name):
    nb = load(ROOT / "solutions" / name / f"{name}.ipynb")
    graded = [c for c in nb["cells"] if nbgrader_meta(c).get("grade")]
    solutions = [c for c in nb["cells"] if nbgrader_meta(c).get("solution")]
    assert len(solutions) >= 3 and len(graded) >= 3, "fewer than three graded exercises"
    for cell in graded:
        src = "".join(cell["source"])
        gid = nbgrader_meta(cell)["grade_id"]
        assert nbgrader_meta(cell).get("points", 0) > 0, f"{gid} has no points"
        assert "check_" in src, f"{gid} does not call an rnnlib checker"
        assert "BEGIN HIDDEN TESTS" in src and "hidden=True" in src, f"{gid} has no hidden test"
    assert max_points(name) > 0


@pytest.mark.parametrize("name", assignments())
def test_student_notebook_has_no_solution_no_hidden_tests_no_outputs(name):
    text = (ROOT / "exercises" / name / f"{name}.ipynb").read_text()
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "hidden=True"):
        assert marker not in text
    nb = load(ROOT / "exercises" / name / f"{name}.ipynb")
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
