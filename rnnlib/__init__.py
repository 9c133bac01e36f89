"""rnnlib: the reference implementation of "Recurrent Neural Networks, Simplified".

Letters used throughout: ``T`` time steps, ``B`` batch, ``D`` input size, ``H`` hidden size,
``O`` output size (``V`` for a vocabulary). Sequences are time-major, ``x`` is ``(T, B, D)``;
weights are stored ``Wxh (H, D)``, ``Whh (H, H)``, ``bh (H,)``, ``Why (O, H)``, ``by (O,)``.

Only numpy is imported here; plotting helpers import matplotlib when they are called.

Modules, each named after what it holds (all importable as attributes, ``rnnlib.data``):

* ``data`` — text, series and synthetic tasks, vocabularies, batching;
* ``rnn`` — the vanilla recurrence and its BPTT (the only place they are written);
  ``lstm`` — the LSTM's; ``gru`` — the GRU's; ``cells`` — all three behind one interface;
  ``stacked``, ``bidirectional`` — deep and two-way networks built from any cell;
* ``layers``, ``losses``, ``heads`` — the output layer, the losses, and the two heads
  (softmax over a vocabulary, mean squared error);
* ``models`` — a model is inputs, a cell and a head; ``charlm`` (character language model),
  ``regressor`` (sequence regression), ``forecast`` (windows and baselines for series),
  ``ngram`` (count-based baselines);
* ``seq2seq`` — the encoder–decoder that translates, with greedy decoding and beam search;
  ``attention`` — dot-product and additive attention; ``dates`` — the translation task
  (dates as people write them, to ISO form);
* ``params``, ``optim``, ``training``, ``gradcheck`` — parameters, optimizers and clipping,
  the one training loop, gradient checking;
* ``probes``, ``dynamics`` — what the book measures inside a network (memory, Jacobians,
  gradient norms over time); ``units`` — what a trained character model's hidden units track,
  against what the last few characters alone reveal;
* ``plotting`` — figures (matplotlib, imported when called); ``checks`` — the exercises'
  checkers.
"""
from rnnlib.rnn import (
    SequenceCache,
    StepCache,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
)
from rnnlib.layers import OutputCache, output_backward, output_forward
from rnnlib.losses import mse, softmax, softmax_cross_entropy
from rnnlib.gradcheck import check_backward, numerical_gradient, numerical_gradient_array, rel_error

# Every module, importable as an attribute (``rnnlib.data.load_text``). All numpy-only;
# plotting imports matplotlib inside its functions.
from rnnlib import (  # noqa: E402
    attention,
    bidirectional,
    cells,
    charlm,
    checks,
    data,
    dates,
    dynamics,
    forecast,
    gradcheck,
    gru,
    heads,
    layers,
    losses,
    lstm,
    models,
    ngram,
    optim,
    params,
    plotting,
    probes,
    regressor,
    rnn,
    seq2seq,
    stacked,
    training,
    units,
)

__version__ = "0.1.0"

__all__ = [
    "StepCache",
    "SequenceCache",
    "rnn_step_forward",
    "rnn_step_backward",
    "rnn_forward",
    "rnn_backward",
    "OutputCache",
    "output_forward",
    "output_backward",
    "softmax",
    "softmax_cross_entropy",
    "mse",
    "rel_error",
    "numerical_gradient",
    "numerical_gradient_array",
    "check_backward",
]
