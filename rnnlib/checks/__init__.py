"""Checkers called by the notebooks' test cells.

One naming rule: the checker of a graded function ``f`` is ``check_f`` and takes the student's
function. A backward's checker takes the student's forward and backward together.

Each checker prints a one-line confirmation when the function is right, and raises
:class:`CheckFailed` (an ``AssertionError``) with a diagnostic message when it is not. Pass
``hidden=True`` for the hidden tests' seeds and edge shapes.

Every submodule of this package that defines ``check_*`` functions is collected here, so
``from rnnlib.checks import check_x`` works for all of them.
"""
import importlib as _importlib
import pkgutil as _pkgutil

from rnnlib.checks._core import GRADING_ENV, GRADING_SEED_ENV, CheckFailed, grading

__all__ = ["CheckFailed", "GRADING_SEED_ENV", "GRADING_ENV", "grading"]

for _info in sorted(_pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name.startswith("_"):
        continue
    _module = _importlib.import_module(f"{__name__}.{_info.name}")
    for _name in getattr(_module, "__all__", ()):
        if _name.startswith("check_"):
            globals()[_name] = getattr(_module, _name)
            __all__.append(_name)
del _info, _module, _name
