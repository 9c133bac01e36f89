"""Regenerate the student notebooks (exercises/) from the nbgrader sources (solutions/).

    python -m scripts.release            # rewrite exercises/ in place
    python -m scripts.release --check    # exit 1 if exercises/ differs from a fresh release

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

ROOT = Path(__file__).resolve().parents[1]


def assignments(root=ROOT):
    """Names of the assignments: folders of solutions/ holding a notebook of the same name."""
    return sorted(
        p.name for p in (root / "solutions").iterdir() if (p / f"{p.name}.ipynb").is_file()
    )


def generate(out_dir, root=ROOT):
    """Run ``nbgrader generate_assignment`` for every assignment, writing into ``out_dir``.

    Returns
    -------
    pathlib.Path
        ``out_dir``, holding ``<assignment>/<assignment>.ipynb`` for each assignment.
    """
    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory(prefix="rnn-release-") as tmp:
        course = Path(tmp)
        shutil.copy(root / "nbgrader_config.py", course)
        shutil.copytree(root / "solutions", course / "solutions",
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, do not write")
    args = parser.parse_args(argv)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = generate(Path(tmp) / "exercises")
            diff = differences(ROOT / "exercises", fresh)
        if diff:
            print("exercises/ is out of date with solutions/ (run `make release`):")
            print("\n".join(f"  {d}" for d in diff))
            return 1
        print("exercises/ matches solutions/.")
        return 0
    generate(ROOT / "exercises")
    print(f"Wrote {ROOT / 'exercises'} for: {', '.join(assignments())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
