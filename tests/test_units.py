"""rnnlib.units: the features, the local-context baseline and the read-out that chapter 6 uses to
ask what a character model's hidden state tracks."""
from __future__ import annotations

import numpy as np
import pytest

from rnnlib.charlm import char_rnn_loss, init_char_rnn
from rnnlib.units import (
    ContextTable,
    bracket_depth,
    char_states,
    correlation,
    fit_readout,
    inside_quotes,
    partial_correlation,
    readout,
    recent_mark,
    unit_correlations,
)


def test_inside_quotes_is_on_from_the_opening_quote_to_before_the_closing_one():
    text = 'a "bc" d"e'
    assert inside_quotes(text).tolist() == [0, 0, 1, 1, 1, 0, 0, 0, 1, 1]


def test_bracket_depth_counts_open_brackets_and_ignores_a_stray_closing_one():
    assert bracket_depth(")(a(b)c)", "(", ")").tolist() == [0, 1, 1, 2, 2, 1, 1, 0]


def test_recent_mark_looks_at_the_last_w_characters_including_the_current_one():
    text = 'ab"cdef'
    assert recent_mark(text, '"', 1).tolist() == [False, False, True, False, False, False, False]
    assert recent_mark(text, '"', 3).tolist() == [False, False, True, True, True, False, False]
    assert recent_mark(text, "()", 50).sum() == 0


def test_unit_correlations_match_numpy_corrcoef_and_are_zero_for_a_constant_unit():
    rng = np.random.default_rng(0)
    hs = rng.standard_normal((200, 4))
    hs[:, 3] = 1.0
    f = hs[:, 0] * 2 + rng.standard_normal(200)
    r = unit_correlations(hs, f)
    for j in range(3):
        assert r[j] == pytest.approx(np.corrcoef(hs[:, j], f)[0, 1])
        assert correlation(hs[:, j], f) == pytest.approx(r[j])
    assert r[3] == 0.0


def test_char_states_are_the_models_states_one_character_at_a_time():
    params = init_char_rnn(7, 5, rng=0)
    ids = np.array([1, 4, 4, 0, 6, 2])
    hs = char_states(params, ids)
    assert hs.shape == (6, 5)
    # char_rnn_loss on the first t+1 characters ends in the state after character t.
    for t in range(len(ids)):
        h_last = char_rnn_loss(params, ids[: t + 1, None], ids[: t + 1, None], np.zeros((1, 5)))[2]
        np.testing.assert_allclose(hs[t], h_last[0], rtol=1e-12, atol=1e-14)


def test_context_table_averages_the_feature_over_equal_contexts_and_backs_off():
    V = 3
    fit = np.array([0, 1, 2, 0, 1, 2, 0, 1, 1])
    feature = np.array([0, 1, 0, 0, 1, 1, 0, 0, 0], dtype=float)
    table = ContextTable(fit, feature, V, max_k=2, min_count=2)
    # With k = 1: character 1 occurs at positions 1, 4, 7, 8 with feature 1, 1, 0, 0.
    assert table.predict(np.array([1]), 1)[0] == pytest.approx(0.5)
    # With k = 2: context (0, 1) occurs at 1, 4, 7 -> mean 2/3; (1, 1) occurs once -> back off.
    pred = table.predict(np.array([0, 1, 1]), 2)
    assert pred[1] == pytest.approx(2 / 3)
    assert pred[2] == pytest.approx(0.5)
    # The first position has no 2-character context: the 1-character table answers.
    assert pred[0] == pytest.approx(0.0)
    # A character never seen gets the overall mean.
    table2 = ContextTable(fit, feature, 4, max_k=1)
    assert table2.predict(np.array([3]), 1)[0] == pytest.approx(feature.mean())


def test_readout_recovers_a_linear_feature():
    rng = np.random.default_rng(1)
    hs = rng.standard_normal((500, 6))
    f = hs @ np.arange(6) + 3.0
    w = fit_readout(hs, f)
    np.testing.assert_allclose(w, list(range(6)) + [3.0], atol=1e-10)
    np.testing.assert_allclose(readout(hs, w), f, atol=1e-9)


def test_readout_of_several_features_equals_one_at_a_time():
    rng = np.random.default_rng(2)
    hs = rng.standard_normal((300, 5))
    F = rng.standard_normal((300, 3))
    W = fit_readout(hs, F)
    for j in range(3):
        np.testing.assert_allclose(W[:, j], fit_readout(hs, F[:, j]), atol=1e-12)
    np.testing.assert_allclose(readout(hs, W)[:, 1], readout(hs, W[:, 1]), atol=1e-12)


def test_partial_correlation_removes_what_the_given_variable_explains():
    rng = np.random.default_rng(3)
    z = rng.standard_normal(2000)
    a = z + 0.1 * rng.standard_normal(2000)
    b = z + 0.1 * rng.standard_normal(2000)
    # a and b agree only through z: with z accounted for, their noises are independent.
    assert correlation(a, b) > 0.95
    assert abs(partial_correlation(a, b, z)) < 0.1
    # Something they share beyond z survives.
    w = rng.standard_normal(2000)
    assert partial_correlation(a + w, b + w, z) > 0.9
    # It equals the textbook formula from the three pairwise correlations.
    r_ab, r_az, r_bz = correlation(a + w, b), correlation(a + w, z), correlation(b, z)
    expected = (r_ab - r_az * r_bz) / np.sqrt((1 - r_az**2) * (1 - r_bz**2))
    assert partial_correlation(a + w, b, z) == pytest.approx(expected)
