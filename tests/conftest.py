"""Shared fixtures: the repository root, and the website built once per test session."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def built_site():
    """Build the site exactly as `make book` does (warnings are errors); return _build/html.

    Execution is cached by Jupyter Book, so after the first build this only re-renders.
    Set RNN_SKIP_SITE_BUILD=1 to test an existing _build/html without rebuilding.
    """
    html = ROOT / "_build" / "html"
    if os.environ.get("RNN_SKIP_SITE_BUILD") and (html / "index.html").is_file():
        return html
    proc = subprocess.run(
        [str(BIN / "jupyter-book"), "build", ".", "--warningiserror", "--keep-going"],
        cwd=ROOT, capture_output=True, text=True,
    )
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        pytest.fail(f"jupyter-book build failed (exit {proc.returncode}):\n{log[-6000:]}")
    # Sphinx's warnings ("path:line: WARNING: ..."); not the kernels' own log lines.
    warnings = [line for line in log.splitlines() if "WARNING:" in line and "IPKernelApp" not in line]
    assert not warnings, "the site build printed warnings:\n" + "\n".join(warnings)
    return html
