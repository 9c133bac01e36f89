"""Build the nbgrader source notebook of chapter 7, "Beyond the vanilla RNN".

Run from the repository root::

    .venv/bin/python scripts/notebooks/ch07_beyond.py

It writes ``solutions/ch07_beyond/ch07_beyond.ipynb``. Three graded exercises (6 points): an
LSTM step forward, forecasting windows, the last-value baseline; and an optional, ungraded LSTM
step backward checked with the gradient checker.
"""
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from scripts.nbauthor import code, md, solution, tests, write  # noqa: E402

ID = "ch07_beyond"

cells = [
    md(
        """
# Chapter 7 exercises: beyond the vanilla RNN

You will write the LSTM cell that solves the long-lag problems of chapter 5, and the two pieces
every forecasting experiment needs:

1. `lstm_step_forward(x_t, h_prev, c_prev, Wx, Wh, b)` — one step of an LSTM;
2. `forecast_windows(series, window, horizon)` — time-major forecasting examples from a series;
3. `last_value_forecast(x, horizon)` — the baseline every forecaster must beat;
4. *optional, not graded:* `lstm_step_backward`, checked with the course's gradient checker.

**How to check your work.** Write each function where it says `# YOUR CODE HERE` (delete the
`raise NotImplementedError()` line), run its cell, then run the test cell under it. A test cell
prints `... all checks passed.` when your function is right; otherwise it stops with a message
that says what is wrong. When grading, further hidden checks run with other inputs and edge
shapes (`B = 1`, a single window), so write the general function. Use numpy only: the course's
own versions are switched off while yours are checked.

Read Chapter 7 of the book first if you have not.
"""
    ),
    code(
        """
import numpy as np

from rnnlib.checks import check_lstm_step_forward, check_forecast_windows, check_last_value_forecast
""",
        "setup",
    ),
    md(
        """
## Exercise 1: an LSTM step (3 points)

An LSTM carries a hidden state `h` and a cell state `c`, both `(B, H)`. One step computes four
vectors from the same inputs, each `(B, H)`:

```
i = sigmoid(a_i)    input gate        a = x_t @ Wx.T + h_prev @ Wh.T + b      shape (B, 4H)
f = sigmoid(a_f)    forget gate       a_i = a[:, 0:H]     a_f = a[:, H:2H]
g = tanh(a_g)       candidate         a_g = a[:, 2H:3H]   a_o = a[:, 3H:4H]
o = sigmoid(a_o)    output gate
```

then `c_t = f * c_prev + i * g` and `h_t = o * tanh(c_t)` (element-wise products). The weights
of the four gates are stacked in the order **i, f, g, o** (PyTorch's order): `Wx (4H, D)`,
`Wh (4H, H)`, `b (4H,)`.

Write `lstm_step_forward(x_t, h_prev, c_prev, Wx, Wh, b)` returning `((h_t, c_t), cache)`, where
`cache` is anything your backward (optional exercise 4) will need; a tuple is fine.

*Hint:* `sigmoid(z) = 1 / (1 + np.exp(-z))`.
"""
    ),
    solution(
        '''
def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def lstm_step_forward(x_t, h_prev, c_prev, Wx, Wh, b):
    """One LSTM step.

    Parameters
    ----------
    x_t : (B, D) ndarray
    h_prev, c_prev : (B, H) ndarray
    Wx : (4H, D) ndarray, gates stacked i, f, g, o
    Wh : (4H, H) ndarray
    b : (4H,) ndarray

    Returns
    -------
    (h_t, c_t) : pair of (B, H) ndarray
    cache : whatever the backward needs
    """
    ### BEGIN SOLUTION
    H = h_prev.shape[1]
    a = x_t @ Wx.T + h_prev @ Wh.T + b
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H:2 * H])
    g = np.tanh(a[:, 2 * H:3 * H])
    o = sigmoid(a[:, 3 * H:])
    c_t = f * c_prev + i * g
    tanh_c = np.tanh(c_t)
    h_t = o * tanh_c
    cache = (x_t, h_prev, c_prev, i, f, g, o, tanh_c, Wx, Wh)
    return (h_t, c_t), cache
    ### END SOLUTION
''',
        "lstm_step_forward",
    ),
    tests(
        """
check_lstm_step_forward(lstm_step_forward)
### BEGIN HIDDEN TESTS
check_lstm_step_forward(lstm_step_forward, hidden=True)
### END HIDDEN TESTS
""",
        "test_lstm_step_forward",
        points=3,
    ),
    md(
        """
## Exercise 2: forecasting windows (2 points)

To forecast a series with an RNN, cut it into examples: each input is a window of `window`
consecutive values, and its target is the `horizon` values right after it. An RNN reads
time-major arrays, so write `forecast_windows(series, window, horizon=1)` returning `(x, y)`:

* `series` is `(N,)`; there are `M = N - window - horizon + 1` examples;
* `x` has shape `(window, M, 1)`: `x[:, i, 0] = series[i : i + window]` (time down the first
  axis, one example per column, one feature);
* `y` has shape `(M, horizon)`: `y[i] = series[i + window : i + window + horizon]`.

```python
>>> x, y = forecast_windows(np.arange(5.0), window=3)
>>> x[:, :, 0]
array([[0., 1.],
       [1., 2.],
       [2., 3.]])
>>> y
array([[3.],
       [4.]])
```
"""
    ),
    solution(
        '''
def forecast_windows(series, window, horizon=1):
    """Time-major sequence-to-one examples from a 1-D series.

    Returns
    -------
    x : (window, M, 1) ndarray
    y : (M, horizon) ndarray
    """
    ### BEGIN SOLUTION
    M = len(series) - window - horizon + 1
    X = np.stack([series[i:i + window] for i in range(M)])                     # (M, window)
    y = np.stack([series[i + window:i + window + horizon] for i in range(M)])  # (M, horizon)
    return X.T[:, :, None], y
    ### END SOLUTION
''',
        "forecast_windows",
    ),
    tests(
        """
check_forecast_windows(forecast_windows)
### BEGIN HIDDEN TESTS
check_forecast_windows(forecast_windows, hidden=True)
### END HIDDEN TESTS
""",
        "test_forecast_windows",
        points=2,
    ),
    md(
        """
## Exercise 3: the last-value baseline (1 point)

The naive forecast says every future value equals the last value seen. Write
`last_value_forecast(x, horizon=1)` that takes a batch of windows `x (T, B, 1)` (as made by
`forecast_windows`) and returns a `(B, horizon)` array whose row `b` repeats `x[-1, b, 0]`
`horizon` times.
"""
    ),
    solution(
        '''
def last_value_forecast(x, horizon=1):
    """Forecast every future value as the last value of the window: (T, B, 1) -> (B, horizon)."""
    ### BEGIN SOLUTION
    return np.repeat(x[-1, :, :1], horizon, axis=1)
    ### END SOLUTION
''',
        "last_value_forecast",
    ),
    tests(
        """
check_last_value_forecast(last_value_forecast)
### BEGIN HIDDEN TESTS
check_last_value_forecast(last_value_forecast, hidden=True)
### END HIDDEN TESTS
""",
        "test_last_value_forecast",
        points=1,
    ),
    md(
        """
Your two functions on a real series, the EEG recording that ships with matplotlib: how far off
is the baseline on the last quarter of the recording? (The book trains an RNN that beats it.)
"""
    ),
    code(
        """
from rnnlib.data import load_series

t, eeg = load_series("eeg", 0)
x, y = forecast_windows(eeg[600:], window=24)
print(x.shape, y.shape)
print("last-value MSE on the last quarter:", np.mean((last_value_forecast(x) - y) ** 2))
"""
    ),
    md(
        """
## Exercise 4 (optional, not graded): the LSTM step backward

Write `lstm_step_backward(dout, cache)` where `dout = (dh_t, dc_t)` are the gradients on both
outputs of your step, returning `(dx_t, dh_prev, dc_prev, dWx, dWh, db)`. Work backwards:

* `h_t = o * tanh(c_t)` sends gradient to `o` and, through `tanh`, to `c_t`: the total gradient
  on `c_t` is `dc = dc_t + dh_t * o * (1 - tanh(c_t)**2)`;
* `c_t = f * c_prev + i * g` gives `dc_prev = dc * f`, and the gradients on `i`, `f`, `g`;
* each gate's pre-activation: multiply by `s * (1 - s)` for a sigmoid `s`, by `1 - g**2` for
  the tanh; stack them as `da (B, 4H)` in the order i, f, g, o;
* then, as for the vanilla RNN: `dx_t = da @ Wx`, `dh_prev = da @ Wh`, `dWx = da.T @ x_t`,
  `dWh = da.T @ h_prev`, `db = da.sum(axis=0)`.

The cell after it compares your gradients with central differences of your forward, the
course's gradient check; every relative error should be below `1e-7`.
"""
    ),
    solution(
        '''
def lstm_step_backward(dout, cache):
    """Backward pass of lstm_step_forward: (dh_t, dc_t) -> (dx_t, dh_prev, dc_prev, dWx, dWh, db)."""
    ### BEGIN SOLUTION
    dh_t, dc_t = dout
    x_t, h_prev, c_prev, i, f, g, o, tanh_c, Wx, Wh = cache
    dc = dc_t + dh_t * o * (1 - tanh_c**2)
    da = np.concatenate([
        dc * g * i * (1 - i),
        dc * c_prev * f * (1 - f),
        dc * i * (1 - g**2),
        dh_t * tanh_c * o * (1 - o),
    ], axis=1)
    return da @ Wx, da @ Wh, dc * f, da.T @ x_t, da.T @ h_prev, da.sum(axis=0)
    ### END SOLUTION
''',
        "lstm_step_backward",
    ),
    code(
        """
from rnnlib.gradcheck import check_backward

rng = np.random.default_rng(0)
B, D, H = 3, 4, 5
args = (rng.standard_normal((B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H)),
        rng.standard_normal((4 * H, D)), rng.standard_normal((4 * H, H)), rng.standard_normal(4 * H))
errors = check_backward(lstm_step_forward, lstm_step_backward, args, rng=1)
for name, err in errors.items():
    print(f"{name:7s} relative error {err:.1e}", "ok" if err < 1e-7 else "WRONG")
"""
    ),
    md(
        """
## What you built

An LSTM cell, the windows a forecaster reads and the baseline it must beat. Chained over time
(`lstm_forward` in rnnlib) and topped with an output layer, your cell learns the adding problem
at lengths where the vanilla RNN of chapter 5 stays at the baseline; the book shows the two
training curves side by side.
"""
    ),
]

if __name__ == "__main__":
    out = os.path.join("solutions", ID, f"{ID}.ipynb")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    write(out, cells, title="Chapter 7: Beyond the vanilla RNN")
    print("wrote", out)
