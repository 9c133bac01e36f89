"""Sequence to sequence: an encoder reads the source, a decoder writes the target.

The translator of chapter 9 (Sutskever et al., 2014; Cho et al., 2014), with the attention of
Luong et al. (2015) as an option. With ``x_1 .. x_S`` the source characters and
``y_1 .. y_T`` the target characters (the last one the end marker)::

    encoder    k_s = cell(x_s, k_{s-1})             s = 1..S     every encoder state is kept
    summary    c = k_S                                           the state after the last character
    decoder    s_t = cell([y_{t-1}; c], s_{t-1})    t = 1..T     y_0 is the start marker
    context    c_t = c                    (plain encoder-decoder: the same vector at every step)
               c_t = attention(s_t, k, mask)        (attention: a weighted average of the k_s)
    readout    m_t = tanh(W_mix [s_t; c_t] + b_mix)
               p(y_t | y_<t, x) = softmax(W_hy m_t + b_y)

Both models have the same parameters and differ only in ``c_t``: that is what the book
compares. The decoder's input at step t is the previous target character: during training the
*true* one (teacher forcing, :meth:`Seq2Seq.loss`), when translating its *own* previous
prediction (:func:`greedy_decode`, :func:`beam_search`). The query of the attention is the
decoder's state after its step (Luong et al.'s global attention), so the recurrence of the
decoder runs over all target steps at once like any other (``cell.forward``) and any cell of
:mod:`rnnlib.cells` serves as encoder and decoder.

Parameters live in one dict: the encoder's cell parameters with the prefix ``enc_``, the
decoder's with ``dec_`` (``enc_Wxh``, ``dec_Whh``, ... for the vanilla cell), and ``Wch
(G*H, H)`` (summary into the decoder's input terms), ``Wmix (H, 2H)``, ``bmix (H,)``, ``Why
(V, H)``, ``by (V,)``; for additive attention also ``Wq (A, H)``, ``Wk (A, H)``, ``v (A,)``.

Data: sources and targets are padded at the end (:func:`encode_pairs`), with masks. The
summary ``c`` of a source is the encoder state after its *last real* character, and the padding
is masked out of the attention and of the loss: so states computed on padding are never used,
no gradient reaches them, and a source is translated the same whatever it is batched with.
Ids are time-major: ``src (S, B)``, ``dec_in``, ``dec_out`` ``(T, B)``.

Decoding takes a *step function*, ``step(prev (N,), state) -> (log_probs (N, V), state)``
(:meth:`Seq2Seq.decoder` makes one from a trained model), so that :func:`greedy_decode` and
:func:`beam_search` work with any model, as the exercises' tiny models show.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnlib.attention import (
    additive_attention_backward,
    additive_attention_forward,
    attention_backward,
    attention_forward,
)
from rnnlib.cells import get_cell
from rnnlib.heads import SoftmaxHead
from rnnlib.layers import output_backward, output_forward
from rnnlib.models import SequenceModel
from rnnlib.optim import Adam
from rnnlib.params import linear_params
from rnnlib.training import tbptt_train

__all__ = [
    "PAD",
    "BOS",
    "EOS",
    "Batch",
    "encode_pairs",
    "take",
    "minibatches",
    "to_strings",
    "exact_match",
    "Seq2Seq",
    "train_seq2seq",
    "greedy_decode",
    "beam_search",
]

#: Padding, start of a target, end of a target (characters of the vocabularies).
PAD, BOS, EOS = "_", "<", ">"


# ---------------------------------------------------------------------------------------------
# Data: pairs of strings as padded, time-major id arrays


class Batch(NamedTuple):
    """Pairs of sequences as padded, time-major id arrays (one column per pair)."""

    src: np.ndarray  # (S, B) int: the source, padded at the end
    src_mask: np.ndarray  # (S, B) bool: True on real characters
    dec_in: np.ndarray  # (T, B) int: BOS, then the target (teacher forcing's inputs)
    dec_out: np.ndarray  # (T, B) int: the target, then EOS (what the decoder must predict)
    dec_mask: np.ndarray  # (T, B) bool: True up to and including EOS


def encode_pairs(sources, targets, src_vocab, tgt_vocab):
    """Strings to a :class:`Batch`.

    Parameters
    ----------
    sources, targets : sequence of str
        Pairs, ``sources[i]`` translates to ``targets[i]``.
    src_vocab, tgt_vocab : rnnlib.data.Vocab
        ``src_vocab`` must hold :data:`PAD`; ``tgt_vocab`` :data:`PAD`, :data:`BOS` and
        :data:`EOS`.

    Returns
    -------
    Batch
        ``S`` is the longest source, ``T`` one more than the longest target. Pair ``i`` is
        column ``i``: ``src[:len(source), i]``, the rest of the column padding.
    """
    B = len(sources)
    S = max(len(s) for s in sources)
    T = max(len(t) for t in targets) + 1
    src = np.full((S, B), src_vocab.index[PAD], dtype=np.int64)
    src_mask = np.zeros((S, B), dtype=bool)
    dec_in = np.full((T, B), tgt_vocab.index[PAD], dtype=np.int64)
    dec_out = dec_in.copy()
    dec_mask = np.zeros((T, B), dtype=bool)
    for i, (s, t) in enumerate(zip(sources, targets)):
        src[: len(s), i] = src_vocab.encode(s)
        src_mask[: len(s), i] = True
        ids = tgt_vocab.encode(t)
        dec_in[: len(t) + 1, i] = np.concatenate([[tgt_vocab.index[BOS]], ids])
        dec_out[: len(t) + 1, i] = np.concatenate([ids, [tgt_vocab.index[EOS]]])
        dec_mask[: len(t) + 1, i] = True
    return Batch(src, src_mask, dec_in, dec_out, dec_mask)


def take(data, columns):
    """The pairs ``columns`` of ``data``, without the rows that are padding for all of them.

    Parameters
    ----------
    data : Batch
    columns : int ndarray or slice

    Returns
    -------
    Batch
    """
    part = Batch(*(a[:, columns] for a in data))
    S = int(part.src_mask.any(axis=1).sum())  # everything is padded at the end
    T = int(part.dec_mask.any(axis=1).sum())
    return Batch(part.src[:S], part.src_mask[:S], part.dec_in[:T], part.dec_out[:T],
                 part.dec_mask[:T])


def minibatches(data, batch_size, steps, rng=None):
    """Random minibatches for :func:`rnnlib.training.tbptt_train` (with ``carry=False``).

    Parameters
    ----------
    data : Batch
    batch_size, steps : int
    rng : int | numpy.random.Generator | None

    Yields
    ------
    inputs : (src, src_mask)
    targets : (dec_in, dec_out, dec_mask)
        A new random choice of ``batch_size`` pairs at every step (without replacement within
        a pass over the data).
    """
    rng = np.random.default_rng(rng)
    n = data.src.shape[1]
    order = rng.permutation(n)
    pos = 0
    for _ in range(steps):
        if pos + batch_size > n:
            order, pos = rng.permutation(n), 0
        b = take(data, order[pos: pos + batch_size])
        pos += batch_size
        yield (b.src, b.src_mask), (b.dec_in, b.dec_out, b.dec_mask)


def to_strings(ids, vocab, eos=EOS):
    """Decoded id arrays ``(L, B)`` to strings, each cut before its first end marker."""
    end = vocab.index[eos]
    out = []
    for column in np.asarray(ids).T:
        stop = np.flatnonzero(column == end)
        out.append(vocab.decode(column[: stop[0]] if stop.size else column))
    return out


def exact_match(predicted, targets):
    """The fraction of predictions equal to their target (strings), and the hits as booleans."""
    hits = np.array([p == t for p, t in zip(predicted, targets)], dtype=bool)
    return float(hits.mean()), hits


# ---------------------------------------------------------------------------------------------
# The model


def _part(params, prefix):
    """The entries of ``params`` whose names start with ``prefix``, without it (same arrays)."""
    return {k[len(prefix):]: v for k, v in params.items() if k.startswith(prefix)}


def _prefixed(grads, prefix):
    return {prefix + k: v for k, v in grads.items()}


def _last_real(src_mask, S, B):
    """``(rows, columns)`` indexing the last real position of every source: ``keys[rows, columns]``."""
    lengths = np.full(B, S) if src_mask is None else np.asarray(src_mask).sum(axis=0)
    return lengths - 1, np.arange(B)


def _pack(state):
    """A state (nested tuples of arrays, examples on axis 0) as one float array ``(N, n)``."""
    if isinstance(state, (tuple, list)):
        return np.concatenate([_pack(s) for s in state], axis=1)
    return state.reshape(state.shape[0], -1).astype(np.float64)


def _layout(state):
    """How :func:`_unpack` splits a packed state: ``("node", parts)`` or ``("leaf", shape, dtype)``."""
    if isinstance(state, (tuple, list)):
        return ("node", [_layout(s) for s in state])
    return ("leaf", state.shape[1:], state.dtype)


def _unpack(rows, layout):
    """The state that :func:`_pack` packed into ``rows (N, n)``, shaped as ``layout`` says."""
    def walk(spec, start):
        if spec[0] == "node":
            parts = []
            for sub in spec[1]:
                part, start = walk(sub, start)
                parts.append(part)
            return tuple(parts), start
        _, shape, dtype = spec
        n = int(np.prod(shape, dtype=np.int64))
        return rows[:, start:start + n].reshape((rows.shape[0],) + shape).astype(dtype), start + n

    return walk(layout, 0)[0]


def _log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class Seq2Seq:
    """An encoder–decoder, with or without attention (see the module docstring).

    Parameters
    ----------
    cell : str or cell object
        ``"rnn"``, ``"lstm"``, or any cell of :mod:`rnnlib.cells`; the encoder and the decoder
        each get their own parameters of this cell.
    attention : {None, "dot", "additive"}
        ``None``: the plain encoder–decoder, ``c_t = c`` at every step. ``"dot"``:
        :func:`rnnlib.attention.attention_forward`; ``"additive"``: Bahdanau's score,
        :func:`rnnlib.attention.additive_attention_forward`.
    """

    def __init__(self, cell="lstm", attention=None):
        if attention not in (None, "dot", "additive"):
            raise ValueError(f"attention must be None, 'dot' or 'additive', got {attention!r}")
        self.cell = get_cell(cell)
        self.attention = attention
        self.encoder = SequenceModel(self.cell, None, inputs="ids")
        self.decoder_inputs = SequenceModel(self.cell, None, inputs="ids")
        self.head = SoftmaxHead()

    def init_params(self, V_src, V_tgt, H, rng=None, A=None):
        """Parameters for source and target vocabularies of sizes ``V_src``, ``V_tgt``.

        Parameters
        ----------
        V_src, V_tgt, H : int
        rng : int | numpy.random.Generator | None
        A : int, optional
            Size of the additive attention's scoring layer (default ``H``).

        Returns
        -------
        dict
            Drawn in the order: encoder cell, decoder cell, ``Wch``, ``Wmix``, (``Wq``, ``Wk``,
            ``v``), ``Why``; the biases start at 0 (the LSTM's forget gates at 1).
        """
        rng = np.random.default_rng(rng)
        enc = self.cell.init_params(V_src, H, rng)
        dec = self.cell.init_params(V_tgt, H, rng)
        params = {**_prefixed(enc, "enc_"), **_prefixed(dec, "dec_")}
        GH = dec[self.cell.input_weight].shape[0]
        params["Wch"] = rng.standard_normal((GH, H)) / np.sqrt(H)
        params["Wmix"] = rng.standard_normal((H, 2 * H)) / np.sqrt(2 * H)
        params["bmix"] = np.zeros(H)
        if self.attention == "additive":
            A = H if A is None else A
            params["Wq"] = rng.standard_normal((A, H)) / np.sqrt(H)
            params["Wk"] = rng.standard_normal((A, H)) / np.sqrt(H)
            params["v"] = rng.standard_normal(A) / np.sqrt(A)
        params.update(linear_params(H, V_tgt, rng))
        return params

    def hidden_size(self, params):
        return params["Wmix"].shape[0]

    # -- pieces shared by training and decoding ----------------------------------------------

    def encode(self, params, src):
        """Every encoder state ``keys (S, B, H)`` and the encoder's cache."""
        return self.encoder.forward(_part(params, "enc_"), src)

    def _attend(self, params, query, keys, mask):
        if self.attention == "additive":
            return additive_attention_forward(query, keys, mask, params["Wq"], params["Wk"], params["v"])
        return attention_forward(query, keys, mask)

    def _attend_backward(self, dcontext, cache):
        if self.attention == "additive":
            dq, dk, dWq, dWk, dv = additive_attention_backward(dcontext, cache)
            return dq, dk, {"Wq": dWq, "Wk": dWk, "v": dv}
        dq, dk = attention_backward(dcontext, cache)
        return dq, dk, {}

    def _input_terms(self, params, prev, c):
        """Decoder input terms: the previous character's column of ``dec_W_in``, ``b``, ``Wch c``."""
        return self.decoder_inputs.input_terms(_part(params, "dec_"), prev) + c @ params["Wch"].T

    def _read(self, params, ss, ctx):
        """``m = tanh(W_mix [s; c] + b_mix)`` for ``ss, ctx (T, B, H)``, and the layer's cache."""
        z, cache = output_forward(np.concatenate([ss, ctx], axis=2), params["Wmix"], params["bmix"])
        return np.tanh(z), cache

    # -- training: teacher forcing -------------------------------------------------------------

    def forward(self, params, src, src_mask, dec_in):
        """The teacher-forced pass: every step reads the true previous character.

        Parameters
        ----------
        params : dict
        src : (S, B) int ndarray
        src_mask : (S, B) bool ndarray or None
        dec_in : (T, B) int ndarray
            The decoder's inputs, the start marker then the target.

        Returns
        -------
        mixed : (T, B, H) ndarray
            ``m_t``, what the output layer reads.
        weights : (T, S, B) ndarray or None
            The attention weights of every step (None without attention).
        cache : tuple
            For :meth:`loss`.
        """
        H = self.hidden_size(params)
        keys, enc_cache = self.encode(params, src)
        S, B, _ = keys.shape
        c = keys[_last_real(src_mask, S, B)]  # the state after each source's last character
        a = self._input_terms(params, dec_in, c)
        ss, dec_cache = self.cell.forward(_part(params, "dec_"), a, self.cell.zero_state(B, H, c.dtype))
        if self.attention is None:
            ctx = np.broadcast_to(c, ss.shape)
            weights, att_caches = None, None
        else:
            steps = [self._attend(params, s_t, keys, src_mask) for s_t in ss]
            ctx = np.stack([st[0] for st in steps])
            weights = np.stack([st[1] for st in steps])
            att_caches = [st[2] for st in steps]
        mixed, mix_cache = self._read(params, ss, ctx)
        return mixed, weights, (keys, enc_cache, c, dec_cache, att_caches, mixed, mix_cache)

    def loss(self, params, src, src_mask, dec_in, dec_out, dec_mask):
        """Mean cross-entropy per target character (teacher forcing), and every gradient.

        Parameters
        ----------
        params : dict
        src : (S, B) int ndarray
        src_mask : (S, B) bool ndarray or None
        dec_in, dec_out : (T, B) int ndarray
            The decoder reads ``dec_in[t]`` and must predict ``dec_out[t]``.
        dec_mask : (T, B) bool ndarray or None
            Where the loss counts (padding after the end marker does not).

        Returns
        -------
        loss : float
            In nats per counted target character.
        grads : dict
            Same keys and shapes as ``params``: backpropagation through the output layer, the
            attention at every step, the decoder's recurrence, and through ``c`` and the keys
            into the encoder's recurrence.
        """
        H = self.hidden_size(params)
        mixed, _, cache = self.forward(params, src, src_mask, dec_in)
        keys, enc_cache, c, dec_cache, att_caches, mixed, mix_cache = cache
        loss, dmixed, grads = self.head.loss(params, mixed, dec_out, dec_mask)
        # m = tanh(z): back through the tanh, then the affine layer over [s_t; c_t].
        dz = dmixed * (1.0 - mixed**2)
        dsc, grads["Wmix"], grads["bmix"] = output_backward(dz, mix_cache)
        dss, dctx = dsc[:, :, :H], dsc[:, :, H:]
        dkeys = np.zeros_like(keys)
        if self.attention is None:
            dc = dctx.sum(axis=0)  # the same c was read at every step
        else:
            dc = np.zeros_like(c)
            for t, att_cache in enumerate(att_caches):
                dq, dk, extra = self._attend_backward(dctx[t], att_cache)
                dss[t] += dq
                dkeys += dk
                for k, g in extra.items():
                    grads[k] = grads[k] + g if k in grads else g
        dec = _part(params, "dec_")
        da, _, dec_grads = self.cell.backward(dss, dec_cache)
        dec_grads.update(self.decoder_inputs.input_grads(da, dec_in, dec))
        da_sum = da.sum(axis=0)  # c enters every step's input terms
        grads["Wch"] = da_sum.T @ c
        dc += da_sum @ params["Wch"]
        dkeys[_last_real(src_mask, *keys.shape[:2])] += dc  # c was read from these states
        enc = _part(params, "enc_")
        da_enc, _, enc_grads = self.cell.backward(dkeys, enc_cache)
        enc_grads.update(self.encoder.input_grads(da_enc, src, enc))
        grads.update(_prefixed(enc_grads, "enc_"))
        grads.update(_prefixed(dec_grads, "dec_"))
        return loss, {k: grads[k] for k in params}

    def train_loss(self, params, inputs, targets, state=None):
        """:meth:`loss` in the form :func:`rnnlib.training.tbptt_train` calls:
        ``inputs = (src, src_mask)``, ``targets = (dec_in, dec_out, dec_mask)``."""
        loss, grads = self.loss(params, *inputs, *targets)
        return loss, grads, None

    def sequence_log_probs(self, params, src, src_mask, dec_in, dec_out, dec_mask):
        """``log p(y | x)`` of each target sequence, summed over its counted steps: ``(B,)``."""
        mixed, _, _ = self.forward(params, src, src_mask, dec_in)
        logp = _log_softmax(self.head.outputs(params, mixed))
        picked = np.take_along_axis(logp, dec_out[:, :, None], axis=2)[:, :, 0]
        return np.where(dec_mask, picked, 0.0).sum(axis=0)

    # -- translating: the decoder reads its own predictions ----------------------------------

    def decoder(self, params, src, src_mask=None, flat=False):
        """The trained decoder as a step function for :func:`greedy_decode` / :func:`beam_search`.

        Parameters
        ----------
        params : dict
        src : (S, B) int ndarray
        src_mask : (S, B) bool ndarray, optional
        flat : bool
            Pack the state into one float array ``(B, n)`` (and unpack it inside ``step``), for
            decoders written for an array state (the exercises'). Same results.

        Returns
        -------
        step : callable
            ``step(prev (N,), state) -> (log_probs (N, V), state)``.
        state : tuple, or (B, n) ndarray when ``flat``
            The decoder's start, one row per example: ``(cell state, c (B, H), keys (B, S, H),
            mask (B, S))``. Everything in it has the example on axis 0, so a beam search can
            reorder and repeat rows.
        """
        H = self.hidden_size(params)
        keys, _ = self.encode(params, src)
        S, B, _ = keys.shape
        c = keys[_last_real(src_mask, S, B)]
        mask = np.ones((S, B), dtype=bool) if src_mask is None else np.asarray(src_mask, dtype=bool)
        dec = _part(params, "dec_")

        def step(prev, state):
            cell_state, c, keys_rows, mask_rows = state
            a_t = self._input_terms(params, np.asarray(prev)[None], c)[0]
            s_t, cell_state = self.cell.step(dec, a_t, cell_state)
            if self.attention is None:
                ctx = c
            else:
                ctx = self._attend(params, s_t, keys_rows.transpose(1, 0, 2), mask_rows.T)[0]
            mixed, _ = self._read(params, s_t[None], ctx[None])
            logits = self.head.read(params, mixed[0])
            return _log_softmax(logits), (cell_state, c, keys_rows, mask_rows)

        state = (self.cell.zero_state(B, H, c.dtype), c, keys.transpose(1, 0, 2), mask.T)
        if not flat:
            return step, state
        layout = _layout(state)

        def flat_step(prev, rows):
            log_probs, new = step(prev, _unpack(rows, layout))
            return log_probs, _pack(new)

        return flat_step, _pack(state)

    def translate(self, params, data, bos, eos, max_len, k=None, batch_size=256):
        """Decode every source of ``data`` (a :class:`Batch`): greedy, or beam search of width ``k``.

        Parameters
        ----------
        params : dict
        data : Batch
        bos, eos : int
            Ids of the start and end markers.
        max_len : int
        k : int, optional
            Beam width; ``None`` for greedy decoding.
        batch_size : int
            How many sources are decoded together (memory).

        Returns
        -------
        ids : (max_len, B) int ndarray
            After an example's end marker, the end marker again.
        """
        n = data.src.shape[1]
        out = []
        for start in range(0, n, batch_size):
            part = take(data, slice(start, start + batch_size))
            step, state = self.decoder(params, part.src, part.src_mask)
            if k is None:
                out.append(greedy_decode(step, state, bos, eos, max_len))
            else:
                out.append(beam_search(step, state, bos, eos, max_len, k)[0])
        return np.concatenate(out, axis=1)

    def alignments(self, params, src, src_mask, dec_in):
        """The attention weights ``(T, S, B)`` when the decoder reads ``dec_in``.

        Fed with the start marker and the model's own translation, these are the weights the
        model used while translating (the decoder is deterministic given its inputs).
        """
        return self.forward(params, src, src_mask, dec_in)[1]


def train_seq2seq(model, params, data, steps, batch_size=64, lr=1e-2, clip=5.0, rng=None,
                  callback=None):
    """Train ``params`` (in place) with Adam on random minibatches of ``data``.

    The one training loop of rnnlib, :func:`rnnlib.training.tbptt_train`, with ``carry=False``:
    every minibatch holds whole pairs, and each starts from the zero state.

    Returns
    -------
    history : dict
        As :func:`rnnlib.training.tbptt_train` returns it (``"loss"`` of every step).
    """
    chunks = minibatches(data, batch_size, steps, rng)
    return tbptt_train(params, model.train_loss, chunks, Adam(lr), clip=clip, carry=False,
                       callback=callback)


# ---------------------------------------------------------------------------------------------
# Decoding: greedy and beam search, over any step function


def _rows(state):
    """The number of rows (examples) of a decoder state: an array, or a tuple of them."""
    while isinstance(state, (tuple, list)):
        state = state[0]
    return state.shape[0]


def _take(state, rows):
    """The rows ``rows`` of every array of a state (an array, or nested tuples of arrays)."""
    if isinstance(state, (tuple, list)):
        return type(state)(_take(s, rows) for s in state)
    return state[rows]


def greedy_decode(step, state, bos, eos, max_len):
    """Greedy decoding: at every step, the most likely next token, fed back as the next input.

    Parameters
    ----------
    step : callable
        ``step(prev (N,) int, state) -> (log_probs (N, V), state)``: the decoder reads the
        previous token of each of ``N`` sequences and gives the log-probabilities of the next.
    state : ndarray (B, H), or a tuple of arrays with the examples on axis 0
        The decoder's state before the first step.
    bos, eos : int
        Ids of the start marker (the first input) and of the end marker.
    max_len : int
        At most this many tokens per example.

    Returns
    -------
    ids : (max_len, B) int ndarray
        Time-major. ``ids[t, b]`` is the token chosen at step ``t``; once an example has
        chosen ``eos``, the rest of its column is ``eos``.
    """
    B = _rows(state)
    ids = np.full((max_len, B), eos, dtype=np.int64)
    prev = np.full(B, bos, dtype=np.int64)
    done = np.zeros(B, dtype=bool)
    for t in range(max_len):
        log_probs, state = step(prev, state)
        prev = np.argmax(log_probs, axis=1)
        ids[t] = np.where(done, eos, prev)
        done = done | (prev == eos)
        if done.all():
            break
    return ids


def _normalised(scores, length):
    """A hypothesis's score for the final choice: its log-probability per token."""
    return scores / length


def beam_search(step, state, bos, eos, max_len, k):
    """Beam search of width ``k``, batched over examples, with length normalisation.

    Each example keeps a *beam* of at most ``k`` unfinished hypotheses (token sequences) with
    their scores, the sum of the log-probabilities of their tokens. At every step:

    1. every hypothesis in the beam is extended by every token (score + log-probability);
    2. of all these candidates the ``k`` highest-scoring are kept (the pruning);
    3. a kept candidate that ends with ``eos`` is *finished*: it leaves the beam, and is
       compared with the example's best finished hypothesis by its normalised score
       ``score / length`` (length = tokens generated, ``eos`` included);
    4. the search stops when every beam is empty, or after ``max_len`` steps; then the
       hypotheses still in the beam count as finished (without ``eos``, length ``max_len``).

    The answer is the finished hypothesis with the highest normalised score.

    Parameters
    ----------
    step : callable
        As in :func:`greedy_decode`; it is called with ``N = B * k`` rows, row ``b * k + j``
        being slot ``j`` of example ``b``'s beam.
    state : ndarray (B, H), or a tuple of arrays with the examples on axis 0
    bos, eos : int
    max_len : int
    k : int
        The beam width (``k = 1`` is greedy decoding).

    Returns
    -------
    ids : (max_len, B) int ndarray
        The best hypothesis of each example, then ``eos`` to the end of the column.
    scores : (B,) ndarray
        Its normalised score, the mean log-probability of its tokens.

    Notes
    -----
    Ranking the candidates of one step by their raw score is the same as ranking them by
    their normalised score, since they all have the same length; the normalisation matters
    when hypotheses of different lengths are compared, after they finish.
    """
    B = _rows(state)
    rows = np.arange(B)[:, None]
    # Slot j of example b is row b*k + j. At the start only slot 0 holds a hypothesis (the
    # empty one); an empty slot has score -inf, so it never produces a candidate.
    scores = np.full((B, k), -np.inf)
    scores[:, 0] = 0.0
    prev = np.full((B, k), bos, dtype=np.int64)
    state = _take(state, np.repeat(np.arange(B), k))
    history = np.zeros((0, B, k), dtype=np.int64)  # history[:, b, j]: the tokens of slot j
    best = np.full((max_len, B), eos, dtype=np.int64)
    best_score = np.full(B, -np.inf)
    for t in range(max_len):
        log_probs, state = step(prev.reshape(B * k), state)
        V = log_probs.shape[1]
        candidates = (scores[:, :, None] + log_probs.reshape(B, k, V)).reshape(B, k * V)
        top = np.argsort(-candidates, axis=1, kind="stable")[:, :k]  # the k best of k*V
        scores = np.take_along_axis(candidates, top, axis=1)
        parent, token = np.divmod(top, V)  # candidate i extends slot i // V with token i % V
        history = np.concatenate([history[:, rows, parent], token[None]])
        state = _take(state, (rows * k + parent).reshape(-1))
        prev = token
        # Finished hypotheses leave the beam; the best of them (per token) is kept.
        ended = (token == eos) & np.isfinite(scores)
        normalised = np.where(ended, _normalised(scores, t + 1), -np.inf)
        j = np.argmax(normalised, axis=1)
        better = normalised[rows[:, 0], j] > best_score
        best_score = np.where(better, normalised[rows[:, 0], j], best_score)
        best[:, better] = eos
        best[: t + 1, better] = history[:, better, j[better]]
        scores = np.where(ended, -np.inf, scores)
        if not np.isfinite(scores).any():
            break
    else:
        # After max_len steps the hypotheses still in the beam are finished too.
        last = _normalised(scores, max_len)
        slot = np.argmax(last, axis=1)
        wins = last[rows[:, 0], slot] > best_score
        best_score[wins] = last[rows[:, 0], slot][wins]
        best[:, wins] = history[:, wins, slot[wins]]
    return best, best_score
