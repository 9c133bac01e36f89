"""The course kit: what a student needs to solve the exercises without the repository.

    python -m scripts.kit [--out DIR]      # `make kit`: writes _build/kit/ (or DIR)

writes two files, which the site offers for download (``kit/`` beside its pages):

* ``rnnlib-<version>-py3-none-any.whl``: the course's package, numpy only, with its checkers.
  Built from a copy of ``rnnlib/`` that leaves out the instructor's grading code
  (``EXCLUDED``), whatever the repository's packaging says, so that no grading code reaches
  students while the grader moves to its own package;
* ``rnns-simplified-kit.zip``: one folder, ``rnns-simplified/``, holding every exercise
  notebook (``<id>/<id>.ipynb``, nbgrader's layout, from ``exercises/``), that wheel, a
  ``requirements.txt`` (the wheel, JupyterLab and what the notebooks import, pinned as the
  tests pin them) and a README with the three commands that set it up.

It also writes the notebooks' setup code (:func:`setup_code`). Every notebook that leaves the
repository starts with it: ``make release`` puts it at the top of each assignment's first code
cell, and the site puts it in a first cell of each chapter's downloadable notebook. When
``rnnlib`` is missing (Colab, a student's own Jupyter) it installs the kit's wheel from the
course website, if ``html: baseurl`` in ``_config.yml`` gives the site's address (else from the
course's repository, if ``repository: url`` gives it), and otherwise stops with the exact
commands to install the kit, never with a bare ``ModuleNotFoundError``.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "_build" / "kit"
FOLDER = "rnns-simplified"
ZIP_NAME = f"{FOLDER}-kit.zip"
# Subpackages of rnnlib that never ship to students: the instructor's grader.
EXCLUDED = ("grading",)
# What the notebooks need besides rnnlib; pinned to the versions the tests run
# (requirements/constraints.txt). ipykernel: the notebooks' kernel (JupyterLab has none).
REQUIREMENTS = ("numpy", "matplotlib", "jupyterlab", "ipykernel")
# Where the kit is on the site, relative to the site's root.
SITE_FOLDER = "kit"


def version(root: Path = ROOT) -> str:
    return tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]


def wheel_name(root: Path = ROOT) -> str:
    return f"rnnlib-{version(root)}-py3-none-any.whl"


def site_config(root: Path = ROOT) -> dict:
    return yaml.safe_load((root / "_config.yml").read_text()) or {}


def site_address(config: dict) -> str:
    """The site's address, ``html: baseurl`` in ``_config.yml`` ("" when not set)."""
    return ((config.get("html") or {}).get("baseurl") or "").strip()


def install_source(config: dict, wheel: str) -> str:
    """Where a notebook's setup cell installs rnnlib from, given the site's configuration.

    The kit's wheel on the site once ``html: baseurl`` is set; else, once ``repository: url``
    is (the launch buttons' repository), the package straight from it (``git+<url>@<branch>``,
    which pip builds: rnnlib, numpy only); else "" (the cell says how to install the kit).
    """
    base = site_address(config)
    if base:
        return f"{base.rstrip('/')}/{SITE_FOLDER}/{wheel}"
    repository = config.get("repository") or {}
    url = (repository.get("url") or "").strip().rstrip("/")
    return f"git+{url}@{repository.get('branch') or 'main'}" if url else ""


def kit_url(root: Path = ROOT) -> str:
    """Where this course's notebooks install rnnlib from ("" while no address is set)."""
    return install_source(site_config(root), wheel_name(root))


SETUP_MARK = "# Setup: installs rnnlib, the course's package, when this Python lacks it (as in Colab)."


def setup_code(url: str, wheel: str) -> str:
    """The lines that start every notebook that leaves the repository.

    Parameters
    ----------
    url : str
        Where to install rnnlib from (:func:`install_source`; "" when no address is set).
    wheel : str
        The wheel's file name, for the instructions.
    """
    return f'''{SETUP_MARK}
import importlib, importlib.util, subprocess, sys
KIT = {json.dumps(url)}  # from the course's _config.yml (html: baseurl, or repository: url)
if importlib.util.find_spec("rnnlib") is None and KIT:
    print("Installing rnnlib, the course's package, from", KIT)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", KIT])
    importlib.invalidate_caches()
if importlib.util.find_spec("rnnlib") is None:
    raise ModuleNotFoundError(
        "This notebook needs rnnlib, the course's package, not installed in this Python. "
        "Download the course kit from the 'How to use' page of the course's website, "
        "unzip it and, in its folder, run:\\n  python3 -m venv .venv\\n"
        "  .venv/bin/pip install -r requirements.txt\\n  .venv/bin/jupyter lab\\n"
        "or install the wheel into this notebook's Python: %pip install "
        + (KIT or "{wheel}"))'''


def notebook_setup_code(root: Path = ROOT) -> str:
    """:func:`setup_code` with this course's wheel and site address."""
    return setup_code(kit_url(root), wheel_name(root))


def with_setup(nb, code: str):
    """Put ``code`` at the top of the notebook's first code cell (in place); return ``nb``."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            if not cell.source.startswith(SETUP_MARK):
                cell.source = f"{code}\n\n{cell.source}" if cell.source.strip() else code
            return nb
    raise ValueError("the notebook has no code cell for the setup code")


def assignments(root: Path = ROOT) -> list[str]:
    """Every assignment, found as a folder of solutions/ (not from a list written here)."""
    return sorted(p.name for p in (root / "solutions").iterdir()
                  if (p / f"{p.name}.md").is_file() or (p / f"{p.name}.ipynb").is_file())


def exercise_notebooks(root: Path = ROOT) -> dict[str, Path]:
    """``{"<id>/<id>.ipynb": path}`` of the student notebook of every assignment."""
    out = {}
    for name in assignments(root):
        path = root / "exercises" / name / f"{name}.ipynb"
        if not path.is_file():
            raise FileNotFoundError(f"{path.relative_to(root)} is missing: run `make release`")
        out[f"{name}/{name}.ipynb"] = path
    return out


def _pins(root: Path = ROOT) -> dict[str, str]:
    pins = {}
    for line in (root / "requirements" / "constraints.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if m:
            pins[re.sub(r"[-_.]+", "-", m[1]).lower()] = m[2]
    return pins


def requirements_text(root: Path = ROOT) -> str:
    pins = _pins(root)
    lines = [
        "# The course kit's environment. In this folder: .venv/bin/pip install -r requirements.txt",
        "# rnnlib, the course's package (numpy only), from the wheel beside this file:",
        f"./{wheel_name(root)}",
        "# JupyterLab, its Python kernel and what the notebooks use, as the course tests them:",
    ]
    lines += [f"{name}=={pins[name]}" if name in pins else name for name in REQUIREMENTS]
    return "\n".join(lines) + "\n"


def readme_text(root: Path = ROOT) -> str:
    title = site_config(root).get("title", "Recurrent Neural Networks, Simplified")
    names = assignments(root)
    wheel = wheel_name(root)
    return f"""# {title}: the course kit

This folder holds the course's exercise notebooks, one folder per chapter
(`{names[0]}/{names[0]}.ipynb` to `{names[-1]}/{names[-1]}.ipynb`), and `{wheel}`:
`rnnlib`, the course's package, with the checkers that the notebooks' test cells call.

## Set up once

You need Python 3.11 or newer. In a terminal, in this folder:

```bash
python3 -m venv .venv
.venv/bin/pip install -r requirements.txt
.venv/bin/jupyter lab
```

JupyterLab opens in your browser; open a chapter's folder, then its notebook. Next time, the
last command is enough. On Windows the commands are `py -m venv .venv`,
`.venv\\Scripts\\pip install -r requirements.txt` and `.venv\\Scripts\\jupyter lab`.

Instead, in Google Colab or a Jupyter you already have, upload a notebook and run its first
cell: it installs `rnnlib` when the course's website has an address, and otherwise says how
(`%pip install {wheel}` after uploading the wheel).

## Solve and check

Read the chapter first. In its notebook, run the first cell, then replace each
`raise NotImplementedError()` with your code, run that cell and the test cell under it. A test
cell prints `... all checks passed.` when your function is right; otherwise it stops with a
message that names the mistake and where it is. Your instructor's grading runs more (hidden)
tests with other shapes and seeds, so write the general function.

## Before you submit

`Run All` should leave only your own unfinished exercises failing. nbgrader, which grades the
notebooks, checks one the way your instructor will (install it once with
`.venv/bin/pip install nbgrader==0.9.6`):

```bash
.venv/bin/nbgrader validate {names[0]}/{names[0]}.ipynb
```
"""


def _toml_value(value) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def _student_pyproject(root: Path = ROOT) -> str:
    """The repository's [project], as a student installs it: no extras but plotting."""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    keep = {k: project[k] for k in ("name", "version", "description", "requires-python",
                                    "license", "dependencies") if k in project}
    keep["readme"] = "README.md"
    lines = ['[build-system]', 'requires = ["setuptools>=61", "wheel"]',
             'build-backend = "setuptools.build_meta"', "", "[project]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in keep.items()]
    extras = {k: v for k, v in (project.get("optional-dependencies") or {}).items() if k == "plot"}
    if extras:
        lines += ["", "[project.optional-dependencies]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in extras.items()]
    lines += ["", "[tool.setuptools.packages.find]", 'include = ["rnnlib*"]',
              "exclude = " + _toml_value([f"rnnlib.{e}*" for e in EXCLUDED])]
    return "\n".join(lines) + "\n"


def build_wheel(out: Path, root: Path = ROOT) -> Path:
    """Build the student's wheel of rnnlib into ``out``; return its path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rnn-kit-") as tmp:
        stage = Path(tmp) / "rnnlib-src"
        shutil.copytree(root / "rnnlib", stage / "rnnlib", ignore=shutil.ignore_patterns(
            "__pycache__", "*.pyc", ".ipynb_checkpoints", *EXCLUDED))
        leftover = [e for e in EXCLUDED if (stage / "rnnlib" / e).exists()]
        assert not leftover, f"excluded from the kit but copied: {leftover}"
        (stage / "pyproject.toml").write_text(_student_pyproject(root))
        (stage / "README.md").write_text(readme_text(root))
        # Without build isolation when setuptools is at hand: offline and a few seconds.
        isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
        wheels = Path(tmp) / "wheels"
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", *isolation,
             "--wheel-dir", str(wheels), str(stage)],
            capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"building the rnnlib wheel failed:\n{proc.stdout}\n{proc.stderr}")
        built = wheels / wheel_name(root)
        target = out / built.name
        shutil.copy(built, target)
    return target


def build_zip(out: Path, wheel: Path, root: Path = ROOT) -> Path:
    """The kit's zip (notebooks, the wheel, requirements.txt, README.md) in ``out``."""
    target = Path(out) / ZIP_NAME
    files = {"README.md": readme_text(root).encode(),
             "requirements.txt": requirements_text(root).encode(),
             wheel.name: wheel.read_bytes()}
    files.update({rel: path.read_bytes() for rel, path in exercise_notebooks(root).items()})
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for rel in sorted(files):
            info = zipfile.ZipInfo(f"{FOLDER}/{rel}", date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, files[rel])
    return target


def build(out: Path = OUT, root: Path = ROOT) -> tuple[Path, Path]:
    """The whole kit into ``out``: ``(wheel, zip)``."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    wheel = build_wheel(out, root)
    return wheel, build_zip(out, wheel, root)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder (default {OUT})")
    args = parser.parse_args(argv)
    wheel, kit = build(args.out)
    print(f"Course kit written:\n  {wheel}\n  {kit}")
    url = kit_url()
    print(f"Where rnnlib is missing, the notebooks install it from {url}" if url else
          "Neither the site's address (html: baseurl) nor the repository (repository: url) is "
          "set in _config.yml: where rnnlib is missing, the notebooks say how to install the kit.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
