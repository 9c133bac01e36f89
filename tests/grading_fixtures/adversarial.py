"""A small, self-contained course and an adversarial class, for the grading tests and the book.

The assignment ``hw_rnn`` (7 points) is the MyST text notebook ``hw_rnn.md`` beside this file,
turned into nbgrader's source notebook by the function ``make release`` uses, so these tests do
not depend on the chapters' assignments: ``rnn_step_forward`` (2), ``rnn_forward`` (3) and
``rnn_step_backward`` (2; its checker passes the student's forward cache to their backward).

:func:`adversarial_class` returns ``{student: (files, expected score, words in feedback)}``:
honest students and one student per way of breaking things the issue lists.
"""
from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import nbformat

from rnnlib.checks import GRADING_SEED_ENV
from scripts.release import notebook_from_myst, write_notebook

A = "hw_rnn"
MAX = 7.0


#: A secret in the grader's environment that no student process may read.
SECRET = "rnngrade-test-secret-5f1c2e"
#: Seconds a process started by a student sleeps: its mark, to find it if it survived.
SURVIVOR = "31337.25"
#: Active HTML in a student's Markdown: must never be rendered for the instructor.
XSS = ("Look: <script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\">"
       " [link](javascript:window.pwned=3)")


class Symlink(str):
    """A file of a submission that is a symbolic link to this path."""

def make_course(course, root):
    """A course folder with ``nbgrader_config.py`` and ``solutions/hw_rnn/hw_rnn.{md,ipynb}``.

    The .md stays beside the notebook, as in the course's own solutions/.
    """
    return _course_from_myst(course, root, A)


def _course_from_myst(course, root, name):
    course = Path(course)
    course.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(root) / "nbgrader_config.py", course)
    folder = course / "solutions" / name
    folder.mkdir(parents=True, exist_ok=True)
    source = Path(__file__).with_name(f"{name}.md")
    shutil.copy(source, folder / source.name)
    write_notebook(source, folder / f"{name}.ipynb")
    return course


def answer(src):
    return "\n".join(l for l in src.splitlines() if "SOLUTION" not in l)


ANSWERS = {c.metadata["nbgrader"]["grade_id"]: answer(c.source)
           for c in notebook_from_myst(Path(__file__).with_name(f"{A}.md").read_text()).cells
           if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}
WRONG_SEQ = ("def rnn_forward(x, h0, Wxh, Whh, bh):\n"
             "    return np.zeros((x.shape[0], x.shape[1], Whh.shape[0])), None")


def release_notebook(course):
    """Generate the student version (``exercises/``) of the tiny course and read it."""
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", A, "--force",
                    "--no-db", "--log-level=WARN"], cwd=course, check=True)
    return nbformat.read(str(Path(course) / "exercises" / A / f"{A}.ipynb"), as_version=4)


def student(release, answers=None, extra=None, edit=None):
    """The release notebook with ``answers`` {grade_id: code}, extra cells, then ``edit(nb)``."""
    nb = copy.deepcopy(release)
    answers = ANSWERS if answers is None else answers
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    for after, src in (extra or []):
        idx = next(i for i, c in enumerate(nb.cells)
                   if c.metadata.get("nbgrader", {}).get("grade_id") == after)
        nb.cells.insert(idx + 1, nbformat.v4.new_code_cell(src))
    if edit:
        edit(nb)
    return nb


def _cell(nb, gid):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)


def adversarial_class(release, secrets):
    """``{student: (files {name: bytes}, expected score, feedback words)}``.

    ``secrets``: paths the confinement must hide and a loopback port that listens
    (``solutions``, ``other`` (another student's notebook), ``gradebook``, ``outside``, ``port``).
    """
    nbw = lambda nb: nbformat.writes(nb).encode()  # noqa: E731
    ok = dict(ANSWERS)
    klass = {}

    def add(name, nb_or_bytes, score, words=(), filename=f"{A}.ipynb", links=None):
        data = nb_or_bytes if isinstance(nb_or_bytes, bytes) else nbw(nb_or_bytes)
        files = {filename: data} if filename else {}
        files.update({n: Symlink(target) for n, target in (links or {}).items()})
        klass[name] = (files, score, tuple(words))

    add("honest", student(release), 7)
    add("honest_half", student(release, {"step": ok["step"]}), 2)
    add("untouched", student(release, {}), 0, ["NotImplementedError"])
    add("loop_cell", student(release, extra=[("seq", "while True:\n    pass")]), 7,
        ["longer than"])
    add("loop_call", student(release, dict(ok, seq=ok["seq"].replace(
        "hs, h = [], h0", "while True:\n        pass\n    hs, h = [], h0"))), 4, ["time limit"])
    add("exit_call", student(release, dict(ok, seq=ok["seq"].replace(
        "hs, h = [], h0", "import os; os._exit(1)\n    hs, h = [], h0"))), 4, ["process"])
    add("exit_cell", student(release, extra=[("seq", "import os\nos._exit(3)")]), 7, ["crashed"])
    # A crash while the grader calls the function: the worker dies of SIGSEGV and the judge
    # goes on with a fresh one.
    add("segfault", student(release, dict(ok, back=ok["back"].replace(
        "x_t, h_prev", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)\n    x_t, h_prev",
        1))), 5, ["SIGSEGV"])
    # Raw memory through ctypes inside the grader's call is refused before it can crash.
    add("ctypes_raw_memory", student(release, dict(ok, back=ok["back"].replace(
        "x_t, h_prev", "import ctypes; ctypes.string_at(0)\n    x_t, h_prev", 1))), 5,
        ["ctypes"])
    add("memory_bomb", student(release, dict(ok, seq=ok["seq"].replace(
        "hs, h = [], h0", "hog = bytearray(8 * 2**30)\n    hs, h = [], h0"))), 4, ["MemoryError"])
    add("output_flood", student(release, extra=[
        ("step", "for i in range(20000):\n    print('x' * 1000)\nprint('y' * 50_000_000)")]), 7)
    add("syntax_error", student(release, dict(ok, seq="def rnn_forward(x, h0, Wxh, Whh, bh)\n    return x")),
        4, ["syntax"])

    def delete_test(nb):
        nb.cells.remove(_cell(nb, "test_step"))
    add("deleted_test", student(release, edit=delete_test), 7, ["deleted"])

    def edit_test(nb):
        _cell(nb, "test_seq").source = "pass  # all good"
    add("edited_test", student(release, dict(ok, seq=WRONG_SEQ), edit=edit_test), 4, ["edited"])

    def duplicate(nb):
        c = _cell(nb, "step")
        twin = copy.deepcopy(c)
        twin["id"] = "step-copy"  # a copied cell gets a new id in Jupyter; its metadata stays
        nb.cells.insert(nb.cells.index(c) + 1, twin)
    add("duplicated", student(release, edit=duplicate), 7, ["duplicated"])

    def retype(nb):
        c = _cell(nb, "test_seq")
        nb.cells[nb.cells.index(c)] = nbformat.v4.new_markdown_cell(c.source, metadata=c.metadata)
    add("retyped", student(release, dict(ok, seq=WRONG_SEQ), edit=retype), 4, ["changed from"])
    add("patched_checks", student(release, dict(ok, seq=WRONG_SEQ), extra=[("setup", (
        "np.testing.assert_allclose = lambda *a, **k: None\n"
        "np.allclose = lambda *a, **k: True\n"
        "import rnnlib.checks\n"
        "rnnlib.checks.check_rnn_forward = lambda *a, **k: None\n"
        "check_rnn_forward = lambda *a, **k: None"))]), 4, ["replaces"])
    add("calls_reference", student(release, dict(
        ok, step="import rnnlib\ndef rnn_step_forward(x_t, h_prev, Wxh, Whh, bh):\n"
                 "    return rnnlib.rnn_step_forward(x_t, h_prev, Wxh, Whh, bh)")), 3,
        ["reference"])
    # Cheats that only score if the confinement leaks: their answer is right only then.
    leak = ("def rnn_forward(x, h0, Wxh, Whh, bh):\n    try:\n        {probe}\n"
            "    except Exception:\n        return np.zeros((x.shape[0], x.shape[1], Whh.shape[0])), None\n"
            "    hs, h = [], h0\n    for t in range(x.shape[0]):\n"
            "        h = np.tanh(x[t] @ Wxh.T + h @ Whh.T + bh)\n        hs.append(h)\n"
            "    return np.stack(hs), None")
    add("reads_solutions", student(release, dict(ok, seq=leak.format(
        probe=f"assert open({str(secrets['solutions'])!r}).read()"))), 4)
    add("reads_other", student(release, dict(ok, seq=leak.format(
        probe=f"assert open({str(secrets['other'])!r}).read()"))), 4)
    add("network", student(release, dict(ok, seq=leak.format(
        probe=f"import socket; socket.create_connection(('127.0.0.1', {secrets['port']}), timeout=2)"))),
        4, ["network"])
    add("reads_seed", student(release, dict(ok, seq=leak.format(
        probe=f"import os; assert os.environ[{GRADING_SEED_ENV!r}]"))), 4)
    add("writes_outside", student(release, extra=[("setup", (
        "for target in [{gb!r}, {out!r}]:\n"
        "    try:\n"
        "        open(target, 'w').write('owned')\n"
        "    except OSError:\n"
        "        pass").format(gb=str(secrets["gradebook"]), out=str(secrets["outside"])))]), 7)
    # Attacks beyond the first class: privileges, processes, secrets, files, sizes, metadata.
    add("privileges", student(release, dict(ok, seq=leak.format(
        probe="import os; os.setuid(0); os.setgid(0)"))), 4)
    add("fork_bomb", student(release, extra=[("setup", (
        "import os, time\n"
        "for i in range(500):\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(30)\n"
        "        os._exit(0)"))]), 7, ["BlockingIOError"])
    add("daemon", student(release, extra=[("setup", (
        "import subprocess, sys\n"
        f"subprocess.Popen(['sleep', '{SURVIVOR}'], start_new_session=True)\n"
        "subprocess.Popen([sys.executable, '-c', 'import os, time\\nif os.fork(): os._exit(0)\\n"
        f"os.setsid(); time.sleep({SURVIVOR})'], start_new_session=True)"))]), 7)
    add("reads_env", student(release, dict(ok, seq=leak.format(
        probe=("import glob; assert any(b" + repr(SECRET.encode()) + " in open(p, 'rb').read() "
               "for p in glob.glob('/proc/*/environ') + glob.glob('/proc/*/cmdline'))")))), 4)
    add("symlink", b"", 0, ["symbolic link"], filename=None,
        links={f"{A}.ipynb": str(secrets["solutions"])})
    add("huge", b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5, "x": "'
        + b"x" * (33 * 2**20) + b'"}', 0, ["larger than"])
    add("xss", student(release, extra=[("step", "print('hello')")], edit=lambda nb: nb.cells.insert(
        1, nbformat.v4.new_markdown_cell(XSS))), 7)

    def forge(nb):
        nb.metadata["kernelspec"] = {"name": "bash", "display_name": "Bash", "language": "bash"}
        bonus = nbformat.v4.new_code_cell("1 + 1", metadata={"nbgrader": {
            "grade": True, "grade_id": "bonus", "points": 100, "solution": False,
            "locked": True, "schema_version": 3}})
        nb.cells.append(bonus)
        test = _cell(nb, "test_seq")
        test.outputs = [nbformat.v4.new_output("stream", name="stdout", text="passed")]
        test.metadata["nbgrader"]["points"] = 50
    add("forged_metadata", student(release, dict(ok, seq=WRONG_SEQ), edit=forge), 4,
        ["metadata was removed"])
    add("giant_answer", student(release, dict(ok, seq=(
        "def rnn_forward(x, h0, Wxh, Whh, bh):\n"
        "    return np.zeros(12_000_000), None"))), 4, ["larger than the grader"])
    add("fills_disk", student(release, extra=[("setup", (
        "for i in range(20):\n"
        "    with open(f'fill{i}.bin', 'wb') as f:\n"
        "        f.write(b'x' * 60_000_000)"))]), 7, ["No space left"])

    def malformed(nb):
        _cell(nb, "test_step").metadata["nbgrader"] = "junk"
        nb.cells.append(nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {
            "grade_id": ["a", "list"], "grade": True, "points": "lots"}}))
    add("malformed_meta", student(release, edit=malformed), 7, ["metadata was removed", "put back"])
    # Attacks of the third round: getting around the guard that refuses rnnlib's references
    # in the student's process, forging what the judge reads, and honest styles it misread.
    nt = ("from typing import NamedTuple\n\nclass Cache(NamedTuple):\n    x: object\n    h0: object\n"
          "    hs: object\n    Wxh: object\n    Whh: object\n\n")
    add("namedtuple_cache", student(release, dict(ok, seq=nt + ok["seq"].replace(
        "return hs, (x, h0, hs, Wxh, Whh)", "return hs, Cache(x, h0, hs, Wxh, Whh)"))), 7)
    ref_call = "    return rnnlib.rnn.rnn_forward(x, h0, Wxh, Whh, bh)\n"
    sig = "import rnnlib\ndef rnn_forward(x, h0, Wxh, Whh, bh):\n"
    add("lazy_tuple", student(release, dict(ok, seq=(
        "import rnnlib\nclass Lazy(tuple):  # the reference runs when the grader reads it\n"
        "    def __iter__(self):\n        return iter(rnnlib.rnn.rnn_forward(*self.args))\n"
        "def rnn_forward(x, h0, Wxh, Whh, bh):\n    out = Lazy(())\n"
        "    out.args = (x, h0, Wxh, Whh, bh)\n    return out"))), 4, ["reference"])
    add("patches_guard", student(release, dict(ok, seq=sig + ref_call), extra=[("setup", (
        "import sys, rnnlib._guard\nrnnlib._guard._REFERENCES = {}\n"
        "sys.setprofile = lambda hook: None"))]), 0, ["rnnlib._guard"])
    add("profiler_off", student(release, dict(ok, seq=sig + (
        "    import sys\n    hook = sys.getprofile()\n    sys.setprofile(None)\n"
        "    out = rnnlib.rnn.rnn_forward(x, h0, Wxh, Whh, bh)\n    sys.setprofile(hook)\n"
        "    return out"))), 4, ["switched off"])
    add("reference_thread", student(release, dict(ok, seq=sig + (
        "    import _thread\n    box, lock = [], _thread.allocate_lock()\n    lock.acquire()\n"
        "    def work():\n        box.append(rnnlib.rnn.rnn_forward(x, h0, Wxh, Whh, bh))\n"
        "        lock.release()\n    _thread.start_new_thread(work, ())\n    lock.acquire()\n"
        "    return box[0]"))), 4, ["thread"])
    add("reloads_reference", student(release, dict(ok, seq=sig + (
        "    import importlib, types\n    fresh = importlib.reload(rnnlib.rnn).rnn_forward\n"
        "    return fresh(x, h0, Wxh, Whh, bh)"))), 4, ["reference"])
    add("launders_reference", student(release, dict(ok, seq=sig + (
        "    from rnnlib.checks._engine import with_forward\n"
        "    run = with_forward(lambda *a: (None, a), lambda d, a: rnnlib.rnn.rnn_forward(*a))\n"
        "    return run(x, h0, Wxh, Whh, bh, None)"))), 4, ["reference"])
    add("reference_process", student(release, dict(ok, seq=sig + (
        "    import pickle, subprocess, sys\n    code = ('import pickle, sys, rnnlib; a = pickle.load(sys.stdin.buffer); '\n"
        "            'sys.stdout.buffer.write(pickle.dumps(rnnlib.rnn.rnn_forward(*a)))')\n"
        "    done = subprocess.run([sys.executable, '-c', code], capture_output=True,\n"
        "                          input=pickle.dumps((x, h0, Wxh, Whh, bh)))\n"
        "    return pickle.loads(done.stdout)"))), 4, ["subprocess"])
    add("fake_diagnosis", student(release, dict(ok, seq=(
        "class CheckFailed(AssertionError):\n    mistake_id = 'rnn_forward/state-not-carried'\n"
        "def rnn_forward(x, h0, Wxh, Whh, bh):\n"
        "    raise CheckFailed('rnn_forward/state-not-carried')"))), 4)
    # The last cell writes its own answer on the worker's pipe: 3 MB of text, HTML, no PNG.
    forged = ("import json, os, sys\nos.write(int(sys.argv[2]), (json.dumps({'ok': True, 'outputs': [\n"
              "    {'output_type': 'stream', 'name': 'stdout', 'text': 'F' * 3_000_000},\n"
              "    {'output_type': 'display_data', 'metadata': {}, 'data': {\n"
              "        'image/png': 'bm90IGEgcG5n', 'text/html': '<script>window.pwned = 4</script>'}}]})\n"
              "    + '\\n').encode())")
    add("forged_outputs", student(release, edit=lambda nb: nb.cells.append(
        nbformat.v4.new_code_cell(forged))), 7)
    # Lone surrogates: valid in JSON and in Python strings, not in UTF-8 (the executed
    # notebook, the gradebook and the report are written as UTF-8). In the notebook file
    # itself (a comment in a cell), in what a cell prints and in an error message.
    lone = "\ud800"
    add("surrogates", json.dumps(student(release, extra=[
        ("step", f"# {lone} in the source\nprint('{lone} printed')"),
        ("seq", f"raise ValueError('{lone} in an error')")])).encode(), 7, ["ValueError"])
    add("corrupt", b'{"cells": [ this is not json', 0, ["not valid JSON"])
    add("missing", b"", 0, ["No notebook"], filename=None)
    add("misnamed", student(release), 7, ["named"], filename="my homework (1).ipynb")
    v3 = nbformat.writes(nbformat.convert(student(release), 3), version=3).encode()
    add("old_format", v3, 7, ["nbformat 3"])
    return klass


def write_class(submitted, klass):
    """Write the class into ``submitted/<student>/hw_rnn/``."""
    for name, (files, _, _) in klass.items():
        folder = Path(submitted) / name / A
        folder.mkdir(parents=True, exist_ok=True)
        for fname, data in files.items():
            if isinstance(data, Symlink):
                (folder / fname).symlink_to(data)
            else:
                (folder / fname).write_bytes(data)


def dump(path, obj):
    Path(path).write_text(json.dumps(obj))


M = "hw_manual"
EXPLAIN = "Why does one weight matrix serve every time step? Answer in the cell below."


def make_manual_course(course, root):
    """A course whose assignment ``hw_manual`` (``hw_manual.md`` beside this file) has a
    manually graded answer (3 points) beside an autograded exercise (``rnn_step_forward``, 2)."""
    return _course_from_myst(course, root, M)


def manual_release(course):
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", M, "--force",
                    "--no-db", "--log-level=WARN"], cwd=course, check=True)
    return nbformat.read(str(Path(course) / "exercises" / M / f"{M}.ipynb"), as_version=4)
