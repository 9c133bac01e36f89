"""Optimizers and gradient clipping.

Parameters and gradients are dicts with the same keys (``"Wxh"``, ``"Whh"``, ...), so an
optimizer matches them by name and keeps its per-parameter state (Adagrad's running sum of
squares, Adam's moments) under the same key. Every ``step`` updates the arrays *in place*:
the model's dict keeps pointing at the same arrays.

Clipping (Pascanu et al., 2013) guards against exploding gradients. Clipping by the *global*
norm rescales every gradient by the same factor, so the update keeps its direction and only
its length shrinks; clipping each value separately (``clip_by_value``) can turn the direction.
"""
from __future__ import annotations

import numpy as np


__all__ = ["SGD", "Adagrad", "Adam", "global_norm", "clip_by_global_norm", "clip_by_value"]


class SGD:
    """Plain gradient descent: ``p -= lr * g``.

    Parameters
    ----------
    lr : float
        Learning rate (step size).
    """

    def __init__(self, lr):
        self.lr = float(lr)

    def step(self, params, grads):
        """Update every ``params[k]`` in place with ``grads[k]``.

        Parameters
        ----------
        params : dict of str -> ndarray
        grads : dict of str -> ndarray
            Same keys and shapes as ``params`` (keys missing here are left alone).
        """
        for k, g in grads.items():
            params[k] -= self.lr * g


class Adagrad:
    """Adagrad (Duchi et al., 2011): each weight's step shrinks with its gradient history.

    ``s += g**2; p -= lr * g / (sqrt(s) + eps)``. Weights that keep receiving large
    gradients take smaller steps; rarely updated ones (a rare character's column of
    ``Wxh``) keep large steps. This is the optimizer of Karpathy's min-char-rnn.

    Parameters
    ----------
    lr : float
    eps : float
        Keeps the division finite before a weight has seen any gradient.
    """

    def __init__(self, lr, eps=1e-8):
        self.lr = float(lr)
        self.eps = float(eps)
        self.sum_sq = {}  # key -> running sum of squared gradients, same shape as the param

    def step(self, params, grads):
        """Update every ``params[k]`` in place with ``grads[k]`` (see the class docstring)."""
        for k, g in grads.items():
            s = self.sum_sq.setdefault(k, np.zeros_like(params[k]))
            s += g * g
            params[k] -= self.lr * g / (np.sqrt(s) + self.eps)


class Adam:
    """Adam (Kingma & Ba, 2015): momentum plus a per-weight step size, bias-corrected.

    For each key, with ``t`` the number of steps that key has taken (starting at 1)::

        m = beta1 * m + (1 - beta1) * g          # running mean of the gradient
        v = beta2 * v + (1 - beta2) * g**2       # running mean of its square
        m_hat = m / (1 - beta1**t)               # undo the bias towards the zero start
        v_hat = v / (1 - beta2**t)
        p -= lr * m_hat / (sqrt(v_hat) + eps)

    Parameters
    ----------
    lr : float
    beta1, beta2 : float
        Decay rates of the two running means.
    eps : float
    """

    def __init__(self, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr = float(lr)
        self.beta1 = float(beta1)
        self.beta2 = float(beta2)
        self.eps = float(eps)
        self.m = {}
        self.v = {}
        self.t = {}  # step count per key, so a key that appears later is corrected correctly

    def step(self, params, grads):
        """Update every ``params[k]`` in place with ``grads[k]`` (see the class docstring)."""
        for k, g in grads.items():
            m = self.m.setdefault(k, np.zeros_like(params[k]))
            v = self.v.setdefault(k, np.zeros_like(params[k]))
            t = self.t[k] = self.t.get(k, 0) + 1
            m *= self.beta1
            m += (1.0 - self.beta1) * g
            v *= self.beta2
            v += (1.0 - self.beta2) * g * g
            m_hat = m / (1.0 - self.beta1**t)
            v_hat = v / (1.0 - self.beta2**t)
            params[k] -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def global_norm(grads):
    """Euclidean norm of all gradients together, as if flattened into one long vector.

    Parameters
    ----------
    grads : dict of str -> ndarray

    Returns
    -------
    float
        ``sqrt(sum over keys of sum(g**2))``.
    """
    return float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))


def clip_by_global_norm(grads, max_norm):
    """Rescale all gradients together so that their global norm is at most ``max_norm``.

    Parameters
    ----------
    grads : dict of str -> ndarray
        Left unchanged.
    max_norm : float
        Largest allowed global norm (positive).

    Returns
    -------
    clipped : dict of str -> ndarray
        A new dict with new arrays. If the global norm ``n`` exceeds ``max_norm``, every
        gradient is multiplied by the same factor ``max_norm / n``; otherwise the arrays are
        copies of the inputs. The direction of the combined gradient never changes.
    norm : float
        The global norm *before* clipping (worth logging: spikes are exploding gradients).
    """
    norm = global_norm(grads)
    scale = max_norm / norm if norm > max_norm else 1.0
    return {k: g * scale for k, g in grads.items()}, norm


def clip_by_value(grads, limit):
    """Clip every gradient entry into ``[-limit, limit]`` separately.

    Parameters
    ----------
    grads : dict of str -> ndarray
        Left unchanged.
    limit : float
        Positive bound.

    Returns
    -------
    clipped : dict of str -> ndarray
        New arrays, ``np.clip(g, -limit, limit)``. Unlike :func:`clip_by_global_norm` this can
        change the direction of the update (large entries are cut, small ones are not).
    """
    return {k: np.clip(g, -limit, limit) for k, g in grads.items()}
