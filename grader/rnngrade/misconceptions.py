"""What did the class get wrong? The judge's diagnoses counted per graded function.

Every test cell the judge scores ends with a diagnosis (:class:`rnngrade.judge.TestResult`): the
id of the catalogued mistake the checker recognised (``rnn_backward/no-carry``), a generic
diagnosis (``generic/shape``), or an outcome (``passed``, ``not-attempted``, ``stopped``,
``missing-cell``). This module counts them per assignment and graded function and writes,
beside the grading report:

* ``misconceptions.md``: per assignment and function, each mistake with how many students
  made it and their share of the students whose answer was judged, most frequent first, with
  the sentence the students read and a link to the book section that teaches the point;
* ``misconceptions.csv``: the same rows, with the students who made each mistake;
* ``misconceptions-<assignment>.png``: the most frequent mistakes of an assignment as a
  horizontal bar chart.

Students whose notebook is missing, could not be graded, crashed or ran out of time in that
cell, or who did not attempt the function are counted apart, in the report's "apart" line:
they are not mistakes.
"""
from __future__ import annotations

import csv
import re
from collections import defaultdict
from pathlib import Path

__all__ = ["tally", "write_report", "section_links", "checked_functions"]

#: Outcomes that are not a mistake: reported apart.
APART = {
    "not-attempted": "not attempted",
    "stopped": "crashed or out of time",
    "missing-cell": "test cell missing",
    "not-graded": "notebook not graded",
    "not-submitted": "no notebook",
}


def checked_functions(source_nb):
    """``{test cell grade_id: graded function}`` from an assignment's source notebook.

    The function is the one the test cell's checker is named after (``check_rnn_forward`` ->
    ``rnn_forward``).
    """
    out = {}
    for cell in source_nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not (meta.get("grade") and not meta.get("solution")):
            continue
        src = "".join(cell.get("source", ""))
        m = re.search(r"\bcheck_(\w+)\s*\(", src)
        out[meta["grade_id"]] = m.group(1) if m else meta["grade_id"]
    return out


def section_links(book_dir, base_url=""):
    """``{label: url}`` of every MyST label ``(label)=`` in the book's pages.

    ``base_url`` is the site's address (``html.baseurl``); without it the links are relative to
    the site's root (``book/ch04_bptt.html#ch04-bptt``).
    """
    links = {}
    base = base_url.rstrip("/") + "/" if base_url else ""
    for page in sorted(Path(book_dir).glob("*.md")):
        for label in re.findall(r"^\(([\w-]+)\)=\s*$", page.read_text(), flags=re.M):
            links[label] = f"{base}book/{page.stem}.html#{label}"
    return links


def _describe(diagnosis):
    """``(sentence, section label)`` of a diagnosis id, from the checkers' catalogues."""
    import rnnlib.checks  # noqa: F401 - registers every exercise and its catalogue
    from rnnlib.checks._engine import EXERCISES, GENERIC

    if diagnosis in GENERIC:
        return GENERIC[diagnosis], ""
    for exercise in EXERCISES.values():
        for mistake in exercise.mistakes:
            if mistake.id == diagnosis:
                return mistake.says, mistake.section
    return "", ""


def tally(entries, functions):
    """Count the diagnoses.

    Parameters
    ----------
    entries : list of dict
        The grading run's entries: ``student``, ``assignment``, ``status`` and ``results`` (a
        list of ``{grade_id, points, max_points, diagnosis}``, one per test cell).
    functions : dict
        ``{assignment: {grade_id: graded function}}`` (:func:`checked_functions`).

    Returns
    -------
    rows : list of dict
        One per (assignment, function, mistake): ``assignment``, ``function``, ``mistake``,
        ``count``, ``share`` (of the students whose answer was judged), ``students``,
        ``says``, ``section``; sorted by assignment, function, then frequency.
    apart : dict
        ``{(assignment, function): {outcome: count}}`` with ``judged`` and ``passed`` too.
    """
    made = defaultdict(list)
    apart = defaultdict(lambda: defaultdict(int))
    for e in entries:
        a = e["assignment"]
        cells = functions.get(a, {})
        if e.get("status") in ("not submitted", "not graded"):
            outcome = "not-submitted" if e["status"] == "not submitted" else "not-graded"
            for fn in set(cells.values()):
                apart[a, fn][outcome] += 1
            continue
        for r in e.get("results") or []:
            fn = cells.get(r["grade_id"])
            if fn is None:
                continue
            d = r.get("diagnosis") or ("passed" if r["points"] >= r["max_points"] else "error")
            if d in APART:
                apart[a, fn][d] += 1
                continue
            apart[a, fn]["judged"] += 1
            if d == "passed":
                apart[a, fn]["passed"] += 1
            else:
                made[a, fn, d].append(e["student"])
    rows = []
    for (a, fn, d), students in made.items():
        judged = apart[a, fn]["judged"]
        says, section = _describe(d)
        rows.append({"assignment": a, "function": fn, "mistake": d, "count": len(students),
                     "share": len(students) / judged if judged else 0.0,
                     "students": sorted(students), "says": says, "section": section})
    rows.sort(key=lambda r: (r["assignment"], r["function"], -r["count"], r["mistake"]))
    return rows, {k: dict(v) for k, v in apart.items()}


def write_report(out, entries, functions, links, plot=True):
    """Write ``misconceptions.md``, ``misconceptions.csv`` and one PNG per assignment.

    Returns
    -------
    dict
        ``{"md": path, "csv": path, "png": [paths]}``.
    """
    out = Path(out)
    rows, apart = tally(entries, functions)
    by_function = defaultdict(list)
    for r in rows:
        by_function[r["assignment"], r["function"]].append(r)
    lines = ["# What the class got wrong", "",
             "Per assignment and graded function: each mistake the checkers recognised, how many "
             "students made it and their share of the students whose answer was judged, most "
             "frequent first. The sentence is what those students read; the link goes to the "
             "book section that teaches the point. Students without a judged answer (no "
             "notebook, not attempted, crashed or out of time) are counted apart. "
             "`generic/...` rows are answers the checker described without recognising a "
             "catalogued mistake.", ""]
    for a in sorted({a for a, _ in apart} | {r["assignment"] for r in rows}):
        lines += [f"## {a}", ""]
        for (aa, fn), counts in sorted(apart.items()):
            if aa != a:
                continue
            judged, passed = counts.get("judged", 0), counts.get("passed", 0)
            others = ", ".join(f"{APART[k]}: {v}" for k, v in counts.items() if k in APART and v)
            lines.append(f"### `{fn}`: {passed} of {judged} judged answers right"
                         + (f" (apart: {others})" if others else ""))
            lines.append("")
            mine = by_function.get((a, fn), [])
            if not mine:
                lines += ["No mistakes.", ""]
                continue
            lines += ["| students | share | mistake | what they read | taught in |",
                      "|---:|---:|---|---|---|"]
            for r in mine:
                link = links.get(r["section"], "")
                taught = f"[{r['section']}]({link})" if link else (r["section"] or "")
                says = r["says"].replace("|", "\\|").replace("\n", " ")
                lines.append(f"| {r['count']} | {r['share']:.0%} | `{r['mistake']}` | {says} | {taught} |")
            lines.append("")
    md_path = out / "misconceptions.md"
    md_path.write_text("\n".join(lines))
    csv_path = out / "misconceptions.csv"
    with open(csv_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["assignment", "function", "mistake", "students", "share", "judged", "says",
                    "section", "link", "student_ids"])
        for r in rows:
            w.writerow([r["assignment"], r["function"], r["mistake"], r["count"],
                        f"{r['share']:.4f}", apart.get((r["assignment"], r["function"]), {}).get("judged", 0),
                        r["says"], r["section"], links.get(r["section"], ""), " ".join(r["students"])])
    pngs = _plots(out, rows) if plot else []
    return {"md": str(md_path), "csv": str(csv_path), "png": pngs}


def _plots(out, rows, top=10):
    """One horizontal bar chart per assignment: its most frequent catalogued mistakes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for a in sorted({r["assignment"] for r in rows}):
        mine = sorted((r for r in rows if r["assignment"] == a), key=lambda r: -r["count"])[:top]
        fig, ax = plt.subplots(figsize=(8, 0.45 * len(mine) + 1.2))
        labels = [r["mistake"] for r in mine][::-1]
        ax.barh(labels, [r["count"] for r in mine][::-1], color="C3")
        ax.set_xlabel("students")
        ax.set_title(f"{a}: the most frequent mistakes")
        ax.xaxis.get_major_locator().set_params(integer=True)
        fig.tight_layout()
        path = out / f"misconceptions-{a}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(str(path))
    return paths
