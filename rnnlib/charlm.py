"""A character-level language model: a recurrent network that reads one character and predicts
the next.

The model is the pieces of rnnlib put together (:func:`char_model`: ids in, a cell, a softmax
head), with ``D = O = V`` (the vocabulary size). With the vanilla RNN cell:

    h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)      x_t is the one-hot code of character t
    p_t = softmax(W_hy h_t + b_y)                  a distribution over the next character

and the loss is the mean cross-entropy of the true next characters, in nats per character
(divide by ln 2 for bits per character, :func:`rnnlib.training.bits_per_char`). Training is
truncated BPTT over chunks of ``T`` characters (:func:`rnnlib.training.tbptt_train`), as in
Karpathy's min-char-rnn. Every function here takes the LSTM's parameters as well (the cell is
told by the keys, :func:`rnnlib.cells.cell_of`).
"""
from __future__ import annotations

import numpy as np

from rnnlib.cells import cell_of
from rnnlib.data import batchify, iter_chunks
from rnnlib.heads import SoftmaxHead
from rnnlib.losses import softmax
from rnnlib.models import SequenceModel
from rnnlib.optim import Adam, clip_by_global_norm
from rnnlib.training import tbptt_train

__all__ = [
    "char_model",
    "init_char_rnn",
    "char_rnn_loss",
    "evaluate_char_rnn",
    "sample",
    "train_step",
    "train_char_rnn",
]


def char_model(cell="rnn"):
    """The character model: ids in, a cell, a softmax over the vocabulary out.

    Parameters
    ----------
    cell : str or cell object
        ``"rnn"``, ``"lstm"``, or a cell from :mod:`rnnlib.cells`.

    Returns
    -------
    rnnlib.models.SequenceModel
    """
    return SequenceModel(cell, SoftmaxHead(), inputs="ids")


def init_char_rnn(V, H, rng=None, cell="rnn"):
    """Initial parameters of a character model over a vocabulary of ``V`` characters.

    Parameters
    ----------
    V : int
        Vocabulary size (input and output size).
    H : int
        Hidden size.
    rng : int | numpy.random.Generator | None
    cell : str or cell object
        ``"rnn"`` (default) or ``"lstm"``.

    Returns
    -------
    params : dict
        For the RNN ``Wxh (H, V)``, ``Whh (H, H)``, ``bh (H,)``, ``Why (V, H)``, ``by (V,)``,
        the same draws as :func:`rnnlib.params.init_rnn_params`; for the LSTM ``Wx``, ``Wh``,
        ``b`` (see :func:`rnnlib.params.lstm_cell_params`) then ``Why``, ``by``.
    """
    return char_model(cell).init_params(V, H, V, rng)


def char_rnn_loss(params, inputs, targets, h0=None, mask=None):
    """Loss and gradients of a character model on one chunk.

    Parameters
    ----------
    params : dict
        A cell's parameters and ``Why (V, H)``, ``by (V,)``: for the vanilla RNN ``Wxh (H, V)``,
        ``Whh (H, H)``, ``bh (H,)``; the cell is told by the keys (:func:`rnnlib.cells.cell_of`).
    inputs : (T, B) int ndarray
        Character ids read at each step.
    targets : (T, B) int ndarray
        Character ids to predict at each step (usually ``inputs`` shifted by one).
    h0 : optional
        The cell's state before the first step: ``(B, H)`` for an RNN, a pair for an LSTM
        (default zeros).
    mask : (T, B) bool ndarray, optional
        ``True`` where a prediction counts (default: all). Input and output vocabularies may
        differ (``Wxh (H, V_in)``, ``Why (V_out, H)``), so the same function scores the
        copy-memory task with its mask.

    Returns
    -------
    loss : float
        Mean cross-entropy per counted character, in nats.
    grads : dict
        Same keys and shapes as ``params``.
    h_last :
        The state after the last step; pass it as ``h0`` of the next chunk.

    Notes
    -----
    For the RNN the result equals ``rnn_forward`` on one-hot inputs followed by
    ``output_forward`` and ``softmax_cross_entropy`` (the tests check this); only the input
    product is done as a gather (:class:`rnnlib.models.SequenceModel`).
    """
    return char_model(cell_of(params)).loss(params, inputs, targets, h0, mask)


def train_step(params, inputs, targets, h0, lr, max_norm):
    """One step of plain SGD with gradient clipping by global norm.

    Parameters
    ----------
    params : dict of ndarray
        Updated: each entry is replaced by ``params[k] - lr * clipped[k]``.
    inputs, targets : (T, B) int ndarray
    h0 : (B, H) ndarray
        Hidden state carried in from the previous chunk.
    lr : float
        Learning rate.
    max_norm : float
        Clip the gradients so that their global norm is at most this.

    Returns
    -------
    loss : float
        Mean cross-entropy before the update, in nats per character.
    grad_norm : float
        Global norm of the gradients *before* clipping (what a log would show).
    h_last : (B, H) ndarray
        The state to carry into the next chunk.
    """
    loss, grads, h_last = char_rnn_loss(params, inputs, targets, h0)
    clipped, norm = clip_by_global_norm(grads, max_norm)
    for k in params:
        params[k] = params[k] - lr * clipped[k]
    return loss, norm, h_last


def evaluate_char_rnn(params, ids, T=100, B=16):
    """Mean cross-entropy (nats per character) of the model on a text, without training.

    The text is split into ``B`` parallel streams read in chunks of ``T`` with the hidden
    state carried across chunks, as in training.

    Parameters
    ----------
    params : dict
    ids : (N,) int ndarray
        Encoded text (at least ``B + 1`` characters).
    T, B : int

    Returns
    -------
    float
        Loss in nats per predicted character.
    """
    ids = np.asarray(ids)
    B = max(1, min(B, (len(ids) - 1) // 2))
    streams = batchify(ids, B)
    model = char_model(cell_of(params))
    total, count, h = 0.0, 0, None
    for inputs, targets in iter_chunks(streams, T):
        loss, h = model.evaluate(params, inputs, targets, h)
        total += loss * targets.size
        count += targets.size
    if count == 0:
        raise ValueError(f"text of {len(ids)} characters is too short to evaluate with B={B}")
    return total / count


def sample(params, first_id, n, temperature=1.0, rng=None, h0=None):
    """Generate ``n`` characters, each drawn from the model's prediction given the ones before.

    Parameters
    ----------
    params : dict
        A character model's parameters (any cell), e.g. ``Wxh (H, V)``, ``Whh (H, H)``,
        ``bh (H,)``, ``Why (V, H)``, ``by (V,)``.
    first_id : int
        The character fed in first (the "seed" character); it is not part of the output.
    n : int
        How many characters to generate.
    temperature : float
        Divides the logits before the softmax: ``p = softmax(logits / temperature)``. Below 1
        the distribution sharpens (safer, more repetitive text), above 1 it flattens. ``0``
        means always take the most likely character (argmax, no randomness).
    rng : int | numpy.random.Generator | None
        Each step draws exactly one value, ``rng.choice(V, p=p)``; the same seed gives the
        same text.
    h0 : optional
        Starting state (default zeros), e.g. after reading a prompt: for the RNN an ``(H,)`` or
        ``(1, H)`` array, for the LSTM a pair of them.

    Returns
    -------
    ids : (n,) int ndarray
        The generated character ids; each is fed back in as the next input.
    """
    rng = np.random.default_rng(rng)
    model = char_model(cell_of(params))
    H, V = model.hidden_size(params), params["Why"].shape[0]
    if h0 is None:
        state = model.cell.zero_state(1, H)
    elif isinstance(h0, tuple):
        state = tuple(np.array(s, dtype=float).reshape(1, H) for s in h0)
    else:
        state = np.array(h0, dtype=float).reshape(1, H)
    out = np.empty(n, dtype=np.int64)
    idx = int(first_id)
    for i in range(n):
        logits, state = model.step(params, np.array([idx]), state)
        logits = logits[0]
        if temperature == 0:
            idx = int(np.argmax(logits))
        else:
            p = softmax(logits / temperature)
            idx = int(rng.choice(V, p=p))
        out[i] = idx
    return out


def train_char_rnn(text, vocab, H=128, T=25, B=32, steps=1000, optimizer=None, clip=5.0,
                   rng=None, progress=True, eval_every=100, val_ids=None, params=None,
                   cell="rnn"):
    """Train a character model on a text with truncated BPTT.

    Parameters
    ----------
    text : str or (N,) int ndarray
        Training text, or its ids under ``vocab``.
    vocab : rnnlib.data.Vocab
        Maps characters to ids; ``V = len(vocab)``.
    H : int
        Hidden size.
    T : int
        Chunk length: characters per truncated BPTT segment.
    B : int
        Number of parallel streams the text is cut into (the batch).
    steps : int
        Number of chunks (optimizer steps). The text is repeated as often as needed.
    optimizer : object with ``step(params, grads)``, optional
        Default ``Adam(2e-3)``.
    clip : float or None
        Global-norm gradient clipping threshold (``None``: no clipping).
    rng : int | numpy.random.Generator | None
        Seeds the initial parameters.
    progress : bool
        Show a progress bar (tqdm if installed, else a printed line).
    eval_every : int
        Evaluate on ``val_ids`` every this many steps (and after the last one).
    val_ids : (M,) int ndarray, optional
        Validation text ids.
    params : dict, optional
        Start from these parameters (updated in place) instead of a fresh initialisation.
    cell : str or cell object
        ``"rnn"`` (default) or ``"lstm"``, for a fresh initialisation.

    Returns
    -------
    params : dict
        The trained parameters.
    history : dict
        ``"train_loss"`` (nats per character, one per step, measured before that step's
        update), ``"grad_norm"`` (before clipping), ``"val_step"`` and ``"val_loss"`` (nats per
        character on ``val_ids``, empty without validation text).
    """
    ids = vocab.encode(text) if isinstance(text, str) else np.asarray(text)
    if params is None:
        params = init_char_rnn(len(vocab), H, rng, cell)
    optimizer = Adam(2e-3) if optimizer is None else optimizer
    streams = batchify(ids, B)
    if streams.shape[0] < T + 1:
        raise ValueError(
            f"a text of {len(ids)} characters is too short for B={B} streams of T={T} steps"
        )

    def chunks():
        # Epoch after epoch. At the wrap the state carries from the end of each stream to its
        # start: one small glitch per pass over the text, not worth special-casing.
        done = 0
        while done < steps:
            for chunk in iter_chunks(streams, T, drop_last=True):
                yield chunk
                done += 1
                if done == steps:
                    return

    history = {"val_step": [], "val_loss": []}

    def evaluate(step, params, hist):
        if val_ids is not None and ((step + 1) % eval_every == 0 or step + 1 == steps):
            history["val_step"].append(step + 1)
            history["val_loss"].append(evaluate_char_rnn(params, val_ids, T=max(T, 50), B=B))

    hist = tbptt_train(params, char_rnn_loss, chunks(), optimizer, clip=clip,
                       callback=evaluate, progress=progress, total=steps)
    history["train_loss"] = hist["loss"]
    history["grad_norm"] = hist["grad_norm"]
    return params, history
