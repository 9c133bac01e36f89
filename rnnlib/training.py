"""Truncated backpropagation through time (TBPTT), the training loop every model here uses.

A long sequence is cut into chunks of ``T`` steps. Each chunk is one forward pass, one
backward pass and one optimizer step. The hidden state at the end of a chunk is handed to the
next chunk as its starting state, so the model still *reads* across the cut; but gradients stop
at the cut, because the hidden state passed on is a plain array, not part of the next chunk's
graph. That is the truncation (Williams & Peng, 1990): memory is long, credit assignment is
at most ``T`` steps.

:func:`tbptt_train` is the one training loop of rnnlib: the character models train on
consecutive chunks with the state carried, the regressors on random minibatches of windows
with ``carry=False`` (each batch starts from zeros), the book's experiments and the benchmark
with either. The optimizer is an object (:mod:`rnnlib.optim`: ``SGD``, ``Adagrad``, ``Adam``).
"""
from __future__ import annotations

import math
import sys
import time

from rnnlib.optim import clip_by_global_norm, global_norm

__all__ = ["tbptt_train", "bits_per_char", "perplexity", "progress_bar"]


def bits_per_char(loss_nats):
    """Convert a cross-entropy in nats (natural log) to bits (log base 2).

    Parameters
    ----------
    loss_nats : float
        Mean negative log-probability per character, in nats.

    Returns
    -------
    float
        ``loss_nats / ln 2``. A model that guesses uniformly among ``V`` characters scores
        ``log2(V)`` bits per character.
    """
    return float(loss_nats) / math.log(2.0)


def perplexity(loss_nats):
    """Perplexity ``exp(loss)`` of a model whose cross-entropy is ``loss_nats``.

    Parameters
    ----------
    loss_nats : float
        Mean negative log-probability per character, in nats.

    Returns
    -------
    float
        ``e ** loss_nats``, which equals ``2 ** bits_per_char(loss_nats)``. A model that guesses
        uniformly among ``V`` characters has perplexity ``V``; a model of perplexity ``k`` is,
        on average, as unsure as one choosing uniformly among ``k`` characters (the geometric
        mean of the probabilities it gives the right characters is ``1 / k``).
    """
    return math.exp(float(loss_nats))


def tbptt_train(params, loss_fn, chunks, optimizer, clip=None, h0=None, carry=True,
                callback=None, progress=False, total=None):
    """Train ``params`` on a stream of chunks with truncated BPTT.

    Parameters
    ----------
    params : dict of str -> ndarray
        Updated in place by ``optimizer``.
    loss_fn : callable
        ``loss, grads, h_last = loss_fn(params, inputs, targets, h0)``. ``h0=None`` means
        "start from zeros". ``h_last`` may be anything the next call accepts as ``h0`` (an
        array for an RNN, a pair ``(h, c)`` for an LSTM).
    chunks : iterable of (inputs, targets)
        Consecutive chunks of the same streams, e.g. from ``rnnlib.data.iter_chunks``; or,
        with ``carry=False``, any batches (random minibatches of windows).
    optimizer : object with ``step(params, grads)``
        For example ``rnnlib.optim.Adam(1e-3)``.
    clip : float, optional
        If given, gradients are clipped to this global norm before each step.
    h0 : optional
        Starting state of the first chunk (default: zeros, via ``loss_fn``).
    carry : bool
        ``True`` (TBPTT): each chunk starts from the previous chunk's last state.
        ``False``: every chunk starts from ``h0`` again (the model forgets at every cut, or
        the batches are unrelated windows).
    callback : callable, optional
        ``callback(step, params, history)`` after every step (e.g. to evaluate).
    progress : bool
        Show a progress bar (tqdm if installed, else a printed line).
    total : int, optional
        Number of chunks, for the progress bar.

    Returns
    -------
    history : dict
        ``"loss"``: training loss of every chunk (before its update);
        ``"grad_norm"``: global gradient norm of every chunk (before clipping);
        ``"state"``: the state after the last chunk (pass it as ``h0`` to continue).
    """
    history = {"loss": [], "grad_norm": []}
    h = h0
    bar = progress_bar(total, enabled=progress)
    for step, (inputs, targets) in enumerate(chunks):
        loss, grads, h_last = loss_fn(params, inputs, targets, h if carry else h0)
        if clip is not None:
            grads, norm = clip_by_global_norm(grads, clip)
        else:
            norm = global_norm(grads)
        optimizer.step(params, grads)
        # h_last is a plain array computed from the *old* params: no gradient flows through
        # it into the next chunk, which is exactly where the truncation happens.
        h = h_last
        history["loss"].append(float(loss))
        history["grad_norm"].append(float(norm))
        bar.update(loss)
        if callback is not None:
            callback(step, params, history)
    bar.close()
    history["state"] = h
    return history


def progress_bar(total=None, enabled=True, desc="training"):
    """A minimal progress bar: tqdm if it is installed, otherwise a line rewritten in place.

    tqdm is imported here, not at module level, so rnnlib does not depend on it.

    Parameters
    ----------
    total : int, optional
        Expected number of updates.
    enabled : bool
        ``False`` gives a bar that does nothing.
    desc : str

    Returns
    -------
    object with ``update(loss)`` and ``close()``
    """
    if not enabled:
        return _SilentBar()
    try:
        from tqdm import tqdm  # the text bar: tqdm.auto would want ipywidgets in Jupyter
    except ImportError:
        return _PrintBar(total, desc)
    return _TqdmBar(tqdm(total=total, desc=desc))


class _SilentBar:
    def update(self, loss):
        pass

    def close(self):
        pass


class _TqdmBar:
    def __init__(self, bar):
        self.bar = bar

    def update(self, loss):
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{loss:.3f}", refresh=False)

    def close(self):
        self.bar.close()


class _PrintBar:
    """Prints ``step n/total  loss ...`` about twice a second, on one line."""

    def __init__(self, total, desc):
        self.total, self.desc, self.n, self.last = total, desc, 0, 0.0

    def update(self, loss):
        self.n += 1
        now = time.monotonic()
        if now - self.last > 0.5 or self.n == self.total:
            self.last = now
            of = f"/{self.total}" if self.total else ""
            sys.stdout.write(f"\r{self.desc}: step {self.n}{of}  loss {loss:.4f}")
            sys.stdout.flush()

    def close(self):
        sys.stdout.write("\n")
        sys.stdout.flush()
