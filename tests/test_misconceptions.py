"""The misconception report: what the class got wrong, counted from the judge's diagnoses.

A synthetic class whose students make known catalogued mistakes in known proportions gives
exactly those counts, first from the judge's results directly, then end to end through the
grading command (bubblewrap) on the tiny course of ``tests/grading_fixtures``. Students with
crashed or missing notebooks, or who did not attempt a function, are counted apart.
"""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from rnngrade.misconceptions import checked_functions, section_links, tally, write_report
from tests.conftest import ROOT

FUNCTIONS = {"ch04_bptt": {"test_step_backward": "rnn_step_backward", "test_backward": "rnn_backward"}}


def _entry(student, diagnoses, status="graded"):
    results = [{"grade_id": gid, "points": 2.0 if d == "passed" else 0.0, "max_points": 2.0,
                "diagnosis": d} for gid, d in diagnoses.items()]
    return {"student": student, "assignment": "ch04_bptt", "status": status, "results": results}


def _class():
    """20 students: rnn_backward is right for 8, no-carry for 6, stops-before-t0 for 3, a
    generic shape for 1, not attempted by 1, crashed for 1; and one student sent nothing."""
    plan = (["passed"] * 8 + ["rnn_backward/no-carry"] * 6 + ["rnn_backward/stops-before-t0"] * 3
            + ["generic/shape", "not-attempted", "stopped"])
    entries = [_entry(f"s{i:02d}", {"test_step_backward": "passed", "test_backward": d})
               for i, d in enumerate(plan)]
    entries.append(_entry("s99", {}, status="not submitted"))
    return entries


def test_known_mistakes_in_known_proportions_give_exactly_those_counts():
    rows, apart = tally(_class(), FUNCTIONS)
    back = {r["mistake"]: r for r in rows if r["function"] == "rnn_backward"}
    assert {m: r["count"] for m, r in back.items()} == {
        "rnn_backward/no-carry": 6, "rnn_backward/stops-before-t0": 3, "generic/shape": 1}
    counts = apart["ch04_bptt", "rnn_backward"]
    assert counts["judged"] == 18 and counts["passed"] == 8  # 20 notebooks, 2 without an answer
    assert back["rnn_backward/no-carry"]["share"] == pytest.approx(6 / 18)
    assert back["rnn_backward/no-carry"]["students"] == [f"s{i:02d}" for i in range(8, 14)]
    # Apart, never as mistakes: not attempted, crashed, no notebook.
    assert counts["not-attempted"] == 1 and counts["stopped"] == 1 and counts["not-submitted"] == 1
    assert not any(r["mistake"] in ("not-attempted", "stopped", "passed") for r in rows)
    # Sorted by frequency; the catalogue's sentence and section come with each mistake.
    assert [r["mistake"] for r in rows if r["function"] == "rnn_backward"][0] == "rnn_backward/no-carry"
    assert "h_{t+1}" in back["rnn_backward/no-carry"]["says"]
    assert back["rnn_backward/no-carry"]["section"] == "ch04-bptt"
    assert not any(r["function"] == "rnn_step_backward" for r in rows)  # everyone right


def test_the_report_files_list_counts_links_and_students(tmp_path):
    links = section_links(ROOT / "book", "https://example.org/course/")
    paths = write_report(tmp_path, _class(), FUNCTIONS, links)
    md = Path(paths["md"]).read_text()
    assert "| 6 | 33% | `rnn_backward/no-carry` |" in md
    assert "https://example.org/course/book/ch04_bptt.html#ch04-bptt" in md
    assert "8 of 18 judged answers right" in md and "not attempted: 1" in md
    assert "s08" not in md  # who made a mistake is in the CSV only
    rows = list(csv.DictReader(open(paths["csv"])))
    no_carry = next(r for r in rows if r["mistake"] == "rnn_backward/no-carry")
    assert no_carry["students"] == "6" and no_carry["student_ids"].split() == [f"s{i:02d}" for i in range(8, 14)]
    assert [Path(p).name for p in paths["png"]] == ["misconceptions-ch04_bptt.png"]
    assert Path(paths["png"][0]).read_bytes()[:4] == b"\x89PNG"


def test_every_catalogue_section_is_a_link_to_the_book():
    import rnnlib.checks  # noqa: F401
    from rnnlib.checks._engine import EXERCISES

    links = section_links(ROOT / "book")
    for exercise in EXERCISES.values():
        for mistake in exercise.mistakes:
            assert links[mistake.section].startswith("book/ch")


def test_graded_functions_are_read_from_the_test_cells():
    nb = json.loads((ROOT / "solutions" / "ch04_bptt" / "ch04_bptt.ipynb").read_text())
    functions = checked_functions(nb)
    assert "rnn_backward" in functions.values() and "rnn_loss" in functions.values()


# --- end to end: the grading command writes the report ------------------------------------


@pytest.mark.slow
def test_the_grading_command_counts_a_synthetic_class_exactly(tmp_path):
    from rnngrade.sandbox import available
    from tests.grading_fixtures.adversarial import A, ANSWERS, make_course, release_notebook, student

    if not available():
        pytest.skip("bubblewrap/prlimit not installed")
    course = make_course(tmp_path / "course", ROOT)
    release = release_notebook(course)
    no_carry = ANSWERS["seq"].replace("h = np.tanh(x[t] @ Wxh.T + h @ Whh.T + bh)",
                                      "h = np.tanh(x[t] @ Wxh.T + h0 @ Whh.T + bh)")
    assert no_carry != ANSWERS["seq"]
    plan = {"honest1": {}, "honest2": {}, "nocarry1": {"seq": no_carry}, "nocarry2": {"seq": no_carry},
            "nocarry3": {"seq": no_carry}, "untouched": None}
    for name, change in plan.items():
        nb = student(release, {} if change is None else dict(ANSWERS, **change))
        folder = tmp_path / "submitted" / name / A
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{A}.ipynb"))
    (tmp_path / "submitted" / "absent").mkdir()  # a student who sent nothing
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    proc = subprocess.run([sys.executable, "-m", "rnngrade", str(tmp_path / "submitted"), "--course",
                           str(course), "--cell-timeout", "20", "--memory", "1G", "--no-progress"],
                          cwd=course, capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = list(csv.DictReader(open(course / "grading" / "misconceptions.csv")))
    forward = {r["mistake"]: r for r in rows if r["function"] == "rnn_forward"}
    assert forward["rnn_forward/state-not-carried"]["students"] == "3"
    assert forward["rnn_forward/state-not-carried"]["student_ids"].split() == ["nocarry1", "nocarry2", "nocarry3"]
    assert set(forward) == {"rnn_forward/state-not-carried"}
    md = (course / "grading" / "misconceptions.md").read_text()
    assert "2 of 5 judged answers right" in md  # untouched and absent are apart
    assert "not attempted: 1" in md and "no notebook: 1" in md
    assert (course / "grading" / f"misconceptions-{A}.png").is_file()
