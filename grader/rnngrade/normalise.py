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
import errno
import json
import os
import re
import stat
from pathlib import Path

import nbformat

__all__ = ["Normalised", "normalise", "normalise_files", "read_submission", "find_notebook", "scan_code"]


class Normalised:
    """The result of :func:`normalise`."""

    def __init__(self, nb, problems, status):
        self.nb = nb            # nbformat 4 NotebookNode
        self.problems = problems  # list of str
        self.status = status    # "ok", "missing" or "corrupt"


def _meta(cell):
    """A cell's nbgrader metadata, ``{}`` whatever shape a submission gave it."""
    md = cell.get("metadata") if isinstance(cell, dict) else None
    meta = md.get("nbgrader") if isinstance(md, dict) else None
    return meta if isinstance(meta, dict) else {}


def _source(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


#: The largest notebook read (bytes), and how many notebooks a submission may hold.
MAX_NOTEBOOK = 32 * 2**20
MAX_FILES = 20


def _read_regular(path, limit):
    """The bytes of a regular file, never following a symbolic link: ``(bytes or None, why)``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError as err:
        if err.errno == errno.ELOOP:
            return None, "is a symbolic link"
        return None, f"could not be read ({err.strerror})"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, "is not a regular file"
        if info.st_size > limit:
            return None, f"is larger than {limit // 2**20} MB"
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            return None, f"is larger than {limit // 2**20} MB"
        return data, None
    finally:
        os.close(fd)


def read_submission(folder, limit=MAX_NOTEBOOK):
    """The notebooks of a submission folder: ``({relative path: bytes}, problems)``.

    Only regular files are read: a symbolic link (to the solutions, another student's work,
    a secret of the machine) is ignored, and so is a notebook larger than ``limit`` bytes.
    """
    folder = Path(folder)
    files, problems = {}, []
    if folder.is_symlink() or not folder.is_dir():
        return files, ["The submission folder is not a folder (a symbolic link?); it was ignored."]
    found = []
    for root, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d != ".ipynb_checkpoints" and not d.startswith("."))
        found += [Path(root) / n for n in sorted(names)
                  if n.endswith(".ipynb") and not n.startswith(".")]
    for path in found[:MAX_FILES]:
        rel = str(path.relative_to(folder))
        data, why = _read_regular(path, limit)
        if data is None:
            problems.append(f"The file {rel!r} {why}; it was ignored.")
        else:
            files[rel] = data
    if len(found) > MAX_FILES:
        problems.append(f"The submission holds {len(found)} notebooks; only {MAX_FILES} were looked at.")
    return files, problems


def find_notebook(files, name):
    """The notebook to grade among a submission's files: ``(relative path or None, problems)``."""
    expected = f"{name}.ipynb"
    candidates = sorted(files)
    if expected in files:
        extra = [Path(p).name for p in candidates if p != expected]
        return expected, ([f"Other notebooks in the submission were ignored: {', '.join(extra)}."]
                          if extra else [])
    if not candidates:
        return None, [f"No notebook was submitted (expected {name}.ipynb)."]
    if len(candidates) == 1:
        return candidates[0], [f"The notebook was named {Path(candidates[0]).name!r} instead of "
                               f"'{name}.ipynb'; it was graded under the right name."]

    def score(p):  # the notebook that holds most of the assignment's graded cells
        try:
            nb = json.loads(files[p].decode(errors="replace"))
            return sum(1 for c in nb.get("cells", []) if _meta(c).get("grade_id"))
        except Exception:  # noqa: BLE001
            return -1

    best = max(candidates, key=score)
    return best, [f"Several notebooks were submitted and none is named '{name}.ipynb'; "
                  f"{Path(best).name!r} was graded."]


def utf8(value):
    """``value`` with every string made encodable as UTF-8.

    A lone surrogate (the escape ``\\ud800``: valid in JSON and in a Python string, not in
    UTF-8) in a cell's source, in what a cell printed or in an error message would make
    writing the executed notebook, the gradebook or the report raise ``UnicodeEncodeError``
    in the process that records the whole class: one student would stop everyone's grading.
    Each one becomes ``?``.
    """
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {utf8(k): utf8(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(utf8(v) for v in value)
    return value


def _read(raw):
    """``(notebook or None, problem or None)`` — any nbformat version, converted to 4."""
    try:
        text = raw.decode("utf-8")
        data = utf8(json.loads(text))  # (lone surrogates: see utf8)
        text = json.dumps(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
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
        return None, f"The notebook could not be read as a notebook ({_short(err)}); it earns 0."
    if version != 4:
        problem = (f"The notebook was in the old format nbformat {version}; it was converted to "
                   "nbformat 4 for grading.")
    if not isinstance(nb.get("cells"), list) or not all(isinstance(c, dict) for c in nb.cells):
        return None, "The notebook has no list of cells; it earns 0."
    return nb, problem


def _short(err, limit=300):
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_SCRIPT_URL = re.compile(r"(?i)(j\s*a\s*v\s*a|v\s*b)\s*s\s*c\s*r\s*i\s*p\s*t\s*:|data\s*:\s*text/html")


def safe_markdown(text):
    """A student's Markdown with no active HTML: tags are escaped (shown as text, never run in
    the instructor's browser by formgrader or the feedback), script URLs are broken."""
    import html

    return _SCRIPT_URL.sub("blocked:", html.escape(text, quote=False))


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
    path = Path(folder_or_path)
    if path.is_dir():
        files, problems = read_submission(path)
    else:
        data, why = _read_regular(path, MAX_NOTEBOOK) if path.exists() or path.is_symlink() \
            else (None, None)
        files = {f"{name}.ipynb": data} if data is not None else {}
        problems = [f"The file {path.name!r} {why}; it was ignored."] if why else []
    return normalise_files(files, name, release_nb, problems)


def normalise_files(files, name, release_nb, problems=()):
    """:func:`normalise` for a submission already read (``{relative path: bytes}``)."""
    problems = list(problems)
    key, found = find_notebook(files, name)
    problems += found
    if key is None:
        return Normalised(copy.deepcopy(release_nb), problems, "missing")
    student, problem = _read(files[key])
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
        gid = gid if isinstance(gid, str) else None
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
                if rcell.cell_type != "code":
                    rcell.source = safe_markdown(rcell.source)
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
                out.append(("kept", nbformat.v4.new_markdown_cell(safe_markdown(src))))
            else:
                out.append(("kept", nbformat.v4.new_raw_cell(safe_markdown(src))))
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


#: Names that reach into the interpreter or the guard: a notebook that uses them is reported to
#: the instructor (the worker refuses most of them while the student's code is being called,
#: and finds changes to the guard; see rnngrade.worker).
_INTERNALS = {"_guard", "setprofile", "settrace", "_getframe", "f_back", "f_locals", "f_globals",
              "get_objects", "get_referrers", "get_referents", "__code__", "__closure__",
              "reload", "start_new_thread", "CodeType", "FunctionType", "addaudithook",
              "_current_frames", "getsource", "ctypes", "pythonapi"}

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
            used = (node.attr if isinstance(node, ast.Attribute) else
                    node.id if isinstance(node, ast.Name) else None)
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                used = next((a.name for a in node.names
                             if a.name.split(".")[-1] in _INTERNALS), None) or \
                    (node.module if isinstance(node, ast.ImportFrom) and node.module
                     and node.module.split(".")[-1] in _INTERNALS else None)
                used = used.split(".")[-1] if used else None
            if used in _INTERNALS:
                lines.append(f"Your code reaches into the interpreter or the grader ({used}); "
                             "your instructor is told. While the grader calls your functions, "
                             "what only serves to get around its checks earns no points.")
            for t in targets:
                dotted = _dotted(t)
                if dotted and dotted.startswith("rnnlib._guard"):
                    lines.append(f"Your code changes {dotted}, which the grader relies on to check "
                                 "that you do not call the reference solution; it notices, and "
                                 "the parts it judges earn no points.")
                elif dotted and (dotted.split(".")[0] in _WATCHED_MODULES and "." in dotted):
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
