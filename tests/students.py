"""Stand-ins for students' functions, built from rnnlib's references.

The guard (:mod:`rnnlib._guard`) refuses calls into a reference from code outside rnnlib while
a student's function is checked, whatever name it is called under, because it recognises the
function's code object. A test that wants a "student" who computes exactly what the reference
does (or the reference's answer, then changed) gives the student a copy with a new code object.
"""
from __future__ import annotations

import types


def unguarded(fn):
    """A copy of ``fn`` that the guard does not recognise as rnnlib's (a new code object, with
    another qualified name: the guard also knows a reference's copied code by where it was
    written, file, qualified name and first line)."""
    code = fn.__code__.replace(co_qualname=fn.__code__.co_qualname + "<student>")
    copy = types.FunctionType(code, fn.__globals__, fn.__name__,
                              fn.__defaults__, fn.__closure__)
    copy.__kwdefaults__ = fn.__kwdefaults__
    return copy
