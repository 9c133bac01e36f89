"""Repair a submission's *structure* before it is graded, and say what was repaired.

A submitted notebook is rebuilt on the skeleton of the released notebook: every cell nbgrader
tracks (setup, solution and test cells, by ``grade_id``) is present exactly once, with its
released type and metadata; test and read-only cells carry the instructor's text; solution
cells carry the student's code. Cells the student added are kept where they put them (as
plain cells: grading metadata they invented is removed). So:

* a corrupt (non-JSON) or missing notebook becomes the released notebook (it earns 0);
* an nbformat 3 notebook is converted to nbformat 4;
* a misnamed notebook (the only ``.ipynb`` in the folder) is used under the right name;
* a deleted, edited or retyped test cell is restored; a duplicated graded cell is kept once
  (a copied *solution* cell stays as a plain cell, so an honest student's code still runs).

Each repair adds a line to ``problems``: the student's feedback and the instructor's report.
"""
from __future__ import annotations

import ast
import copy
import json
from pathlib import Path

import nbformat

__all__ = ["Normalised", "normalise", "find_notebook", "scan_code"]


class Normalised:
    """The result of :func:`normalise`."""

    def __init__(self, nb, problems, status):
        self.nb = nb            # nbformat 4 NotebookNode
        self.problems = problems  # list of str
        self.status = status    # "ok", "missing" or "corrupt"


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _source(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def find_notebook(folder, name):
    """The notebook to grade in a submission folder: ``(path or None, problems)``."""
    folder = Path(folder)
    expected = folder / f"{name}.ipynb"
    candidates = sorted(p for p in folder.rglob("*.ipynb")
                        if ".ipynb_checkpoints" not in p.parts and not p.name.startswith("."))
    if expected.is_file():
        extra = [p.name for p in candidates if p != expected]
        return expected, ([f"Other notebooks in the submission were ignored: {', '.join(extra)}."]
                          if extra else [])
    if not candidates:
        return None, [f"No notebook was submitted (expected {name}.ipynb)."]
    if len(candidates) == 1:
        return candidates[0], [f"The notebook was named {candidates[0].name!r} instead of "
                               f"'{name}.ipynb'; it was graded under the right name."]

    def score(p):  # the notebook that holds most of the assignment's graded cells
        try:
            nb = json.loads(p.read_text(errors="replace"))
            return sum(1 for c in nb.get("cells", []) if _meta(c).get("grade_id"))
        except Exception:  # noqa: BLE001
            return -1

    best = max(candidates, key=score)
    return best, [f"Several notebooks were submitted and none is named '{name}.ipynb'; "
                  f"{best.name!r} was graded."]


def _read(path):
    """``(notebook or None, problem or None)`` — any nbformat version, converted to 4."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
        data = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        return None, (f"The notebook is not valid JSON ({err.__class__.__name__}: {err}); "
                      "it could not be graded and earns 0. Re-download it from Jupyter "
                      "(File > Save) and check that it opens.")
    if not isinstance(data, dict):
        return None, "The notebook file does not hold a notebook; it earns 0."
    problem = None
    version = data.get("nbformat")
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as err:  # noqa: BLE001 - invalid structure
        return None, f"The notebook could not be read as a notebook ({err}); it earns 0."
    if version != 4:
        problem = (f"The notebook was in the old format nbformat {version}; it was converted to "
                   "nbformat 4 for grading.")
    if "cells" not in nb:
        return None, "The notebook has no cells; it earns 0."
    return nb, problem


def _fresh_id(used, base):
    i, cid = 0, base
    while cid in used:
        i += 1
        cid = f"{base}-{i}"
    used.add(cid)
    return cid


def normalise(folder_or_path, name, release_nb):
    """Rebuild a student's notebook on the released skeleton.

    Parameters
    ----------
    folder_or_path : str or Path
        The student's submission folder (``submitted/<student>/<assignment>``) or notebook.
    name : str
        The assignment's notebook name (without ``.ipynb``).
    release_nb : NotebookNode
        The released (student) notebook, nbformat 4.

    Returns
    -------
    Normalised
    """
    problems = []
    path = Path(folder_or_path)
    if path.is_dir():
        path, found = find_notebook(path, name)
        problems += found
    elif not path.is_file():
        path = None
        problems.append(f"No notebook was submitted (expected {name}.ipynb).")
    if path is None:
        return Normalised(copy.deepcopy(release_nb), problems, "missing")
    student, problem = _read(path)
    if problem:
        problems.append(problem)
    if student is None:
        return Normalised(copy.deepcopy(release_nb), problems, "corrupt")

    skeleton = [c for c in release_nb.cells]
    order = [_meta(c).get("grade_id") for c in skeleton]
    by_id = {gid: c for gid, c in zip(order, skeleton) if gid}
    out, emitted, used_ids = [], set(), set()

    def emit_skeleton_until(gid):
        # Restore tracked cells the student deleted, in their released order.
        pos = order.index(gid)
        for k in range(pos):
            other = order[k]
            if other is None:
                continue
            if other not in emitted:
                emitted.add(other)
                out.append(("restored", copy.deepcopy(skeleton[k])))

    for scell in student.cells:
        gid = _meta(scell).get("grade_id")
        if gid in by_id and gid not in emitted:
            emit_skeleton_until(gid)
            emitted.add(gid)
            rcell = copy.deepcopy(by_id[gid])
            rmeta = _meta(rcell)
            if rmeta.get("solution"):
                if scell.get("cell_type") != rcell.cell_type:
                    problems.append(f"The answer cell {gid!r} was changed from {rcell.cell_type} to "
                                    f"{scell.get('cell_type')}; it was changed back.")
                rcell.source = _source(scell)
            else:
                if scell.get("cell_type") != rcell.cell_type:
                    problems.append(f"The cell {gid!r} was changed from {rcell.cell_type} to "
                                    f"{scell.get('cell_type')}; the original was restored.")
                elif _source(scell).strip() != _source(rcell).strip():
                    what = "test cell" if rmeta.get("grade") else "read-only cell"
                    problems.append(f"The {what} {gid!r} was edited; the original was restored.")
            out.append(("kept", rcell))
        elif gid in by_id:  # a second copy of a tracked cell
            rmeta = _meta(by_id[gid])
            if rmeta.get("solution") and scell.get("cell_type") == "code":
                plain = nbformat.v4.new_code_cell(_source(scell))
                out.append(("kept", plain))
                problems.append(f"The answer cell {gid!r} was duplicated; the copy was kept as an "
                                "ordinary cell (only the first copy is the graded one).")
            else:
                problems.append(f"The cell {gid!r} was duplicated; the copy was removed.")
        else:
            ctype = scell.get("cell_type")
            src = _source(scell)
            if _meta(scell):
                problems.append("A cell carried grading metadata that is not part of the "
                                "assignment; the metadata was removed.")
            if ctype == "code":
                out.append(("kept", nbformat.v4.new_code_cell(src)))
            elif ctype == "markdown":
                out.append(("kept", nbformat.v4.new_markdown_cell(src)))
            else:
                out.append(("kept", nbformat.v4.new_raw_cell(src)))
    missing = [gid for gid in order if gid and gid not in emitted]
    for gid in missing:
        out.append(("restored", copy.deepcopy(by_id[gid])))
    restored = [_meta(c).get("grade_id") for how, c in out if how == "restored"]
    for gid in restored:
        meta = _meta(by_id[gid])
        if meta.get("solution"):
            problems.append(f"The answer cell {gid!r} was deleted; the empty cell was put back.")
        elif meta.get("grade"):
            problems.append(f"The test cell {gid!r} was deleted; it was put back.")
        else:
            problems.append(f"The read-only cell {gid!r} was deleted; it was put back.")

    nb = nbformat.v4.new_notebook()
    nb.metadata = copy.deepcopy(release_nb.metadata)
    for _, cell in out:
        cell["id"] = _fresh_id(used_ids, _meta(cell).get("grade_id") or "cell")
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        nb.cells.append(cell)
    problems += scan_code(nb)
    return Normalised(nb, problems, "ok")


_WATCHED_MODULES = {"np", "numpy", "rnnlib", "checks"}
_DANGER_CALLS = {
    "_exit": "ends its own process",
    "CDLL": "loads native code",
    "string_at": "reads raw memory",
    "socket": "opens network connections",
    "create_connection": "opens network connections",
    "urlopen": "opens network connections",
}


_FILE_CALLS = {"open", "Path", "read_text", "read_bytes", "write_text", "listdir", "remove",
               "unlink", "rmtree", "copy", "scandir"}


def scan_code(nb):
    """Feedback lines about code that tampers with grading (informational: it gains nothing)."""
    lines = []
    for cell in nb.cells:
        if cell.cell_type != "code" or _meta(cell).get("grade") or _meta(cell).get("locked"):
            continue
        try:
            tree = ast.parse(_source(cell))
        except SyntaxError as err:
            lines.append(f"A code cell has a syntax error (line {err.lineno}: {err.msg}); "
                         "nothing in that cell ran.")
            continue
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            for t in targets:
                dotted = _dotted(t)
                if dotted and (dotted.split(".")[0] in _WATCHED_MODULES and "." in dotted):
                    lines.append(f"Your code replaces {dotted}; grading does not use your "
                                 "notebook's copy of it, so this changes nothing.")
                elif isinstance(t, ast.Name) and t.id.startswith("check_"):
                    lines.append(f"Your code redefines the checker {t.id}; grading uses the "
                                 "course's own checkers, so this changes nothing.")
            if isinstance(node, ast.Call):
                fname = _dotted(node.func) or ""
                if fname.rsplit(".", 1)[-1] in _FILE_CALLS:
                    paths = [n.value for n in ast.walk(tree)
                             if isinstance(n, ast.Constant) and isinstance(n.value, str)
                             and (n.value.startswith(("/", "~")) or ".." in n.value)]
                    if paths:
                        lines.append(f"Your code opens files outside its own folder ({paths[0]!r}); "
                                     "it runs confined: the course, the gradebook and other "
                                     "students' folders read as empty and cannot be written.")
                last = fname.rsplit(".", 1)[-1]
                if last in _DANGER_CALLS:
                    lines.append(f"Your code {_DANGER_CALLS[last]} ({fname}); it runs confined, "
                                 "and whatever it breaks earns no points.")
                if last == "setattr" and node.args and (_dotted(node.args[0]) or "").split(".")[0] in _WATCHED_MODULES:
                    lines.append(f"Your code patches {_dotted(node.args[0])} with setattr; grading "
                                 "does not use your notebook's copy of it.")
    return list(dict.fromkeys(lines))


def _dotted(node):
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None
