"""Build the nbgrader source notebook of chapter 5, "Long sequences".

Run from the repository root::

    .venv/bin/python scripts/notebooks/ch05_long_sequences.py

It writes ``solutions/ch05_long_sequences/ch05_long_sequences.ipynb``. Four graded exercises
(9 points): the Jacobian of one step, gradient norm against time lag, clipping by global norm,
and a truncated-BPTT training loop that carries the hidden state across chunks.
"""
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from scripts.nbauthor import code, md, solution, tests, write  # noqa: E402

ID = "ch05_long_sequences"

cells = [
    md(
        """
# Chapter 5 exercises: long sequences

You will measure how a gradient changes as it travels back through time, and write the two
tools that make training on long sequences possible:

1. `step_jacobian(h_prev, x_t, Wxh, Whh, bh)` — the Jacobian of one step, `dh_t / dh_(t-1)`;
2. `gradient_norm_vs_lag(x, h0, Wxh, Whh, bh, dh_T)` — how big the gradient is `k` steps back;
3. `clip_by_global_norm(grads, max_norm)` — shorten an exploding update without turning it;
4. `train_tbptt(params, loss_fn, ids, T, B, lr, epochs, clip)` — truncated backpropagation
   through time, carrying the hidden state from chunk to chunk.

**How to check your work.** Write the function where it says `# YOUR CODE HERE` (delete the
`raise NotImplementedError()` line), run its cell, then run the test cell under it. A test cell
prints `... all checks passed.` when your function is right; otherwise it stops with a message
that says what is wrong. When grading, hidden checks run with other inputs and edge cases.
Use numpy only: the course's own `rnnlib` versions are switched off while your functions are checked.

Read Chapter 5 of the book, "Long sequences: vanishing and exploding gradients", first if you
have not.
"""
    ),
    code(
        """
import numpy as np
import matplotlib.pyplot as plt

from rnnlib.checks import (
    check_step_jacobian,
    check_gradient_norm_vs_lag,
    check_clip_by_global_norm,
    check_train_tbptt,
)
"""
    ),
    md(
        """
## Exercise 1: the Jacobian of one step (2 points)

For **one example** written with vectors, `h_t = tanh(Wxh @ x_t + Whh @ h_prev + bh)`. Write
`step_jacobian(h_prev, x_t, Wxh, Whh, bh)` that returns the `(H, H)` matrix

`J[i, j] = d h_t[i] / d h_prev[j] = (1 - h_t[i]**2) * Whh[i, j]`,

that is `diag(1 - h_t**2) @ Whh`: row `i` of `Whh` scaled by tanh's slope at unit `i`. Shapes:
`h_prev (H,)`, `x_t (D,)`, `Wxh (H, D)`, `Whh (H, H)`, `bh (H,)`.

*Hint:* `s[:, None] * Whh` scales row `i` by `s[i]` without building the diagonal matrix.
"""
    ),
    solution(
        '''
def step_jacobian(h_prev, x_t, Wxh, Whh, bh):
    """d h_t / d h_prev for one example, shape (H, H)."""
    ### BEGIN SOLUTION
    h_t = np.tanh(Wxh @ x_t + Whh @ h_prev + bh)
    return (1.0 - h_t**2)[:, None] * Whh
    ### END SOLUTION
''',
        "step_jacobian",
    ),
    tests(
        """
check_step_jacobian(step_jacobian)
### BEGIN HIDDEN TESTS
check_step_jacobian(step_jacobian, hidden=True)
### END HIDDEN TESTS
""",
        "test_step_jacobian",
        points=2,
    ),
    md(
        """
The largest singular value of `J` never exceeds that of `Whh`, because tanh's slope is at most 1:
"""
    ),
    code(
        """
rng = np.random.default_rng(0)
H, D = 6, 3
Whh = rng.standard_normal((H, H)) / np.sqrt(H)
J = step_jacobian(rng.standard_normal(H), rng.standard_normal(D), rng.standard_normal((H, D)), Whh, np.zeros(H))
print("largest singular value of J:  ", np.linalg.svd(J, compute_uv=False)[0])
print("largest singular value of Whh:", np.linalg.svd(Whh, compute_uv=False)[0])
"""
    ),
    md(
        """
## Exercise 2: gradient norm against time lag (2 points)

Write `gradient_norm_vs_lag(x, h0, Wxh, Whh, bh, dh_T)` for a batch (rows are examples):
`x (T, B, D)`, `h0 (B, H)`, `dh_T (B, H)` the gradient of the loss with respect to the **last**
hidden state only. Run the RNN forward (`h = tanh(x[t] @ Wxh.T + h @ Whh.T + bh)`, keeping
every state), then send `dh_T` back one step at a time with the hidden-state part of BPTT,

`dh = (dh * (1 - h_t**2)) @ Whh`   (from the gradient on `h_t` to the gradient on `h_(t-1)`),

and return a `(T + 1,)` array `norms` with `norms[k] = np.linalg.norm(gradient on h_(T-k))`:
`norms[0] = ||dh_T||`, `norms[T]` the norm of the gradient on `h0`. The slope `1 - h_t**2` at
each step back is the one of the state that step produced (the later one).
"""
    ),
    solution(
        '''
def gradient_norm_vs_lag(x, h0, Wxh, Whh, bh, dh_T):
    """norms[k] = ||dL/dh_(T-k)|| when only h_T receives the gradient dh_T; shape (T + 1,)."""
    ### BEGIN SOLUTION
    T = x.shape[0]
    states = [h0]
    for t in range(T):
        states.append(np.tanh(x[t] @ Wxh.T + states[-1] @ Whh.T + bh))
    norms = np.zeros(T + 1)
    dh = dh_T
    norms[0] = np.linalg.norm(dh)
    for k in range(1, T + 1):
        h_t = states[T - k + 1]
        dh = (dh * (1.0 - h_t**2)) @ Whh
        norms[k] = np.linalg.norm(dh)
    return norms
    ### END SOLUTION
''',
        "gradient_norm_vs_lag",
    ),
    tests(
        """
check_gradient_norm_vs_lag(gradient_norm_vs_lag)
### BEGIN HIDDEN TESTS
check_gradient_norm_vs_lag(gradient_norm_vs_lag, hidden=True)
### END HIDDEN TESTS
""",
        "test_gradient_norm_vs_lag",
        points=2,
    ),
    md(
        """
Now the book's experiment with your function: `Whh` a random orthogonal matrix (all singular
values 1) times a scale. Which scales make the gradient vanish, which make it explode?
"""
    ),
    code(
        """
rng = np.random.default_rng(0)
T, B, D, H = 50, 8, 3, 24
x = rng.standard_normal((T, B, D))
Wxh = rng.standard_normal((H, D)) * 0.3
Q, _ = np.linalg.qr(rng.standard_normal((H, H)))
dh_T = rng.standard_normal((B, H))
for scale in [0.5, 1.0, 1.5, 3.0]:
    norms = gradient_norm_vs_lag(x, np.zeros((B, H)), Wxh, scale * Q, np.zeros(H), dh_T)
    plt.semilogy(norms / norms[0], label=f"scale {scale}")
plt.xlabel("lag k")
plt.ylabel("relative gradient norm")
plt.legend();
"""
    ),
    md(
        """
## Exercise 3: clipping by global norm (2 points)

Write `clip_by_global_norm(grads, max_norm)`. `grads` is a dict of arrays (`"Wxh"`, `"Whh"`, ...).
Their **global norm** is `n = sqrt(sum over every array g of sum(g**2))`, the length of all
gradients flattened into one vector. If `n > max_norm`, multiply every array by the same factor
`max_norm / n`; otherwise leave the values as they are. Return `(clipped, n)`: a **new** dict of
new arrays (do not modify `grads` in place) and the norm **before** clipping.

```python
>>> clipped, n = clip_by_global_norm({"a": np.array([3.0]), "b": np.array([4.0])}, 1.0)
>>> n, clipped
(5.0, {'a': array([0.6]), 'b': array([0.8])})
```
"""
    ),
    solution(
        '''
def clip_by_global_norm(grads, max_norm):
    """Rescale all gradients by one factor so that their global norm is at most max_norm."""
    ### BEGIN SOLUTION
    norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    scale = max_norm / norm if norm > max_norm else 1.0
    return {k: g * scale for k, g in grads.items()}, norm
    ### END SOLUTION
''',
        "clip_by_global_norm",
    ),
    tests(
        """
check_clip_by_global_norm(clip_by_global_norm)
### BEGIN HIDDEN TESTS
check_clip_by_global_norm(clip_by_global_norm, hidden=True)
### END HIDDEN TESTS
""",
        "test_clip_by_global_norm",
        points=2,
    ),
    md(
        """
## Exercise 4: truncated BPTT that carries the state (3 points)

Write `train_tbptt(params, loss_fn, ids, T, B, lr, epochs=1, clip=None)`, a training loop with
plain SGD on a long sequence of integer ids `(N,)`:

1. **Streams.** Cut `ids` into `B` parallel streams: `L = len(ids) // B` and
   `streams = ids[:L * B].reshape(B, L).T`, shape `(L, B)`; column `b` is the `b`-th contiguous
   piece of the text.
2. **Chunks.** There are `n_chunks = (L - 1) // T` chunks (a ragged end is skipped). Chunk `c`
   reads `inputs = streams[c*T:(c+1)*T]` and predicts the next ids,
   `targets = streams[c*T+1:(c+1)*T+1]`, both `(T, B)`.
3. **State.** At the start of every epoch `h = np.zeros((B, H))` (`H = params["Whh"].shape[0]`).
   For each chunk in order: `loss, grads, h_last = loss_fn(params, inputs, targets, h)`, and then
   **carry** the state: `h = h_last` for the next chunk.
4. **Update.** If `clip` is not `None`, clip the gradients with your `clip_by_global_norm`.
   Then `params[k] -= lr * grads[k]` for every key.

Work on a copy of `params` (`{k: v.copy() for k, v in params.items()}`) and return
`(params, losses)`, with `losses` the list of every chunk's loss in order (`epochs * n_chunks`
values).

Why does carrying `h` not make the gradient flow across chunks? `h_last` is a plain array: the
next chunk treats it as a given starting point, so its gradient stops there. That is the
truncation; the model still *reads* across the cut.
"""
    ),
    solution(
        '''
def train_tbptt(params, loss_fn, ids, T, B, lr, epochs=1, clip=None):
    """Truncated BPTT with SGD over B streams of ids; returns (params, losses)."""
    ### BEGIN SOLUTION
    params = {k: v.copy() for k, v in params.items()}
    L = len(ids) // B
    streams = ids[: L * B].reshape(B, L).T
    n_chunks = (L - 1) // T
    H = params["Whh"].shape[0]
    losses = []
    for _ in range(epochs):
        h = np.zeros((B, H))
        for c in range(n_chunks):
            inputs = streams[c * T : (c + 1) * T]
            targets = streams[c * T + 1 : (c + 1) * T + 1]
            loss, grads, h = loss_fn(params, inputs, targets, h)
            if clip is not None:
                grads, _ = clip_by_global_norm(grads, clip)
            for k in params:
                params[k] -= lr * grads[k]
            losses.append(float(loss))
    return params, losses
    ### END SOLUTION
''',
        "train_tbptt",
    ),
    tests(
        """
check_train_tbptt(train_tbptt)
### BEGIN HIDDEN TESTS
check_train_tbptt(train_tbptt, hidden=True)
### END HIDDEN TESTS
""",
        "test_train_tbptt",
        points=3,
    ),
    md(
        """
Your loop trains the character model of the next chapter on the first 30,000 characters of the
Python documentation (`rnnlib.charlm.char_rnn_loss` is the loss function). The loss starts near
`ln V` (a uniform guess) and falls.
"""
    ),
    code(
        """
from rnnlib.charlm import char_rnn_loss, init_char_rnn
from rnnlib.data import build_vocab, load_text

text = load_text(max_chars=30_000)
vocab = build_vocab(text)
ids = vocab.encode(text)
params = init_char_rnn(len(vocab), 64, rng=0)
trained, losses = train_tbptt(params, char_rnn_loss, ids, T=25, B=16, lr=1.0, epochs=2, clip=5.0)
print(f"V = {len(vocab)}, ln V = {np.log(len(vocab)):.2f}")
print(f"mean loss of the first 10 chunks {np.mean(losses[:10]):.2f}, of the last 10 {np.mean(losses[-10:]):.2f}")
"""
    ),
]

if __name__ == "__main__":
    path = os.path.join("solutions", ID, f"{ID}.ipynb")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write(path, cells, title="Chapter 5 exercises: long sequences")
    print(f"wrote {path}")
