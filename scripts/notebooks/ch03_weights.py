"""Build the nbgrader source notebook of chapter 3, "The weight matrices and weight sharing".

Run from the repository root::

    .venv/bin/python scripts/notebooks/ch03_weights.py

It writes ``solutions/ch03_weights/ch03_weights.ipynb``. Five graded exercises (10 points):
initialise the parameters from a seed, count them, the output layer over time, the masked
softmax cross-entropy over time, and the loss of an untrained model (compared with ``ln V``).
"""
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from scripts.nbauthor import code, md, solution, tests, write  # noqa: E402

ID = "ch03_weights"

cells = [
    md(
        """
# Chapter 3 exercises: the weight matrices and weight sharing

A character RNN is $h_t = \\tanh(W_{xh} x_t + W_{hh} h_{t-1} + b_h)$ and
$y_t = W_{hy} h_t + b_y$, with the same five parameters at every time step. You will write:

1. `init_rnn_params(D, H, O, rng)` — the five arrays, with the right shapes, from a seed;
2. `count_parameters(params)` — how many numbers they hold;
3. `output_forward(hs, Why, by)` — the output layer at every time step;
4. `sequence_cross_entropy(logits, targets, mask=None)` — the loss over time, with a mask;
5. `initial_loss(params, x, targets)` — the loss of a whole (untrained) model, to compare with $\\ln V$.

**Shapes.** Parameters live in a dict with the keys `"Wxh"` `(H, D)`, `"Whh"` `(H, H)`,
`"bh"` `(H,)`, `"Why"` `(O, H)`, `"by"` `(O,)`. Sequences are time-major and examples are rows:
hidden states `hs` are `(T, B, H)`, logits are `(T, B, O)`, targets are `(T, B)` integers.

**How to check your work.** Write the function where it says `# YOUR CODE HERE` (delete the
`raise NotImplementedError()` line), run its cell, then run the test cell under it. A test cell
prints `... all checks passed.` when your function is right; otherwise it stops with a message
that says what is wrong. When grading, further hidden checks run with other shapes and seeds,
so write the general function. Use numpy only: the course's own `rnnlib` versions are switched
off while your functions are checked.

Read Chapter 3 of the book, "The weight matrices and weight sharing", first if you have not.
"""
    ),
    code(
        """
import numpy as np

from rnnlib.checks import (
    check_init_rnn_params,
    check_count_parameters,
    check_output_forward,
    check_sequence_cross_entropy,
    check_initial_loss,
)
""",
        "setup",
    ),
    md(
        """
## Exercise 1: initial parameters from a seed (2 points)

Write `init_rnn_params(D, H, O, rng=None)` returning a dict with the five keys:

* `"Wxh"`: shape `(H, D)`, entries from a normal distribution with mean 0 and standard
  deviation `1 / sqrt(D)`;
* `"Whh"`: shape `(H, H)`, standard deviation `1 / sqrt(H)`;
* `"Why"`: shape `(O, H)`, standard deviation `1 / sqrt(H)`;
* `"bh"`: zeros of shape `(H,)`; `"by"`: zeros of shape `(O,)`.

Each weight's scale is `1 / sqrt(fan_in)`, where the fan-in is the number of **columns** (the
size of the vector the matrix multiplies). `rng` is a seed (an int), a
`np.random.Generator`, or `None`: start with `rng = np.random.default_rng(rng)`, which accepts all
three, and draw every weight from it (`rng.standard_normal(shape)`), so that the same seed always
gives the same parameters. Never use `np.random.randn` or `np.random.seed`.
"""
    ),
    solution(
        '''
def init_rnn_params(D, H, O, rng=None):
    """Initial parameters of an RNN with input size D, hidden size H, output size O.

    Parameters
    ----------
    D, H, O : int
    rng : int | numpy.random.Generator | None

    Returns
    -------
    params : dict
        Wxh (H, D), Whh (H, H), bh (H,), Why (O, H), by (O,).
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(rng)
    params = {
        "Wxh": rng.standard_normal((H, D)) / np.sqrt(D),
        "Whh": rng.standard_normal((H, H)) / np.sqrt(H),
        "bh": np.zeros(H),
        "Why": rng.standard_normal((O, H)) / np.sqrt(H),
        "by": np.zeros(O),
    }
    ### END SOLUTION
    return params
''',
        "init_rnn_params",
    ),
    tests(
        """
check_init_rnn_params(init_rnn_params)
### BEGIN HIDDEN TESTS
check_init_rnn_params(init_rnn_params, hidden=True)
### END HIDDEN TESTS
""",
        "test_init_rnn_params",
        points=2,
    ),
    md(
        """
## Exercise 2: counting parameters (1 point)

Write `count_parameters(params)` returning, as an `int`, the total number of numbers in all the
arrays of a dict. It must work for any dict of arrays, not only an RNN's five keys. For an RNN
the answer is $HD + H^2 + H + OH + O$; for example `D = 3, H = 5, O = 4` gives 79.
"""
    ),
    solution(
        '''
def count_parameters(params):
    """Total number of scalars in a dict of arrays.

    Parameters
    ----------
    params : dict of str -> ndarray

    Returns
    -------
    int
    """
    ### BEGIN SOLUTION
    total = int(sum(p.size for p in params.values()))
    ### END SOLUTION
    return total
''',
        "count_parameters",
    ),
    tests(
        """
check_count_parameters(count_parameters)
### BEGIN HIDDEN TESTS
check_count_parameters(count_parameters, hidden=True)
### END HIDDEN TESTS
""",
        "test_count_parameters",
        points=1,
    ),
    md(
        """
## Exercise 3: the output layer over time (2 points)

Write `output_forward(hs, Why, by)` returning a pair `(ys, cache)`:

* `hs`: `(T, B, H)` hidden states; `Why`: `(O, H)`; `by`: `(O,)`;
* `ys`: `(T, B, O)` with `ys[t] = hs[t] @ Why.T + by` at every step: the same weights at every
  time step (weight sharing). No softmax here: these are the raw scores (logits);
* `cache`: return `(hs, Why)` (a backward pass will need it in chapter 4).

*Hint:* `@` works on the last two axes, so `hs @ Why.T` computes all `T` steps at once.
"""
    ),
    solution(
        '''
def output_forward(hs, Why, by):
    """Affine output layer applied at every time step.

    Parameters
    ----------
    hs : (T, B, H) ndarray
    Why : (O, H) ndarray
    by : (O,) ndarray

    Returns
    -------
    ys : (T, B, O) ndarray
    cache : tuple
    """
    ### BEGIN SOLUTION
    ys = hs @ Why.T + by
    cache = (hs, Why)
    ### END SOLUTION
    return ys, cache
''',
        "output_forward",
    ),
    tests(
        """
check_output_forward(output_forward)
### BEGIN HIDDEN TESTS
check_output_forward(output_forward, hidden=True)
### END HIDDEN TESTS
""",
        "test_output_forward",
        points=2,
    ),
    md(
        """
## Exercise 4: softmax cross-entropy over time, with a mask (3 points)

Write `sequence_cross_entropy(logits, targets, mask=None)` returning one `float`, the mean
negative log-probability of the targets over the positions that count:

$$L = -\\frac{1}{N} \\sum_{t, b} m_{t,b} \\ln \\mathrm{softmax}(\\text{logits}[t, b])[\\text{targets}[t, b]],
\\qquad N = \\sum_{t,b} m_{t,b}.$$

* `logits`: `(T, B, V)` scores; `targets`: `(T, B)` integers in `0 .. V-1`;
* `mask`: `(T, B)` booleans, `True` where the position counts and `False` on padding;
  `None` means every position counts;
* the result is in nats (natural log), averaged over the **unmasked** positions (divide by
  `mask.sum()`, not by `T * B`).

For numerical stability subtract each row's largest logit before `np.exp` (the softmax does
not change): then $\\ln \\mathrm{softmax}(z)_k = z_k - \\ln \\sum_j e^{z_j}$ never overflows.
`np.take_along_axis(a, targets[..., None], axis=-1)[..., 0]` picks `a[t, b, targets[t, b]]`.
"""
    ),
    solution(
        '''
def sequence_cross_entropy(logits, targets, mask=None):
    """Mean softmax cross-entropy over the unmasked positions.

    Parameters
    ----------
    logits : (T, B, V) ndarray
    targets : (T, B) int ndarray
    mask : (T, B) bool ndarray or None

    Returns
    -------
    loss : float
    """
    ### BEGIN SOLUTION
    if mask is None:
        mask = np.ones(targets.shape, dtype=bool)
    z = logits - logits.max(axis=-1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    nll = -np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
    loss = float((nll * mask).sum() / mask.sum())
    ### END SOLUTION
    return loss
''',
        "sequence_cross_entropy",
    ),
    tests(
        """
check_sequence_cross_entropy(sequence_cross_entropy)
### BEGIN HIDDEN TESTS
check_sequence_cross_entropy(sequence_cross_entropy, hidden=True)
### END HIDDEN TESTS
""",
        "test_sequence_cross_entropy",
        points=3,
    ),
    md(
        """
## Exercise 5: the loss of an untrained model (2 points)

Put the pieces together. The RNN forward pass of chapter 2 is given in the next cell (run it).
Then write `initial_loss(params, x, targets)` returning the model's loss as a `float`:

1. start from `h0 = np.zeros((B, H))`;
2. run `rnn_forward` over `x` (`(T, B, D)`) with `params["Wxh"]`, `params["Whh"]`, `params["bh"]`;
3. apply your `output_forward` with `params["Why"]`, `params["by"]` to every hidden state;
4. return your `sequence_cross_entropy` of those logits and `targets` (`(T, B)`), no mask.

The function is called *initial* because you will use it on untrained parameters, but it must
work for any parameters: the checker uses parameters that are far from an initialisation.
"""
    ),
    code(
        """
def rnn_forward(x, h0, Wxh, Whh, bh):
    \"\"\"Chapter 2's RNN over a sequence: returns (hs (T, B, H), cache).\"\"\"
    hs = np.zeros((x.shape[0], h0.shape[0], Whh.shape[0]))
    h = h0
    for t in range(x.shape[0]):
        h = np.tanh(x[t] @ Wxh.T + h @ Whh.T + bh)
        hs[t] = h
    return hs, (x, h0, hs, Wxh, Whh)
""",
        "given_rnn_forward",
    ),
    solution(
        '''
def initial_loss(params, x, targets):
    """Mean cross-entropy of an RNN language model with parameters ``params``.

    Parameters
    ----------
    params : dict
        Wxh (H, D), Whh (H, H), bh (H,), Why (V, H), by (V,).
    x : (T, B, D) ndarray
    targets : (T, B) int ndarray

    Returns
    -------
    loss : float
    """
    ### BEGIN SOLUTION
    B = x.shape[1]
    H = params["Whh"].shape[0]
    hs, _ = rnn_forward(x, np.zeros((B, H)), params["Wxh"], params["Whh"], params["bh"])
    ys, _ = output_forward(hs, params["Why"], params["by"])
    loss = sequence_cross_entropy(ys, targets)
    ### END SOLUTION
    return loss
''',
        "initial_loss",
    ),
    tests(
        """
check_initial_loss(initial_loss)
### BEGIN HIDDEN TESTS
check_initial_loss(initial_loss, hidden=True)
### END HIDDEN TESTS
""",
        "test_initial_loss",
        points=2,
    ),
    md(
        """
## Try it: is the untrained loss close to ln V?

Not graded. The cell below builds a small character model with your `init_rnn_params`, reads a
piece of the Python documentation, and compares your `initial_loss` with $\\ln V$, the loss of a
uniform guess. Then it shrinks the output weights: the loss should move to $\\ln V$ exactly.
"""
    ),
    code(
        """
from rnnlib.data import build_vocab, load_text, one_hot

text = load_text(max_chars=20000)
vocab = build_vocab(text)
V, H, T, B = len(vocab), 32, 50, 8
ids = vocab.encode(text[: T * B + 1])
x = one_hot(ids[:-1].reshape(B, T).T, V)   # (T, B, V)
targets = ids[1:].reshape(B, T).T           # (T, B): the next character
params = init_rnn_params(V, H, V, rng=0)
print(f"V = {V}, parameters: {count_parameters(params)}")
print(f"initial loss {initial_loss(params, x, targets):.4f}   ln V = {np.log(V):.4f}")
print(f"with Why = 0: {initial_loss({**params, 'Why': 0 * params['Why']}, x, targets):.4f}")
"""
    ),
]

if __name__ == "__main__":
    print(write(f"solutions/{ID}/{ID}.ipynb", cells, title="Chapter 3 exercises: the weight matrices and weight sharing"))
