"""Manually graded answers: reported as such, and graded in nbgrader's formgrader (Chromium).

An assignment with a manually graded Markdown answer (3 points) beside an autograded exercise
(2 points) is graded for two students. The report says "needs manual grading", the gradebook
marks the answer so, and formgrader, opened on the grading folder by ``python -m rnngrade
formgrader``, shows the judge's scores and the answer waiting for a grade.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rnngrade.sandbox import available
from tests.browser.site import chromium, chromium_missing_reason
from tests.conftest import ROOT
from tests.grading_fixtures.adversarial import ANSWERS, M, make_manual_course, manual_release

pytestmark = pytest.mark.skipif(not available(), reason="bubblewrap/prlimit not installed")


def _env():
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture(scope="module")
def manual_run(tmp_path_factory):
    import json

    import nbformat

    base = tmp_path_factory.mktemp("manual")
    course = make_manual_course(base / "course", ROOT)
    release = manual_release(course)
    for name, answered in {"alice": True, "bob": False}.items():
        nb = nbformat.from_dict(json.loads(nbformat.writes(release)))
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if answered and gid == "step":
                cell.source = ANSWERS["step"]
            if answered and gid == "explain":
                cell.source = "One matrix for every step: that is weight sharing."
        folder = base / "submitted" / name / M
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{M}.ipynb"))
    proc = subprocess.run([sys.executable, "-m", "rnngrade", str(base / "submitted"), "--course",
                           str(course), "--cell-timeout", "10", "--memory", "1G"], cwd=course,
                          capture_output=True, text=True, env=_env(), timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((course / "grading" / "report.json").read_text())
    return {"course": course, "report": report, "out": course / "grading"}


def test_manually_graded_answers_are_reported_as_needing_manual_grading(manual_run):
    entries = {e["student"]: e for e in manual_run["report"]["entries"]}
    assert entries["alice"]["manual"] == ["explain"] and entries["alice"]["score"] == 2.0
    assert entries["bob"]["score"] == 0.0
    report = (manual_run["out"] / "report.md").read_text()
    assert "needs manual grading: explain" in report and "2/5+M" in report.replace(" ", "")
    assert entries["bob"]["manual"] == []  # an unanswered cell: nbgrader gives it 0 itself


def test_the_gradebook_waits_for_a_person_on_the_manual_answer_only(manual_run):
    from nbgrader.api import Gradebook

    os.environ["PATH"] = _env()["PATH"]  # nbgrader's Gradebook runs `alembic`
    with Gradebook(f"sqlite:///{manual_run['out'] / 'gradebook.db'}", "rnns-simplified") as gb:
        grade = gb.find_grade("explain", M, M, "alice")
        assert grade.needs_manual_grade and grade.score == 0
        step = gb.find_grade("test_step", M, M, "alice")
        assert not step.needs_manual_grade and step.auto_score == 2.0
        assert gb.find_submission(M, "alice").needs_manual_grade


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def formgrader(out):
    port, token = _free_port(), secrets.token_hex(16)
    proc = subprocess.Popen([sys.executable, "-m", "rnngrade", "formgrader", "--out", str(out),
                             "--port", str(port), "--token", token], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(proc.stdout.read().decode()[-3000:]) from None
                time.sleep(0.5)
        yield url, token
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_formgrader_shows_the_judges_scores_and_the_answer_to_grade(manual_run):
    reason = chromium_missing_reason()
    if reason:
        pytest.skip(f"needs Chromium and playwright: {reason}")
    with formgrader(manual_run["out"]) as (url, token), chromium() as browser:
        # The token as a header on every request (the page's own API calls included).
        page = browser.new_context(extra_http_headers={"Authorization": f"token {token}"}).new_page()
        page.goto(f"{url}/formgrader/gradebook/{M}/{M}")
        page.wait_for_function("() => document.querySelectorAll('td.score').length >= 2",
                               timeout=60_000)

        def row(student):
            return page.locator(f"tr:has(a.name-shown:text-is('{student}'))")

        assert row("alice").locator("td.score").inner_text().strip() == "2 / 5"
        assert row("bob").locator("td.score").inner_text().strip() == "0 / 5"
        assert row("alice").locator(".needs-manual-grade .glyphicon-ok").count() == 1
        assert row("bob").locator(".needs-manual-grade .glyphicon-ok").count() == 0
        # Alice's submission: her written answer waits for a score beside the judge's.
        href = row("alice").locator("a.name-shown").get_attribute("href")
        page.goto(f"{url}{href}")
        page.wait_for_selector("text=that is weight sharing", timeout=60_000)
        assert "Grading report: 2 / 5 points" in page.inner_text("body")
        assert page.locator("input.score").count() == 2  # the judge's test, and the answer
