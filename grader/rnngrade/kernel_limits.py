"""Cap what one cell may print in the grading kernel (runs inside the student's kernel).

The cap keeps a notebook that prints without end from filling the autograder's memory. It
lives in the student's process, so a student can undo it; the autograde process is limited
too, and the grade never depends on the kernel (see :mod:`rnngrade.judge`).
"""
import sys

NOTICE = "\n[... output truncated by the grader ...]\n"


def install(limit):
    """Keep at most ``limit`` characters of stdout and stderr per executed cell."""
    state = {"n": 0, "cut": False}
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        original = stream.write

        def write(text, _original=original):
            left = limit - state["n"]
            if left <= 0:
                if not state["cut"]:
                    state["cut"] = True
                    _original(NOTICE)
                return len(text)
            state["n"] += len(text)
            return _original(text[:left])

        stream.write = write
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        shell.events.register("pre_execute", lambda: state.update(n=0, cut=False))
