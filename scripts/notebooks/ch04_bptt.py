"""Build the nbgrader source notebook of chapter 4, "Backpropagation through time".

Run from the repository root::

    .venv/bin/python scripts/notebooks/ch04_bptt.py

It writes ``solutions/ch04_bptt/ch04_bptt.ipynb``. Five graded functions in four exercises
(10 points): the backward of one RNN step, BPTT over a sequence, a central-difference gradient
with its relative error, and a whole model's loss and gradients that pass a gradient check.
"""
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from scripts.nbauthor import code, md, solution, tests, write  # noqa: E402

ID = "ch04_bptt"

cells = [
    md(
        """
# Chapter 4 exercises: backpropagation through time

You will compute every gradient of a vanilla RNN by hand, and check it the way the book does:

1. `rnn_step_backward(dh_t, cache)` — the backward of one step;
2. `rnn_backward(dhs, cache)` — backpropagation through time over a whole sequence;
3. `numerical_gradient(f, x, h)` and `rel_error(a, b)` — a gradient check;
4. `rnn_loss(params, x, targets, h0)` — a whole model's loss and the gradient of every parameter.

**How to check your work.** Write the function where it says `# YOUR CODE HERE` (delete the
`raise NotImplementedError()` line), run its cell, then run the test cell under it. A test cell
prints `... all checks passed.` when your function is right; otherwise it stops with a message
that says which gradient is wrong and how (shape, sign, transpose, a missing time step). When
grading, hidden checks run with other inputs and edge cases (a single time step, a batch of one).
Use numpy only: the course's own `rnnlib` versions are switched off while your functions are checked.

Read Chapter 4 of the book, "Backpropagation through time", first if you have not. Shapes:
`x_t (B, D)`, `h (B, H)`, `Wxh (H, D)`, `Whh (H, H)`, `bh (H,)`; sequences are time-major,
`x (T, B, D)`, `hs (T, B, H)`.
"""
    ),
    code(
        """
import numpy as np

from rnnlib.checks import (
    check_rnn_step_backward,
    check_rnn_backward,
    check_numerical_gradient,
    check_rel_error,
    check_rnn_loss,
)
"""
    ),
    md(
        """
The forward passes are given (you wrote them in chapter 2). Each returns its output and a
`cache` tuple with what the backward will need.
"""
    ),
    code(
        '''
def rnn_step_forward(x_t, h_prev, Wxh, Whh, bh):
    """h_t = tanh(x_t @ Wxh.T + h_prev @ Whh.T + bh); cache = (x_t, h_prev, h_t, Wxh, Whh)."""
    h_t = np.tanh(x_t @ Wxh.T + h_prev @ Whh.T + bh)
    return h_t, (x_t, h_prev, h_t, Wxh, Whh)


def rnn_forward(x, h0, Wxh, Whh, bh):
    """All hidden states hs (T, B, H), hs[t] after reading x[t]; cache = (x, h0, hs, Wxh, Whh)."""
    T, B, _ = x.shape
    hs = np.zeros((T, B, Whh.shape[0]))
    h = h0
    for t in range(T):
        h, _ = rnn_step_forward(x[t], h, Wxh, Whh, bh)
        hs[t] = h
    return hs, (x, h0, hs, Wxh, Whh)
''',
        "forward",
    ),
    md(
        """
## Exercise 1: the backward of one step (2 points)

Write `rnn_step_backward(dh_t, cache)`. It receives `dh_t (B, H)`, the gradient of the loss
with respect to `h_t`, and the `cache` of `rnn_step_forward`, and returns the gradients on
everything the step read, **in the forward's order**:
`(dx_t (B, D), dh_prev (B, H), dWxh (H, D), dWhh (H, H), dbh (H,))`.

With `dz = dh_t * (1 - h_t**2)` (tanh's derivative, from the `h_t` in the cache), the batched
chain rule is `dx_t = dz @ Wxh`, `dh_prev = dz @ Whh`, `dWxh = dz.T @ x_t`,
`dWhh = dz.T @ h_prev`, `dbh = dz.sum(axis=0)`. Check each shape before you trust it: a
gradient always has the shape of the thing it differentiates.
"""
    ),
    solution(
        '''
def rnn_step_backward(dh_t, cache):
    """Gradients of one RNN step: (dx_t, dh_prev, dWxh, dWhh, dbh)."""
    x_t, h_prev, h_t, Wxh, Whh = cache
    ### BEGIN SOLUTION
    dz = dh_t * (1.0 - h_t**2)
    dx_t = dz @ Wxh
    dh_prev = dz @ Whh
    dWxh = dz.T @ x_t
    dWhh = dz.T @ h_prev
    dbh = dz.sum(axis=0)
    return dx_t, dh_prev, dWxh, dWhh, dbh
    ### END SOLUTION
''',
        "rnn_step_backward",
    ),
    tests(
        """
check_rnn_step_backward(rnn_step_forward, rnn_step_backward)
### BEGIN HIDDEN TESTS
check_rnn_step_backward(rnn_step_forward, rnn_step_backward, hidden=True)
### END HIDDEN TESTS
""",
        "test_rnn_step_backward",
        points=2,
    ),
    md(
        """
## Exercise 2: backpropagation through time (3 points)

Write `rnn_backward(dhs, cache)`. `dhs (T, B, H)` is the gradient arriving at every hidden
state from above (from the outputs); `cache = (x, h0, hs, Wxh, Whh)` comes from `rnn_forward`.
Return `(dx (T, B, D), dh0 (B, H), dWxh (H, D), dWhh (H, H), dbh (H,))`.

Walk time backwards, `t = T-1, ..., 0`, and at each step:

* add the two paths into `h_t`: `dhs[t]` plus the `dh_prev` that step `t+1` sent back (zeros at
  the last step);
* call your `rnn_step_backward` with a step cache `(x[t], h_prev, hs[t], Wxh, Whh)`, where
  `h_prev` is `h0` at `t = 0` and `hs[t-1]` otherwise;
* store `dx[t]`, keep `dh_prev` for the next (earlier) step, and **add** the step's weight
  gradients to the totals: the weights are shared by every step, so their gradient is a sum over `t`.

After the loop, the last `dh_prev` is `dh0`.
"""
    ),
    solution(
        '''
def rnn_backward(dhs, cache):
    """Backpropagation through time: (dx, dh0, dWxh, dWhh, dbh)."""
    x, h0, hs, Wxh, Whh = cache
    ### BEGIN SOLUTION
    T = x.shape[0]
    dx = np.zeros_like(x)
    dWxh = np.zeros_like(Wxh)
    dWhh = np.zeros_like(Whh)
    dbh = np.zeros(Whh.shape[0])
    dh_next = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        h_prev = h0 if t == 0 else hs[t - 1]
        step_cache = (x[t], h_prev, hs[t], Wxh, Whh)
        dx[t], dh_next, dWxh_t, dWhh_t, dbh_t = rnn_step_backward(dhs[t] + dh_next, step_cache)
        dWxh += dWxh_t
        dWhh += dWhh_t
        dbh += dbh_t
    return dx, dh_next, dWxh, dWhh, dbh
    ### END SOLUTION
''',
        "rnn_backward",
    ),
    tests(
        """
check_rnn_backward(rnn_forward, rnn_backward)
### BEGIN HIDDEN TESTS
check_rnn_backward(rnn_forward, rnn_backward, hidden=True)
### END HIDDEN TESTS
""",
        "test_rnn_backward",
        points=3,
    ),
    md(
        """
## Exercise 3: a gradient check (2 + 1 points)

Write `numerical_gradient(f, x, h=1e-5)`: the central-difference estimate of the gradient of a
scalar function `f` at the float64 array `x` (any shape). For every index `i` of `x`
(`np.ndindex(x.shape)` lists them), set `x[i]` to `old + h`, evaluate `f(x)`, set it to
`old - h`, evaluate again, **put `old` back**, and store `(f_plus - f_minus) / (2 * h)`. Return an
array of the shape of `x`; `x` must be unchanged when you return.

Then write `rel_error(a, b)`: `||a - b|| / (||a|| + ||b||)` with norms over all entries
(`np.linalg.norm`), returning a float, and `0.0` when both arrays are all zeros.

```python
>>> numerical_gradient(lambda v: float(np.sum(v**2)), np.array([1.0, -2.0]))
array([ 2., -4.])     # up to about 1e-10
>>> rel_error(np.array([1.0, 0.0]), np.array([1.0, 0.0]))
0.0
```
"""
    ),
    solution(
        '''
def numerical_gradient(f, x, h=1e-5):
    """Central differences (f(x + h e_i) - f(x - h e_i)) / 2h for every index i of x."""
    ### BEGIN SOLUTION
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad
    ### END SOLUTION
''',
        "numerical_gradient",
    ),
    tests(
        """
check_numerical_gradient(numerical_gradient)
### BEGIN HIDDEN TESTS
check_numerical_gradient(numerical_gradient, hidden=True)
### END HIDDEN TESTS
""",
        "test_numerical_gradient",
        points=2,
    ),
    solution(
        '''
def rel_error(a, b):
    """||a - b|| / (||a|| + ||b||), or 0.0 when both are zero."""
    ### BEGIN SOLUTION
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    if denom == 0:
        return 0.0
    return float(np.linalg.norm(a - b) / denom)
    ### END SOLUTION
''',
        "rel_error",
    ),
    tests(
        """
check_rel_error(rel_error)
### BEGIN HIDDEN TESTS
check_rel_error(rel_error, hidden=True)
### END HIDDEN TESTS
""",
        "test_rel_error",
        points=1,
    ),
    md(
        """
Your two functions now check your `rnn_backward`. Take the loss `L = sum(hs * dhs)` for a fixed
random `dhs`: its gradient with respect to `Whh` is the `dWhh` your backward returns for that
`dhs`. A correct gradient gives a relative error below `1e-7`.
"""
    ),
    code(
        """
rng = np.random.default_rng(0)
T, B, D, H = 5, 3, 4, 6
x = rng.standard_normal((T, B, D))
h0 = rng.standard_normal((B, H))
Wxh = rng.standard_normal((H, D)) * 0.5
Whh = rng.standard_normal((H, H)) * 0.5
bh = rng.standard_normal(H) * 0.3
dhs = rng.standard_normal((T, B, H))

hs, cache = rnn_forward(x, h0, Wxh, Whh, bh)
dWhh = rnn_backward(dhs, cache)[3]
num = numerical_gradient(lambda W: float(np.sum(rnn_forward(x, h0, Wxh, W, bh)[0] * dhs)), Whh.copy())
print(f"relative error of dWhh: {rel_error(dWhh, num):.1e}")
"""
    ),
    md(
        """
## Exercise 4: the whole model (2 points)

Write `rnn_loss(params, x, targets, h0)` for an RNN that classifies every time step:

* `h_t = tanh(x_t @ Wxh.T + h_(t-1) @ Whh.T + bh)` (use `rnn_forward`);
* `logits_t = h_t @ Why.T + by`, shape `(T, B, V)`;
* the loss is the softmax cross-entropy **averaged over all `T * B` positions**:
  `-mean(log softmax(logits)[t, b, targets[t, b]])`.

`params` is a dict with keys `"Wxh" (H, D)`, `"Whh" (H, H)`, `"bh" (H,)`, `"Why" (V, H)`,
`"by" (V,)`; `x` is `(T, B, D)`, `targets` is a `(T, B)` integer array and `h0` is `(B, H)`.
Return `(loss, grads, h_last)`: the loss as a float, a dict `grads` with the same keys and
shapes as `params`, and the last hidden state `hs[-1]`.

Backwards: `dlogits = (softmax(logits) - onehot(targets)) / (T * B)`; then
`dWhy = sum over t and b of dlogits[t, b] outer hs[t, b]` (reshape to `(T*B, ...)` and use one
product), `dby` the sum of `dlogits`, `dhs = dlogits @ Why`; finally your `rnn_backward` gives the
rest. The `softmax` below is given.
"""
    ),
    code(
        '''
def softmax(logits):
    """Softmax over the last axis, computed stably."""
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
''',
        "softmax",
    ),
    solution(
        '''
def rnn_loss(params, x, targets, h0):
    """Mean cross-entropy of an RNN classifier, its gradients and the last hidden state."""
    Wxh, Whh, bh, Why, by = (params[k] for k in ("Wxh", "Whh", "bh", "Why", "by"))
    ### BEGIN SOLUTION
    T, B, _ = x.shape
    H, V = Whh.shape[0], Why.shape[0]
    hs, cache = rnn_forward(x, h0, Wxh, Whh, bh)
    logits = hs @ Why.T + by
    probs = softmax(logits)
    t_idx, b_idx = np.meshgrid(np.arange(T), np.arange(B), indexing="ij")
    loss = -np.mean(np.log(probs[t_idx, b_idx, targets]))
    dlogits = probs.copy()
    dlogits[t_idx, b_idx, targets] -= 1.0
    dlogits /= T * B
    dWhy = dlogits.reshape(T * B, V).T @ hs.reshape(T * B, H)
    dby = dlogits.sum(axis=(0, 1))
    dhs = dlogits @ Why
    _, _, dWxh, dWhh, dbh = rnn_backward(dhs, cache)
    grads = {"Wxh": dWxh, "Whh": dWhh, "bh": dbh, "Why": dWhy, "by": dby}
    return float(loss), grads, hs[-1]
    ### END SOLUTION
''',
        "rnn_loss",
    ),
    tests(
        """
check_rnn_loss(rnn_loss)
### BEGIN HIDDEN TESTS
check_rnn_loss(rnn_loss, hidden=True)
### END HIDDEN TESTS
""",
        "test_rnn_loss",
        points=2,
    ),
    md(
        """
Finally, the gradient check of the whole model with your own tools: every parameter, entry by
entry. All five relative errors should be below `1e-7`.
"""
    ),
    code(
        """
rng = np.random.default_rng(1)
T, B, D, H, V = 4, 2, 3, 5, 6
params = {"Wxh": rng.standard_normal((H, D)) * 0.5, "Whh": rng.standard_normal((H, H)) * 0.5,
          "bh": np.zeros(H), "Why": rng.standard_normal((V, H)) * 0.5, "by": np.zeros(V)}
x = rng.standard_normal((T, B, D))
targets = rng.integers(0, V, size=(T, B))
h0 = np.zeros((B, H))
loss, grads, _ = rnn_loss(params, x, targets, h0)
print(f"loss {loss:.4f} (a uniform guess scores ln V = {np.log(V):.4f})")
for name in params:
    num = numerical_gradient(lambda p: rnn_loss(params, x, targets, h0)[0], params[name])
    print(f"d{name:<4} relative error {rel_error(grads[name], num):.1e}")
"""
    ),
]

if __name__ == "__main__":
    path = os.path.join("solutions", ID, f"{ID}.ipynb")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write(path, cells, title="Chapter 4 exercises: backpropagation through time")
    print(f"wrote {path}")
