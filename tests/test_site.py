"""The website: builds from the root with warnings as errors, and never leaks solutions."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

TEXT_SUFFIXES = {".html", ".txt", ".js", ".ipynb", ".md", ".json", ".py", ".xml", ".inv"}
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def _solution_notebooks():
    return sorted((ROOT / "solutions").glob("*/*.ipynb"))


def _blocks(source, begin, end):
    """Lines between `### BEGIN X` and `### END X` markers in a cell's source."""
    out, inside = [], False
    for line in source.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            out.append(line.strip())
    return out


def _secret_lines(min_len=25):
    """Distinctive lines of solution code and hidden tests, from every source notebook."""
    secrets = set()
    for path in _solution_notebooks():
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            src = "".join(cell["source"])
            for line in _blocks(src, "BEGIN SOLUTION", "END SOLUTION") + _blocks(
                src, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
            ):
                if len(line) >= min_len and not line.startswith("#"):
                    secrets.add(line)
    return secrets


def _text_files(folder):
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in TEXT_SUFFIXES:
            yield path


@pytest.mark.slow
def test_site_builds_with_warnings_as_errors(built_site):
    assert (built_site / "index.html").is_file()


@pytest.mark.slow
def test_every_chapter_and_exercise_page_is_built(built_site):
    for chapter in sorted((ROOT / "book").glob("ch*.md")):
        assert (built_site / "book" / f"{chapter.stem}.html").is_file(), chapter.name
    for nb in sorted((ROOT / "exercises").glob("*/*.ipynb")):
        rel = nb.relative_to(ROOT).with_suffix(".html")
        assert (built_site / rel).is_file(), f"exercise page missing: {rel}"


@pytest.mark.slow
def test_build_contains_no_solution_markers(built_site):
    build = built_site.parent
    leaks = []
    for path in _text_files(build):
        text = path.read_text(errors="ignore")
        leaks += [f"{path.relative_to(build)}: {m}" for m in MARKERS if m in text]
    assert not leaks, "solution/hidden-test markers in the build:\n" + "\n".join(leaks[:20])


@pytest.mark.slow
def test_build_contains_no_solution_code_or_hidden_tests(built_site):
    build = built_site.parent
    secrets = _secret_lines()
    assert secrets, "found no solution lines to look for: is solutions/ empty?"
    assert not [p for p in build.rglob("*") if "solutions" in p.relative_to(build).parts]
    leaks = []
    # Pages made from the exercises (HTML, their _sources copies and the downloads) and the
    # search index must contain none of the solution code or hidden tests.
    exercise_files = [
        p for p in _text_files(build)
        if "exercises" in p.relative_to(build).parts or p.name.startswith("searchindex")
    ]
    assert exercise_files, "no exercise pages in the build"
    for path in exercise_files:
        text = path.read_text(errors="ignore")
        leaks += [f"{path.relative_to(build)}: {s}" for s in secrets if s in text]
    assert not leaks, "solution code in the build:\n" + "\n".join(leaks[:20])


@pytest.mark.slow
def test_exercise_pages_offer_the_student_notebook_for_download(built_site):
    for nb in sorted((ROOT / "exercises").glob("*/*.ipynb")):
        page = built_site / nb.relative_to(ROOT).with_suffix(".html")
        html = page.read_text()
        assert re.search(rf'href="[^"]*_sources/exercises/{nb.parent.name}/{nb.name}"', html), (
            f"{page.name} has no download link to {nb.name}"
        )
        served = built_site / "_sources" / nb.relative_to(ROOT)
        assert json.loads(served.read_text())["cells"] == json.loads(nb.read_text())["cells"]


@pytest.mark.slow
def test_book_pages_execute_without_errors(built_site):
    for page in sorted((built_site / "book").glob("ch*.html")):
        html = page.read_text()
        for error in ("Traceback (most recent call last)", 'class="output traceback', "ename"):
            assert error not in html, f"{page.name} shows an execution error"
