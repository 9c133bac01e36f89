"""rnnlib: the reference implementation of "Recurrent Neural Networks, Simplified".

Letters used throughout: ``T`` time steps, ``B`` batch, ``D`` input size, ``H`` hidden size,
``O`` output size (``V`` for a vocabulary). Sequences are time-major, ``x`` is ``(T, B, D)``;
weights are stored ``Wxh (H, D)``, ``Whh (H, H)``, ``bh (H,)``, ``Why (O, H)``, ``by (O,)``.

Only numpy is imported here; plotting helpers import matplotlib when they are called.
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

# The other modules, importable as attributes (``rnnlib.data.load_text``). All numpy-only;
# plotting and grading are imported explicitly (``import rnnlib.plotting``) because they pull in
# matplotlib or nbgrader.
from rnnlib import charlm, data, gradcheck, layers, losses, lstm, optim, params, regressor, training

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
