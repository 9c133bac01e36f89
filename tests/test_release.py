"""Assignments: solutions/*/*.ipynb and exercises/ are exactly what a release makes of the MyST
sources solutions/*/*.md (jupytext, then nbgrader), and every assignment is complete."""
from __future__ import annotations

import shutil

import nbformat
import pytest
import yaml

from scripts import release
from tests.conftest import ROOT
from tests.nbtools import assignments, load, max_points, nbgrader_meta


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    return release.generate(tmp_path_factory.mktemp("release"))


def test_solution_notebooks_and_exercises_equal_a_fresh_release_from_the_md(fresh_release):
    solutions, exercises = fresh_release
    diff = release.release_differences(solutions, exercises)
    assert not diff, f"drifted from solutions/*/*.md (run `make release`): {diff}"
    assert release.assignments() == assignments(), "a solution notebook without its .md source"


def test_md_sources_never_reach_the_exercises(fresh_release):
    # The release course holds each .md beside its notebook, as solutions/ does when grading.
    solutions, exercises = fresh_release
    assert sorted(p.name for p in solutions.glob("*/*.md")) == [f"{n}.md" for n in assignments()]
    shipped = sorted(str(p.relative_to(exercises)) for p in exercises.rglob("*") if p.is_file())
    assert shipped == [f"{n}/{n}.ipynb" for n in assignments()]


def test_md_sources_stay_out_of_the_site():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["only_build_toc_files"] is True
    assert "solutions" in config["exclude_patterns"]


def test_check_reports_an_edited_md(tmp_path, capsys):
    """A copy of the course with one assignment: --check passes, then fails on an edited .md."""
    name = "ch02_hidden_state"
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    for folder in ("solutions", "exercises"):
        shutil.copytree(ROOT / folder / name, tmp_path / folder / name)
    assert release.main(["--check"], root=tmp_path) == 0, capsys.readouterr().out
    md = tmp_path / "solutions" / name / f"{name}.md"
    text = md.read_text()
    assert "check_rnn_forward(rnn_forward)\n" in text
    md.write_text(text.replace("check_rnn_forward(rnn_forward)\n",
                               "check_rnn_forward(rnn_forward)  # edited\n", 1))
    capsys.readouterr()
    assert release.main(["--check"], root=tmp_path) == 1
    out = capsys.readouterr().out
    assert f"solutions/{name}/{name}.ipynb" in out and f"exercises/{name}/{name}.ipynb" in out


def test_myst_cell_options_become_nbgrader_metadata_and_ids():
    text = """---
kernelspec:
  display_name: Python 3
  language: python
  name: python3
title: A title
---

# Intro

+++ {"nbgrader": {"grade": false, "grade_id": "notes", "locked": true, "schema_version": 3, "solution": false, "task": false}}

Read-only text.

```{code-cell} ipython3
:nbgrader: {grade: true, grade_id: test_f, locked: true, points: 2, schema_version: 3, solution: false, task: false}
check_f(f)
```

```{code-cell} ipython3
print(1)
```
"""
    nb = release.notebook_from_myst(text)
    assert [c["id"] for c in nb.cells] == ["cell-000", "notes", "test_f", "cell-003"]
    assert [c.cell_type for c in nb.cells] == ["markdown", "markdown", "code", "code"]
    assert nb.cells[1].source == "Read-only text."
    assert nb.cells[2].source == "check_f(f)"
    assert nb.cells[2].metadata == {"nbgrader": {
        "grade": True, "grade_id": "test_f", "locked": True, "points": 2, "schema_version": 3,
        "solution": False, "task": False}}
    assert nb.cells[1].metadata["nbgrader"]["locked"] is True
    assert nb.metadata == {"kernelspec": release.KERNELSPEC, "language_info": {"name": "python"},
                           "title": "A title"}
    assert all(c.outputs == [] and c.execution_count is None for c in nb.cells if c.cell_type == "code")
    assert nbformat.writes(nb) == nbformat.writes(release.notebook_from_myst(text))


def test_a_grade_id_used_twice_is_refused():
    text = (ROOT / "solutions" / "ch02_hidden_state" / "ch02_hidden_state.md").read_text()
    text = text.replace("grade_id: test_rnn_forward,", "grade_id: test_rnn_step_forward,")
    with pytest.raises(ValueError, match="test_rnn_step_forward"):
        release.notebook_from_myst(text)


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
    # Auto-graded test cells; a graded markdown cell is a written answer an instructor grades.
    graded = [c for c in nb["cells"] if nbgrader_meta(c).get("grade") and c["cell_type"] == "code"]
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
