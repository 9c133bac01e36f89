"""Correct implementations of every graded function, written in different styles.

Each module here defines ``STYLES = {graded function name: [function, ...]}``: loops over time
and batch, vectorised code, ``einsum``, column vectors per example, another accumulation order.
``tests/test_correct_styles.py`` checks that every one passes its checker's visible and hidden
checks (no false alarms), and that every graded function has at least three.
"""
