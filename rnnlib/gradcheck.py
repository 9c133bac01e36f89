"""Gradient checking by central differences, and the one battery every backward must pass.

Policy (CS231n's): central differences with ``h = 1e-5`` in float64; a relative error below
``1e-7`` means the analytic gradient is right. In float32 the rounding error of each loss
evaluation (about 1e-7 of its size) divided by ``2h`` swamps the difference, so the check
refuses anything but float64 rather than report a meaningless number.
"""
from __future__ import annotations

import inspect

import numpy as np


__all__ = [
    "rel_error",
    "numerical_gradient",
    "numerical_gradient_array",
    "check_backward",
    "RTOL",
    "STEP",
]

STEP = 1e-5
RTOL = 1e-7


def rel_error(a, b):
    """Relative error ``||a - b|| / (||a|| + ||b||)``, 0 when both are zero.

    Parameters
    ----------
    a, b : ndarray
        Same shape.

    Returns
    -------
    float
        0 for identical arrays, 1 for arrays pointing in opposite directions.

    Notes
    -----
    Taken over the whole array rather than element by element, so that entries which are
    (nearly) zero in both do not turn rounding noise into a huge "relative" error.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error needs equal shapes, got {a.shape} and {b.shape}")
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    if denom == 0.0:
        return 0.0
    return float(np.linalg.norm(a - b) / denom)


def _require_float64(x, name="x"):
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        dtype = getattr(x, "dtype", type(x).__name__)
        raise TypeError(
            f"gradient checks need a float64 array for {name}, got {dtype}: with fewer digits "
            "the finite-difference error is larger than the gradient errors we look for"
        )


def numerical_gradient(f, x, h=STEP):
    """Central-difference gradient of a scalar function.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``. It is called with ``x`` itself, perturbed in place one entry at a
        time (and restored afterwards), so ``f`` may also read ``x`` through a closure.
    x : ndarray of float64
        Point at which to differentiate. Left unchanged on return.
    h : float
        Step size.

    Returns
    -------
    grad : ndarray
        Same shape as ``x``: ``(f(x + h e_i) - f(x - h e_i)) / 2h`` for every index ``i``.
    """
    _require_float64(x)
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        f_plus = float(f(x))
        x[i] = old - h
        f_minus = float(f(x))
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def numerical_gradient_array(f, x, dout, h=STEP):
    """Central-difference gradient of ``sum(f(x) * dout)`` for an array-valued ``f``.

    Parameters
    ----------
    f : callable
        ``f(x) -> ndarray`` (or a tuple of arrays, paired with a tuple ``dout``).
    x : ndarray of float64
    dout : ndarray or tuple of ndarray
        Upstream gradient, same shape(s) as ``f(x)``.

    Returns
    -------
    grad : ndarray, same shape as ``x``
    """
    return numerical_gradient(lambda x_: _dot(f(x_), dout), x, h)


def _dot(out, dout):
    if isinstance(out, tuple):
        return sum(float(np.sum(o * d)) for o, d in zip(out, dout))
    return float(np.sum(out * dout))


def check_backward(forward, backward, args, rng=None, h=STEP):
    """Compare a backward with central differences of its forward, for every argument.

    The shared battery that every ``*_backward`` in rnnlib passes (see the tests): a random
    upstream gradient ``dout`` is pushed through ``backward`` and compared, argument by argument,
    with the numerical gradient of ``sum(forward(*args)[0] * dout)``.

    Parameters
    ----------
    forward : callable
        ``out, cache = forward(*args)``; ``out`` an array or a tuple of arrays.
    backward : callable
        ``grads = backward(dout, cache)``, one gradient per argument, in the forward's order.
    args : sequence of ndarray (float64)
        Point at which to check. Integer arrays (e.g. targets) are passed through unchecked.
    rng : int | numpy.random.Generator | None
        Draws the upstream gradient.

    Returns
    -------
    errors : dict
        ``{argument name: relative error}`` for every float argument.
    """
    rng = np.random.default_rng(rng)
    args = [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args]
    out, cache = forward(*args)
    if isinstance(out, tuple):
        dout = tuple(rng.standard_normal(o.shape) for o in out)
    else:
        dout = rng.standard_normal(out.shape)
    grads = backward(dout, cache)
    if not isinstance(grads, tuple):
        grads = (grads,)
    names = _arg_names(forward, len(args))
    errors = {}
    for i, (name, arg) in enumerate(zip(names, args)):
        if not (isinstance(arg, np.ndarray) and np.issubdtype(arg.dtype, np.floating)):
            continue
        _require_float64(arg, name)

        def f(_, i=i):
            return forward(*args)[0]

        num = numerical_gradient_array(f, args[i], dout, h)
        errors[name] = rel_error(grads[i], num)
    return errors


def _arg_names(fn, n):
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"arg{i}" for i in range(n)]
