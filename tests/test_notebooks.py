"""Every notebook that ships runs: solutions pass every cell under nbval; an untouched exercise
fails only where the student has to write code (NotImplementedError)."""
from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT
from tests.nbtools import assignments, nbgrader_meta


@pytest.mark.parametrize("name", assignments())
def test_solution_notebook_passes_nbval(name):
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-q", "-p", "no:cacheprovider",
         "--rootdir", str(ROOT / "solutions"), f"solutions/{name}/{name}.ipynb"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


@pytest.mark.parametrize("name", assignments())
def test_untouched_exercise_fails_only_with_not_implemented(name):
    nb = nbformat.read(ROOT / "exercises" / name / f"{name}.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    failing = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                failing[nbgrader_meta(cell).get("grade_id", cell.get("id"))] = out["ename"]
    wrong = {k: v for k, v in failing.items() if v != "NotImplementedError"}
    assert not wrong, f"cells failing with something other than NotImplementedError: {wrong}"
    # Test cells are graded code cells (a graded markdown cell is a written answer, graded by hand).
    test_cells = {nbgrader_meta(c)["grade_id"] for c in nb.cells
                  if nbgrader_meta(c).get("grade") and c.cell_type == "code"}
    assert test_cells <= set(failing), f"test cells that pass with nothing written: {test_cells - set(failing)}"
