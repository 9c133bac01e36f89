"""Write nbgrader source notebooks from Python, so authors need not hand-edit notebook JSON.

Usage (in a build script that an author runs once, then commits the .ipynb)::

    from scripts.nbauthor import md, code, solution, tests, write
    cells = [
        md("# Title"),
        code("import numpy as np"),  # read-only setup cell
        solution("def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION", "f"),
        tests("check_f(f)\n### BEGIN HIDDEN TESTS\ncheck_f(f, hidden=True)\n### END HIDDEN TESTS",
              "test_f", points=2),
    ]
    write("solutions/ch01_x/ch01_x.ipynb", cells)
"""
from __future__ import annotations

import nbformat

_SCHEMA = 3


def _meta(grade_id, *, grade, solution, locked, points=None):
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": _SCHEMA,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def md(text, grade_id=None):
    """A read-only markdown cell (students cannot edit it in nbgrader's validator)."""
    cell = nbformat.v4.new_markdown_cell(text.strip("\n"))
    if grade_id:
        cell.metadata.update(_meta(grade_id, grade=False, solution=False, locked=True))
    return cell


def code(text, grade_id=None):
    """A read-only code cell (setup, demonstrations)."""
    cell = nbformat.v4.new_code_cell(text.strip("\n"))
    if grade_id:
        cell.metadata.update(_meta(grade_id, grade=False, solution=False, locked=True))
    return cell


def solution(text, grade_id):
    """An autograded-answer cell: the part between BEGIN/END SOLUTION is replaced for students."""
    cell = nbformat.v4.new_code_cell(text.strip("\n"))
    cell.metadata.update(_meta(grade_id, grade=False, solution=True, locked=False))
    return cell


def tests(text, grade_id, points):
    """A locked, graded test cell worth ``points``; HIDDEN TESTS blocks are removed for students."""
    cell = nbformat.v4.new_code_cell(text.strip("\n"))
    cell.metadata.update(_meta(grade_id, grade=True, solution=False, locked=True, points=points))
    return cell


def write(path, cells, title=None):
    """Write a notebook with a Python 3 kernelspec."""
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    # Stable cell ids (nbformat draws random ones), so rebuilding gives an identical file.
    for i, cell in enumerate(nb.cells):
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        cell["id"] = gid or f"cell-{i:03d}"
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    if title:
        nb.metadata["title"] = title
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return path
