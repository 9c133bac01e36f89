"""Helpers for tests that play the student: fill answers into the release notebook."""
from __future__ import annotations

import copy
import json
from pathlib import Path

from tests.conftest import ROOT


def assignments():
    return sorted(p.name for p in (ROOT / "solutions").iterdir() if (p / f"{p.name}.ipynb").is_file())


def load(path):
    return json.loads(Path(path).read_text())


def nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def strip_solution_markers(source):
    """The solution as a student would type it: marker lines removed."""
    lines = source.splitlines()
    return "\n".join(l for l in lines if "BEGIN SOLUTION" not in l and "END SOLUTION" not in l)


def solution_sources(name):
    """{grade_id: student-ready source} for every solution cell of an assignment."""
    nb = load(ROOT / "solutions" / name / f"{name}.ipynb")
    return {
        nbgrader_meta(c)["grade_id"]: strip_solution_markers("".join(c["source"]))
        for c in nb["cells"]
        if nbgrader_meta(c).get("solution")
    }


def solution_ids(name):
    """Grade ids of the solution cells, in notebook order."""
    nb = load(ROOT / "exercises" / name / f"{name}.ipynb")
    return [nbgrader_meta(c)["grade_id"] for c in nb["cells"] if nbgrader_meta(c).get("solution")]


def points_after(name, solved_ids):
    """Points of the test cells that follow a solved solution cell (until the next solution cell)."""
    nb = load(ROOT / "exercises" / name / f"{name}.ipynb")
    total, current = 0.0, None
    for cell in nb["cells"]:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            current = meta["grade_id"]
        elif meta.get("grade") and current in solved_ids:
            total += float(meta.get("points", 0))
    return total


def max_points(name):
    """Points of the auto-graded test cells (written answers, graded by hand, are not counted)."""
    nb = load(ROOT / "exercises" / name / f"{name}.ipynb")
    return sum(float(nbgrader_meta(c).get("points", 0)) for c in nb["cells"]
               if nbgrader_meta(c).get("grade") and c["cell_type"] == "code")


def student_notebook(name, solved_ids):
    """The release notebook with the given solution cells answered (others left untouched)."""
    nb = load(ROOT / "exercises" / name / f"{name}.ipynb")
    answers = solution_sources(name)
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        gid = nbgrader_meta(cell).get("grade_id")
        if nbgrader_meta(cell).get("solution") and gid in solved_ids:
            cell["source"] = answers[gid]
    return nb
