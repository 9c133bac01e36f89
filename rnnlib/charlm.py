"""A character-level language model: a vanilla RNN that reads one character and predicts the next.

The model is the pieces of rnnlib put together, with ``D = O = V`` (the vocabulary size):

    h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)      x_t is the one-hot code of character t
    p_t = softmax(W_hy h_t + b_y)                  a distribution over the next character

and the loss is the mean cross-entropy of the true next characters, in nats per character
(divide by ln 2 for bits per character, :func:`rnnlib.training.bits_per_char`). Training is
truncated BPTT over chunks of ``T`` characters (:func:`rnnlib.training.tbptt_train`), as in
Karpathy's min-char-rnn.
"""
from __future__ import annotations

import numpy as np

from rnnlib._guard import reference
from rnnlib.data import batchify, iter_chunks
from rnnlib.layers import output_backward, output_forward
from rnnlib.losses import softmax, softmax_cross_entropy
from rnnlib.optim import Adam, clip_by_global_norm
from rnnlib.params import init_rnn_params
from rnnlib.rnn import tanh_in_place
from rnnlib.training import tbptt_train

# Undecorated building blocks (see rnnlib._guard), so these models also run while a checker
# blocks the references, e.g. inside a student's function that trains or samples a model.
_output_forward = output_forward.__wrapped__
_output_backward = output_backward.__wrapped__
_xent = softmax_cross_entropy.__wrapped__
_init_rnn_params = init_rnn_params.__wrapped__
_batchify = batchify.__wrapped__

__all__ = [
    "init_char_rnn",
    "char_rnn_loss",
    "evaluate_char_rnn",
    "sample",
    "train_step",
    "train_char_rnn",
]


def init_char_rnn(V, H, rng=None):
    """Initial parameters of a character RNN over a vocabulary of ``V`` characters.

    Parameters
    ----------
    V : int
        Vocabulary size (input and output size).
    H : int
        Hidden size.
    rng : int | numpy.random.Generator | None

    Returns
    -------
    params : dict
        ``Wxh (H, V)``, ``Whh (H, H)``, ``bh (H,)``, ``Why (V, H)``, ``by (V,)``; see
        :func:`rnnlib.params.init_rnn_params`.
    """
    return _init_rnn_params(V, H, V, rng)


def _input_projection(Wxh, ids):
    # For a one-hot x_t with its 1 at index k, x_t @ Wxh.T is row k of Wxh.T (column k of
    # Wxh): the product only *selects*. Indexing Wxh.T with the ids gathers those rows for
    # all T*B positions at once, the same numbers as the one-hot product without building
    # (T, B, V) one-hot arrays and multiplying by zeros.
    return Wxh.T[ids]  # (T, B, H)


def char_rnn_loss(params, inputs, targets, h0=None, mask=None):
    """Loss and gradients of the character RNN on one chunk.

    Parameters
    ----------
    params : dict
        ``Wxh (H, V)``, ``Whh (H, H)``, ``bh (H,)``, ``Why (V, H)``, ``by (V,)``.
    inputs : (T, B) int ndarray
        Character ids read at each step.
    targets : (T, B) int ndarray
        Character ids to predict at each step (usually ``inputs`` shifted by one).
    h0 : (B, H) ndarray, optional
        Hidden state before the first step (default zeros).
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
    h_last : (B, H) ndarray
        Hidden state after the last step; pass it as ``h0`` of the next chunk.

    Notes
    -----
    The result equals ``rnn_forward`` on one-hot inputs followed by ``output_forward`` and
    ``softmax_cross_entropy`` (the tests check this); only the input product is done as a gather.
    """
    Wxh, Whh, bh, Why, by = (params[k] for k in ("Wxh", "Whh", "bh", "Why", "by"))
    inputs = np.asarray(inputs)
    T, B = inputs.shape
    H, V = Wxh.shape
    # Zeros in the weights' dtype, so that a float32 model computes in float32 throughout.
    h0 = np.zeros((B, H), dtype=Whh.dtype) if h0 is None else h0

    # Forward: the recurrence of rnnlib.rnn.rnn_forward, with the input term gathered.
    # hs starts as the input terms (a new array: the gather copies) and each step finishes its
    # own row in place, as in rnn_forward.
    hs = _input_projection(Wxh, inputs) + bh
    h = h0
    for t in range(T):
        hs[t] += h @ Whh.T
        h = tanh_in_place(hs[t])
    logits, out_cache = _output_forward(hs, Why, by)
    loss, dlogits = _xent(logits, targets, mask)

    # Backward: output layer, then BPTT exactly as in rnnlib.rnn.rnn_backward.
    dhs, dWhy, dby = _output_backward(dlogits, out_cache)
    dzs = np.square(hs)  # tanh' = 1 - h^2 for all steps, then times the gradient on h_t
    np.subtract(1.0, dzs, out=dzs)
    dh_next = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        dzs[t] *= dhs[t] + dh_next
        dh_next = dzs[t] @ Whh
    dz = dzs.reshape(T * B, H)
    h_prev = np.concatenate([h0[None], hs[:-1]], axis=0).reshape(T * B, H)
    # dWxh = sum over positions of dz_t^T x_t. With one-hot x_t this adds dz_t into column
    # k of dWxh; a product with the one-hot matrix does all those additions in one call.
    one_hot = np.zeros((T * B, V), dtype=dz.dtype)
    one_hot[np.arange(T * B), inputs.reshape(-1)] = 1.0
    grads = {
        "Wxh": dz.T @ one_hot,
        "Whh": dz.T @ h_prev,
        "bh": dz.sum(axis=0),
        "Why": dWhy,
        "by": dby,
    }
    return loss, grads, hs[-1].copy()


@reference
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
    clipped, norm = clip_by_global_norm.__wrapped__(grads, max_norm)
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
    streams = _batchify(ids, B)
    total, count, h = 0.0, 0, None
    for inputs, targets in iter_chunks(streams, T):
        loss, h = _chunk_loss(params, inputs, targets, h)
        total += loss * targets.size
        count += targets.size
    if count == 0:
        raise ValueError(f"text of {len(ids)} characters is too short to evaluate with B={B}")
    return total / count


def _chunk_loss(params, inputs, targets, h0):
    # Forward only: the loss of one chunk and the last hidden state.
    T, B = inputs.shape
    h = np.zeros((B, params["Whh"].shape[0])) if h0 is None else h0
    hs = _input_projection(params["Wxh"], inputs) + params["bh"]
    for t in range(T):
        hs[t] += h @ params["Whh"].T
        h = tanh_in_place(hs[t])
    logits, _ = _output_forward(hs, params["Why"], params["by"])
    loss, _ = _xent(logits, targets)
    return loss, h.copy()


@reference
def sample(params, first_id, n, temperature=1.0, rng=None, h0=None):
    """Generate ``n`` characters, each drawn from the model's prediction given the ones before.

    Parameters
    ----------
    params : dict
        ``Wxh (H, V)``, ``Whh (H, H)``, ``bh (H,)``, ``Why (V, H)``, ``by (V,)``.
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
    h0 : (H,) or (1, H) ndarray, optional
        Starting hidden state (default zeros), e.g. after reading a prompt.

    Returns
    -------
    ids : (n,) int ndarray
        The generated character ids; each is fed back in as the next input.
    """
    rng = np.random.default_rng(rng)
    Wxh, Whh, bh, Why, by = (params[k] for k in ("Wxh", "Whh", "bh", "Why", "by"))
    H, V = Wxh.shape
    h = np.zeros((1, H)) if h0 is None else np.asarray(h0, dtype=float).reshape(1, H)
    out = np.empty(n, dtype=np.int64)
    idx = int(first_id)
    for i in range(n):
        # One-hot input: W_xh x is column idx of W_xh.
        h = np.tanh(Wxh[:, idx] + h @ Whh.T + bh)
        logits = (h @ Why.T + by)[0]
        if temperature == 0:
            idx = int(np.argmax(logits))
        else:
            p = softmax(logits / temperature)
            idx = int(rng.choice(V, p=p))
        out[i] = idx
    return out


def train_char_rnn(text, vocab, H=128, T=25, B=32, steps=1000, optimizer=None, clip=5.0,
                   rng=None, progress=True, eval_every=100, val_ids=None, params=None):
    """Train a character RNN on a text with truncated BPTT.

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
        params = init_char_rnn(len(vocab), H, rng)
    optimizer = Adam(2e-3) if optimizer is None else optimizer
    streams = _batchify(ids, B)
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
