"""Grading a class that an instructor can trust (the grader, package rnngrade in grader/).

The centre piece grades, in one run of the instructor's command, a class of honest students
and one student per way of breaking things (infinite loops, killed processes, memory bombs,
flooding output, edited or deleted test cells, patched numpy and checkers, calling the
reference, reading solutions or other students, the network, writing the gradebook, corrupt,
missing, misnamed and old-format notebooks; and the attacks found later: privileges, fork
bombs, processes that outlive the notebook, secrets in the grader's environment, symbolic
links, giant files and answers, active HTML, forged metadata and outputs). Each must get
exactly the points its honest parts earn and a feedback line saying what happened; the
command must exit 0 with a report. Other tests break the grader on purpose: it must fail
closed (exit non-zero, no score anywhere).

The course is a tiny self-contained assignment (tests/grading_fixtures), so these tests do
not depend on the chapters. Limits are short here (10 s per cell, 1 GiB) to keep the run to a
few minutes. PostgreSQL tests start their own server on loopback and are skipped only when
the PostgreSQL binaries are absent.
"""
from __future__ import annotations

import base64
import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

from rnngrade import wire
from rnngrade.normalise import normalise
from rnngrade.sandbox import Confinement, Limits, available, prepare_workdir, sandbox_uid
from rnnlib.checks import GRADING_SEED_ENV
from tests.conftest import ROOT
from tests.grading_fixtures.pgserver import find_bin, postgres_server
from tests.grading_fixtures.adversarial import (
    A, ANSWERS, SECRET, SURVIVOR, WRONG_SEQ, XSS, adversarial_class, make_course, release_notebook,
    student, write_class,
)

needs_bwrap = pytest.mark.skipif(not available(), reason="bubblewrap/prlimit not installed")
needs_pg = pytest.mark.skipif(find_bin() is None, reason="PostgreSQL binaries not installed")

TEST_LIMITS = ["--cell-timeout", "10", "--memory", "1G", "--cpu", "60"]
SEED = "20261125"


SECRET_VAR = "RNNGRADE_TEST_SECRET"


def _env():
    env = dict(os.environ)
    env[SECRET_VAR] = SECRET  # a secret of the grader's: no student process may read it
    env.pop(GRADING_SEED_ENV, None)  # a test that wants a seed passes --seed
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def grade_cli(course, *args):
    """Run the instructor's command; return (exit code, output, report dict)."""
    proc = subprocess.run([sys.executable, "-m", "rnngrade", *args, "--course", str(course)],
                          cwd=course, capture_output=True, text=True, env=_env(), timeout=1200)
    out = Path(course) / "grading"
    for a in args:
        if a.startswith("--out="):
            out = Path(a.split("=", 1)[1])
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").is_file() else None
    return proc.returncode, proc.stdout + proc.stderr, report


def scores_csv(path):
    with open(path) as f:
        return {(r["student_id"], r["assignment"]): float(r["score"]) for r in csv.DictReader(f)}


# ---------------------------------------------------------------------------- import hygiene

def test_import_rnnlib_imports_no_grading_code_and_has_no_grading_module():
    code = ("import importlib.util, sys, rnnlib, rnnlib.checks, rnnlib._guard; "
            "print(importlib.util.find_spec('rnnlib.grading') is None, "
            "any(m.split('.')[0] in ('rnngrade', 'nbgrader', 'jupyter_client') for m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env=_env(), check=True)
    assert proc.stdout.split() == ["True", "False"]


def test_importing_the_grader_does_not_import_nbgrader():
    code = ("import sys, rnngrade, rnngrade.judge, rnngrade.normalise, rnngrade.sandbox; "
            "print('nbgrader' in sys.modules, 'jupyter_client' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env=_env(), check=True)
    assert proc.stdout.split() == ["False", "False"]


def _tracked_copy(dest):
    """The repository's files as a fresh clone has them (tracked and new, not ignored)."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def test_the_wheel_students_install_holds_rnnlib_and_its_checkers_but_no_grading_code(tmp_path):
    # Built from a copy of the repository as a clone has it (not from stale build/ folders).
    src, out = tmp_path / "src", tmp_path / "wheels"
    _tracked_copy(src)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps",
                           "--quiet", "-w", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (wheel,) = out.glob("rnnlib-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        sources = {n: z.read(n).decode() for n in names if n.endswith(".py")}
        metadata = next(z.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    assert "rnnlib/checks/__init__.py" in names and "rnnlib/_guard.py" in names
    packages = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert packages == {"rnnlib"}, f"the wheel holds more than rnnlib: {sorted(packages)}"
    assert not [n for n in names if "grading" in n or "rnngrade" in n]
    importers = [n for n, text in sources.items()
                 if re.search(r"^\s*(import|from)\s+(nbgrader|rnngrade|jupyter_client)\b", text, re.M)]
    assert not importers, f"rnnlib imports grading code in {importers}"
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")
                and "extra ==" not in line]
    assert requires == ["Requires-Dist: numpy<3,>=2"], requires


# ---------------------------------------------------------------------------- the wire

def test_wire_round_trips_arrays_tuples_dicts_and_refuses_object_arrays():
    handles = []

    def to_handle(obj):
        handles.append(obj)
        return {"__h__": len(handles)}

    value = {"W": np.arange(6.0).reshape(2, 3), "n": 3, "t": (np.int64(2), [1.5, None]),
             "s": {"a"}, "nan": float("nan")}
    back = wire.decode(wire.loads(wire.dumps(wire.encode(value, to_handle))),
                       lambda obj, items: handles[obj["__h__"] - 1])
    assert np.array_equal(back["W"], value["W"]) and back["W"].dtype == np.float64
    assert back["t"][0] == 2 and back["t"][1] == [1.5, None] and back["s"] == {"a"}
    assert np.isnan(back["nan"])
    obj = np.array([object()], dtype=object)
    assert wire.encode(obj, to_handle) == {"__h__": len(handles)}  # a handle, not bytes
    forged = {"__nd__": "|O", "shape": [1], "b64": "AAAAAAAAAAA="}
    with pytest.raises(wire.WireError):
        wire.decode(forged, None)


def test_wire_refuses_an_answer_with_too_many_values_before_building_it():
    # 64 MB of "[[],[],..." would be over a gigabyte of Python objects in the judge.
    line = wire.dumps([[]] * (wire.MAX_ITEMS + 1))
    with pytest.raises(wire.WireError, match="more than"):
        wire.loads(line[:-1])
    assert wire.loads(wire.dumps(list(range(1000)))[:-1]) == list(range(1000))


def test_the_judge_caps_a_cells_outputs_and_keeps_only_real_pngs():
    from rnngrade.judge import MAX_OUTPUTS, _clean_outputs

    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).decode()
    forged = [{"output_type": "stream", "name": "stdout", "text": "x" * 5_000_000},
              {"output_type": "display_data", "metadata": {"x": 1},
               "data": {"image/png": "' onerror='alert(1)", "text/html": "<script>"}},
              {"output_type": "display_data", "metadata": {}, "data": {"image/png": png}},
              {"output_type": "error", "ename": "E", "evalue": "v" * 10**6,
               "traceback": ["t" * 10**6] * 100}] + \
        [{"output_type": "stream", "name": "stdout", "text": "y"}] * 100
    clean = _clean_outputs(forged, limit=1000)
    assert len(clean) <= MAX_OUTPUTS + 1 and len(json.dumps(clean)) < 60_000
    assert clean[0]["text"] == "x" * 1000
    images = [o["data"]["image/png"] for o in clean if "image/png" in o.get("data", {})]
    assert images == [png] and "text/html" not in json.dumps(clean)
    assert clean[-1]["text"].strip() == "[... output truncated by the grader ...]"


# ---------------------------------------------------------------------------- confinement

@needs_bwrap
def test_confined_process_has_no_network_no_hidden_files_and_its_limits(tmp_path):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "answers.txt").write_text("42")
    work = prepare_workdir(tmp_path / "work")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    probe = f"""
import os, socket, numpy as np
out = []
out.append(os.path.exists({str(secret / 'answers.txt')!r}))
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2); out.append("net ok")
except OSError as e: out.append("no net")
try:
    open({str(tmp_path / 'outside.txt')!r}, "w").write("x"); out.append("wrote outside")
except OSError: out.append("read-only")
open("inside.txt", "w").write("fine")
try:
    np.ones(2 * 2**30 // 8); out.append("allocated")
except MemoryError: out.append("MemoryError")
try:
    open("big.bin", "wb").write(b"x" * 2**21); out.append("big file")
except OSError: out.append("file too big")
print(out)
"""
    conf = Confinement(hide=[str(tmp_path)], limits=Limits(memory=2**30, cpu=20, file_size=2**20))
    cmd = conf.command([sys.executable, "-c", probe], [str(work)], str(work))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    server.close()
    assert proc.stdout.strip() == "[False, 'no net', 'read-only', 'MemoryError', 'file too big']", proc.stderr
    assert not (tmp_path / "outside.txt").exists()
    assert not (work / "inside.txt").exists(), "its folder is in memory, not on the disk"


@needs_bwrap
def test_confined_busy_loop_is_stopped_by_the_cpu_limit(tmp_path):
    work = prepare_workdir(tmp_path / "work")
    conf = Confinement(hide=[str(tmp_path)], limits=Limits(cpu=1))
    cmd = conf.command([sys.executable, "-c", "while True: pass"], [str(work)], str(work))
    proc = subprocess.run(cmd, capture_output=True, timeout=60)
    assert proc.returncode in (128 + 24, -24, 128 + 9, -9)  # SIGXCPU (or SIGKILL at the hard limit)


UNIX_SOCKET_PROBE = """
import socket
try:
    s = socket.socket(socket.AF_UNIX)
    s.connect({path!r})
    s.sendall(b"UPDATE grade SET auto_score = 100")
    print("connected")
except OSError as err:
    print(type(err).__name__)
"""


@needs_bwrap
def test_confined_process_reaches_no_unix_socket_of_the_machine(tmp_path):
    # The network namespace hides the network, not the sockets that are files: the
    # gradebook's PostgreSQL in /run/postgresql (often "trust" for local users), Docker's
    # socket, the D-Bus of the user running the grader. Here a socket anyone may connect to,
    # in a folder the sandbox sees (/var/tmp is not hidden).
    if not os.access("/var/tmp", os.W_OK):
        pytest.skip("/var/tmp is not writable")
    folder = Path(tempfile.mkdtemp(prefix="rnn-socket-", dir="/var/tmp"))
    folder.chmod(0o755)
    path = str(folder / "gradebook.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    os.chmod(path, 0o777)
    server.listen(1)
    server.settimeout(0.5)
    try:
        work = prepare_workdir(tmp_path / "work")
        conf = Confinement(hide=[str(tmp_path)])
        cmd = conf.command([sys.executable, "-c", UNIX_SOCKET_PROBE.format(path=path)],
                           [str(work)], str(work))
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        with pytest.raises(OSError):  # socket.timeout: nobody came
            server.accept()
    finally:
        server.close()
        shutil.rmtree(folder, ignore_errors=True)
    assert proc.stdout.strip() == "PermissionError", proc.stdout + proc.stderr


@needs_bwrap
def test_a_sandbox_without_its_socket_filter_fails_closed(tiny_course, tmp_path, monkeypatch):
    from rnngrade.judge import JudgeUnavailable

    original = Confinement.command

    def without_filter(self, argv, workdirs, cwd):
        cmd = original(self, argv, workdirs, cwd)
        at = next(i for i, part in enumerate(cmd) if "PR_SET_SECCOMP" in part)
        return cmd[:at - 3] + cmd[at + 2:]  # drop "python -I -c <seccomp.py> --"

    monkeypatch.setattr(Confinement, "command", without_filter)
    course, release = tiny_course
    source = nbformat.read(str(course / "solutions" / A / f"{A}.ipynb"), as_version=4)
    with pytest.raises(JudgeUnavailable, match="seccomp"):
        _judge(student(release), source, Limits(cell_timeout=10), tmp_path)


PRIVILEGE_PROBE = """
import os, subprocess
status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
out = {"uid": os.getuid(), "euid": os.geteuid(), "caps": [status[k].strip() for k in
       ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")], "nnp": status["NoNewPrivs"].strip()}
try:
    open("/etc/shadow").read(); out["shadow"] = "read"
except OSError:
    out["shadow"] = "denied"
r = subprocess.run(["mount", "-o", "remount,rw", "/"], capture_output=True)
out["remount"] = r.returncode
try:
    open("/usr/pwned", "w"); out["root_fs"] = "writable"
except OSError:
    out["root_fs"] = "read-only"
try:
    os.setuid(0); out["setuid"] = "became root"
except OSError:
    out["setuid"] = "refused"
out["env"] = sorted(os.environ)
print(repr(out))
"""


@needs_bwrap
def test_student_code_runs_unprivileged_whoever_runs_the_grader(tmp_path):
    # CI runs as root: then bubblewrap alone would keep root's capabilities in the sandbox.
    work = prepare_workdir(tmp_path / "work")
    conf = Confinement(hide=[str(tmp_path)])
    proc = subprocess.run(conf.command([sys.executable, "-c", PRIVILEGE_PROBE], [str(work)],
                                       str(work)),
                          capture_output=True, text=True, timeout=60, env=_env())
    assert proc.returncode == 0, proc.stderr
    out = eval(proc.stdout)  # noqa: S307 - our own probe's repr
    assert out["uid"] != 0 and out["euid"] != 0 and out["uid"] == sandbox_uid()
    assert out["caps"] == ["0000000000000000"] * 5, out["caps"]
    assert out["remount"] != 0 and out["root_fs"] == "read-only" and out["setuid"] == "refused"
    if os.geteuid() == 0:
        assert out["shadow"] == "denied" and out["nnp"] == "1"
    assert SECRET_VAR not in out["env"] and GRADING_SEED_ENV not in out["env"]
    assert "NBGRADER_EXECUTION" in out["env"]


NPROC_PROBE = """
import subprocess
started = []
try:
    for i in range(100):
        started.append(subprocess.Popen(["sleep", "30"]))
except OSError as err:
    print(len(started), type(err).__name__)
for p in started:
    p.kill()
"""


@needs_bwrap
def test_process_limit_holds_for_the_sandboxed_user(tmp_path):
    work = prepare_workdir(tmp_path / "work")
    conf = Confinement(hide=[str(tmp_path)], limits=Limits(nproc=8))
    proc = subprocess.run(conf.command([sys.executable, "-c", NPROC_PROBE], [str(work)], str(work)),
                          capture_output=True, text=True, timeout=60)
    count, error = proc.stdout.split()
    assert error == "BlockingIOError" and 1 <= int(count) < 8, proc.stdout + proc.stderr


@pytest.mark.skipif(os.geteuid() != 0 or not available(), reason="needs root and bubblewrap")
def test_process_limit_counts_only_the_sandbox_when_the_grader_is_that_user(tmp_path, monkeypatch):
    # A grader run as an ordinary user (here nobody, 65534): its own processes (10 sleeps)
    # must not count against the sandbox's limit, and the limit must still hold. The probe
    # runs on Debian's Python, which the unprivileged user can read.
    python = shutil.which("python3", path="/usr/bin")
    if python is None:
        pytest.skip("/usr/bin/python3 not installed")
    work = Path(tempfile.mkdtemp(prefix="rnn-nobody-", dir="/tmp"))  # reachable by nobody
    os.chown(work, 65534, 65534)
    monkeypatch.setattr(os, "geteuid", lambda: 65534)
    monkeypatch.setattr(Confinement, "needed", lambda self: [])  # root's Python stays root's
    conf = Confinement(hide=[], limits=Limits(nproc=6))
    cmd = conf.command([python, "-c", NPROC_PROBE], [str(work)], str(work))
    assert "setpriv" not in cmd and "--unshare-user" in cmd
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    sleepers = [subprocess.Popen(as_nobody + ["sleep", "60"]) for _ in range(10)]
    try:
        proc = subprocess.run(as_nobody + cmd, capture_output=True, text=True, timeout=60)
    finally:
        for p in sleepers:
            p.kill()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)
    assert proc.returncode == 0, proc.stderr
    count, error = proc.stdout.split()
    assert error == "BlockingIOError" and 2 <= int(count) < 6, proc.stdout + proc.stderr


# ---------------------------------------------------------------------------- normalising

@pytest.fixture(scope="module")
def tiny_course(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("tiny") / "course", ROOT)
    return course, release_notebook(course)


def test_normalise_restores_deleted_and_edited_test_cells(tiny_course, tmp_path):
    _, release = tiny_course
    nb = student(release)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_step"]
    next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_seq").source = "pass"
    nbformat.write(nb, str(tmp_path / "renamed.ipynb"))
    norm = normalise(tmp_path, A, release)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in norm.nb.cells]
    assert ids.count("test_step") == 1 and ids.index("step") < ids.index("test_step")
    seq_test = next(c for c in norm.nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_seq")
    assert "check_rnn_forward" in seq_test.source
    text = " ".join(norm.problems)
    assert "deleted" in text and "edited" in text and "named 'renamed.ipynb'" in text
    step = next(c for c in norm.nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "step")
    assert step.source == ANSWERS["step"]


def test_normalise_turns_corrupt_and_missing_into_the_release_with_a_reason(tiny_course, tmp_path):
    _, release = tiny_course
    (tmp_path / f"{A}.ipynb").write_text("{ nope")
    norm = normalise(tmp_path, A, release)
    assert norm.status == "corrupt" and "not valid JSON" in norm.problems[0]
    empty = tmp_path / "empty"
    empty.mkdir()
    norm = normalise(empty, A, release)
    assert norm.status == "missing" and "No notebook" in norm.problems[0]


# ---------------------------------------------------------------------------- the judge alone

def _judge(nb, source, limits, tmp_path):
    from rnngrade.judge import judge_notebook

    work = prepare_workdir(tmp_path / "work")
    conf = Confinement(hide=[str(tmp_path)], limits=limits)
    return judge_notebook(nb, source, conf, timeout=limits.cell_timeout, workdir=str(work))


COURSE = sorted(p.name for p in (ROOT / "solutions").iterdir() if (p / f"{p.name}.ipynb").is_file())


@needs_bwrap
@pytest.mark.parametrize("assignment", COURSE)
def test_every_assignments_solutions_earn_every_point_with_the_judge(assignment, tmp_path):
    # The preflight of a real grading run, per assignment: the strict guard of the worker,
    # callbacks that read an argument the student's function changes in place (ch04's
    # numerical gradient), caches as NamedTuples... must all let the right answers through.
    source = nbformat.read(str(ROOT / "solutions" / assignment / f"{assignment}.ipynb"), as_version=4)
    report = _judge(source, source, Limits(cell_timeout=60), tmp_path)
    lost = {t.grade_id: t.message for t in report.tests.values() if t.points < t.max_points}
    assert report.tests and not lost, lost


@needs_bwrap
def test_a_test_cell_takes_from_the_student_only_the_names_of_the_answers(tiny_course, tmp_path):
    # A careless instructor: the checker is bound to a name in a cell that is not read-only,
    # whose assignments the judge does not run. That name must not be looked up in the
    # student's process, where the student defined a check that passes everything.
    course, release = tiny_course
    source = nbformat.read(str(course / "solutions" / A / f"{A}.ipynb"), as_version=4)
    setup = next(c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    setup.metadata["nbgrader"]["locked"] = False
    setup.source += "\ncheck = check_rnn_forward"
    test = next(c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_seq")
    test.source = "check(rnn_forward)"
    nb = student(release, dict(ANSWERS, seq=WRONG_SEQ), extra=[("setup", "check = lambda f: None")])
    report = _judge(nb, source, Limits(cell_timeout=10), tmp_path)
    assert report.tests["test_seq"].points == 0, report.tests["test_seq"]
    assert report.tests["test_step"].points == 2


@needs_bwrap
def test_a_student_who_changes_the_instructors_data_in_place_changes_no_other_students_grade(
        tiny_course, tmp_path):
    # The instructor's setup cells run once per grading process and are shared by the class;
    # a test cell passes their arrays to the student's function, which may change them in place
    # (the judge mirrors in-place changes). The next student must see the instructor's data.
    course, release = tiny_course
    source = nbformat.read(str(course / "solutions" / A / f"{A}.ipynb"), as_version=4)
    setup = next(c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    setup.source += ("\nWxh0, Whh0, bh0 = np.full((3, 2), 0.5), np.full((3, 3), 0.1), np.zeros(3)"
                     "\nx0, h00 = np.ones((1, 2)), np.zeros((1, 3))"
                     "\nexpected0 = np.tanh(x0 @ Wxh0.T + h00 @ Whh0.T + bh0)")
    test = next(c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_step")
    test.source = "assert np.allclose(rnn_step_forward(x0, h00, Wxh0, Whh0, bh0)[0], expected0)"
    vandal = ("def rnn_step_forward(x_t, h_prev, Wxh, Whh, bh):\n"
              "    Wxh[...] = 0\n    bh[...] = 7\n    h = np.tanh(x_t @ Wxh.T + h_prev @ Whh.T + bh)\n    return h, (x_t, h_prev, h, Wxh, Whh)")
    first = _judge(student(release, dict(ANSWERS, step=vandal)), source, Limits(cell_timeout=10),
                   tmp_path / "vandal")
    assert first.tests["test_step"].points == 0
    honest = _judge(student(release), source, Limits(cell_timeout=10), tmp_path / "honest")
    assert honest.tests["test_step"].points == 2, honest.tests["test_step"].message


@needs_bwrap
def test_a_notebook_has_a_time_limit_in_all(tiny_course, tmp_path):
    # Cells that each sleep just under the cell timeout: the notebook's own limit stops them.
    _, release = tiny_course
    source = nbformat.read(str(tiny_course[0] / "solutions" / A / f"{A}.ipynb"), as_version=4)
    nb = student(release, extra=[("setup", "import time\ntime.sleep(1.5)")] * 5)
    limits = Limits(cell_timeout=2, notebook_timeout=4)
    started = time.monotonic()
    report = _judge(nb, source, limits, tmp_path)
    assert time.monotonic() - started < 10
    assert report.score == 0 and "ran longer than 4 s in all" in " ".join(report.problems)
    assert {t.diagnosis for t in report.tests.values()} == {"stopped"}


# ---------------------------------------------------------------------------- the class

@pytest.fixture(scope="module")
def adversarial_run(tmp_path_factory):
    if not available():
        pytest.skip("bubblewrap/prlimit not installed")
    base = tmp_path_factory.mktemp("class")
    course = make_course(base / "course", ROOT)
    release = release_notebook(course)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    submitted = base / "submitted"
    secrets = {"solutions": course / "solutions" / A / f"{A}.ipynb",
               "other": submitted / "honest" / A / f"{A}.ipynb",
               "gradebook": course / "grading" / "gradebook.db",
               "outside": base / "owned.txt", "port": server.getsockname()[1]}
    klass = adversarial_class(release, secrets)
    write_class(submitted, klass)
    os.environ[GRADING_SEED_ENV] = SEED
    try:
        code, log, report = grade_cli(course, str(submitted), *TEST_LIMITS, "--seed", SEED,
                                      "--progress")
    finally:
        os.environ.pop(GRADING_SEED_ENV, None)
        server.close()
    return {"code": code, "log": log, "report": report, "class": klass, "course": course,
            "secrets": secrets, "base": base}


def test_command_finishes_with_exit_0_and_prints_the_table(adversarial_run):
    run = adversarial_run
    assert run["code"] == 0, run["log"][-5000:]
    assert "| student" in run["log"] and "honest" in run["log"]
    for name in run["class"]:
        assert name in run["report"]["table"]


STUDENTS = ["honest", "honest_half", "untouched", "loop_cell", "loop_call", "exit_call",
            "exit_cell", "segfault", "ctypes_raw_memory", "memory_bomb", "output_flood", "syntax_error",
            "deleted_test", "edited_test", "duplicated", "retyped", "patched_checks",
            "calls_reference", "reads_solutions", "reads_other", "reads_seed", "network",
            "writes_outside", "corrupt", "missing", "misnamed", "old_format",
            "privileges", "fork_bomb", "daemon", "reads_env", "symlink", "huge", "xss",
            "forged_metadata", "giant_answer", "fills_disk", "malformed_meta",
            "namedtuple_cache", "lazy_tuple", "patches_guard", "profiler_off", "reference_thread",
            "reloads_reference", "launders_reference", "reference_process", "fake_diagnosis",
            "forged_outputs", "surrogates"]


@pytest.mark.parametrize("name", STUDENTS)
def test_each_student_gets_the_points_of_their_honest_parts_and_a_reason(adversarial_run, name):
    run = adversarial_run
    assert run["code"] == 0, run["log"][-5000:]
    _, expected, words = run["class"][name]
    entry = next(e for e in run["report"]["entries"] if e["student"] == name)
    feedback = " ".join(entry["problems"] + entry["tests"])
    assert entry["score"] == expected, f"{name}: {entry['score']} != {expected}\n{feedback}"
    for word in words:
        assert word in feedback, f"{name}: {word!r} not in feedback:\n{feedback}"
    grades = scores_csv(run["course"] / "grading" / "grades.csv")
    assert grades[(name, A)] == expected, "the gradebook disagrees with the judge"
    html = run["course"] / "grading" / "feedback" / name / A / f"{A}.html"
    assert html.is_file(), f"no feedback for {name}"
    assert "Grading report" in html.read_text()


def test_the_class_list_covers_every_case_of_the_issue(adversarial_run):
    assert sorted(STUDENTS) == sorted(adversarial_run["class"])


def test_gradebook_keeps_every_student_and_nothing_escaped(adversarial_run):
    run = adversarial_run
    grades = scores_csv(run["course"] / "grading" / "grades.csv")
    assert {s for s, _ in grades} == set(run["class"])
    assert not run["secrets"]["outside"].exists()
    assert (run["course"] / "solutions" / A / f"{A}.ipynb").read_text().startswith("{")
    # Raw submissions are never modified.
    assert (run["base"] / "submitted" / "corrupt" / A / f"{A}.ipynb").read_bytes() == run["class"]["corrupt"][0][f"{A}.ipynb"]


def test_progress_bar_counts_the_class_and_its_failures(adversarial_run):
    n = len(adversarial_run["class"])
    last = adversarial_run["log"].split("\r")
    done = [part for part in last if f"{n}/{n}" in part and "grading:" in part]
    assert done and "failed=0" in done[-1] and "100%" in done[-1], last[-3:]


def _autograded(run, name):
    return nbformat.read(str(run["course"] / "grading" / "autograded" / name / A / f"{A}.ipynb"),
                         as_version=4)


def test_the_feedback_notebook_is_the_judges_one_execution(adversarial_run):
    # patched_checks replaced the checkers in its own process; its test cell's output is the
    # judge's verdict, and nothing ran a second time in a kernel.
    nb = _autograded(adversarial_run, "patched_checks")
    test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_seq")
    assert [o.output_type for o in test.outputs] == ["error"]
    assert "rnn_forward" in test.outputs[0].evalue
    honest = _autograded(adversarial_run, "honest")
    assert all(not o.get("output_type") == "error" for c in honest.cells if c.cell_type == "code"
               for o in c.outputs)
    assert "Grading report: 7 / 7" in honest.cells[0].source


def test_no_process_a_student_started_survives_grading(adversarial_run):
    assert adversarial_run["code"] == 0
    alive = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if SURVIVOR.encode() in cmd and b"SURVIVOR" not in cmd:
                alive.append((proc.name, cmd[:200]))
    assert not alive, f"processes started by students are still running: {alive}"


def test_giant_output_is_capped_in_the_executed_notebook(adversarial_run):
    path = adversarial_run["course"] / "grading" / "autograded" / "output_flood" / A / f"{A}.ipynb"
    assert path.stat().st_size < 2 * 2**20, "the 70 MB of output reached the notebook"
    assert "output truncated by the grader" in path.read_text()


def test_outputs_a_cell_forges_on_the_pipe_are_capped_by_the_judge(adversarial_run):
    # forged_outputs wrote its own answer (3 MB of text, HTML, an image that is no PNG) on the
    # worker's pipe, past the worker's caps: the judge enforces them itself.
    path = adversarial_run["course"] / "grading" / "autograded" / "forged_outputs" / A / f"{A}.ipynb"
    assert path.stat().st_size < 2 * 2**20, "the forged 3 MB output reached the notebook"
    nb = nbformat.read(str(path), as_version=4)
    outputs = json.dumps([o for c in nb.cells if c.cell_type == "code" for o in c.outputs])
    assert "window.pwned" not in outputs and "bm90IGEgcG5n" not in outputs
    assert "output truncated by the grader" in outputs


def test_the_misconception_report_counts_only_the_judges_diagnoses(adversarial_run):
    # fake_diagnosis raised its own CheckFailed carrying a catalogued mistake's id.
    with open(adversarial_run["course"] / "grading" / "misconceptions.csv") as f:
        rows = list(csv.DictReader(f))
    forged = [r for r in rows if "fake_diagnosis" in r["student_ids"].split()]
    assert [r["mistake"] for r in forged] == ["generic/crash"], forged


def test_symlinked_submission_leaks_nothing_of_its_target(adversarial_run):
    run = adversarial_run
    feedback = (run["course"] / "grading" / "feedback" / "symlink" / A / f"{A}.html").read_text()
    assert "hidden=True" not in feedback and "BEGIN SOLUTION" not in feedback
    submitted = (run["course"] / "grading" / "submitted" / "symlink" / A / f"{A}.ipynb").read_text()
    assert "hidden=True" not in submitted


def test_students_markdown_is_never_rendered_as_active_html(adversarial_run):
    html = (adversarial_run["course"] / "grading" / "feedback" / "xss" / A / f"{A}.html").read_text()
    assert "Look:" in html, "the student's cell is missing from the feedback"
    assert not re.search(r"<script>\s*window\.pwned", html)
    assert not re.search(r"<img[^>]*onerror", html) and not re.search(r"href=.javascript:", html)


def test_forged_metadata_and_outputs_change_no_maximum_and_no_score(adversarial_run):
    run = adversarial_run
    with open(run["course"] / "grading" / "grades.csv") as f:
        row = next(r for r in csv.DictReader(f) if r["student_id"] == "forged_metadata")
    assert float(row["max_score"]) == 7.0 and float(row["score"]) == 4.0


def test_lms_files_have_one_column_per_assignment_and_the_judges_scores(adversarial_run):
    run = adversarial_run
    grading = run["course"] / "grading"
    with open(grading / "canvas.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", A]
    assert rows[1][0] == "Points Possible" and float(rows[1][5]) == 7.0
    canvas = {r[3]: r[5] for r in rows[2:]}
    with open(grading / "moodle.csv") as f:
        moodle = {r["Username"]: r[A] for r in csv.DictReader(f)}
    assert set(canvas) == set(moodle) == set(run["class"]) - {"missing_folder"}
    for name, (_, expected, _) in run["class"].items():
        assert float(canvas[name]) == float(moodle[name]) == expected


def test_copy_report_flags_identical_answers_but_never_a_one_line_answer(adversarial_run):
    report = adversarial_run["report"]
    pairs = {(p["cell"], frozenset((p["a"], p["b"]))): p["similarity"] for p in report["copies"]}
    assert pairs[("seq", frozenset(("honest", "misnamed")))] >= 0.99
    assert pairs[("seq", frozenset(("honest", "the instructor's solution")))] >= 0.99
    assert not any(cell == "step" for cell, _ in pairs), "a one-line answer was flagged"
    entries = {e["student"]: e for e in report["entries"]}
    assert "the instructor's solution" in entries["honest"]["copies"][0]
    assert not entries["untouched"]["copies"]
    assert "possible copy" in (adversarial_run["course"] / "grading" / "report.md").read_text()


# ---------------------------------------------------------------------------- LMS zip

#: Answers every case the checker draws from public seeds, computed in a cell (where nothing is
#: blocked) with the reference; anything else gets zeros.
PRECOMPUTED = """import numpy as np, rnnlib
from rnnlib.checks._engine import EXERCISES

def _key(args):
    return tuple((a.shape, a.tobytes()) for a in args)

_known = {_key(c.args): rnnlib.rnn.rnn_forward(*c.args)
          for hidden in (False, True) for c in EXERCISES["rnn_forward"].cases(hidden)}

def rnn_forward(x, h0, Wxh, Whh, bh):
    zeros = np.zeros((x.shape[0], x.shape[1], Whh.shape[0]))
    return _known.get(_key((x, h0, Wxh, Whh, bh)), (zeros, None))
"""

@needs_bwrap
def test_lms_zip_download_is_collected_and_graded(tiny_course, tmp_path):
    src_course, release = tiny_course
    course = make_course(tmp_path / "course", ROOT)
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"alice_{A}.ipynb", nbformat.writes(student(release)))
        z.writestr(f"bob_{A}.ipynb", nbformat.writes(student(release, {"step": ANSWERS["step"]})))
        z.writestr(f"carol_{A}.ipynb", nbformat.writes(student(release, dict(ANSWERS, seq=PRECOMPUTED))))
    # No --seed (and none in the environment): the run draws one, so the hidden tests' cases
    # are not the public seeds' that carol answered in advance.
    code, log, report = grade_cli(course, "--zip", str(archive), "--assignment", A,
                                  *TEST_LIMITS)
    assert code == 0, log[-4000:]
    got = {e["student"]: e["score"] for e in report["entries"]}
    assert got == {"alice": 7.0, "bob": 2.0, "carol": 4.0}
    assert report["seed"].isdigit() and f"--seed {report['seed']}" in log


# ---------------------------------------------------------------------------- PostgreSQL, workers

PARALLEL_CLASS = ["honest", "honest_half", "untouched", "exit_call", "patched_checks",
                  "syntax_error"]


@needs_pg
@needs_bwrap
def test_parallel_workers_on_postgresql_grade_exactly_like_a_sequential_run(tiny_course, tmp_path):
    _, release = tiny_course
    secrets = {"solutions": "/nonexistent", "other": "/nonexistent", "gradebook": "/nonexistent",
               "outside": tmp_path / "owned.txt", "port": 9}
    klass = {k: v for k, v in adversarial_class(release, secrets).items() if k in PARALLEL_CLASS}
    submitted = tmp_path / "submitted"
    write_class(submitted, klass)
    course = make_course(tmp_path / "course", ROOT)
    code, log, sequential = grade_cli(course, str(submitted), *TEST_LIMITS, "--seed", SEED,
                                      f"--out={tmp_path / 'seq'}")
    assert code == 0, log[-4000:]
    with postgres_server() as url:
        code, log, parallel = grade_cli(course, str(submitted), *TEST_LIMITS, "--seed", SEED,
                                        "--workers", "2", "--db-url", url,
                                        f"--out={tmp_path / 'par'}")
        assert code == 0, log[-4000:]
        from nbgrader.api import Gradebook

        os.environ["PATH"] = _env()["PATH"]  # nbgrader's Gradebook runs `alembic`
        with Gradebook(url, "rnns-simplified") as gb:
            in_db = {s.id for s in gb.students}
    assert in_db == set(PARALLEL_CLASS)

    def key(report):
        return {(e["student"], e["assignment"]): (e["score"], [t.split(" — ")[0] for t in e["tests"]])
                for e in report["entries"]}

    assert key(parallel) == key(sequential)
    assert scores_csv(tmp_path / "par" / "grades.csv") == scores_csv(tmp_path / "seq" / "grades.csv")
    for name in PARALLEL_CLASS:
        assert scores_csv(tmp_path / "par" / "grades.csv")[(name, A)] == klass[name][1]


def test_makefile_has_a_documented_grade_target():
    makefile = (ROOT / "Makefile").read_text()
    assert "\ngrade:" in makefile and "-m rnngrade" in makefile
    assert "-e ./grader" in makefile, "make setup installs the grader beside rnnlib"


@needs_bwrap
def test_grading_benchmark_writes_a_dated_result_the_performance_page_reads(tiny_course, tmp_path):
    # The benchmark's own path, on a class of two (one solves everything, one half), so that
    # `python bench/grading.py --students 50` is known to work before anyone waits an
    # hour for it. No timing is asserted.
    course, _ = tiny_course
    out = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "grading.py"), "--course", str(course), "--students", "2",
         "--workers", "2", "--no-dask", "--out", str(out)],
        cwd=course, capture_output=True, text=True, env=_env(), timeout=1200)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    (path,) = out.glob("grading-*.json")
    res = json.loads(path.read_text())
    # (--no-dask keeps the suite lean: grading on Dask has its own test module.)
    assert res["identical"] is True and res["exit_codes"] == [0, 0]
    assert res["notebooks"] == 2 and res["assignments"] == [A]
    assert res["per_notebook_1"] > 0 and res["per_notebook_n"] > 0
    row = res["per_assignment_1"][A]
    assert row["end_to_end"] >= row["judge"] > 0 and row["target"] == 2.0
    assert res["machine"]["cores"] and res["machine"]["numpy_blas"] and res["limits"]["nproc"] > 0
    assert "--students 2" in res["command"]


# ---------------------------------------------------------------------------- failing closed

def _one_honest_student(tmp_path, release, name="honest", extra=None):
    klass = {name: ({f"{A}.ipynb": nbformat.writes(student(release, extra=extra)).encode()}, 7, ())}
    write_class(tmp_path / "submitted", klass)
    return tmp_path / "submitted"


@needs_bwrap
def test_a_judge_that_cannot_import_rnnlib_fails_closed_with_no_score_anywhere(tiny_course, tmp_path):
    # The grader imports an rnnlib that its sandboxed user cannot read (a checkout made with
    # umask 077): every worker fails before any student code runs. The command must say so
    # and exit non-zero, and no score may reach the gradebook, the CSV or the report.
    _, release = tiny_course
    course = make_course(tmp_path / "course", ROOT)
    private = tmp_path / "private"
    shutil.copytree(ROOT / "rnnlib", private / "rnnlib",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for path in [private, *private.rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)
    submitted = _one_honest_student(tmp_path, release)
    env = _env()
    env["PYTHONPATH"] = str(private) + os.pathsep + env["PYTHONPATH"]
    proc = subprocess.run([sys.executable, "-m", "rnngrade", str(submitted), "--course",
                           str(course), *TEST_LIMITS], cwd=course, capture_output=True,
                          text=True, env=env, timeout=600)
    out = course / "grading"
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Nobody was graded" in proc.stderr and "could not start" in proc.stderr
    assert not (out / "grades.csv").exists() and not (out / "report.json").exists()
    assert not (out / "autograded").exists()
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{out / 'gradebook.db'}", "rnns-simplified") as gb:
        assert gb.students == [] and gb.assignment_submissions(A) == []


@needs_bwrap
def test_grading_from_a_course_with_its_own_rnnlib_judges_with_that_rnnlib(tiny_course, tmp_path):
    # The issue's scenario: the course folder's rnnlib is not the installed one. The judge and
    # its confined worker must import the same (the course's), and an honest student scores.
    _, release = tiny_course
    course = make_course(tmp_path / "course", ROOT)
    shutil.copytree(ROOT / "rnnlib", course / "rnnlib", ignore=shutil.ignore_patterns("__pycache__"))
    submitted = _one_honest_student(tmp_path, release)
    env = _env()
    env["PYTHONPATH"] = env["PYTHONPATH"].replace(str(ROOT) + os.pathsep, "")
    code = ("import rnnlib, runpy, sys; assert rnnlib.__file__.startswith(sys.argv[1]), rnnlib.__file__;"
            "sys.argv = ['rnngrade'] + sys.argv[2:]; runpy.run_module('rnngrade', run_name='__main__')")
    proc = subprocess.run([sys.executable, "-c", code, str(course), str(submitted), "--course",
                           str(course), *TEST_LIMITS], cwd=course, capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert scores_csv(course / "grading" / "grades.csv") == {("honest", A): 7.0}


def test_a_worker_preloads_the_imports_of_the_cells_it_runs_and_none_of_the_tests():
    from rnngrade.judge import preload_modules

    def cell(source, **meta):
        c = nbformat.v4.new_code_cell(source)
        if meta:
            c.metadata["nbgrader"] = meta
        return c

    nb = nbformat.v4.new_notebook(cells=[
        cell("import numpy as np\nimport matplotlib.pyplot as plt", locked=True, grade_id="setup"),
        cell("from rnnlib.data import load_text\nfrom . import sibling", solution=True, grade_id="a"),
        cell("import secret_helper_of_the_hidden_tests", grade=True, grade_id="t", points=1),
        cell("this is not python"),
        nbformat.v4.new_markdown_cell("import markdown_is_not_code"),
    ])
    assert preload_modules(nb) == ("matplotlib.pyplot", "numpy", "rnnlib.data")


LEAVE_TRACES = """
import os, subprocess, numpy
open("left-behind.txt", "w").write("first")
numpy.left_behind = True
subprocess.Popen(["sleep", "300"])
"""
LOOK_FOR_TRACES = """
import os, numpy
print("traces:", os.path.exists("left-behind.txt"), hasattr(numpy, "left_behind"), sorted(os.listdir(".")))
"""


def _grade_ann_then_bob(tiny_course, tmp_path, monkeypatch, ann_cell, bob_cell, **limits):
    """Grade two honest students, each with an extra cell, in one local process (the second
    one's worker started ahead while the first is judged); ``{student: what it printed}``."""
    from rnngrade.pipeline import grade_class

    _, release = tiny_course
    course = make_course(tmp_path / "course", ROOT)
    _one_honest_student(tmp_path, release, "ann", extra=[("setup", ann_cell)])
    _one_honest_student(tmp_path, release, "bob", extra=[("setup", bob_cell)])
    monkeypatch.setenv("PATH", _env()["PATH"])
    report = grade_class(tmp_path / "submitted", course=course,
                         limits=Limits(cell_timeout=10, memory=2**30, cpu=60, **limits),
                         echo=lambda *a: None, progress=False, copies=False)
    assert report["exit"] == 0
    assert scores_csv(report["grades_csv"]) == {("ann", A): 7.0, ("bob", A): 7.0}
    printed = {}
    for name in ("ann", "bob"):
        nb = nbformat.read(str(course / "grading" / "autograded" / name / A / f"{A}.ipynb"), as_version=4)
        printed[name] = " ".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                                 for o in c.outputs)
    return printed


@needs_bwrap
def test_the_worker_started_ahead_is_a_fresh_sandbox_and_stops_with_the_class(tiny_course, tmp_path,
                                                                              monkeypatch):
    # One local process starts the next notebook's worker while the current one is judged.
    # That worker must be used (the point of it), be as fresh as a worker started on demand (a
    # first student's files, module changes and processes are not the next one's), and stop
    # with the class: no worker process and no folder of it left behind.
    import rnngrade.task

    taken = []
    take = rnngrade.task._AHEAD.take

    def spy(key):
        got = take(key)
        taken.append(got is not None)
        return got

    monkeypatch.setattr(rnngrade.task._AHEAD, "take", spy)
    before = {p.name for p in Path(tempfile.gettempdir()).glob("rnnj-*")}
    printed = _grade_ann_then_bob(tiny_course, tmp_path, monkeypatch, LEAVE_TRACES, LOOK_FOR_TRACES)
    # preflight, ann, bob: ann's worker was started during the preflight, bob's during ann's run
    assert taken == [False, True, True], taken
    assert "traces: False False []" in printed["bob"], printed["bob"]
    assert rnngrade.task._AHEAD.worker is None
    assert {p.name for p in Path(tempfile.gettempdir()).glob("rnnj-*")} <= before
    workers = [proc.name for proc in Path("/proc").iterdir() if proc.name.isdigit()
               and b"rnngrade.worker" in _cmdline(proc)]
    assert not workers, f"workers still running after the class: {workers}"


def _cmdline(proc):
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


def test_a_judge_failure_that_is_not_the_students_leaves_no_score_and_exits_3(tiny_course, tmp_path,
                                                                               monkeypatch):
    # Mid-class, the judge cannot run for one student (here: forced). That student has no
    # score anywhere, the others are graded, and the command's status says so.
    import rnngrade.task
    from rnngrade.judge import JudgeUnavailable
    from rnngrade.pipeline import grade_class

    _, release = tiny_course
    course = make_course(tmp_path / "course", ROOT)
    _one_honest_student(tmp_path, release)
    _one_honest_student(tmp_path, release, "bob", extra=[("setup", "# bob")])
    real = rnngrade.task.judge_notebook

    def judge(nb, *args, **kwargs):
        if any(c.source == "# bob" for c in nb.cells):
            raise JudgeUnavailable("the sandbox's /tmp is full")
        return real(nb, *args, **kwargs)

    monkeypatch.setattr(rnngrade.task, "judge_notebook", judge)
    monkeypatch.setenv("PATH", _env()["PATH"])
    report = grade_class(tmp_path / "submitted", course=course,
                         limits=Limits(cell_timeout=10, memory=2**30, cpu=60),
                         confine=available(), echo=lambda *a: None, progress=False)
    assert report["exit"] == 3
    bob = next(e for e in report["entries"] if e["student"] == "bob")
    assert bob["status"] == "not graded" and bob["score"] is None
    assert "NOT GRADED" in bob["problems"][0] and "/tmp is full" in bob["problems"][0]
    assert "NOT GRADED" in Path(report["report"]).read_text()
    assert scores_csv(report["grades_csv"]) == {("honest", A): 7.0}
    with open(report["canvas_csv"]) as f:
        assert "bob" not in f.read()
    assert not (course / "grading" / "autograded" / "bob").exists()
    # Graded again when the judge works, then not: no stale score from the first run stands.
    monkeypatch.setattr(rnngrade.task, "judge_notebook", real)
    assert grade_class(tmp_path / "submitted", course=course, limits=Limits(cell_timeout=10),
                       confine=available(), echo=lambda *a: None, progress=False)["exit"] == 0
    monkeypatch.setattr(rnngrade.task, "judge_notebook", judge)
    again = grade_class(tmp_path / "submitted", course=course, limits=Limits(cell_timeout=10),
                        confine=available(), echo=lambda *a: None, progress=False)
    assert again["exit"] == 3 and ("bob", A) not in scores_csv(again["grades_csv"])


HOLD_EVERY_PROCESS = """
import os, time
kids = []
try:
    while True:
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        kids.append(pid)
except OSError:
    pass
print("processes:", len(kids))
"""


@needs_bwrap
def test_the_worker_started_ahead_takes_none_of_the_notebooks_processes(tiny_course, tmp_path,
                                                                        monkeypatch):
    # Limits.nproc: the processes the student's code may hold at once, its worker included.
    # The next notebook's worker, started while this one runs, is not the student's: as root,
    # it runs as the grading process's other sandbox user id. (Found by an attack.)
    printed = _grade_ann_then_bob(tiny_course, tmp_path, monkeypatch, HOLD_EVERY_PROCESS, "", nproc=8)
    assert "processes: 7" in printed["ann"], printed["ann"]  # 8 with the worker itself


def _processes_mentioning(text):
    """Pids of processes whose command line or environment holds ``text``."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and proc.name != str(os.getpid()):
            try:
                data = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
            except OSError:
                continue
            if text.encode() in data:
                found.append(int(proc.name))
    return found


@needs_bwrap
@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_a_command_stopped_by_a_signal_leaves_no_process_behind(tiny_course, tmp_path, how):
    # A job scheduler's timeout, `kill`, the out-of-memory killer: the command, its pool of
    # grading processes, their sandboxed workers and the workers they started ahead must all
    # end, at once, not after the notebooks under way. (Found by an attack: the pool's
    # processes used to outlive a killed command, each with an idle sandbox.)
    import signal

    _, release = tiny_course
    course = make_course(tmp_path / "course", ROOT)
    for name in ("ann", "bob", "cat", "dan"):
        _one_honest_student(tmp_path, release, name, extra=[("setup", "import time\ntime.sleep(8)")])
    private_tmp = tmp_path / "grader-tmp"
    private_tmp.mkdir()
    env = dict(_env(), TMPDIR=str(private_tmp))
    proc = subprocess.Popen([sys.executable, "-m", "rnngrade", str(tmp_path / "submitted"), "--course",
                             str(course), "--workers", "2", *TEST_LIMITS], cwd=course, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not any(p.name.startswith("rnnj-") for p in private_tmp.iterdir()):
            assert proc.poll() is None and time.monotonic() < deadline, "grading never started"
            time.sleep(0.2)
        time.sleep(2)  # notebooks under way in both pool processes
        assert _processes_mentioning(str(private_tmp))
        proc.send_signal(getattr(signal, how))
        assert proc.wait(timeout=5) != 0
        deadline = time.monotonic() + 5
        while _processes_mentioning(str(private_tmp)) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not _processes_mentioning(str(private_tmp))
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in _processes_mentioning(str(private_tmp)):
            os.kill(pid, signal.SIGKILL)


WATCH_THE_COMMAND = """
import os, sys, time
from rnngrade import pipeline
if sys.argv[2] == "polling":
    del os.pidfd_open  # a kernel before Linux 5.3
pipeline._end_with_the_command(int(sys.argv[1]))
time.sleep(60)
"""


@pytest.mark.parametrize("how", ["pidfd", "polling"])
def test_a_pool_process_ends_when_the_command_ends(how):
    command = subprocess.Popen(["sleep", "60"])
    pool_process = subprocess.Popen([sys.executable, "-c", WATCH_THE_COMMAND, str(command.pid), how],
                                    env=_env())
    try:
        time.sleep(1.0)
        assert pool_process.poll() is None, "it ended while the command was running"
        command.kill()
        command.wait()
        assert pool_process.wait(timeout=5) == -9
    finally:
        for proc in (command, pool_process):
            if proc.poll() is None:
                proc.kill()
