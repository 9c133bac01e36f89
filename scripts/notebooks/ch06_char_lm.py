"""Build the nbgrader source notebook of chapter 6, "Project: a character-level language model".

Run from the repository root::

    .venv/bin/python scripts/notebooks/ch06_char_lm.py

It writes ``solutions/ch06_char_lm/ch06_char_lm.ipynb``. Three graded exercises (6 points):
sampling with temperature, one training step with gradient clipping, bits per character.
"""
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from scripts.nbauthor import code, md, solution, tests, write  # noqa: E402

ID = "ch06_char_lm"

cells = [
    md(
        """
# Chapter 6 exercises: a character-level language model

A character RNN reads text one character at a time and predicts the next one. The course's
`rnnlib.charlm.char_rnn_loss(params, inputs, targets, h0)` already computes its loss and
gradients; you will write the three pieces around it that make it a language model you can
train, score and listen to:

1. `sample(params, first_id, n, temperature, rng)` — generate text, with a temperature;
2. `train_step(params, inputs, targets, h0, lr, max_norm)` — one training step with gradient
   clipping;
3. `bits_per_char(loss_nats)` — the score of a language model.

The parameters are a dict with `Wxh (H, V)`, `Whh (H, H)`, `bh (H,)`, `Why (V, H)`, `by (V,)`,
where `V` is the vocabulary size and `H` the hidden size.

**How to check your work.** Write each function where it says `# YOUR CODE HERE` (delete the
`raise NotImplementedError()` line), run its cell, then run the test cell under it. A test cell
prints `... all checks passed.` when your function is right; otherwise it stops with a message
that says what is wrong. When grading, further hidden checks run with other inputs and shapes,
so write the general function. Use numpy (and `char_rnn_loss` where the exercise says so): the
course's own versions of these three functions are switched off while yours are checked.

Read Chapter 6 of the book first if you have not.
"""
    ),
    code(
        """
import numpy as np

from rnnlib.charlm import char_rnn_loss
from rnnlib.checks import check_sample, check_train_step, check_bits_per_char
""",
        "setup",
    ),
    md(
        """
## Exercise 1: sampling with temperature (3 points)

To write text, the model reads a character, predicts a distribution over the next one, draws a
character from it, and reads *that* character next. Write
`sample(params, first_id, n, temperature=1.0, rng=None)` that returns the `n` generated ids as
an integer array of shape `(n,)`:

* start from the hidden state `h = 0` (size `H`) and the input `first_id` (not part of the output);
* at each of the `n` steps: `h = tanh(Wxh[:, idx] + Whh @ h + bh)` (the product of `Wxh` with a
  one-hot vector is just column `idx`), logits `z = Why @ h + by`, probabilities
  `p = softmax(z / temperature)`, and draw the next `idx` with **`rng.choice(V, p=p)`**;
* feed each drawn id back in as the next input, and keep `h` from step to step.

For reproducible text, turn the `rng` argument into a generator once with
`rng = np.random.default_rng(rng)` (it accepts a seed, a generator or `None`) and draw **exactly
once per character** with `rng.choice(V, p=p)`. The test checks both that a fixed seed gives
the reference's characters and, over thousands of draws, that each character comes out as often
as `p` says.

*Hint:* subtract `z.max()` before `np.exp` so that a small temperature cannot overflow.
"""
    ),
    solution(
        '''
def sample(params, first_id, n, temperature=1.0, rng=None):
    """Generate n character ids from a character RNN.

    Parameters
    ----------
    params : dict with Wxh (H, V), Whh (H, H), bh (H,), Why (V, H), by (V,)
    first_id : int, the character read first
    n : int, how many characters to generate
    temperature : float > 0
    rng : int | numpy.random.Generator | None

    Returns
    -------
    ids : (n,) int ndarray
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(rng)
    Wxh, Whh, bh, Why, by = (params[k] for k in ("Wxh", "Whh", "bh", "Why", "by"))
    H, V = Wxh.shape
    h = np.zeros(H)
    idx = first_id
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        h = np.tanh(Wxh[:, idx] + Whh @ h + bh)
        z = (Why @ h + by) / temperature
        p = np.exp(z - z.max())
        p /= p.sum()
        idx = int(rng.choice(V, p=p))
        out[i] = idx
    return out
    ### END SOLUTION
''',
        "sample",
    ),
    tests(
        """
check_sample(sample)
### BEGIN HIDDEN TESTS
check_sample(sample, hidden=True)
### END HIDDEN TESTS
""",
        "test_sample",
        points=3,
    ),
    md(
        """
Your sampler on a model trained for a few seconds on the Python documentation (the book's model
trains for a minute; this one is smaller, so expect something closer to word salad):
"""
    ),
    code(
        """
from rnnlib.charlm import train_char_rnn
from rnnlib.data import build_vocab, load_text

small_text = load_text(max_chars=60_000)
vocab = build_vocab(small_text)
params, history = train_char_rnn(small_text, vocab, H=64, T=32, B=16, steps=300, rng=0, progress=False)
for tau in (0.5, 1.0):
    print(f"--- temperature {tau} ---")
    print(vocab.decode(sample(params, vocab.encode(" ")[0], 200, tau, rng=0)))
"""
    ),
    md(
        """
## Exercise 2: one training step with clipping (2 points)

Write `train_step(params, inputs, targets, h0, lr, max_norm)` that makes one step of truncated
BPTT and returns `(loss, grad_norm, h_last)`:

1. `loss, grads, h_last = char_rnn_loss(params, inputs, targets, h0)` (given; `inputs` and
   `targets` are `(T, B)` integer arrays, `h0` is `(B, H)`);
2. the **global norm** of the gradients, as if all of them were flattened into one long vector:
   `grad_norm = sqrt(sum over all keys of sum(g ** 2))`;
3. **clip by global norm**: if `grad_norm > max_norm`, multiply *every* gradient by the same
   factor `max_norm / grad_norm` (this keeps the direction of the update and only shortens it);
   otherwise leave them as they are;
4. update every parameter with gradient descent, `params[k] -= lr * g[k]`, in the dict you were
   given;
5. return `loss`, `grad_norm` **before** clipping (the number worth logging: spikes are exploding
   gradients) and `h_last` (to start the next chunk).
"""
    ),
    solution(
        '''
def train_step(params, inputs, targets, h0, lr, max_norm):
    """One SGD step on one chunk, with gradients clipped by their global norm.

    Parameters
    ----------
    params : dict of parameters, updated in place
    inputs, targets : (T, B) int ndarray
    h0 : (B, H) ndarray
    lr : float, learning rate
    max_norm : float, largest allowed global gradient norm

    Returns
    -------
    loss : float
    grad_norm : float, the global norm before clipping
    h_last : (B, H) ndarray
    """
    ### BEGIN SOLUTION
    loss, grads, h_last = char_rnn_loss(params, inputs, targets, h0)
    grad_norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    scale = max_norm / grad_norm if grad_norm > max_norm else 1.0
    for k in params:
        params[k] -= lr * scale * grads[k]
    return loss, grad_norm, h_last
    ### END SOLUTION
''',
        "train_step",
    ),
    tests(
        """
check_train_step(train_step)
### BEGIN HIDDEN TESTS
check_train_step(train_step, hidden=True)
### END HIDDEN TESTS
""",
        "test_train_step",
        points=2,
    ),
    md(
        """
## Exercise 3: bits per character (1 point)

`char_rnn_loss` returns the mean cross-entropy in **nats** (natural logarithms). Language models
are usually scored in **bits** per character (logarithms base 2): the number of yes/no questions
a compressor built on the model would need per character. Write `bits_per_char(loss_nats)`
returning a float. A model that guesses uniformly among `V` characters has a loss of `ln V` nats
and must score `log2 V` bits.

*Hint:* $\\log_2 p = \\ln p / \\ln 2$.
"""
    ),
    solution(
        '''
def bits_per_char(loss_nats):
    """Cross-entropy in nats -> bits per character."""
    ### BEGIN SOLUTION
    return float(loss_nats) / np.log(2.0)
    ### END SOLUTION
''',
        "bits_per_char",
    ),
    tests(
        """
check_bits_per_char(bits_per_char)
### BEGIN HIDDEN TESTS
check_bits_per_char(bits_per_char, hidden=True)
### END HIDDEN TESTS
""",
        "test_bits_per_char",
        points=1,
    ),
    md(
        """
Now train a few steps with your own `train_step` and watch the score fall, starting from about
`log2 V` bits:
"""
    ),
    code(
        """
from rnnlib.charlm import init_char_rnn
from rnnlib.data import make_batches

ids = vocab.encode(small_text)
inputs, targets = make_batches(ids, T=32, B=16)
p = init_char_rnn(len(vocab), 64, rng=1)
h = np.zeros((16, 64))
for k in range(60):
    loss, norm, h = train_step(p, inputs[k], targets[k], h, lr=0.5, max_norm=5.0)
    if k % 15 == 0:
        print(f"step {k:2d}: {bits_per_char(loss):.3f} bits/char, gradient norm {norm:.2f}")
print(f"uniform guessing: {np.log2(len(vocab)):.3f} bits/char")
"""
    ),
    md(
        """
## What you built

A sampler with temperature, a clipped training step and the standard score: with
`char_rnn_loss` these are a complete character-level language model. The book's chapter trains
one for a minute and compares it with n-gram baselines.
"""
    ),
]

if __name__ == "__main__":
    out = os.path.join("solutions", ID, f"{ID}.ipynb")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    write(out, cells, title="Chapter 6: A character-level language model")
    print("wrote", out)
