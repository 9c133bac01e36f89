"""The n-gram baselines of chapter 6: probabilities that sum to one, the known limits, tuning."""
from __future__ import annotations

import math

import numpy as np

from rnnlib.ngram import fit_ngram, ngram_bits, tune_ngram, uniform_bits


def test_uniform_bits_is_log2_of_the_vocabulary():
    assert uniform_bits(2) == 1.0
    assert math.isclose(uniform_bits(100), math.log2(100))


def test_ngram_probabilities_sum_to_one_for_every_context():
    rng = np.random.default_rng(0)
    V = 4
    ids = rng.integers(0, V, 300)
    for n in (1, 2, 3):
        model = fit_ngram(ids, n, V)
        for context in ([], [1], [2, 3])[: n]:
            if len(context) != n - 1:
                continue
            total = sum(math.exp(model.log_probs(np.array(context + [c]), k=0.3)[0]) for c in range(V))
            assert math.isclose(total, 1.0, rel_tol=1e-12)


def test_unigram_with_tiny_k_scores_the_empirical_entropy_on_its_own_text():
    ids = np.array([0, 0, 0, 1, 1, 2, 0, 1])
    p = np.bincount(ids) / len(ids)
    entropy = float(-(p * np.log2(p)).sum())
    assert math.isclose(ngram_bits(fit_ngram(ids, 1, 3), ids, k=1e-12), entropy, rel_tol=1e-9)


def test_huge_k_tends_to_the_uniform_model():
    ids = np.random.default_rng(1).integers(0, 5, 200)
    assert math.isclose(ngram_bits(fit_ngram(ids, 2, 5), ids, k=1e9), uniform_bits(5), rel_tol=1e-6)


def test_bigram_learns_a_deterministic_successor():
    ids = np.tile(np.arange(4), 100)  # 0 1 2 3 0 1 2 3 ...: the next id is certain
    bits = ngram_bits(fit_ngram(ids, 2, 4), ids, k=1e-6)
    assert bits < 1e-4
    assert ngram_bits(fit_ngram(ids, 1, 4), ids, k=1e-6) > 1.99  # unigram: 2 bits


def test_tune_ngram_picks_the_best_k_on_validation():
    rng = np.random.default_rng(2)
    ids = rng.integers(0, 6, 2000)
    ks = [1e-3, 1e-1, 10.0]
    (res,) = tune_ngram(ids[:1500], ids[1500:], 6, orders=(2,), ks=ks)
    scores = [ngram_bits(fit_ngram(ids[:1500], 2, 6), ids[1500:], k) for k in ks]
    assert res["k"] == ks[int(np.argmin(scores))]
    assert math.isclose(res["val_bits"], min(scores))
