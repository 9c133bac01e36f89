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


# ---------------------------------------------------------------------------------------------
# The run's last word on skipped tests: which groups were skipped and the one command that
# installs what they need (`make deps`), so that a newcomer need not read every skip line.

SKIP_GROUPS = (  # (words in the skip reason, group, what it needs)
    (("chromium", "playwright"), "browser", "chromium"),
    (("bubblewrap", "prlimit", "bwrap"), "confined grading", "bubblewrap"),
    (("postgresql",), "PostgreSQL gradebook", "postgresql"),
    (("torch",), "PyTorch cross-checks", "torch"),
    (("axe-core", "npm"), "accessibility", "npm"),
)


def skip_summary(reasons) -> str | None:
    """One line naming the groups skipped for missing software (with counts) and `make deps`;
    None when nothing was skipped for that (a page without an animation is not a missing tool)."""
    counts: dict[str, int] = {}
    for reason in reasons:
        low = reason.lower()
        group = next((f"{name} (needs {needs})" for words, name, needs in SKIP_GROUPS
                      if any(w in low for w in words)), None)
        if group:
            counts[group] = counts.get(group, 0) + 1
    if not counts:
        return None
    missing = sum(counts.values())
    groups = ", ".join(f"{g}: {n}" for g, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    other = len(reasons) - missing
    more = f" ({other} more skipped for other reasons)" if other else ""
    return (f"Skipped {missing} tests for missing software: {groups}{more}. "
            "Install what they need with: make deps")


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    # Outermost wrapper: after pytest's short summary (the SKIPPED lines), before its last line.
    yield
    reasons = [_skip_reason(r) for r in terminalreporter.stats.get("skipped", [])]
    line = skip_summary(reasons)
    if line:
        terminalreporter.write_line(line, yellow=True, bold=True)
