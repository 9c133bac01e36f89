"""Build the nbgrader source notebook of chapter 1, "Sequential data".

Run from the repository root::

    .venv/bin/python scripts/notebooks/ch01_sequential_data.py

It writes ``solutions/ch01_sequential_data/ch01_sequential_data.ipynb``. Four graded
exercises (7 points): a character vocabulary, one-hot vectors, batching a text into ``(T, B)``
inputs and shifted targets, and sliding windows for forecasting.
"""
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from scripts.nbauthor import code, md, solution, tests, write  # noqa: E402

ID = "ch01_sequential_data"

cells = [
    md(
        """
# Chapter 1 exercises: sequential data

Before a recurrent network can read anything, the data has to be put in the shape it reads:
integers for characters, vectors for integers, and time-major arrays `(T, B)` or `(T, B, D)`
for batches. You will write the four functions that do it:

1. `char_vocab(text)` — number the characters of a text;
2. `one_hot(ids, V)` — turn those numbers into vectors;
3. `make_batches(ids, T, B)` — cut a long text into `(T, B)` inputs and targets shifted by one step;
4. `sliding_windows(series, window, horizon)` — turn a time series into forecasting examples.

**How to check your work.** Write the function where it says `# YOUR CODE HERE` (delete the
`raise NotImplementedError()` line), run its cell, then run the test cell under it. A test cell
prints `... all checks passed.` when your function is right; otherwise it stops with a message
that says what is wrong. When grading, further hidden checks run with other inputs and edge cases
(a single time step, a single stream), so write the general function, not one that fits the
examples. Use numpy only: the course's own `rnnlib` versions are switched off while your
functions are checked.

Read Chapter 1 of the book, "Sequential data", first if you have not.
"""
    ),
    code(
        """
import numpy as np

from rnnlib.checks import check_char_vocab, check_one_hot, check_make_batches, check_sliding_windows
""",
        "setup",
    ),
    md(
        """
## Exercise 1: a character vocabulary (1 point)

A character-level model reads a text one character at a time, and it needs every character as
an integer. Write `char_vocab(text)` that returns a pair `(chars, index)`:

* `chars`: a **list** of the distinct characters of `text`, each once, **sorted** (so the
  numbering depends only on which characters occur, not on where they first appear);
* `index`: a **dict** mapping each character to its position in `chars`, so that
  `index[chars[i]] == i`.

```python
>>> char_vocab("hello")
(['e', 'h', 'l', 'o'], {'e': 0, 'h': 1, 'l': 2, 'o': 3})
```

*Hint:* `set`, `sorted` and `enumerate` do all the work.
"""
    ),
    solution(
        '''
def char_vocab(text):
    """Sorted distinct characters of ``text`` and the index of each.

    Parameters
    ----------
    text : str

    Returns
    -------
    chars : list of str
    index : dict, character -> int, with index[chars[i]] == i
    """
    ### BEGIN SOLUTION
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    return chars, index
    ### END SOLUTION
''',
        "char_vocab",
    ),
    tests(
        """
check_char_vocab(char_vocab)
### BEGIN HIDDEN TESTS
check_char_vocab(char_vocab, hidden=True)
### END HIDDEN TESTS
""",
        "test_char_vocab",
        points=1,
    ),
    md(
        """
Try it on a sentence and turn the sentence into integers:
"""
    ),
    code(
        """
sentence = "order matters"
chars, index = char_vocab(sentence)
ids = np.array([index[c] for c in sentence])
print(chars)
print(ids)
"""
    ),
    md(
        """
## Exercise 2: one-hot vectors (1 point)

A network multiplies its input by a weight matrix, so an integer id becomes a **one-hot
vector**: `V` zeros with a single 1 at position `id`. Write `one_hot(ids, V)`:

* `ids` is an integer array of **any shape** (for example `(N,)`, or `(T, B)`), with values in
  `0 .. V-1`;
* the result has shape `ids.shape + (V,)` — the new axis is **last** — and dtype `float64`;
* `result[..., k]` is `1.0` where `ids == k`, `0.0` elsewhere.

Use the `V` you are given, not `ids.max() + 1`: a batch need not contain every character.

```python
>>> one_hot(np.array([2, 0]), 3)
array([[0., 0., 1.],
       [1., 0., 0.]])
```

*Hint:* comparing `ids[..., None]` with `np.arange(V)` broadcasts to the right shape; or index
the rows of `np.eye(V)` with `ids`.
"""
    ),
    solution(
        '''
def one_hot(ids, V):
    """One-hot vectors of integer ids on a new last axis.

    Parameters
    ----------
    ids : int ndarray of any shape
    V : int

    Returns
    -------
    x : float64 ndarray of shape ids.shape + (V,)
    """
    ### BEGIN SOLUTION
    return (ids[..., None] == np.arange(V)).astype(np.float64)
    ### END SOLUTION
''',
        "one_hot",
    ),
    tests(
        """
check_one_hot(one_hot)
### BEGIN HIDDEN TESTS
check_one_hot(one_hot, hidden=True)
### END HIDDEN TESTS
""",
        "test_one_hot",
        points=1,
    ),
    md(
        """
The one-hot vectors of the sentence form an `(N, V)` matrix with a single 1 in each row:
"""
    ),
    code(
        """
chars, index = char_vocab(sentence)
ids = np.array([index[c] for c in sentence])
x = one_hot(ids, len(chars))
print(x.shape)
print(x[:3])
"""
    ),
    md(
        """
## Exercise 3: batching a text for an RNN (3 points)

A text is one long stream of `N` ids. To train on it in batches, cut it into `B` **contiguous
streams** of `L = N // B` ids each (drop the `N - B*L` ids left over): stream `b` is
`ids[b*L : (b+1)*L]`. Stand the streams side by side as the columns of an `(L, B)` array, so
row `t` holds time step `t` of every stream (time-major).

Then walk down the streams `T` steps at a time. Chunk `k` has

* `inputs[k]` of shape `(T, B)`: rows `k*T .. k*T + T - 1` of the streams;
* `targets[k]` of shape `(T, B)`: the same rows **shifted one step later** — the target at each
  position is the *next* character of the same stream.

Because a target is one step ahead, only `L - 1` positions of a stream have a target, so there
are `n = (L - 1) // T` full chunks (drop the rest). Return `(inputs, targets)`, both of shape
`(n, T, B)`, with the same integer dtype as `ids`.

Chunk `k + 1` continues every stream exactly where chunk `k` stopped. That is the point of this
layout: a network can carry its memory from one chunk to the next.

```python
>>> inputs, targets = make_batches(np.arange(10), T=2, B=2)   # L = 5, n = 2
>>> inputs[0]         # streams 0..4 and 5..9, steps 0 and 1
array([[0, 5],
       [1, 6]])
>>> targets[0]        # one step later
array([[1, 6],
       [2, 7]])
>>> inputs[1]         # continues where inputs[0] stopped
array([[2, 7],
       [3, 8]])
```

*Hint:* `ids[:B*L].reshape(B, L)` makes each **row** a contiguous piece; transpose it. (Reshaping
straight to `(L, B)` would put neighbouring characters in neighbouring columns instead.)
"""
    ),
    solution(
        '''
def make_batches(ids, T, B):
    """Cut an id stream into (T, B) chunks of inputs and next-step targets.

    Parameters
    ----------
    ids : (N,) int ndarray
    T : int, time steps per chunk
    B : int, number of contiguous streams

    Returns
    -------
    inputs : (n, T, B) ndarray
    targets : (n, T, B) ndarray, inputs shifted one step later in time
    """
    ### BEGIN SOLUTION
    L = len(ids) // B
    streams = ids[: B * L].reshape(B, L).T  # (L, B): column b is ids[b*L:(b+1)*L]
    n = (L - 1) // T
    inputs = streams[: n * T].reshape(n, T, B)
    targets = streams[1 : n * T + 1].reshape(n, T, B)
    return inputs, targets
    ### END SOLUTION
''',
        "make_batches",
    ),
    tests(
        """
check_make_batches(make_batches)
### BEGIN HIDDEN TESTS
check_make_batches(make_batches, hidden=True)
### END HIDDEN TESTS
""",
        "test_make_batches",
        points=3,
    ),
    md(
        """
Here is a real text cut into three streams. Read down a column of `inputs[0]`, then down the
same column of `inputs[1]`: the text continues.
"""
    ),
    code(
        """
from rnnlib.data import load_text

text = load_text(max_chars=600)
chars, index = char_vocab(text)
ids = np.array([index[c] for c in text])
inputs, targets = make_batches(ids, T=8, B=3)
print(inputs.shape, targets.shape)
for k in range(2):
    print(f"chunk {k}:", ["".join(chars[i] for i in inputs[k][:, b]) for b in range(3)])
"""
    ),
    md(
        """
## Exercise 4: sliding windows for forecasting (2 points)

To forecast a series from its recent past, turn it into examples: each input is a **window** of
`window` consecutive values, and its target is the `horizon` values that come **right after**
it. Write `sliding_windows(series, window, horizon=1)` returning `(X, y)`:

* `series` has time on its first axis: shape `(N,)` or `(N, D)`;
* there are `M = N - window - horizon + 1` windows, one starting at every position that leaves
  room for the target;
* `X[i] = series[i : i + window]`, so `X` is `(M, window)` or `(M, window, D)`;
* `y[i] = series[i + window : i + window + horizon]`, so `y` is `(M, horizon)` or
  `(M, horizon, D)` — keep the horizon axis even when `horizon = 1`.

The target never overlaps its window: the model must predict values it has not seen.

```python
>>> X, y = sliding_windows(np.arange(6), window=3)
>>> X
array([[0, 1, 2],
       [1, 2, 3],
       [2, 3, 4]])
>>> y
array([[3],
       [4],
       [5]])
```
"""
    ),
    solution(
        '''
def sliding_windows(series, window, horizon=1):
    """All (window, next horizon values) pairs of a series.

    Parameters
    ----------
    series : (N,) or (N, D) ndarray
    window : int
    horizon : int

    Returns
    -------
    X : (M, window) or (M, window, D) ndarray, M = N - window - horizon + 1
    y : (M, horizon) or (M, horizon, D) ndarray
    """
    ### BEGIN SOLUTION
    M = len(series) - window - horizon + 1
    X = np.stack([series[i : i + window] for i in range(M)])
    y = np.stack([series[i + window : i + window + horizon] for i in range(M)])
    return X, y
    ### END SOLUTION
''',
        "sliding_windows",
    ),
    tests(
        """
check_sliding_windows(sliding_windows)
### BEGIN HIDDEN TESTS
check_sliding_windows(sliding_windows, hidden=True)
### END HIDDEN TESTS
""",
        "test_sliding_windows",
        points=2,
    ),
    md(
        """
Windows over a real series: Apple's monthly share price, shipped with matplotlib. Each row of
`X` is a year of prices; `y` is the next month.
"""
    ),
    code(
        """
from rnnlib.data import load_series

dates, aapl = load_series("stocks", "AAPL")
X, y = sliding_windows(aapl, window=12, horizon=1)
print(len(aapl), "months ->", X.shape, y.shape)
print("the last window covers", dates[-13], "to", dates[-2], "; its target is the price on", dates[-1], "=", y[-1])
"""
    ),
    md(
        """
## What you built

You can now take any text to a `(T, B)` array of ids and its next-step targets, turn ids into
one-hot vectors of shape `(T, B, V)`, and turn any series into forecasting windows. These are
exactly the inputs the recurrent network of the next chapter reads.
"""
    ),
]

if __name__ == "__main__":
    out = os.path.join("solutions", ID, f"{ID}.ipynb")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    write(out, cells, title="Chapter 1: Sequential data")
    print("wrote", out)
