"""The chapter 4 checkers pass correct code and name the problem in wrong code."""
import numpy as np
import pytest

from rnnlib.checks import CheckFailed, check_numerical_gradient, check_rel_error, check_rnn_loss
from rnnlib import dynamics, gradcheck


# ---- numerical_gradient ----------------------------------------------------------------------

def good_numerical_gradient(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad


def copying_numerical_gradient(f, x, h=1e-5):
    # Wrong: perturbs copies, which an f that reads x itself (the exercise allows it) never sees.
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        grad[i] = (f(xp) - f(xm)) / (2 * h)
    return grad


def forward_difference(f, x, h=1e-5):
    grad = np.zeros_like(x)
    fx = f(x.copy())
    for i in np.ndindex(x.shape):
        xp = x.copy()
        xp[i] += h
        grad[i] = (f(xp) - fx) / h
    return grad


def divides_by_h(f, x, h=1e-5):
    return 2 * good_numerical_gradient(f, x, h)


def not_restored(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        grad[i] = (fp - fm) / (2 * h)
    return grad


def flattened(f, x, h=1e-5):
    return good_numerical_gradient(f, x, h).ravel()


@pytest.mark.parametrize("fn", [good_numerical_gradient])
def test_correct_numerical_gradient_passes(fn):
    check_numerical_gradient(fn)
    check_numerical_gradient(fn, hidden=True)


@pytest.mark.parametrize(
    "fn, words",
    [
        (forward_difference, "one-sided"),
        (divides_by_h, "twice"),
        (not_restored, "changed x"),
        (flattened, "shape"),
    ],
)
def test_wrong_numerical_gradient_is_named(fn, words):
    with pytest.raises(CheckFailed, match=words):
        check_numerical_gradient(fn)


def test_rnnlib_numerical_gradient_earns_nothing():
    with pytest.raises(CheckFailed, match="reference"):
        check_numerical_gradient(gradcheck.numerical_gradient)


def test_unwritten_numerical_gradient_raises_not_implemented():
    def todo(f, x, h=1e-5):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        check_numerical_gradient(todo)


# ---- rel_error --------------------------------------------------------------------------------

def good_rel_error(a, b):
    d = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if d == 0 else float(np.linalg.norm(a - b) / d)


def test_correct_rel_error_passes():
    check_rel_error(good_rel_error)
    check_rel_error(good_rel_error, hidden=True)


@pytest.mark.parametrize(
    "fn, words",
    [
        (lambda a, b: float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b))), "all-zero"),
        (lambda a, b: float(np.linalg.norm(a - b)), "absolute error"),
        (lambda a, b: np.abs(a - b) / (np.abs(a) + np.abs(b) + 1e-12), "one number"),
        (lambda a, b: float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-8))), "entry-by-entry"),
    ],
)
def test_wrong_rel_error_is_named(fn, words):
    with np.errstate(all="ignore"), pytest.raises(CheckFailed, match=words):
        check_rel_error(fn)


# ---- rnn_loss ---------------------------------------------------------------------------------

def _forward(params, x, h0):
    hs, h = [], h0
    for t in range(x.shape[0]):
        h = np.tanh(x[t] @ params["Wxh"].T + h @ params["Whh"].T + params["bh"])
        hs.append(h)
    return np.stack(hs)


def make_loss(bug=None):
    def rnn_loss(params, x, targets, h0):
        T, B, _ = x.shape
        hs = _forward(params, x, h0)
        logits = hs @ params["Why"].T + params["by"]
        p = np.exp(logits - logits.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        tt, bb = np.meshgrid(np.arange(T), np.arange(B), indexing="ij")
        loss = -np.log(p[tt, bb, targets]).mean()
        dlog = p.copy()
        dlog[tt, bb, targets] -= 1
        dlog /= T * B
        grads = {k: np.zeros_like(v) for k, v in params.items()}
        dh_next = np.zeros_like(h0)
        for t in reversed(range(T)):
            if bug == "missing_step0" and t == 0:
                break
            grads["Why"] += dlog[t].T @ hs[t]
            grads["by"] += dlog[t].sum(0)
            dh = dlog[t] @ params["Why"]
            if bug != "no_carry":
                dh = dh + dh_next
            dz = dh * (1 - hs[t] ** 2)
            h_prev = h0 if t == 0 else hs[t - 1]
            if bug == "h_t":
                h_prev = hs[t]
            if bug == "overwrite":
                grads["Whh"] = dz.T @ h_prev
            elif bug == "transpose":
                grads["Whh"] += h_prev.T @ dz
            else:
                grads["Whh"] += dz.T @ h_prev
            grads["Wxh"] += dz.T @ x[t]
            grads["bh"] += dz.sum(0)
            dh_next = dz @ params["Whh"]
        if bug == "sign":
            grads["Wxh"] = -grads["Wxh"]
        if bug == "sum_loss":
            loss = loss * T * B
        return float(loss), grads, hs[-1]

    return rnn_loss


def test_correct_rnn_loss_passes():
    check_rnn_loss(make_loss())
    check_rnn_loss(make_loss(), hidden=True)


def test_reference_rnn_loss_is_refused():
    with pytest.raises(CheckFailed, match="reference"):
        check_rnn_loss(dynamics.rnn_loss)


@pytest.mark.parametrize(
    "bug, words",
    [
        ("no_carry", "flows back from h_\\(t\\+1\\)"),
        ("h_t", "h_t where h_\\(t-1\\) belongs"),
        ("overwrite", "time step 0"),
        ("transpose", "transpose"),
        ("sign", "wrong sign"),
        ("missing_step0", "except t = 0"),
        ("sum_loss", "sum over positions"),
    ],
)
def test_wrong_rnn_loss_is_named(bug, words):
    with pytest.raises(CheckFailed, match=words):
        check_rnn_loss(make_loss(bug))


def test_rnn_loss_message_reports_a_gradient_check():
    with pytest.raises(CheckFailed, match="gradient check agrees"):
        check_rnn_loss(make_loss("no_carry"))


# ---- Mistakes an outside tester wrote blind (round 2), in a student's own words ---------------

def _named(check, fn, mistake_id, *words, hidden=False):
    with pytest.raises(CheckFailed) as err:
        check(fn, hidden=hidden)
    assert err.value.mistake_id == mistake_id, str(err.value)
    for w in words:
        assert w in str(err.value), str(err.value)


@pytest.mark.parametrize("hidden", [False, True])
def test_perturbing_copies_is_named_with_an_f_that_reads_x_itself(hidden):
    # The exercise says f may read x itself: one checked f is a closure that ignores its argument.
    _named(check_numerical_gradient, copying_numerical_gradient, "numerical_gradient/perturbs-a-copy",
           "reads x itself", hidden=hidden)


def test_max_abs_norms_in_rel_error_are_named():
    def rel_error(a, b):
        den = np.max(np.abs(a)) + np.max(np.abs(b))
        return 0.0 if den == 0 else float(np.max(np.abs(a - b)) / den)

    _named(check_rel_error, rel_error, "rel_error/max-norm", "Euclidean")


def test_a_onehot_subtracted_with_fancy_indexing_at_every_position_is_named():
    def softmax(z):
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    def rnn_loss(params, x, targets, h0):
        Wxh, Whh, bh, Why, by = (params[k] for k in ("Wxh", "Whh", "bh", "Why", "by"))
        T, B = targets.shape
        hs, h = np.zeros((T, B, Whh.shape[0])), h0
        for t in range(T):
            h = np.tanh(x[t] @ Wxh.T + h @ Whh.T + bh)
            hs[t] = h
        probs = softmax(hs @ Why.T + by)
        loss = -np.log(np.take_along_axis(probs, targets[..., None], -1)).mean()
        dl = probs.copy()
        dl[..., targets] -= 1  # every target id of the batch, at every position
        dl /= T * B
        dhs = dl @ Why
        grads = {k: np.zeros_like(v) for k, v in params.items()}
        dh_next = np.zeros_like(h0)
        for t in reversed(range(T)):
            dz = (dhs[t] + dh_next) * (1 - hs[t] ** 2)
            grads["Wxh"] += dz.T @ x[t]
            grads["Whh"] += dz.T @ (hs[t - 1] if t else h0)
            grads["bh"] += dz.sum(0)
            dh_next = dz @ Whh
        grads["Why"] = np.einsum("tbv,tbh->vh", dl, hs)
        grads["by"] = dl.sum(axis=(0, 1))
        return float(loss), grads, hs[-1]

    _named(check_rnn_loss, rnn_loss, "rnn_loss/onehot-at-every-position", "own target")
