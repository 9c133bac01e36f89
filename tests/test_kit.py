"""The course kit (`make kit`) and a student who starts from the website alone.

What the kit holds (a wheel of rnnlib without grading code; every exercise notebook), the
notebooks' setup cell where rnnlib is missing, nbgrader's Validate on every exercise, the launch
buttons once the repository is known, and, slowest, the kit used as a student uses it: in a
fresh virtual environment outside the repository, with only the wheel and its dependencies,
then with JupyterLab driven in headless Chromium.

Cost on the shared 2-core machine (2026-12-07, wall clock under other developers' load, CPU
of this process and its children in brackets): building the kit 1.5 s; the fresh environment
with only the wheel 31 s (11 s); nbgrader validate of every exercise, solved and untouched,
80 s (22 s); the minimal site with launch buttons 25 s (12 s); JupyterLab from the kit 130 s
(37 s), of which 78 s is `pip install -r requirements.txt` (JupyterLab and its ~100
dependencies, from pip's cache and the package index). Those five are marked slow.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import nbformat
import pytest
import yaml

from rnnlib.checks._engine import EXERCISES
from scripts import kit
from tests.browser.site import chromium, chromium_missing_reason, serve
from tests.conftest import ROOT
from tests.nbtools import nbgrader_meta, student_notebook, solution_ids
from tests.test_site import MARKERS, _plain, _secrets, solution_leaks

BIN = Path(sys.executable).parent
# The assignments, found as folders of solutions/ (chapters are being added).
NAMES = kit.assignments()


def _says(mistake_id: str) -> str:
    """What the checker says for a catalogued mistake (from the catalogue, not copied here)."""
    function = mistake_id.split("/")[0]
    return next(m.says for m in EXERCISES[function].mistakes if m.id == mistake_id)


def _clean_env(**extra) -> dict:
    """This process's environment without what would let a child find the repository's rnnlib."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONSTARTUP")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(str(ROOT)))
    env.update(extra)
    return env


def _fresh_venv(where: Path) -> Path:
    """A new virtual environment at ``where`` (outside the repository); its python."""
    assert ROOT not in where.parents, f"{where} is inside the repository"
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, env=_clean_env())
    return where / "bin" / "python"


def _pip(python: Path, *args, cwd=None, timeout=600):
    proc = subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", *args],
                          cwd=cwd, env=_clean_env(), capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"pip {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def built_kit(tmp_path_factory):
    wheel, archive = kit.build(tmp_path_factory.mktemp("kit"))
    return wheel, archive


# ---------------------------------------------------------------------------------------------
# What the kit holds


def test_wheel_is_rnnlib_with_its_checkers_and_no_grading_code(built_kit):
    wheel, _ = built_kit
    assert wheel.name == kit.wheel_name()
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        texts = {n: z.read(n).decode() for n in names if n.endswith((".py", ".txt", "METADATA"))}
    info = f"rnnlib-{kit.version()}.dist-info/"
    assert all(n.startswith(("rnnlib/", info)) for n in names), sorted(names)
    # No notebook, no assignment source: the solutions stay in solutions/ (rnnlib itself is the
    # public reference, whose functions the guard refuses while a student's are checked).
    assert not [n for n in names if n.endswith((".ipynb", ".md")) or "solutions" in n.split("/")]
    shipped = {n for n in names if n.startswith("rnnlib/")}
    repo = {p.relative_to(ROOT).as_posix() for p in (ROOT / "rnnlib").rglob("*.py")
            if not set(p.relative_to(ROOT / "rnnlib").parts) & set(kit.EXCLUDED)}
    assert repo <= shipped, f"missing from the wheel: {sorted(repo - shipped)}"
    assert {f"rnnlib/checks/{p.name}" for p in (ROOT / "rnnlib" / "checks").glob("*.py")} <= shipped
    # No grading code, whichever way the grader's move to its own package has gone.
    assert not [n for n in names if "grading" in n.split("/") or "rnngrade" in n]
    for name, text in texts.items():
        assert not re.search(r"^\s*(import|from)\s+(nbgrader|rnngrade|rnnlib\.grading)\b", text, re.M), name
        assert not [m for m in MARKERS if m in text], f"{name} holds nbgrader solution markers"
        assert not [line for line in _secrets()[1] if line in text], f"{name} holds a hidden test"
    metadata = texts[info + "METADATA"]
    required = [line for line in metadata.splitlines()
                if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert required == ["Requires-Dist: numpy<3,>=2"], required


def test_kit_zip_holds_every_exercise_notebook_a_requirements_file_and_a_readme(built_kit):
    wheel, archive = built_kit
    folder = kit.FOLDER
    with zipfile.ZipFile(archive) as z:
        files = {n.removeprefix(f"{folder}/"): z.read(n) for n in z.namelist()}
    notebooks = {f"{n}/{n}.ipynb" for n in NAMES}
    assert set(files) == notebooks | {"README.md", "requirements.txt", wheel.name}
    for rel in notebooks:
        assert files[rel] == (ROOT / "exercises" / rel).read_bytes(), f"{rel} is not exercises/{rel}"
        assert not solution_leaks(files[rel].decode()), rel
    assert files[wheel.name] == wheel.read_bytes()
    requirements = files["requirements.txt"].decode().splitlines()
    assert f"./{wheel.name}" in requirements
    for name in ("jupyterlab", "ipykernel", "numpy", "matplotlib"):
        assert any(re.fullmatch(rf"{name}==[\w.]+", line) for line in requirements), name
    readme = files["README.md"].decode()
    for command in ("python3 -m venv .venv", ".venv/bin/pip install -r requirements.txt",
                    ".venv/bin/jupyter lab"):
        assert command in readme, f"the kit's README does not give `{command}`"


def test_every_notebook_starts_with_the_kit_setup():
    setup = kit.notebook_setup_code()
    for folder in ("exercises", "solutions"):
        for name in NAMES:
            nb = nbformat.read(ROOT / folder / name / f"{name}.ipynb", as_version=4)
            first = next(c for c in nb.cells if c.cell_type == "code")
            assert first.source.startswith(setup), (
                f"{folder}/{name}: the first code cell does not start with the kit's setup "
                "(run `make release`)")
            assert "import" in first.source[len(setup):] or not first.source[len(setup):].strip()


def test_setup_cell_without_rnnlib_says_exactly_how_to_install_it(tmp_path):
    """In a Python without rnnlib (and no site address): the instructions, no bare error."""
    base = Path(getattr(sys, "_base_executable", sys.executable))
    probe = subprocess.run([str(base), "-I", "-c", "import importlib.util as u; print(u.find_spec('rnnlib'))"],
                           capture_output=True, text=True, cwd=tmp_path, env=_clean_env())
    assert probe.stdout.strip() == "None", f"{base} has rnnlib: {probe.stdout}"
    code = kit.setup_code("", kit.wheel_name())
    proc = subprocess.run([str(base), "-I", "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, env=_clean_env())
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()
    message = proc.stderr[proc.stderr.index("ModuleNotFoundError: "):]
    assert message.startswith("ModuleNotFoundError: This notebook needs rnnlib"), last[-1]
    for words in ("'How to use'", "python3 -m venv .venv", "pip install -r requirements.txt",
                  "jupyter lab", f"%pip install {kit.wheel_name()}"):
        assert words in message, f"the setup cell's message lacks {words!r}:\n{message}"


def test_notebooks_install_from_the_site_else_the_repository_else_say_how():
    wheel = kit.wheel_name()
    site = {"html": {"baseurl": "https://example.org/rnn/"},
            "repository": {"url": "https://github.com/o/r", "branch": "main"}}
    assert kit.install_source(site, wheel) == f"https://example.org/rnn/kit/{wheel}"
    site["html"]["baseurl"] = ""
    assert kit.install_source(site, wheel) == "git+https://github.com/o/r@main"
    assert kit.install_source({"html": {"baseurl": ""}, "repository": {"url": ""}}, wheel) == ""
    assert kit.kit_url() == kit.install_source(kit.site_config(), wheel)


def test_launch_buttons_are_off_without_a_repository_and_documented():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"]["url"] == "", "the course's repository URL is set: test it live"
    text = (ROOT / "_config.yml").read_text()
    assert re.search(r"#.*[Ll]aunch buttons.*\n(#.*\n)*repository:\s*\n\s+url:", text)
    for key in ("site_branch", "baseurl"):
        assert re.search(rf"#.*\n\s*{key}:", text), f"_config.yml does not explain `{key}`"


def test_binder_environment_has_rnnlib_and_the_books_packages():
    requirements = (ROOT / "requirements.txt").read_text().splitlines()
    assert ".[book]" in requirements, "Binder would not install rnnlib with the book's packages"
    constraint = next(l.split()[1] for l in requirements if l.startswith("-c "))
    assert (ROOT / constraint).is_file()
    assert (ROOT / "runtime.txt").read_text().strip() == "python-3.11"
    assert os.access(ROOT / "postBuild", os.X_OK), "postBuild is not executable"


# ---------------------------------------------------------------------------------------------
# A fresh environment with only the wheel


@pytest.mark.slow
def test_setup_cell_installs_the_wheel_from_the_site_and_the_checkers_run(built_kit, tmp_path):
    """A fresh venv outside the repository; the setup cell installs the kit's wheel from the
    site's address (served on 127.0.0.1); then rnnlib's checkers pass a right function and
    name a catalogued mistake. Only the wheel and its dependencies are installed."""
    wheel, _ = built_kit
    python = _fresh_venv(tmp_path / "venv")
    student = tmp_path / "student.py"
    with serve(wheel.parent) as base:
        student.write_text(kit.setup_code(base + wheel.name, wheel.name) + '''
import numpy as np
import rnnlib
from rnnlib.checks import CheckFailed, check_rnn_step_forward
print("rnnlib from", rnnlib.__file__)

def rnn_step_forward(x_t, h_prev, Wxh, Whh, bh):
    h_t = np.tanh(x_t @ Wxh.T + h_prev @ Whh.T + bh)
    return h_t, (x_t, h_prev, h_t, Wxh, Whh)

def without_bias(x_t, h_prev, Wxh, Whh, bh):
    h_t = np.tanh(x_t @ Wxh.T + h_prev @ Whh.T)
    return h_t, (x_t, h_prev, h_t, Wxh, Whh)

check_rnn_step_forward(rnn_step_forward)
check_rnn_step_forward(rnn_step_forward, hidden=True)
try:
    check_rnn_step_forward(without_bias)
except CheckFailed as err:
    print("MISTAKE", err.mistake_id, err)
''')
        proc = subprocess.run([str(python), str(student)], cwd=tmp_path, capture_output=True,
                              text=True, env=_clean_env(OPENBLAS_NUM_THREADS="1"), timeout=600)
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    assert f"Installing rnnlib, the course's package, from {base}{wheel.name}" in out
    assert f"rnnlib from {tmp_path / 'venv'}" in out, out
    assert out.count("rnn_step_forward: all checks passed.") == 2, out
    assert "MISTAKE rnn_step_forward/no-bias" in out and _says("rnn_step_forward/no-bias") in out
    installed = {json_["name"].lower() for json_ in json.loads(_pip(python, "list", "--format=json"))}
    assert installed - {"pip", "setuptools", "wheel"} == {"rnnlib", "numpy"}, installed


# ---------------------------------------------------------------------------------------------
# nbgrader's Validate, the student's check before handing in


@pytest.mark.slow
def test_nbgrader_validate_reports_the_visible_tests_of_every_exercise(tmp_path):
    """Every exercise notebook, solved and untouched, in one `nbgrader validate` run (as the
    Validate button runs it: no course configuration beside the notebook)."""
    paths = {}
    for name in NAMES:
        for state, ids in (("solved", solution_ids(name)), ("unsolved", [])):
            path = tmp_path / state / name / f"{name}.ipynb"
            path.parent.mkdir(parents=True)
            nbformat.write(nbformat.from_dict(student_notebook(name, ids)), str(path))
            paths[name, state] = path
    proc = subprocess.run([str(BIN / "nbgrader"), "validate", *map(str, paths.values())],
                          cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=1200,
                          env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"})
    out = proc.stdout
    reports = {}
    for (name, state), path in paths.items():  # each notebook's report follows "Validating '<path>'"
        start = out.index(f"Validating '{path}'")
        ends = [out.index(f"Validating '{p}'") for p in paths.values() if out.index(f"Validating '{p}'") > start]
        reports[name, state] = out[start:min(ends, default=len(out))]
    problems = []
    for name in NAMES:
        nb = nbformat.read(ROOT / "exercises" / name / f"{name}.ipynb", as_version=4)
        tests = [c for c in nb.cells if nbgrader_meta(c).get("grade") and c.cell_type == "code"]
        # Written answers (manually graded) are reported too, as "You did not provide a response".
        written = [c for c in nb.cells if nbgrader_meta(c).get("grade") and c.cell_type == "markdown"]
        solved, unsolved = reports[name, "solved"], reports[name, "unsolved"]
        if "Success! Your notebook passes all the tests." not in solved and not (
                written and "You did not provide a response" in solved and "Traceback" not in solved):
            problems.append(f"{name} solved:\n{solved[-2000:]}")
        failed = f"VALIDATION FAILED ON {len(tests) + len(written)} CELL(S)"
        if failed not in unsolved or "NotImplementedError" not in unsolved:
            problems.append(f"{name} untouched:\n{unsolved[-2000:]}")
        # every visible test is reported, by its code (nbgrader may shorten a long line)
        problems += [f"{name}: {c.source!r} not reported" for c in tests
                     if c.source.strip().splitlines()[0][:50] not in unsolved]
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# Launch buttons with a repository URL, on a minimal site


TINY_CHAPTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A chapter

```{code-cell} ipython3
import rnnlib
from myst_nb import glue

glue("hidden_size", rnnlib.rnn_step_forward.__name__)
```

The step is {glue:}`hidden_size`.
"""


@pytest.fixture(scope="module")
def mini_site(tmp_path_factory):
    """A three-page site (how to use, a chapter, an exercise) built as `make book` builds, with
    the real _config.yml and extensions, but a (dummy) repository URL and site address."""
    src = tmp_path_factory.mktemp("mini-site")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["repository"]["url"] = "https://github.com/example-org/rnn-course"
    config["html"]["baseurl"] = "https://example-org.github.io/rnn-course/"
    config["sphinx"]["local_extensions"] = {
        k: str(ROOT / v) for k, v in config["sphinx"]["local_extensions"].items()}
    config["bibtex_bibfiles"] = [str(ROOT / b) for b in config["bibtex_bibfiles"]]
    config["html"]["favicon"] = str(ROOT / config["html"]["favicon"])
    (src / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    exercise = f"exercises/{NAMES[1]}/{NAMES[1]}"
    (src / "_toc.yml").write_text(yaml.safe_dump({
        "format": "jb-book", "root": "book/how_to_use",
        "chapters": [{"file": "book/ch00_tiny", "sections": [{"file": exercise}]}]}))
    (src / "book").mkdir()
    shutil.copy(ROOT / "book" / "how_to_use.md", src / "book")
    (src / "book" / "ch00_tiny.md").write_text(TINY_CHAPTER)
    (src / exercise).parent.mkdir(parents=True)
    shutil.copy(ROOT / f"{exercise}.ipynb", src / f"{exercise}.ipynb")
    shutil.copy(ROOT / "postBuild", src / "postBuild")
    proc = subprocess.run([str(BIN / "jupyter-book"), "build", ".", "--warningiserror", "--keep-going"],
                          cwd=src, capture_output=True, text=True, env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"})
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    assert not [l for l in log.splitlines() if "WARNING:" in l and "IPKernelApp" not in l], log[-5000:]
    return src, exercise


def _launch_links(page: Path) -> dict[str, str]:
    html = page.read_text()
    return {text: url.replace("&amp;", "&") for url, text in re.findall(
        r'<a href="(https://(?:mybinder\.org|colab\.research\.google\.com)[^"]*)"[^>]*>.*?'
        r'<span class="btn__text-container">(Binder|Colab)</span>', html, re.S)}


@pytest.mark.slow
def test_with_a_repository_url_every_page_launches_a_notebook_that_exists(mini_site):
    src, exercise = mini_site
    out = src / "_build" / "html"
    # The exercise: its notebook in the repository, on the repository's branch.
    links = _launch_links(out / f"{exercise}.html")
    assert set(links) == {"Binder", "Colab"}, links
    assert links["Colab"] == ("https://colab.research.google.com/github/example-org/rnn-course/"
                              f"blob/main/{exercise}.ipynb")
    assert (ROOT / f"{exercise}.ipynb").is_file()
    binder = urlsplit(links["Binder"])
    assert binder.path == "/v2/gh/example-org/rnn-course/main"
    assert parse_qs(binder.query)["urlpath"] == [f"tree/{exercise}.ipynb"]
    # A chapter: Colab opens the published site's executed notebook, Binder the one postBuild writes.
    links = _launch_links(out / "book" / "ch00_tiny.html")
    assert set(links) == {"Binder", "Colab"}, links
    assert links["Colab"] == ("https://colab.research.google.com/github/example-org/rnn-course/"
                              "blob/gh-pages/_sources/book/ch00_tiny.ipynb")
    executed = nbformat.read(out / "_sources" / "book" / "ch00_tiny.ipynb", as_version=4)
    setup = executed.cells[0].source
    assert setup.startswith(kit.setup_code(
        f"https://example-org.github.io/rnn-course/kit/{kit.wheel_name()}", kit.wheel_name()))
    assert any(o.get("output_type") for c in executed.cells[1:] for o in c.get("outputs", []))
    assert (out / "kit" / kit.wheel_name()).is_file() and (out / "kit" / kit.ZIP_NAME).is_file()
    assert parse_qs(urlsplit(links["Binder"]).query)["urlpath"] == ["tree/book/ch00_tiny.ipynb"]
    subprocess.run(["bash", "postBuild"], cwd=src, check=True,
                   env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"})
    assert nbformat.read(src / "book" / "ch00_tiny.ipynb", as_version=4).cells


@pytest.mark.slow
def test_how_to_use_and_exercise_pages_offer_the_kit(mini_site):
    src, exercise = mini_site
    out = src / "_build" / "html"
    for page in (out / "book" / "how_to_use.html", out / f"{exercise}.html"):
        html = page.read_text()
        hrefs = re.findall(r'class="reference download" href="([^"]+)"', html)
        targets = {(page.parent / h).resolve() for h in hrefs}
        assert targets == {(out / "kit" / kit.ZIP_NAME).resolve(),
                           (out / "kit" / kit.wheel_name()).resolve()}, (page, hrefs)
    text = _plain((out / "book" / "how_to_use.html").read_text())
    for command in ("python3 -m venv .venv", "pip install -r requirements.txt", "jupyter lab"):
        assert command in text


# ---------------------------------------------------------------------------------------------
# JupyterLab from the kit, in a browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fill(page, function: str, code: str) -> None:
    """Replace the code of the exercise cell that defines ``function`` by ``code``, typed in."""
    cell = page.locator(".jp-Notebook .jp-CodeCell", has_text=f"def {function}(").first
    cell.scroll_into_view_if_needed()
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(code)


@pytest.mark.slow
def test_jupyterlab_from_the_kit_in_a_fresh_environment(built_kit, mini_site, tmp_path):
    """Unzip the kit outside the repository, run its three commands, open Chapter 2's exercise
    in JupyterLab in Chromium, write one function right and one with a known mistake, Run All,
    and read the checkers' verdicts on the page. Then a chapter's downloaded notebook runs
    there too, without the site's packages (myst_nb's glue)."""
    reason = chromium_missing_reason()
    if reason:
        pytest.skip(f"the JupyterLab test needs Chromium and playwright: {reason}")
    _, archive = built_kit
    with zipfile.ZipFile(archive) as z:
        z.extractall(tmp_path)
    folder = tmp_path / kit.FOLDER
    python = _fresh_venv(folder / ".venv")
    started = time.monotonic()
    _pip(python, "install", "--quiet", "-r", "requirements.txt", cwd=folder)
    installed = time.monotonic() - started
    # No news or update pop-ups (they would need the network and cover the page).
    settings = folder / ".venv" / "share" / "jupyter" / "lab" / "settings"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "overrides.json").write_text(json.dumps(
        {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}))
    home = tmp_path / "home"
    token, port = secrets.token_hex(16), _free_port()
    env = _clean_env(HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "config"),
                     JUPYTER_DATA_DIR=str(home / "data"), JUPYTER_RUNTIME_DIR=str(home / "run"),
                     OPENBLAS_NUM_THREADS="1")
    log = open(tmp_path / "lab.log", "w")
    lab = subprocess.Popen(
        [str(folder / ".venv" / "bin" / "jupyter"), "lab", "--no-browser", "--allow-root",
         "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={folder}", "--LabApp.news_url=",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--LabApp.extension_manager=readonly"],
        cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    name = "ch02_hidden_state"
    assert name in NAMES, "the JupyterLab test solves Chapter 2's exercise"
    try:
        for _ in range(120):
            assert lab.poll() is None, (tmp_path / "lab.log").read_text()[-3000:]
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/lab/tree/{name}/{name}.ipynb?token={token}")
            page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=90_000)
            _fill(page, "rnn_step_forward",
                  "def rnn_step_forward(x_t, h_prev, Wxh, Whh, bh):\n"
                  "    h_t = np.tanh(x_t @ Wxh.T + h_prev @ Whh.T + bh)\n"
                  "    return h_t, (x_t, h_prev, h_t, Wxh, Whh)\n")
            # A known mistake: every step starts again from h0.
            _fill(page, "rnn_forward",
                  "def rnn_forward(x, h0, Wxh, Whh, bh):\n"
                  "    hs = np.stack([rnn_step_forward(x_t, h0, Wxh, Whh, bh)[0] for x_t in x])\n"
                  "    return hs, (x, h0, hs, Wxh, Whh)\n")
            page.get_by_role("menuitem", name="Run").click()
            page.get_by_text("Run All Cells", exact=True).click()
            says = _says("rnn_forward/state-not-carried")
            outputs = "[...document.querySelectorAll('.jp-OutputArea-output')].map(e => e.textContent)"
            page.wait_for_function(f"() => {outputs}.some(t => t.includes({json.dumps(says)}))",
                                   timeout=120_000)
            texts = page.evaluate(f"() => {outputs}")
            page.close()
    finally:
        lab.terminate()
        try:
            lab.wait(timeout=20)
        except subprocess.TimeoutExpired:
            lab.kill()
            lab.wait()
        log.close()
    assert "rnn_step_forward: all checks passed." in "\n".join(texts), texts
    failed = next(t for t in texts if says in t)
    assert "CheckFailed" in failed and "check_rnn_forward(rnn_forward" in failed
    assert str(folder / ".venv") in failed, "the checker did not come from the kit's environment"
    print(f"pip install -r requirements.txt took {installed:.0f} s")
    chapter = mini_site[0] / "_build" / "html" / "_sources" / "book" / "ch00_tiny.ipynb"
    ran = tmp_path / "chapter.ipynb"
    proc = subprocess.run([str(folder / ".venv" / "bin" / "jupyter"), "execute", f"--output={ran}",
                           str(chapter)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    outputs = [o for c in nbformat.read(ran, as_version=4).cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("rnn_step_forward" in json.dumps(o.get("data", {})) for o in outputs), outputs
