"""Chapter 2's memory-probe checker: the right probe passes, each near miss is named."""
import numpy as np
import pytest

from rnnlib import probes
from rnnlib.checks import CheckFailed, check_memory_probe


def _states(x, h0, Wxh, Whh, bh):
    hs, h = [], h0
    for t in range(x.shape[0]):
        h = np.tanh(x[t] @ Wxh.T + h @ Whh.T + bh)
        hs.append(h)
    return np.stack(hs)


def good(x, h0, Wxh, Whh, bh, dx0):
    x2 = x.copy()
    x2[0] += dx0
    return np.linalg.norm(_states(x2, h0, Wxh, Whh, bh)[-1] - _states(x, h0, Wxh, Whh, bh)[-1], axis=1)


def _variant(t_changed=0, t_read=-1, reduce=lambda d: np.linalg.norm(d, axis=1), inplace=False, every=False):
    def probe(x, h0, Wxh, Whh, bh, dx0):
        base = _states(x, h0, Wxh, Whh, bh)
        if inplace:
            x2 = x
        else:
            x2 = x.copy()
        if every:
            x2 = x2 + dx0
        else:
            x2[t_changed] += dx0
        if inplace:
            base = _states(x, h0, Wxh, Whh, bh)
        return reduce(_states(x2, h0, Wxh, Whh, bh)[t_read] - base[t_read])

    return probe


def test_correct_memory_probe_passes(capsys):
    check_memory_probe(good)
    check_memory_probe(good, hidden=True)
    assert "all checks passed" in capsys.readouterr().out


def test_reference_is_blocked():
    with pytest.raises(CheckFailed, match="reference"):
        check_memory_probe(lambda *a: probes.memory_probe(*a))


def test_not_implemented_passes_through():
    def todo(*args):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        check_memory_probe(todo)


@pytest.mark.parametrize(
    "fn, words",
    [
        (_variant(t_changed=-1), "last input"),
        (_variant(t_read=0), "first state"),
        (_variant(reduce=lambda d: np.sum(d**2, axis=1)), "squared"),
        (_variant(reduce=lambda d: np.abs(d).sum(axis=1)), "L1"),
        (_variant(reduce=lambda d: d), "Euclidean norm for each example"),
        (_variant(reduce=lambda d: np.linalg.norm(d)), "whole batch"),
        (_variant(reduce=lambda d: np.linalg.norm(d, axis=0)), "across the batch"),
        (_variant(inplace=True), "x.copy()"),
        (_variant(every=True), "every input"),
        (lambda *a: (good(*a), None), "not a tuple"),
    ],
)
def test_wrong_memory_probe_is_named(fn, words):
    with pytest.raises(CheckFailed) as err:
        check_memory_probe(fn)
    assert words in str(err.value)


def test_hidden_cases_include_edge_shapes():
    # T = 1: the first input is also the last; B = 1: a single example.
    seen = []

    def spy(x, h0, Wxh, Whh, bh, dx0):
        seen.append(x.shape)
        return good(x, h0, Wxh, Whh, bh, dx0)

    check_memory_probe(spy, hidden=True)
    assert any(s[0] == 1 for s in seen) and any(s[1] == 1 for s in seen)


def test_perturbation_trace_ends_with_memory_probe():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 2, 3))
    h0 = np.zeros((2, 4))
    Wxh, Whh, bh = rng.standard_normal((4, 3)), rng.standard_normal((4, 4)) * 0.4, np.zeros(4)
    dx0 = rng.standard_normal((2, 3))
    trace = probes.perturbation_trace(x, h0, Wxh, Whh, bh, dx0)
    assert trace.shape == (6, 2)
    np.testing.assert_allclose(trace[-1], probes.memory_probe(x, h0, Wxh, Whh, bh, dx0))


def test_rnn_states_relu_grows_without_bound():
    x = np.zeros((30, 1, 1))
    x[0] = 1.0
    hs = probes.rnn_states(x, np.zeros((1, 2)), np.ones((2, 1)), 1.5 * np.eye(2), np.zeros(2), "relu")
    assert hs[-1].max() > 1e4
    hs = probes.rnn_states(x, np.zeros((1, 2)), np.ones((2, 1)), 1.5 * np.eye(2), np.zeros(2), "tanh")
    assert np.abs(hs).max() < 1
