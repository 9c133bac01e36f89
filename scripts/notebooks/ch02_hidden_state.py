"""Build the nbgrader source notebook of chapter 2, "The hidden state".

Run from the repository root::

    .venv/bin/python scripts/notebooks/ch02_hidden_state.py

It writes ``solutions/ch02_hidden_state/ch02_hidden_state.ipynb``. Three graded exercises
(7 points): one RNN step, the whole sequence returning every hidden state, and a memory probe
that measures how much the last state changes when the first input changes.
"""
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from scripts.nbauthor import code, md, solution, tests, write  # noqa: E402

ID = "ch02_hidden_state"

cells = [
    md(
        """
# Chapter 2 exercises: the hidden state

A vanilla recurrent network keeps one vector, the hidden state, and updates it at every time
step from the current input and its previous value:

$$h_t = \\tanh(W_{xh}\\, x_t + W_{hh}\\, h_{t-1} + b_h).$$

You will write the three functions that compute and measure it:

1. `rnn_step_forward(x_t, h_prev, Wxh, Whh, bh)` — one step, for a batch of examples;
2. `rnn_forward(x, h0, Wxh, Whh, bh)` — the whole sequence, returning every hidden state;
3. `memory_probe(x, h0, Wxh, Whh, bh, dx0)` — how much the last state $h_T$ moves when the
   first input changes.

**Shapes** (the course's conventions). A batch of $B$ examples is stored as rows, sequences
are time-major: `x` is `(T, B, D)` and `x[t]` is `(B, D)`. The weights are stored "to, from":
`Wxh` is `(H, D)`, `Whh` is `(H, H)`, `bh` is `(H,)`. With rows as examples the column formula
above becomes `h_t = tanh(x_t @ Wxh.T + h_prev @ Whh.T + bh)`.

**How to check your work.** Write the function where it says `# YOUR CODE HERE` (delete the
`raise NotImplementedError()` line), run its cell, then run the test cell under it. A test cell
prints `... all checks passed.` when your function is right; otherwise it stops with a message
that says what is wrong. When grading, further hidden checks run with other shapes and seeds
(a single time step, a single example), so write the general function. Use numpy only: the
course's own `rnnlib` versions are switched off while your functions are checked.

Read Chapter 2 of the book, "The hidden state", first if you have not.
"""
    ),
    code(
        """
import numpy as np

from rnnlib.checks import check_rnn_step_forward, check_rnn_forward, check_memory_probe
""",
        "setup",
    ),
    md(
        """
## Exercise 1: one step (2 points)

Write `rnn_step_forward(x_t, h_prev, Wxh, Whh, bh)` returning a pair `(h_t, cache)`:

* `x_t`: `(B, D)` inputs at this step; `h_prev`: `(B, H)` previous hidden state;
* `Wxh`: `(H, D)`, `Whh`: `(H, H)`, `bh`: `(H,)`;
* `h_t`: `(B, H)`, equal to `tanh(x_t @ Wxh.T + h_prev @ Whh.T + bh)`;
* `cache`: what a backward pass would need later (chapter 4); return the tuple
  `(x_t, h_prev, h_t, Wxh, Whh)`.

For example, with `D = 3`, `H = 2` and one example (`B = 1`), `x_t` is `(1, 3)`, `h_prev` is
`(1, 2)` and `h_t` is `(1, 2)`, every entry between -1 and 1.
"""
    ),
    solution(
        '''
def rnn_step_forward(x_t, h_prev, Wxh, Whh, bh):
    """One step of a vanilla RNN: ``h_t = tanh(x_t @ Wxh.T + h_prev @ Whh.T + bh)``.

    Parameters
    ----------
    x_t : (B, D) ndarray
    h_prev : (B, H) ndarray
    Wxh : (H, D) ndarray
    Whh : (H, H) ndarray
    bh : (H,) ndarray

    Returns
    -------
    h_t : (B, H) ndarray
    cache : tuple
    """
    ### BEGIN SOLUTION
    h_t = np.tanh(x_t @ Wxh.T + h_prev @ Whh.T + bh)
    cache = (x_t, h_prev, h_t, Wxh, Whh)
    ### END SOLUTION
    return h_t, cache
''',
        "rnn_step_forward",
    ),
    tests(
        """
check_rnn_step_forward(rnn_step_forward)
### BEGIN HIDDEN TESTS
check_rnn_step_forward(rnn_step_forward, hidden=True)
### END HIDDEN TESTS
""",
        "test_rnn_step_forward",
        points=2,
    ),
    md(
        """
## Exercise 2: the whole sequence (3 points)

Write `rnn_forward(x, h0, Wxh, Whh, bh)` returning a pair `(hs, cache)`:

* `x`: `(T, B, D)` inputs, time-major; `h0`: `(B, H)` initial state;
* `hs`: `(T, B, H)`, where `hs[t]` is the hidden state **after reading** `x[t]`. So
  `hs[0] = step(x[0], h0)`, `hs[1] = step(x[1], hs[0])`, and so on: each new state is the
  previous state of the next step;
* `cache`: return `(x, h0, hs, Wxh, Whh)`.

Use your `rnn_step_forward` in a loop over `t`. Note that `h0` is **not** part of `hs`.
"""
    ),
    solution(
        '''
def rnn_forward(x, h0, Wxh, Whh, bh):
    """Run a vanilla RNN over a whole sequence.

    Parameters
    ----------
    x : (T, B, D) ndarray
    h0 : (B, H) ndarray
    Wxh : (H, D) ndarray
    Whh : (H, H) ndarray
    bh : (H,) ndarray

    Returns
    -------
    hs : (T, B, H) ndarray
        ``hs[t]`` is the state after reading ``x[t]``.
    cache : tuple
    """
    ### BEGIN SOLUTION
    T = x.shape[0]
    hs = np.zeros((T, h0.shape[0], Whh.shape[0]))
    h = h0
    for t in range(T):
        h, _ = rnn_step_forward(x[t], h, Wxh, Whh, bh)
        hs[t] = h
    cache = (x, h0, hs, Wxh, Whh)
    ### END SOLUTION
    return hs, cache
''',
        "rnn_forward",
    ),
    tests(
        """
check_rnn_forward(rnn_forward)
### BEGIN HIDDEN TESTS
check_rnn_forward(rnn_forward, hidden=True)
### END HIDDEN TESTS
""",
        "test_rnn_forward",
        points=3,
    ),
    md(
        """
## Exercise 3: a memory probe (2 points)

Does the last state $h_T$ still depend on the first input $x_1$? Measure it: run the sequence
twice from the same `h0`, once as it is and once with the first input changed to
`x[0] + dx0` (all other inputs unchanged), and return, for each example, the Euclidean
distance between the two last states:

$$m_b = \\lVert h_T^{\\text{changed}}[b] - h_T[b] \\rVert_2 .$$

Write `memory_probe(x, h0, Wxh, Whh, bh, dx0)`:

* `x`: `(T, B, D)`; `h0`: `(B, H)`; `Wxh`, `Whh`, `bh` as before; `dx0`: `(B, D)`;
* returns `m`: a `(B,)` array, one non-negative number per example.

Use your `rnn_forward`. Do not change the caller's `x`: make a copy (`x2 = x.copy()`) before
editing its first step. `np.linalg.norm(..., axis=1)` takes the norm of each row.
"""
    ),
    solution(
        '''
def memory_probe(x, h0, Wxh, Whh, bh, dx0):
    """How far the last hidden state moves when the first input changes by ``dx0``.

    Parameters
    ----------
    x : (T, B, D) ndarray
    h0 : (B, H) ndarray
    Wxh : (H, D) ndarray
    Whh : (H, H) ndarray
    bh : (H,) ndarray
    dx0 : (B, D) ndarray

    Returns
    -------
    m : (B,) ndarray
    """
    ### BEGIN SOLUTION
    x2 = x.copy()
    x2[0] = x2[0] + dx0
    hs, _ = rnn_forward(x, h0, Wxh, Whh, bh)
    hs2, _ = rnn_forward(x2, h0, Wxh, Whh, bh)
    m = np.linalg.norm(hs2[-1] - hs[-1], axis=1)
    ### END SOLUTION
    return m
''',
        "memory_probe",
    ),
    tests(
        """
check_memory_probe(memory_probe)
### BEGIN HIDDEN TESTS
check_memory_probe(memory_probe, hidden=True)
### END HIDDEN TESTS
""",
        "test_memory_probe",
        points=2,
    ),
    md(
        """
## Try it: how fast does the memory fade?

Not graded. The cell below uses your functions to measure the memory probe for sequences of
growing length, with a small and a large recurrent scale. With the small scale the first input
is quickly forgotten; compare with Chapter 2's figures.
"""
    ),
    code(
        """
rng = np.random.default_rng(0)
D, H = 4, 16
Wxh = rng.standard_normal((H, D)) / np.sqrt(D)
W = rng.standard_normal((H, H)) / np.sqrt(H)
for gain in (0.5, 1.5):
    ms = []
    for T in (1, 5, 10, 20, 40):
        x = 0.5 * rng.standard_normal((T, 1, D))
        dx0 = 1e-3 * rng.standard_normal((1, D))
        ms.append(memory_probe(x, np.zeros((1, H)), Wxh, gain * W, np.zeros(H), dx0)[0])
    print(f"gain {gain}:", " ".join(f"{m:.1e}" for m in ms))
"""
    ),
]

if __name__ == "__main__":
    print(write(f"solutions/{ID}/{ID}.ipynb", cells, title="Chapter 2 exercises: the hidden state"))
