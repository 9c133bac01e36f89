"""A few plots the chapters share. matplotlib is imported inside each function, so
``import rnnlib`` does not need it."""
from __future__ import annotations

import numpy as np

__all__ = ["plot_loss_curves", "heatmap", "smooth", "cell_diagram", "lstm_cell_diagram",
           "plot_norms_vs_lag", "plot_clipping", "plot_pulse_response"]


def smooth(values, beta=0.9):
    """Exponential moving average with bias correction (Adam's trick), for noisy loss curves.

    Parameters
    ----------
    values : (N,) array_like
    beta : float
        Weight of the past, in ``[0, 1)``; 0 returns the values unchanged.

    Returns
    -------
    (N,) ndarray
    """
    out = np.empty(len(values))
    avg = 0.0
    for i, v in enumerate(values):
        avg = beta * avg + (1.0 - beta) * v
        out[i] = avg / (1.0 - beta ** (i + 1))
    return out


def plot_loss_curves(history, ax=None, beta=0.9, ylabel="loss (nats per character)"):
    """Plot training loss (raw and smoothed) and, if present, validation loss against steps.

    Parameters
    ----------
    history : dict
        ``"train_loss"`` or ``"loss"``: one value per step; optionally ``"val_step"`` and
        ``"val_loss"`` (as returned by :func:`rnnlib.charlm.train_char_rnn`).
    ax : matplotlib Axes, optional
        Drawn into a new figure when omitted.
    beta : float
        Smoothing of the training curve (see :func:`smooth`).
    ylabel : str

    Returns
    -------
    ax : matplotlib Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
    train = np.asarray(history.get("train_loss", history.get("loss", [])), dtype=float)
    steps = np.arange(1, len(train) + 1)
    ax.plot(steps, train, color="C0", alpha=0.25, lw=0.8)
    ax.plot(steps, smooth(train, beta), color="C0", label="training (smoothed)")
    if history.get("val_loss"):
        ax.plot(history["val_step"], history["val_loss"], "o-", color="C1", label="validation")
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax


def heatmap(hs, ax=None, labels=None, cmap="RdBu_r", colorbar=True):
    """Hidden states over time as an image: one column per time step, one row per unit.

    Parameters
    ----------
    hs : (T, H) or (T, 1, H) ndarray
        Hidden states of one sequence (values in ``[-1, 1]`` for tanh units).
    ax : matplotlib Axes, optional
    labels : sequence of str, optional
        One label per time step (e.g. the characters read), shown under the columns.
    cmap : str
        A diverging map, so 0 is white and the sign is the colour.
    colorbar : bool

    Returns
    -------
    ax : matplotlib Axes
    """
    import matplotlib.pyplot as plt

    hs = np.asarray(hs)
    if hs.ndim == 3:
        hs = hs[:, 0]
    if ax is None:
        _, ax = plt.subplots(figsize=(min(12, 2 + 0.3 * hs.shape[0]), 3), layout="constrained")
    lim = max(float(np.abs(hs).max()), 1e-12)
    im = ax.imshow(hs.T, aspect="auto", cmap=cmap, vmin=-lim, vmax=lim, interpolation="nearest")
    ax.set_xlabel("time step t")
    ax.set_ylabel("hidden unit")
    if labels is not None:
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels([repr(c)[1:-1] if isinstance(c, str) else c for c in labels])
    if colorbar:
        ax.figure.colorbar(im, ax=ax, label="activation")
    return ax


_NODE_STYLE = {
    # kind: (face colour, edge colour, box style)
    "state": ("#dbe9f6", "#2f6497", "round,pad=0.3"),
    "input": ("#eeeeee", "#555555", "round,pad=0.3"),
    "gate": ("#fde2c8", "#b35806", "round,pad=0.25"),
    "act": ("#e0f0d9", "#3a7d2c", "round,pad=0.25"),
    "op": ("white", "#333333", "circle,pad=0.15"),
}


def cell_diagram(ax, nodes, edges, title=None):
    """Draw a recurrent cell's data flow: boxes for states, gates and activations, circles for
    element-wise operations, arrows for what feeds what.

    Parameters
    ----------
    ax : matplotlib Axes
    nodes : dict
        ``{name: (x, y, text, kind)}`` with ``kind`` one of ``"state"``, ``"input"``,
        ``"gate"`` (a sigmoid), ``"act"`` (a tanh) or ``"op"`` (an element-wise operation).
    edges : sequence
        ``(from, to)`` or ``(from, to, text)``: an arrow, optionally labelled at its middle.
    title : str, optional

    Returns
    -------
    ax : matplotlib Axes
    """
    for name, (x, y, text, kind) in nodes.items():
        face, edge, box = _NODE_STYLE[kind]
        ax.text(x, y, text, ha="center", va="center", fontsize=10, zorder=3,
                bbox=dict(boxstyle=box, facecolor=face, edgecolor=edge, linewidth=1.2))
    for e in edges:
        a, b = e[0], e[1]
        (xa, ya), (xb, yb) = nodes[a][:2], nodes[b][:2]
        ax.annotate("", xy=(xb, yb), xytext=(xa, ya), zorder=2,
                    arrowprops=dict(arrowstyle="-|>", color="#444444", lw=1.1,
                                    shrinkA=14, shrinkB=14))
        if len(e) > 2:
            ax.text((xa + xb) / 2, (ya + yb) / 2, e[2], fontsize=8, color="#444444",
                    ha="center", va="center", zorder=4,
                    bbox=dict(boxstyle="round,pad=0.1", facecolor="white", edgecolor="none"))
    xs = [v[0] for v in nodes.values()]
    ys = [v[1] for v in nodes.values()]
    ax.set_xlim(min(xs) - 0.7, max(xs) + 0.7)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=11)
    return ax


def plot_norms_vs_lag(curves, ax=None, relative=True):
    """Gradient norm against time lag, one line per curve, on a log scale (chapter 5).

    Parameters
    ----------
    curves : dict of str -> (K + 1,) array_like
        ``{label: norms}`` with ``norms[k]`` the gradient's norm ``k`` steps back from the last
        state (as :func:`rnnlib.dynamics.gradient_norm_vs_lag` returns).
    ax : matplotlib Axes, optional
    relative : bool
        Divide each curve by its value at lag 0.

    Returns
    -------
    ax : matplotlib Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.8), layout="constrained")
    for label, norms in curves.items():
        norms = np.asarray(norms, dtype=float)
        ax.semilogy(np.arange(len(norms)), norms / norms[0] if relative else norms, label=label)
    ax.set_xlabel("lag k (steps back from the last state)")
    ax.set_ylabel(r"$\|\partial L/\partial h_{T-k}\| \,/\, \|\partial L/\partial h_T\|$" if relative
                  else r"$\|\partial L/\partial h_{T-k}\|$")
    ax.legend(fontsize=8)
    return ax


def plot_clipping(g, threshold, ax=None, legend=True):
    """A 2-D gradient clipped by global norm and by value to the same threshold (chapter 5).

    Parameters
    ----------
    g : (2,) array_like
        The gradient.
    threshold : float
        The largest allowed norm (by global norm) or entry (by value).
    ax : matplotlib Axes, optional
    legend : bool

    Returns
    -------
    ax : matplotlib Axes
    """
    import matplotlib.pyplot as plt

    from rnnlib.optim import clip_by_global_norm, clip_by_value

    g = np.asarray(g, dtype=float)
    by_norm = clip_by_global_norm({"g": g}, threshold)[0]["g"]
    by_value = clip_by_value({"g": g}, threshold)["g"]
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3), layout="constrained")
    for vec, color, label in [(g, "black", "gradient"), (by_norm, "tab:blue", "clip by global norm"),
                              (by_value, "tab:orange", "clip by value")]:
        ax.annotate("", xy=vec, xytext=(0, 0), arrowprops=dict(arrowstyle="-|>", color=color, lw=2))
        ax.plot([], [], color=color, lw=2, label=label)
    ax.add_patch(plt.Circle((0, 0), threshold, fill=False, ls="--", color="0.6"))
    ax.add_patch(plt.Rectangle((-threshold, -threshold), 2 * threshold, 2 * threshold, fill=False, ls=":",
                               color="0.6"))
    reach = max(float(np.abs(g).max()), threshold) * 1.1
    ax.set_xlim(-0.1 * reach, reach)
    ax.set_ylim(-0.1 * reach, reach)
    ax.set_aspect("equal")
    ax.set_title(f"threshold {threshold:g}", fontsize=10)
    if legend:
        ax.legend(fontsize=8, loc="upper right")
    return ax


def lstm_cell_diagram(ax=None):
    """Draw one LSTM step: the four blocks, the gates' products and the additive cell path.

    The cell state runs along the top, from ``c_{t-1}`` to ``c_t``, through one element-wise
    product (with the forget gate ``f``) and one sum (with ``i * g``): the *cell path*,
    highlighted. Below, ``h_{t-1}`` and ``x_t`` feed the four blocks ``f, i, g, o``; the output
    gate ``o`` scales ``tanh(c_t)`` into ``h_t``.

    Parameters
    ----------
    ax : matplotlib Axes, optional

    Returns
    -------
    ax : matplotlib Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, FancyBboxPatch

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.4), layout="constrained")
    path_color, wire, gate_color, cand_color = "C1", "0.25", "#dbe9f6", "#fde0c5"
    r = 0.24  # radius of an operation's circle

    def arrow(x0, y0, x1, y1, color=wire, lw=1.4):
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops=dict(arrowstyle="-|>", color=color, lw=lw, shrinkA=0, shrinkB=0,
                                    mutation_scale=12))

    def line(xs, ys, color=wire, lw=1.4):
        ax.plot(xs, ys, color=color, lw=lw, solid_capstyle="round", zorder=1)

    def op(x, y, symbol, color=wire):
        ax.add_patch(Circle((x, y), r, facecolor="white", edgecolor=color, lw=1.6, zorder=3))
        ax.text(x, y, symbol, ha="center", va="center", fontsize=13, color=color, zorder=4)

    def block(x, y, fn, name, role, fill, w=0.9, h=0.8):
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02",
                                    facecolor=fill, edgecolor="0.3", lw=1.2, zorder=3))
        ax.text(x, y + 0.12, f"{fn}  ${name}_t$", ha="center", va="center", fontsize=11, zorder=4)
        ax.text(x, y - 0.22, role, ha="center", va="center", fontsize=8, color="0.25", zorder=4)

    # The cell's outline.
    ax.add_patch(FancyBboxPatch((1.0, 0.05), 8.2, 4.6, boxstyle="round,pad=0.05",
                                facecolor="0.97", edgecolor="0.6", lw=1.0, zorder=0))
    y_cell, y_bus, y_gate, y_ig, y_out = 4.0, 0.6, 1.75, 3.0, 2.4
    x_f, x_i, x_g, x_o = 2.6, 4.0, 5.4, 6.8
    x_add, x_tanh = 4.7, 8.1
    top = y_gate + 0.4
    # The cell path: c_{t-1} -> (x f) -> (+ i g) -> c_t.
    arrow(0.0, y_cell, x_f - r, y_cell, path_color, 3)
    arrow(x_f + r, y_cell, x_add - r, y_cell, path_color, 3)
    arrow(x_add + r, y_cell, 10.2, y_cell, path_color, 3)
    op(x_f, y_cell, "×", path_color)
    op(x_add, y_cell, "+", path_color)
    ax.text(0.0, y_cell + 0.18, "$c_{t-1}$", ha="left", va="bottom", fontsize=12)
    ax.text(10.2, y_cell + 0.18, "$c_t$", ha="right", va="bottom", fontsize=12)
    ax.text(6.4, y_cell + 0.2, "cell path: one × and one +", ha="center", va="bottom",
            fontsize=9, color=path_color)
    # Inputs: h_{t-1} from the left and x_t from below join on one bus.
    line([0.0, x_o], [y_bus, y_bus])
    ax.text(0.0, y_bus - 0.12, "$h_{t-1}$", ha="left", va="top", fontsize=12)
    arrow(1.6, -0.6, 1.6, y_bus - 0.02)
    ax.text(1.75, -0.55, "$x_t$", ha="left", va="bottom", fontsize=12)
    ax.plot([1.6], [y_bus], "o", color=wire, ms=4, zorder=2)
    for x in (x_f, x_i, x_g, x_o):
        arrow(x, y_bus, x, y_gate - 0.4)
    block(x_f, y_gate, "σ", "f", "forget gate", gate_color)
    block(x_i, y_gate, "σ", "i", "input gate", gate_color)
    block(x_g, y_gate, "tanh", "g", "candidate", cand_color, w=1.1)
    block(x_o, y_gate, "σ", "o", "output gate", gate_color)
    # f scales the old cell; i scales the candidate g; their product is added to the cell.
    arrow(x_f, top, x_f, y_cell - r)
    op(x_add, y_ig, "×")
    line([x_i, x_i], [top, y_ig])
    arrow(x_i, y_ig, x_add - r, y_ig)
    line([x_g, x_g], [top, y_ig])
    arrow(x_g, y_ig, x_add + r, y_ig)
    arrow(x_add, y_ig + r, x_add, y_cell - r)
    # h_t = o * tanh(c_t).
    ax.add_patch(FancyBboxPatch((x_tanh - 0.4, 3.2 - 0.2), 0.8, 0.4, boxstyle="round,pad=0.02",
                                facecolor=cand_color, edgecolor="0.3", lw=1.2, zorder=3))
    ax.text(x_tanh, 3.2, "tanh", ha="center", va="center", fontsize=10, zorder=4)
    ax.plot([x_tanh], [y_cell], "o", color=path_color, ms=5, zorder=2)
    arrow(x_tanh, y_cell, x_tanh, 3.4)
    arrow(x_tanh, 3.0, x_tanh, y_out + r)
    op(x_tanh, y_out, "×")
    line([x_o, x_o], [top, y_out])
    arrow(x_o, y_out, x_tanh - r, y_out)
    line([x_tanh, x_tanh], [y_out - r, y_bus - 0.3])
    arrow(x_tanh, y_bus - 0.3, 10.2, y_bus - 0.3)
    ax.text(10.2, y_bus - 0.15, "$h_t$", ha="right", va="bottom", fontsize=12)
    ax.set_xlim(-0.1, 10.3)
    ax.set_ylim(-0.7, 4.9)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def plot_pulse_response(hs, ax_heat, ax_norm, title=None, color="C0"):
    """What one input does to a network left alone: the states as a heatmap, and their norm.

    Chapter 2 draws this for a few fixed gains of ``W_hh``, and its exercise notebook for the
    gain a slider chooses: one picture of the same experiment.

    Parameters
    ----------
    hs : (T, H) or (T, 1, H) ndarray
        The states after one input at step 1 and zeros afterwards.
    ax_heat, ax_norm : matplotlib Axes
        Where the heatmap (one column per step) and the norm ``||h_t||`` against ``t``
        (logarithmic axis) are drawn.
    title : str, optional
        Title of the heatmap.
    color : str
        Colour of the norm's line.

    Returns
    -------
    norms : (T,) ndarray
        ``||h_t||`` for ``t = 1 .. T``.
    """
    hs = np.asarray(hs)
    if hs.ndim == 3:
        hs = hs[:, 0]
    from matplotlib.ticker import MaxNLocator

    heatmap(hs, ax=ax_heat, colorbar=False)
    ax_heat.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax_heat.xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        ax_heat.set_title(title)
    norms = np.linalg.norm(hs, axis=1)
    ax_norm.semilogy(np.arange(1, len(norms) + 1), np.maximum(norms, 1e-300), color=color)
    ax_norm.set_xlabel("time step t")
    ax_norm.set_ylabel("$\\|h_t\\|$")
    return norms
