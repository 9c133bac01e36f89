"""No false alarms: correct implementations written in different styles pass every visible and
hidden check, and every graded function has at least three of them."""
from __future__ import annotations

import importlib
import pkgutil

import pytest

import rnnlib.checks  # noqa: F401 - registers every exercise
import tests.correct_styles
from rnnlib.checks._engine import EXERCISES, check_as_student


def _styles():
    found = {}
    for info in pkgutil.iter_modules(tests.correct_styles.__path__):
        module = importlib.import_module(f"tests.correct_styles.{info.name}")
        for name, fns in module.STYLES.items():
            found.setdefault(name, []).extend(fns)
    return found


STYLES = _styles()
CASES = [(name, fn) for name, fns in STYLES.items() for fn in fns]


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_every_graded_function_has_three_correct_styles(name):
    assert len(STYLES.get(name, [])) >= 3, f"{name}: {len(STYLES.get(name, []))} styles"


@pytest.mark.parametrize("name, fn", CASES, ids=[f"{n}-{f.__name__}" for n, f in CASES])
@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
def test_a_correct_style_passes(name, fn, hidden):
    check_as_student(EXERCISES[name], fn, hidden)
