"""The website: builds from the root with warnings as errors, and never leaks solutions."""
from __future__ import annotations

import functools
import html
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


def _given_text():
    """Everything the student notebooks hand out anyway (prompts, given code)."""
    return "\n".join(
        "".join(cell["source"])
        for nb in (ROOT / "exercises").glob("*/*.ipynb")
        for cell in json.loads(nb.read_text())["cells"]
    )


@functools.cache
def _secrets(min_len=25):
    """Distinctive lines of every solution block and every hidden test, from solutions/.

    Returns
    -------
    blocks : list of (str, list of str)
        ``(grade_id, lines)`` for each solution block: its lines of at least ``min_len``
        characters that the student notebook does not already contain.
    hidden : set of str
        Lines of hidden tests.
    """
    given = _given_text()
    blocks, hidden = [], set()
    for path in _solution_notebooks():
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            src = "".join(cell["source"])
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "?")
            lines = [
                line for line in _blocks(src, "BEGIN SOLUTION", "END SOLUTION")
                if len(line) >= min_len and not line.startswith("#") and line not in given
            ]
            if lines:
                blocks.append((f"{path.stem}:{gid}", lines))
            hidden |= {
                line for line in _blocks(src, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
                if len(line) >= min_len and not line.startswith("#")
            }
    return blocks, hidden


def _plain(text):
    """Page text as a reader sees it: tags removed (syntax highlighting splits code lines)."""
    if "<html" in text[:2000].lower():
        text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return text


def solution_leaks(text):
    """What of the solutions a text gives away: nbgrader markers, any hidden-test line, or a
    solution block of which half or more of the distinctive lines appear (one generic line,
    such as ``dh_next = np.zeros_like(h0)``, is not a solution; most of a block is)."""
    text = _plain(text)
    blocks, hidden = _secrets()
    leaks = [m for m in MARKERS if m in text]
    leaks += [f"hidden test: {line}" for line in sorted(hidden) if line in text]
    for gid, lines in blocks:
        found = [line for line in lines if line in text]
        if len(found) >= max(2, (len(lines) + 1) // 2):
            leaks.append(f"solution {gid}: {len(found)} of its {len(lines)} lines, e.g. {found[0]}")
    return leaks


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
    blocks, hidden = _secrets()
    assert blocks and hidden, "found no solution lines to look for: is solutions/ empty?"
    assert not [p for p in build.rglob("*") if "solutions" in p.relative_to(build).parts]
    leaks = []
    for path in _text_files(build):
        leaks += [f"{path.relative_to(build)}: {leak}" for leak in solution_leaks(path.read_text(errors="ignore"))]
    assert not leaks, "solution code or hidden tests in the build:\n" + "\n".join(leaks[:20])


def test_leak_finder_catches_a_copied_solution_and_ignores_one_generic_line():
    blocks, hidden = _secrets()
    gid, lines = max(blocks, key=lambda b: len(b[1]))
    assert solution_leaks("\n".join(lines))
    assert solution_leaks("<html><pre>" + "\n".join(
        f"<span>{html.escape(line)}</span>" for line in lines) + "</pre></html>")
    if len(lines) >= 4:
        assert not solution_leaks(lines[0])
    assert solution_leaks(sorted(hidden)[0])


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
        for error in ("Traceback (most recent call last)", 'class="output traceback'):
            assert error not in html, f"{page.name} shows an execution error"
