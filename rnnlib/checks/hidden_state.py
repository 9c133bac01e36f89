"""Checker for chapter 2's memory probe (the step and sequence checkers live in ``checks.rnn``).

``memory_probe(x, h0, Wxh, Whh, bh, dx0)`` changes the first input and returns, per example,
how far the last hidden state moved. It is an :class:`~rnnlib.checks._engine.Exercise` whose
catalogue holds the usual near misses, each the reference :func:`rnnlib.probes.memory_probe`
with one edit: the last input perturbed, the first state compared, a squared or L1 norm, one
norm for the whole batch, ``x[0] += dx0`` written into the caller's array...

A probe is built on the student's ``rnn_forward``: given it, a wrong probe is first checked for
a wrong forward ("fix rnn_forward first"), which is then named by the forward's own catalogue.
"""
from __future__ import annotations

import numpy as np

from rnnlib import probes as _probes
from rnnlib.checks._core import case_seeds
from rnnlib.checks._engine import Case, Exercise, Mistake, mutate, run_check
from rnnlib.checks._questions import Question, Wrong, question_set
from rnnlib.checks.rnn import FORWARD, STEP_FORWARD

__all__ = ["check_memory_probe", "check_ch02_questions"]

_memory_probe = _probes.memory_probe
_ndarray = np.ndarray


def _probe_case(seed, T, B, D, H):
    rng = np.random.default_rng(seed)
    # Weights of moderate size: the first input still visibly moves h_T after T steps. h0 is
    # not zero, so that a second run started from zeros is told apart.
    args = (rng.standard_normal((T, B, D)),
            rng.standard_normal((B, H)) * 0.5,
            rng.standard_normal((H, D)) / np.sqrt(D),
            rng.standard_normal((H, H)) * (0.9 / np.sqrt(H)),
            rng.standard_normal(H) * 0.1,
            rng.standard_normal((B, D)))
    return Case(f"seed {seed}, T={T}, B={B}, D={D}, H={H}", args, {}, {"T": T, "B": B})


def _probe_cases(hidden):
    shapes = [(1, 3, 2, 4), (9, 1, 3, 5), (6, 4, 5, 3)] if hidden else [(5, 3, 4, 6), (8, 2, 3, 4)]
    return [_probe_case(seed, *s) for seed in case_seeds(hidden) for s in shapes]


def _diagnose_probe(got, expected, case):
    change = got.get("change")
    B = case.args[0].shape[1]
    if isinstance(change, tuple):
        return "memory_probe/returns-tuple", (
            f"memory_probe should return one array of shape ({B},), not a tuple: return the "
            "norms alone.")
    if isinstance(change, _ndarray) and change.ndim == 0 and B > 1:
        return "generic/shape", (
            f"memory_probe should return one number per example, an array of shape ({B},), but "
            "it returns a single number.")
    return None


_COPY = "x2 = x.copy()  # never edit the caller's array"
_PERTURB = "x2[0] = x2[0] + dx0"
_NORM = "np.linalg.norm(hs2[-1] - hs[-1], axis=1)"
_SECOND_RUN = "hs2, _ = rnn_forward(x2, h0, Wxh, Whh, bh)"

MEMORY_PROBE = Exercise(
    name="memory_probe",
    reference=_memory_probe,
    cases=_probe_cases,
    returns=("change",),
    section="ch02-memory-probe",
    diagnose=_diagnose_probe,
    mistakes=[
        Mistake("memory_probe/edits-x-in-place",
                "x[0] += dx0 (or x2 = x followed by x2[0] += dx0) writes into the caller's array x: "
                "x2 = x gives the same array a second name, it does not copy it. The caller still "
                "needs x as it was, and a run after the edit reads the changed input. Perturb a "
                "copy: x2 = x.copy(), then x2[0] += dx0.",
                mutate(_memory_probe, (_COPY, "x2 = x")), "ch02-memory-probe"),
        Mistake("memory_probe/last-input",
                "It changes the last input x[T-1]; the probe must change the first input x[0] "
                "and see whether the change survives to the end.",
                mutate(_memory_probe, (_PERTURB, "x2[-1] = x2[-1] + dx0")), "ch02-memory-probe"),
        Mistake("memory_probe/every-input",
                "It adds dx0 to every input; only the first input x[0] must change.",
                mutate(_memory_probe, (_PERTURB, "x2 = x2 + dx0")), "ch02-memory-probe"),
        Mistake("memory_probe/first-state",
                "It measures the change of the first state h_1 (hs[0]); measure the last state "
                "h_T (hs[-1]), after the whole sequence has been read.",
                mutate(_memory_probe, (_NORM, "np.linalg.norm(hs2[0] - hs[0], axis=1)")),
                "ch02-memory-probe"),
        Mistake("memory_probe/state-before-last",
                "It measures the state one step before the last (hs[-2]); measure the last "
                "state h_T, hs[-1]. (If your rnn_forward stores h0 in hs[0], its hs[-1] is one "
                "step early: check rnn_forward.)",
                mutate(_memory_probe, (_NORM, "np.linalg.norm(hs2[-2] - hs[-2], axis=1)")),
                "ch02-memory-probe"),
        Mistake("memory_probe/second-run-from-zeros",
                "The second run starts from zeros instead of h0: both runs must start from the "
                "same h0, so that the first input is the only difference between them.",
                mutate(_memory_probe, (_SECOND_RUN, "hs2, _ = rnn_forward(x2, np.zeros_like(h0), Wxh, Whh, bh)")),
                "ch02-memory-probe"),
        Mistake("memory_probe/squared",
                "It returns the squared distance; return the Euclidean norm (np.linalg.norm, no "
                "square).",
                mutate(_memory_probe, (_NORM, "np.sum((hs2[-1] - hs[-1]) ** 2, axis=1)")),
                "ch02-memory-probe"),
        Mistake("memory_probe/l1-norm",
                "It returns the sum of absolute differences (L1); use the Euclidean norm along "
                "the hidden units, the square root of the sum of squares.",
                mutate(_memory_probe, (_NORM, "np.abs(hs2[-1] - hs[-1]).sum(axis=1)")),
                "ch02-memory-probe"),
        Mistake("memory_probe/difference-not-norm",
                "It returns the difference of the states itself, shape (B, H): return its "
                "Euclidean norm for each example, shape (B,) (np.linalg.norm(..., axis=1)).",
                mutate(_memory_probe, (_NORM, "hs2[-1] - hs[-1]")), "ch02-memory-probe"),
        Mistake("memory_probe/whole-batch-norm",
                "It returns one norm for the whole batch; return one number per example, shape "
                "(B,): take the norm along the hidden units (axis=1).",
                mutate(_memory_probe, (_NORM, "np.linalg.norm(hs2[-1] - hs[-1])")), "ch02-memory-probe"),
        Mistake("memory_probe/replaces-first-input",
                "It replaces the first input by dx0 (x2[0] = dx0): dx0 is a change to add to it, "
                "x2[0] = x[0] + dx0 (or x2[0] += dx0 on a copy), so that the two runs differ by "
                "dx0 only.",
                mutate(_memory_probe, (_PERTURB, "x2[0] = dx0")), "ch02-memory-probe"),
        Mistake("memory_probe/second-input",
                "It changes the second input x[1]: the book's x_1 is x[0] in Python, which counts "
                "from 0. Change x[0].",
                mutate(_memory_probe, (_PERTURB, "x2[1] = x2[1] + dx0")), "ch02-memory-probe"),
        Mistake("memory_probe/divided-by-change",
                "It divides the distance by the size of the change, ||dx0||: the probe is the "
                "distance between the two last states itself, m = ||h_T(x with x[0] + dx0) - "
                "h_T(x)||.",
                mutate(_memory_probe, (_NORM, f"{_NORM} / np.linalg.norm(dx0, axis=1)")),
                "ch02-memory-probe"),
        Mistake("memory_probe/mean-absolute",
                "It returns the mean absolute difference over the hidden units; return the "
                "Euclidean norm along them, the square root of the sum of squares "
                "(np.linalg.norm(..., axis=1)).",
                mutate(_memory_probe, (_NORM, "np.abs(hs2[-1] - hs[-1]).mean(axis=1)")),
                "ch02-memory-probe"),
        Mistake("memory_probe/every-step",
                "It measures the difference over every step at once (the norm of hs2 - hs over time "
                "and units): the probe compares the last states only, hs2[-1] - hs[-1].",
                mutate(_memory_probe, (_NORM, "np.sqrt(np.sum((hs2 - hs) ** 2, axis=(0, 2)))")),
                "ch02-memory-probe"),
        Mistake("memory_probe/compared-with-h0",
                "It compares the changed run's last state with h0: the probe compares the two runs, "
                "the changed one's last state with the unchanged one's, hs2[-1] - hs[-1].",
                mutate(_memory_probe, (_NORM, "np.linalg.norm(hs2[-1] - h0, axis=1)")),
                "ch02-memory-probe"),
        Mistake("memory_probe/norm-across-batch",
                "It takes the norm across the batch (axis 0), which gives shape (H,); take it "
                "along the hidden units (axis=1) to get one number per example, shape (B,).",
                mutate(_memory_probe, (_NORM, "np.linalg.norm(hs2[-1] - hs[-1], axis=0)")),
                "ch02-memory-probe"),
    ],
)


def check_memory_probe(memory_probe, hidden=False, rnn_forward=None, rnn_step_forward=None):
    """Check a student's ``memory_probe(x, h0, Wxh, Whh, bh, dx0) -> change``.

    Parameters
    ----------
    memory_probe : callable
        The student's function; ``change`` must be a ``(B,)`` array of Euclidean norms.
    hidden : bool
        Hidden tests: other seeds and the edge cases ``T = 1`` and ``B = 1``.
    rnn_forward : callable, optional
        The student's ``rnn_forward``, which the probe is built on: when the probe is wrong,
        the forward is checked first ("fix rnn_forward first", naming its mistake).
    rnn_step_forward : callable, optional
        The student's step, which ``rnn_forward`` is built on (checked before it, likewise).

    Raises
    ------
    CheckFailed
        With a message naming the problem.
    """
    depends = {}
    if rnn_forward is not None:
        def forward_check():
            inner = {}
            if rnn_step_forward is not None:
                inner["rnn_step_forward"] = lambda: run_check(STEP_FORWARD, rnn_step_forward, hidden, quiet=True)
            run_check(FORWARD, rnn_forward, hidden, depends=inner, quiet=True)

        depends["rnn_forward"] = forward_check
    run_check(MEMORY_PROBE, memory_probe, hidden, depends=depends)


# ---------------------------------------------------------------------------------------------
# Conceptual questions

_CH02_EXERCISE, check_ch02_questions = question_set("ch02_questions", [
    Question(
        "hs_shape", (7, 3, 4),
        "The shape of hs = rnn_forward(x, h0, Wxh, Whh, bh)[0] for x of shape (7, 3, 5) and H = 4 "
        "hidden units (a tuple)",
        "rnn_forward returns one state per time step and per example, each with H entries.",
        wrong=(
            Wrong((8, 3, 4), "counts-h0",
                  "h0 is not part of hs: hs[t] is the state after reading x[t], so there are T = 7 "
                  "states, hs[0] = step(x[0], h0)."),
            Wrong((3, 7, 4), "batch-major",
                  "Sequences are time-major in this course: hs[t] is step t of the whole batch, "
                  "(T, B, H)."),
            Wrong((7, 3, 5), "input-size",
                  "A state has H = 4 entries, one per hidden unit, whatever the input size D = 5: "
                  "W_xh (H, D) maps D inputs to H units."),
        ),
        section="ch02-sequence"),
    Question(
        "whh_products", 19,
        "With T = 20 steps, how many times is W_hh applied on the way from x_1 to h_20",
        "Follow x_1 through the unrolled network: which matrix brings it into h_1, and which one "
        "carries h_1 to h_2, h_2 to h_3, and so on?",
        wrong=(
            Wrong(20, "counts-input-step",
                  "x_1 enters h_1 through W_xh, not W_hh. W_hh then carries it from h_1 to h_2, ..., "
                  "from h_19 to h_20: 19 times."),
            Wrong(1, "one-matrix-once",
                  "W_hh is one matrix, but it is applied again at every step: each update "
                  "h_t = tanh(W_xh x_t + W_hh h_(t-1) + b_h) multiplies the previous state by it."),
        ),
        section="ch02-memory-probe"),
    Question(
        "probe_shape", (3,),
        "The shape of memory_probe(x, h0, Wxh, Whh, bh, dx0) for x of shape (7, 3, 5) and H = 4 "
        "(a tuple)",
        "The probe returns one distance per example.",
        wrong=(
            Wrong((3, 4), "difference-not-norm",
                  "That is the difference of the two last states, one entry per unit; the probe is "
                  "its Euclidean norm, one number per example."),
            Wrong((4,), "norm-across-batch",
                  "That is a norm taken across the batch (axis 0); the probe takes it along the "
                  "hidden units, one number per example."),
            Wrong((), "one-number",
                  "The probe gives one number per example of the batch, not one for the whole batch."),
            Wrong((7, 3), "every-step",
                  "That is the distance at every step (what perturbation_trace returns); the probe "
                  "is the distance of the last states only."),
        ),
        section="ch02-memory-probe"),
    Question(
        "slope_at_099", 0.0199,
        "The slope of tanh at a unit whose value is h = 0.99 (a number)",
        "tanh'(z) = 1 - tanh(z)^2, and tanh(z) is the unit's value.",
        wrong=(
            Wrong(0.01, "one-minus-h",
                  "That is 1 - h; the slope is 1 - h^2, with h squared."),
            Wrong(0.9801, "h-squared",
                  "That is h^2; the slope is 1 - h^2: near 0 for a saturated unit, 1 at h = 0."),
        ),
        section="ch02-tanh", rtol=0.01),
])
