"""Copy detection: answer cells that are near-copies of another student's, or of the reference.

Each answer cell (by ``grade_id``) of each student is fingerprinted with winnowing (the
``copydetect`` package: k-grams of normalised tokens, so renamed variables and reformatting
do not hide a copy; the released cell's text is boilerplate and does not count). Two
answers whose fingerprints overlap by at least ``THRESHOLD`` of the *smaller* one are
reported, with the similarity, and so is an answer that overlaps the instructor's solution
or the source of the rnnlib function of the same name. The report only informs: it never
changes a score, and a short answer (few tokens) is never flagged, since a one-line answer
written independently by many students is not evidence of anything.
"""
from __future__ import annotations

import inspect
import io
import itertools
import re

import nbformat

__all__ = ["flag_copies", "THRESHOLD", "MIN_TOKENS"]

THRESHOLD = 0.8
#: Fingerprinted tokens an answer needs before it can be flagged at all.
MIN_TOKENS = 60
K, WINDOW = 12, 4
#: Names listed per flagged answer (the rest are counted).
MAX_SHOWN = 4


def _fingerprint(code, boilerplate=()):
    from copydetect import CodeFingerprint

    return CodeFingerprint("answer.py", K, WINDOW, boilerplate=list(boilerplate),
                           fp=io.StringIO(code))


def _strip_markers(code):
    return "\n".join(l for l in code.splitlines() if not re.search(r"(BEGIN|END) SOLUTION", l))


def _references(source_nb):
    """{grade_id: [(label, code)]}: the instructor's solution and rnnlib's function of that name."""
    import rnnlib

    refs = {}
    for cell in source_nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not (meta.get("solution") and cell.cell_type == "code"):
            continue
        code = _strip_markers(cell.source)
        found = [("the instructor's solution", code)]
        for name in re.findall(r"^def\s+(\w+)", code, re.M):
            fn = getattr(rnnlib, name, None)
            fn = getattr(fn, "__wrapped__", fn)
            if callable(fn):
                try:
                    found.append((f"rnnlib.{name} (the reference)", inspect.getsource(fn)))
                except (OSError, TypeError):
                    pass
        refs[meta["grade_id"]] = found
    return refs


def _similar(a, b):
    from copydetect import compare_files

    overlap, (s1, s2), _ = compare_files(a, b)
    return max(float(s1), float(s2)) if overlap else 0.0


def flag_copies(entries, results, source):
    """Add ``copies`` lines to the entries (in place); return the pairs found.

    ``results``: {(student, assignment): task result} (``sources``: {grade_id: code});
    ``source``: {assignment: source notebook JSON}.
    """
    by = {(e["student"], e["assignment"]): e for e in entries}
    pairs = []
    for a, nb_json in source.items():
        source_nb = nbformat.reads(nb_json, as_version=4)
        refs = _references(source_nb)
        stubs = {}
        for cell in source_nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                # What every student starts from: the code outside the solution markers.
                stubs[meta["grade_id"]] = re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "",
                                                 cell.source, flags=re.S)
        answers = {}
        for (student, aa), r in results.items():
            if aa != a or r.get("error"):
                continue
            for gid, code in (r.get("sources") or {}).items():
                answers.setdefault(gid, []).append((student, code))
        for gid, items in answers.items():
            boiler = _fingerprint(stubs.get(gid, "")).hashes
            prints = [(s, _fingerprint(code, boiler)) for s, code in items]
            prints = [(s, fp) for s, fp in prints if fp.token_coverage >= MIN_TOKENS]
            ref_prints = [(label, _fingerprint(code, boiler)) for label, code in refs.get(gid, [])]
            found = {}  # student -> [(like whom, similarity)]
            for (s1, f1), (s2, f2) in itertools.combinations(prints, 2):
                sim = _similar(f1, f2)
                if sim >= THRESHOLD:
                    pairs.append({"assignment": a, "cell": gid, "a": s1, "b": s2, "similarity": sim})
                    found.setdefault(s1, []).append((f"{s2}'s answer", sim))
                    found.setdefault(s2, []).append((f"{s1}'s answer", sim))
            for (s, f), (label, rf) in itertools.product(prints, ref_prints):
                sim = _similar(f, rf)
                if sim >= THRESHOLD:
                    pairs.append({"assignment": a, "cell": gid, "a": s, "b": label, "similarity": sim})
                    found.setdefault(s, []).insert(0, (label, sim))
            for s, likes in found.items():
                shown = ", ".join(f"{who} ({sim:.0%})" for who, sim in likes[:MAX_SHOWN])
                more = f" and {len(likes) - MAX_SHOWN} more" if len(likes) > MAX_SHOWN else ""
                by[(s, a)]["copies"].append(f"{gid} is like {shown}{more}")
    return pairs
