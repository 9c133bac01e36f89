"""Release the assignments: MyST text notebooks -> nbgrader source notebooks -> student notebooks.

Every assignment is written as one MyST text notebook, ``solutions/<id>/<id>.md`` (jupytext's
``md:myst`` format, the same as the book's pages), with nbgrader's cell metadata in the cell
options (``:nbgrader: {grade: true, grade_id: test_f, ...}`` on a code cell, ``+++ {"nbgrader":
{...}}`` before a markdown cell). A release has two steps:

1. ``solutions/<id>/<id>.md`` -> ``solutions/<id>/<id>.ipynb`` (jupytext): nbgrader's source
   notebook, with stable cell ids (the grade id, else ``cell-NNN``), a python3 kernelspec and
   no outputs, so the same text always gives the same bytes;
2. ``nbgrader generate_assignment`` -> ``exercises/<id>/<id>.ipynb``: what students get.

Step 1 also puts the course kit's setup code (``scripts/kit.py``: installs ``rnnlib`` where it
is missing, as in Colab, or says how) at the top of each notebook's first code cell, the same
lines in every assignment, with the site's address from ``_config.yml``; the .md sources do not
repeat it.

    python -m scripts.release            # rewrite solutions/*/*.ipynb and exercises/ in place
    python -m scripts.release --check    # exit 1, listing the files, if either differs from
                                         # what the .md sources give

Both generated notebooks are committed (the grader and the tests read them); edit only the .md.
nbgrader runs in a temporary course folder, so no gradebook database is left in the repository.
"""
from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jupytext
import nbformat

from scripts import kit

ROOT = Path(__file__).resolve().parents[1]

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def assignments(root=ROOT):
    """Names of the assignments: folders of solutions/ holding a MyST notebook of the same name."""
    return sorted(
        p.name for p in (root / "solutions").iterdir() if (p / f"{p.name}.md").is_file()
    )


def notebook_from_myst(text):
    """The nbgrader source notebook written in a MyST text notebook.

    Cells keep their type, source and metadata (nbgrader's among it); the cell id is the
    cell's nbgrader ``grade_id``, else ``cell-NNN`` (its position), because nbformat would
    otherwise draw random ids and every release would change every file. Notebook metadata:
    the header's (``title``, say) without jupytext's own, a python3 kernelspec.

    Parameters
    ----------
    text : str
        The ``.md`` file's text (jupytext ``md:myst``).

    Returns
    -------
    nbformat.NotebookNode
        A valid nbformat 4 notebook without outputs.
    """
    src = jupytext.reads(text, fmt="md:myst")
    new = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
           "raw": nbformat.v4.new_raw_cell}
    nb = nbformat.v4.new_notebook()
    for i, cell in enumerate(src.cells):
        out = new[cell.cell_type](cell.source, metadata=dict(cell.metadata))
        out["id"] = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell-{i:03d}"
        nb.cells.append(out)
    nb.metadata.update(
        {k: v for k, v in src.metadata.items() if k not in ("jupytext", "kernelspec")})
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    ids = [c["id"] for c in nb.cells]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:  # nbformat.validate would "fix" it with a random id, silently
        raise ValueError(f"cell ids used twice (a grade_id must be unique): {', '.join(twice)}")
    nbformat.validate(nb)
    return nb


def write_notebook(md_path, ipynb_path):
    """Write the notebook of the MyST file ``md_path``, with the kit's setup code at the top of
    its first code cell, to ``ipynb_path``; return the path."""
    nb = notebook_from_myst(Path(md_path).read_text(encoding="utf-8"))
    kit.with_setup(nb, kit.notebook_setup_code())
    Path(ipynb_path).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(ipynb_path))
    return Path(ipynb_path)


def build_solutions(out_dir, root=ROOT):
    """Step 1: write ``out_dir/<id>/<id>.ipynb`` (beside a copy of its .md) for every assignment.

    Returns
    -------
    pathlib.Path
        ``out_dir``, a source folder nbgrader can release from.
    """
    out_dir = Path(out_dir)
    for name in assignments(root):
        md = root / "solutions" / name / f"{name}.md"
        (out_dir / name).mkdir(parents=True, exist_ok=True)
        # The .md goes along so that nbgrader's own ignore rule keeps it out of exercises/.
        shutil.copy(md, out_dir / name / md.name)
        write_notebook(md, out_dir / name / f"{name}.ipynb")
    return out_dir


def generate_exercises(solutions_dir, out_dir, root=ROOT):
    """Step 2: run ``nbgrader generate_assignment`` on ``solutions_dir``, writing ``out_dir``.

    Returns
    -------
    pathlib.Path
        ``out_dir``, holding ``<id>/<id>.ipynb`` for each assignment.
    """
    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory(prefix="rnn-release-") as tmp:
        course = Path(tmp)
        shutil.copy(root / "nbgrader_config.py", course)
        shutil.copytree(solutions_dir, course / "solutions",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        for name in assignments(root):
            subprocess.run(
                [sys.executable, "-m", "nbgrader", "generate_assignment", name,
                 "--force", "--no-db", "--log-level=WARN"],
                cwd=course, check=True,
            )
        if out_dir.exists():
            shutil.rmtree(out_dir)
        shutil.copytree(course / "exercises", out_dir)
    return out_dir


def generate(out_dir, root=ROOT):
    """A whole release into ``out_dir``: ``out_dir/solutions`` (step 1), ``out_dir/exercises``.

    Returns
    -------
    solutions, exercises : pathlib.Path
    """
    out_dir = Path(out_dir)
    solutions = build_solutions(out_dir / "solutions", root)
    return solutions, generate_exercises(solutions, out_dir / "exercises", root)


def differences(a, b):
    """Relative paths that differ between two folders (missing on one side, or changed)."""
    cmp = filecmp.dircmp(a, b, ignore=[".ipynb_checkpoints", "__pycache__"])
    out = []

    def walk(c, prefix=""):
        out.extend(prefix + n for n in c.left_only + c.right_only + c.diff_files + c.funny_files)
        for name, sub in c.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(cmp)
    return sorted(out)


def _solution_notebooks(solutions_dir):
    """``{"<id>/<id>.ipynb": path}`` for the nbgrader source notebooks in a solutions folder."""
    return {f"{p.parent.name}/{p.name}": p for p in Path(solutions_dir).glob("*/*.ipynb")
            if p.stem == p.parent.name}


def release_differences(fresh_solutions, fresh_exercises, root=ROOT):
    """Files of ``root`` that differ from a fresh release, as ``solutions/...`` and ``exercises/...``.

    Only the source notebooks of solutions/ are compared (a .md is the source, not an output);
    a notebook without a .md beside it is reported too.
    """
    mine, fresh = _solution_notebooks(root / "solutions"), _solution_notebooks(fresh_solutions)
    diff = [f"solutions/{n}" for n in sorted(mine.keys() | fresh.keys())
            if n not in mine or n not in fresh
            or not filecmp.cmp(mine[n], fresh[n], shallow=False)]
    if (root / "exercises").is_dir():
        diff += [f"exercises/{d}" for d in differences(root / "exercises", fresh_exercises)]
    else:
        diff.append("exercises/")
    return diff


def check(root=ROOT):
    """Release into a temporary folder and compare; return the differing files (none: [])."""
    with tempfile.TemporaryDirectory(prefix="rnn-release-check-") as tmp:
        solutions, exercises = generate(tmp, root)
        return release_differences(solutions, exercises, root)


def release(root=ROOT):
    """Rewrite ``solutions/*/*.ipynb`` and ``exercises/`` from the .md sources.

    Returns
    -------
    list of str
        Source notebooks left in solutions/ that have no .md (not deleted: they may be someone's
        work in the old format); empty when all is well.
    """
    with tempfile.TemporaryDirectory(prefix="rnn-release-") as tmp:
        solutions, exercises = generate(tmp, root)
        for name, fresh in _solution_notebooks(solutions).items():
            target = root / "solutions" / name
            if not target.is_file() or not filecmp.cmp(fresh, target, shallow=False):
                shutil.copy(fresh, target)
        if (root / "exercises").exists():
            shutil.rmtree(root / "exercises")
        shutil.copytree(exercises, root / "exercises")
    return [f"solutions/{n}" for n in sorted(_solution_notebooks(root / "solutions"))
            if not (root / "solutions" / n).with_suffix(".md").is_file()]


def main(argv=None, root=ROOT):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, do not write")
    args = parser.parse_args(argv)
    if args.check:
        diff = check(root)
        if diff:
            print("Out of date with the MyST sources solutions/*/*.md (run `make release`):")
            print("\n".join(f"  {d}" for d in diff))
            return 1
        print("solutions/*/*.ipynb and exercises/ match solutions/*/*.md.")
        return 0
    orphans = release(root)
    print(f"Wrote solutions/*/*.ipynb and exercises/ for: {', '.join(assignments(root))}")
    if orphans:
        print("These notebooks have no MyST source beside them (write one with "
              "`jupytext --to myst`, or delete the notebook):")
        print("\n".join(f"  {o}" for o in orphans))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
