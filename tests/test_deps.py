"""A newcomer's `make test`: the run ends by naming the groups of skipped tests and the one
command that installs what they need, `make deps`, which installs what CI installs."""
from __future__ import annotations

import re

from tests.conftest import ROOT, skip_summary


def test_skip_summary_names_the_groups_and_make_deps():
    reasons = [
        "browser tests need Chromium and playwright: /usr/bin/chromium is missing "
        "(Debian: apt-get install chromium)",
        "the JupyterLab test needs Chromium and playwright: /usr/bin/chromium is missing",
        "bubblewrap/prlimit not installed",
        "PostgreSQL binaries not installed",
        "could not import 'torch': No module named 'torch'",
        "something else entirely",
    ]
    line = skip_summary(reasons)
    assert "\n" not in line
    assert line.startswith("Skipped 5 tests for missing software: browser (needs chromium): 2, ")
    for group in ("confined grading (needs bubblewrap): 1", "PostgreSQL gradebook (needs postgresql): 1",
                  "PyTorch cross-checks (needs torch): 1", "(1 more skipped for other reasons)"):
        assert group in line
    assert line.endswith("Install what they need with: make deps")
    assert skip_summary([]) is None
    assert skip_summary(["exercises/ch04_bptt/ch04_bptt has no animation"]) is None


def test_make_deps_runs_what_ci_runs():
    makefile = (ROOT / "Makefile").read_text()
    deps = re.search(r"^deps:.*?(?=^\S|\Z)", makefile, re.S | re.M)[0]
    assert "bash .ci/system-deps" in deps and "torch==2.13.0" in deps
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make deps" in ci and "make test" in ci
    system = (ROOT / ".ci" / "system-deps").read_text()
    for package in ("chromium", "bubblewrap", "postgresql", "npm"):
        assert package in system
