"""Checker for chapter 2's memory probe (the step and sequence checkers live in ``checks.rnn``).

``memory_probe(x, h0, Wxh, Whh, bh, dx0)`` changes the first input and returns, per example,
how far the last hidden state moved. When the numbers are wrong, the checker recomputes the
usual near misses (the last input perturbed, the first state compared, a squared or L1 norm,
one norm for the whole batch) and names the one that matches.
"""
from __future__ import annotations

import numpy as np

from rnnlib import probes as _probes
from rnnlib.checks._core import CheckFailed, call_student, case_seeds, close, fmt_shape

__all__ = ["check_memory_probe"]

_memory_probe = _probes.memory_probe
_norm = np.linalg.norm
_tanh = np.tanh
_ndarray = np.ndarray


def _states(x, h0, Wxh, Whh, bh):
    hs = []
    h = h0
    for t in range(x.shape[0]):
        h = _tanh(x[t] @ Wxh.T + h @ Whh.T + bh)
        hs.append(h)
    return np.stack(hs)


def _probe_inputs(rng, T, B, D, H):
    # Weights of moderate size: the first input still visibly moves h_T after T steps.
    x = rng.standard_normal((T, B, D))
    h0 = rng.standard_normal((B, H)) * 0.5
    Wxh = rng.standard_normal((H, D)) / np.sqrt(D)
    Whh = rng.standard_normal((H, H)) * (0.9 / np.sqrt(H))
    bh = rng.standard_normal(H) * 0.1
    dx0 = rng.standard_normal((B, D))
    return x, h0, Wxh, Whh, bh, dx0


def _diagnose(got, x, h0, Wxh, Whh, bh, dx0):
    """Name the near miss that ``got`` matches, or return ''."""
    T = x.shape[0]
    hs = _states(x, h0, Wxh, Whh, bh)

    def moved(t_changed, t_read):
        x2 = x.copy()
        x2[t_changed] = x2[t_changed] + dx0
        return _states(x2, h0, Wxh, Whh, bh)[t_read] - hs[t_read]

    d_last = moved(0, T - 1)
    if T > 1 and close(got, _norm(moved(T - 1, T - 1), axis=1)):
        return "It changes the last input x[T-1]; the probe must change the first input x[0]."
    if T > 1 and close(got, _norm(moved(0, 0), axis=1)):
        return "It measures the change of the first state h_1 (hs[0]); measure the last state h_T (hs[-1])."
    if close(got, _norm(d_last, axis=1) ** 2):
        return "It returns the squared distance; return the Euclidean norm (np.linalg.norm, no square)."
    if close(got, np.abs(d_last).sum(axis=1)):
        return "It returns the sum of absolute differences (L1); use the Euclidean norm along the hidden units."
    if close(got, -_norm(d_last, axis=1)):
        return "It is negative: a norm is never negative."
    x_all = x + dx0  # every step perturbed
    if T > 1 and close(got, _norm(_states(x_all, h0, Wxh, Whh, bh)[-1] - hs[-1], axis=1)):
        return "It adds dx0 to every input; only the first input x[0] must change."
    if close(got, np.zeros_like(d_last[:, 0])):
        return (
            "It returns zeros: both runs saw the same inputs. If you wrote x[0] += dx0, that edits x "
            "itself before (or after) the first run; perturb a copy (x2 = x.copy())."
        )
    return ""


def check_memory_probe(memory_probe, hidden=False):
    """Check a student's ``memory_probe(x, h0, Wxh, Whh, bh, dx0) -> change``.

    Parameters
    ----------
    memory_probe : callable
        The student's function; ``change`` must be a ``(B,)`` array of Euclidean norms.
    hidden : bool
        Hidden tests: other seeds and the edge cases ``T = 1`` and ``B = 1``.

    Raises
    ------
    CheckFailed
        With a message naming the problem.
    """
    shapes = [(1, 3, 2, 4), (9, 1, 3, 5), (6, 4, 5, 3)] if hidden else [(5, 3, 4, 6), (8, 2, 3, 4)]
    for seed in case_seeds(hidden):
        for T, B, D, H in shapes:
            rng = np.random.default_rng(seed)
            args = _probe_inputs(rng, T, B, D, H)
            expected = _memory_probe(*args)
            got = call_student(memory_probe, *args)
            where = f" (seed {seed}, T={T}, B={B}, D={D}, H={H})"
            if isinstance(got, tuple):
                raise CheckFailed(
                    f"memory_probe should return one array of shape ({B},), not a tuple.{where}"
                )
            if np.isscalar(got) or (isinstance(got, _ndarray) and got.ndim == 0):
                if B > 1 and close(np.asarray(got, dtype=float), _norm(expected)):
                    raise CheckFailed(
                        "memory_probe returns one norm for the whole batch; return one number "
                        f"per example, shape ({B},): take the norm along the hidden units (axis=1).{where}"
                    )
                if B > 1:
                    raise CheckFailed(
                        f"memory_probe should return one number per example, an array of shape ({B},), "
                        f"but it returns a single number.{where}"
                    )
                got = np.atleast_1d(np.asarray(got, dtype=float))
            if not isinstance(got, _ndarray):
                raise CheckFailed(
                    f"memory_probe should return a numpy array of shape ({B},), but it returns {fmt_shape(got)}.{where}"
                )
            if got.shape == (B, H):
                raise CheckFailed(
                    f"memory_probe returns shape {got.shape}, the difference of the states itself: "
                    f"return its Euclidean norm for each example, shape ({B},) (np.linalg.norm(..., axis=1)).{where}"
                )
            if got.shape == (H,) and H != B:
                raise CheckFailed(
                    f"memory_probe returns shape ({H},): the norm was taken across the batch (axis 0); "
                    f"take it along the hidden units (axis=1) to get shape ({B},).{where}"
                )
            if got.shape != (B,):
                raise CheckFailed(f"memory_probe returns shape {got.shape}, expected ({B},).{where}")
            if not close(got, expected):
                reason = _diagnose(got, *args)
                if not reason:
                    reason = (
                        "Run the sequence twice from the same h0, once as it is and once with x[0] + dx0, "
                        "and compare the last hidden states."
                    )
                raise CheckFailed(
                    f"memory_probe gives wrong values{where}: the first example should be "
                    f"{float(expected[0]):.6g}, yours is {float(got[0]):.6g}. {reason}"
                )
    print("memory_probe: all checks passed.")
