"""Chapter 3's checkers: each correct function passes, each plausible mistake is named."""
import numpy as np
import pytest

from rnnlib import layers, params, probes
from tests.students import unguarded
from rnnlib.checks import (
    CheckFailed,
    check_count_parameters,
    check_init_rnn_params,
    check_initial_loss,
    check_output_forward,
    check_sequence_cross_entropy,
)


def _fails_with(check, fn, *words):
    with pytest.raises(CheckFailed) as err:
        check(fn)
    msg = str(err.value)
    for w in words:
        assert w in msg, msg
    return msg


# --- init_rnn_params -------------------------------------------------------------------------


def init_good(D, H, O, rng=None):
    rng = np.random.default_rng(rng)
    return {
        "Wxh": rng.standard_normal((H, D)) / np.sqrt(D),
        "Whh": rng.standard_normal((H, H)) / np.sqrt(H),
        "bh": np.zeros(H),
        "Why": rng.standard_normal((O, H)) / np.sqrt(H),
        "by": np.zeros(O),
    }


def init_other_order(D, H, O, rng=None):
    # Another order of draws is just as correct.
    rng = np.random.default_rng(rng)
    Why = rng.standard_normal((O, H)) / np.sqrt(H)
    Whh = rng.standard_normal((H, H)) / np.sqrt(H)
    Wxh = rng.standard_normal((H, D)) / np.sqrt(D)
    return {"Wxh": Wxh, "Whh": Whh, "bh": np.zeros(H), "Why": Why, "by": np.zeros(O)}


def _init_with(**change):
    def init(D, H, O, rng=None):
        p = init_good(D, H, O, rng)
        for k, f in change.items():
            p[k] = f(p[k], D, H, O)
        return p

    return init


def test_correct_init_passes():
    check_init_rnn_params(init_good)
    check_init_rnn_params(init_good, hidden=True)
    check_init_rnn_params(init_other_order, hidden=True)
    check_init_rnn_params(unguarded(params.init_rnn_params), hidden=True)


def test_init_wrong_shape_names_the_key():
    _fails_with(check_init_rnn_params, _init_with(Whh=lambda w, D, H, O: w[:, :1]), "params['Whh']", "shape")


def test_init_transposed_weight():
    _fails_with(check_init_rnn_params, _init_with(Wxh=lambda w, D, H, O: w.T), "params['Wxh']", "transposed")


def test_init_missing_key():
    def init(D, H, O, rng=None):
        p = init_good(D, H, O, rng)
        del p["by"]
        return p

    _fails_with(check_init_rnn_params, init, "missing", "'by'")


def test_init_nonzero_bias():
    _fails_with(check_init_rnn_params, _init_with(bh=lambda b, D, H, O: b + 0.1), "params['bh']", "not zero")


def test_init_not_reproducible():
    def init(D, H, O, rng=None):
        return init_good(D, H, O, None)  # ignores the seed: fresh entropy every call

    _fails_with(check_init_rnn_params, init, "Not reproducible")


def test_init_global_numpy_random_is_not_reproducible():
    def init(D, H, O, rng=None):
        return {
            "Wxh": np.random.randn(H, D) / np.sqrt(D),
            "Whh": np.random.randn(H, H) / np.sqrt(H),
            "bh": np.zeros(H),
            "Why": np.random.randn(O, H) / np.sqrt(H),
            "by": np.zeros(O),
        }

    _fails_with(check_init_rnn_params, init, "Not reproducible", "default_rng")


def test_init_generator_not_accepted():
    def init(D, H, O, rng=None):
        if isinstance(rng, np.random.Generator):
            rng = 12345  # treats a Generator wrongly
        return init_good(D, H, O, rng)

    _fails_with(check_init_rnn_params, init, "Generator")


def test_init_unscaled():
    _fails_with(check_init_rnn_params, _init_with(Wxh=lambda w, D, H, O: w * np.sqrt(D)), "params['Wxh']", "wrong scale", "about 1")


def test_init_divided_by_fan_in():
    _fails_with(check_init_rnn_params, _init_with(Why=lambda w, D, H, O: w / np.sqrt(H)), "params['Why']", "divided by fan_in")


def test_init_fan_out():
    _fails_with(
        check_init_rnn_params, _init_with(Wxh=lambda w, D, H, O: w * np.sqrt(D) / np.sqrt(H)), "params['Wxh']", "number of rows"
    )


def test_init_not_centred():
    _fails_with(check_init_rnn_params, _init_with(Whh=lambda w, D, H, O: np.abs(w)), "params['Whh']")


# --- count_parameters ------------------------------------------------------------------------


def test_correct_count_passes():
    check_count_parameters(lambda p: sum(v.size for v in p.values()))
    check_count_parameters(lambda p: sum(v.size for v in p.values()), hidden=True)


@pytest.mark.parametrize(
    "fn, words",
    [
        (lambda p: sum(v.size for v in p.values() if v.ndim == 2), "biases"),
        (lambda p: sum(sum(v.shape) for v in p.values()), "product"),
        (lambda p: len(p), "counts the arrays"),
        (lambda p: float(sum(v.size for v in p.values())), "integer"),
    ],
)
def test_wrong_count_is_named(fn, words):
    _fails_with(check_count_parameters, fn, words)


def test_hard_coded_rnn_keys_fail_visibly():
    def count(p):
        return sum(p[k].size for k in ("Wxh", "Whh", "bh", "Why", "by") if k in p)

    # The exercise says "any dict of arrays": a visible case (a two-layer model) shows it.
    with pytest.raises(CheckFailed, match="every array"):
        check_count_parameters(count)


# --- output_forward --------------------------------------------------------------------------


def out_good(hs, Why, by):
    return hs @ Why.T + by, (hs, Why)


def test_correct_output_forward_passes():
    check_output_forward(out_good)
    check_output_forward(out_good, hidden=True)


def test_output_reference_blocked():
    _fails_with(check_output_forward, lambda hs, W, b: layers.output_forward(hs, W, b), "reference")


@pytest.mark.parametrize(
    "fn, words",
    [
        (lambda hs, W, b: (hs @ W.T, None), "bias"),
        (lambda hs, W, b: (hs @ W + b, None), "matrix shapes"),  # crash: shapes do not line up
        (lambda hs, W, b: (np.tanh(hs @ W.T + b), None), "tanh"),
        (lambda hs, W, b: (hs[-1] @ W.T + b, None), "one time step"),
        (lambda hs, W, b: hs @ W.T + b, "pair"),
    ],
)
def test_wrong_output_forward_is_named(fn, words):
    _fails_with(check_output_forward, fn, words)


def test_output_forward_softmax_is_named():
    def fn(hs, W, b):
        z = hs @ W.T + b
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True), None

    _fails_with(check_output_forward, fn, "softmax")


def test_output_forward_transpose_caught_on_square_hidden_case():
    fn = lambda hs, W, b: (hs @ W + b, None)  # noqa: E731 - right only when W is square and symmetric
    with pytest.raises(CheckFailed):
        check_output_forward(fn, hidden=True)


# --- sequence_cross_entropy ------------------------------------------------------------------


def _nll(logits, targets):
    z = logits - logits.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    return -np.take_along_axis(logp, targets[..., None], -1)[..., 0]


def ce_good(logits, targets, mask=None):
    nll = _nll(logits, targets)
    if mask is None:
        return float(nll.mean())
    return float((nll * mask).sum() / mask.sum())


def test_correct_cross_entropy_passes():
    check_sequence_cross_entropy(ce_good)
    check_sequence_cross_entropy(ce_good, hidden=True)
    check_sequence_cross_entropy(unguarded(probes.sequence_cross_entropy), hidden=True)


def _m(mask, shape):
    return np.ones(shape) if mask is None else mask


@pytest.mark.parametrize(
    "fn, words",
    [
        (lambda l, t, mask=None: float(_nll(l, t).mean()), "ignores the mask"),
        (lambda l, t, mask=None: float((_nll(l, t) * _m(mask, t.shape)).sum() / t.size), "T*B"),
        (lambda l, t, mask=None: float((_nll(l, t) * _m(mask, t.shape)).sum()), "sums"),
        (lambda l, t, mask=None: -ce_good(l, t, mask), "sign"),
        (lambda l, t, mask=None: ce_good(l, t, mask) / np.log(2), "bits"),
        (lambda l, t, mask=None: float(np.exp(ce_good(l, t, mask))), "perplexity"),
        (lambda l, t, mask=None: (ce_good(l, t, mask), None), "tuple"),
        (lambda l, t, mask=None: _nll(l, t), "single number"),
    ],
)
def test_wrong_cross_entropy_is_named(fn, words):
    _fails_with(check_sequence_cross_entropy, fn, words)


def test_per_sequence_average_is_named():
    def fn(l, t, mask=None):
        m = _m(mask, t.shape)
        return float(((_nll(l, t) * m).sum(0) / m.sum(0)).mean())

    _fails_with(check_sequence_cross_entropy, fn, "each sequence first")


def test_unstable_softmax_fails_visibly():
    def fn(l, t, mask=None):
        p = np.exp(l) / np.exp(l).sum(-1, keepdims=True)
        nll = -np.log(np.take_along_axis(p, t[..., None], -1)[..., 0])
        m = _m(mask, t.shape)
        return float((nll * m).sum() / m.sum())

    with np.errstate(all="ignore"):
        # A visible case has logits in the hundreds, so the student learns it before grading.
        with pytest.raises(CheckFailed, match="largest logit"):
            check_sequence_cross_entropy(fn)


# --- initial_loss ----------------------------------------------------------------------------


def loss_good(params, x, targets):
    T, B, _ = x.shape
    h = np.zeros((B, params["Whh"].shape[0]))
    hs = []
    for t in range(T):
        h = np.tanh(x[t] @ params["Wxh"].T + h @ params["Whh"].T + params["bh"])
        hs.append(h)
    logits = np.stack(hs) @ params["Why"].T + params["by"]
    return ce_good(logits, targets)


def test_correct_initial_loss_passes():
    check_initial_loss(loss_good)
    check_initial_loss(loss_good, hidden=True)


def test_initial_loss_reference_blocked():
    _fails_with(check_initial_loss, lambda p, x, t: probes.initial_loss(p, x, t), "reference")


def _without(key):
    def fn(p, x, t):
        q = dict(p)
        q[key] = np.zeros_like(p[key])
        return loss_good(q, x, t)

    return fn


@pytest.mark.parametrize(
    "fn, words",
    [
        (lambda p, x, t: float(np.log(p["Why"].shape[0])), "ln V"),
        (lambda p, x, t: float(np.exp(loss_good(p, x, t))), "perplexity"),
        (lambda p, x, t: loss_good(p, x, t) * t.size, "sums over all positions"),
        (lambda p, x, t: loss_good(p, x, t) / np.log(2), "bits"),
        (_without("by"), "output bias"),
        (_without("bh"), "hidden bias"),
    ],
)
def test_wrong_initial_loss_is_named(fn, words):
    _fails_with(check_initial_loss, fn, words)


def test_masked_loss_divided_by_the_batch_size_is_named():
    def fn(l, t, mask=None):
        m = _m(mask, t.shape)
        return float((_nll(l, t) * m).sum() / t.shape[1])

    with pytest.raises(CheckFailed) as err:
        check_sequence_cross_entropy(fn)
    assert err.value.mistake_id == "sequence_cross_entropy/divides-by-batch"
    assert "batch size B" in str(err.value) and "mask.sum()" in str(err.value)


def test_initial_loss_built_on_a_wrong_output_layer_is_told_to_fix_it_first():
    def out_no_bias(hs, Why, by):
        return hs @ Why.T, (hs, Why)

    def loss(params, x, targets):
        hs = np.zeros((x.shape[0], x.shape[1], params["Whh"].shape[0]))
        h = np.zeros(hs.shape[1:])
        for t in range(x.shape[0]):
            h = np.tanh(x[t] @ params["Wxh"].T + h @ params["Whh"].T + params["bh"])
            hs[t] = h
        ys, _ = out_no_bias(hs, params["Why"], params["by"])
        return ce_good(ys, targets)

    with pytest.raises(CheckFailed) as err:
        check_initial_loss(loss, output_forward=out_no_bias, sequence_cross_entropy=ce_good)
    assert "Fix output_forward first" in str(err.value)
    assert err.value.mistake_id == "output_forward/no-bias"


def test_count_returned_as_float_is_named():
    with pytest.raises(CheckFailed) as err:
        check_count_parameters(lambda p: float(sum(v.size for v in p.values())))
    assert err.value.mistake_id == "count_parameters/returns-float"


def test_init_with_the_articles_key_who_is_named():
    def init(D, H, O, rng=None):
        p = init_good(D, H, O, rng)
        p["Who"] = p.pop("Why")
        return p

    with pytest.raises(CheckFailed) as err:
        check_init_rnn_params(init)
    assert err.value.mistake_id == "init_rnn_params/who-key" and "'Who'" in str(err.value)


def test_a_mask_left_at_none_crashes_with_a_hint():
    def fn(l, t, mask=None):
        return float((_nll(l, t) * mask).sum() / mask.sum())

    _fails_with(check_sequence_cross_entropy, fn, "mask=None")


# --- Mistakes an outside tester wrote blind (round 2), in a student's own words ----------------


def _named(check, fn, mistake_id, *words, hidden=False, **kw):
    with pytest.raises(CheckFailed) as err:
        check(fn, hidden=hidden, **kw)
    assert err.value.mistake_id == mistake_id, str(err.value)
    for w in words:
        assert w in str(err.value), str(err.value)


@pytest.mark.parametrize("hidden", [False, True])
def test_counting_by_concatenation_fails_on_an_empty_dict_and_is_named(hidden):
    _named(check_count_parameters, lambda p: len(np.concatenate([v.ravel() for v in p.values()])),
           "count_parameters/fails-on-empty-dict", "empty dict", hidden=hidden)


def test_np_sum_of_an_empty_list_is_a_float_and_is_named():
    _named(check_count_parameters, lambda p: np.sum([v.size for v in p.values()]),
           "count_parameters/np-sum-of-nothing-is-float", "int(np.sum")


def test_a_correct_count_of_an_empty_dict_passes():
    check_count_parameters(lambda p: int(np.sum([v.size for v in p.values()])), hidden=True)


def test_a_reshape_where_the_transpose_belongs_is_named():
    def output_forward(hs, Why, by):
        O, H = Why.shape
        return np.einsum("tbh,ho->tbo", hs, Why.reshape(H, O)) + by, (hs, Why)

    _named(check_output_forward, output_forward, "output_forward/reshape-for-transpose", "Why.T")


def test_one_output_buffer_appended_at_every_step_is_named():
    def output_forward(hs, Why, by):
        y = np.empty((hs.shape[1], Why.shape[0]))
        ys = []
        for t in range(hs.shape[0]):
            y[:] = hs[t] @ Why.T + by
            ys.append(y)
        return np.array(ys), (hs, Why)

    _named(check_output_forward, output_forward, "output_forward/one-buffer-for-every-step", "last step")


@pytest.mark.parametrize("hidden", [False, True])
def test_the_output_layers_cache_in_another_order_is_named(hidden):
    # The exercise says: cache, return (hs, Why).
    _named(check_output_forward, lambda hs, W, b: (hs @ W.T + b, (W, hs)), "output_forward/cache-order",
           "(hs, Why)", hidden=hidden)


def test_a_softmax_over_time_is_named():
    def ce(logits, targets, mask=None):
        z = logits - logits.max(axis=0, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=0, keepdims=True))
        picked = np.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]
        m = np.ones(targets.shape) if mask is None else mask
        return float(-(picked * m).sum() / m.sum())

    _named(check_sequence_cross_entropy, ce, "sequence_cross_entropy/softmax-over-time", "axis=-1")


def test_an_inverted_mask_is_named():
    def ce(logits, targets, mask=None):
        nll = _nll(logits, targets)
        if mask is None:
            return float(nll.mean())
        keep = ~mask
        with np.errstate(invalid="ignore"):
            return float((nll * keep).sum() / keep.sum())

    _named(check_sequence_cross_entropy, ce, "sequence_cross_entropy/mask-inverted", "padded")


def _given_rnn_forward(x, h0, Wxh, Whh, bh):  # the notebook's given cell
    hs = np.zeros((x.shape[0], h0.shape[0], Whh.shape[0]))
    h = h0
    for t in range(x.shape[0]):
        h = np.tanh(x[t] @ Wxh.T + h @ Whh.T + bh)
        hs[t] = h
    return hs, (x, h0, hs, Wxh, Whh)


def test_a_mask_that_drops_target_id_0_is_named():
    def initial_loss(params, x, targets):
        B, H = x.shape[1], params["Whh"].shape[0]
        hs, _ = _given_rnn_forward(x, np.zeros((B, H)), params["Wxh"], params["Whh"], params["bh"])
        return ce_good(hs @ params["Why"].T + params["by"], targets, mask=targets > 0)

    _named(check_initial_loss, initial_loss, "initial_loss/mask-drops-id-0", "without a mask")


@pytest.mark.parametrize("hidden", [False, True])
def test_h0_sized_by_the_input_is_named_not_blamed_on_a_transpose(hidden):
    def initial_loss(params, x, targets):
        h0 = np.zeros((x.shape[1], params["Wxh"].shape[1]))  # D where H belongs
        hs, _ = _given_rnn_forward(x, h0, params["Wxh"], params["Whh"], params["bh"])
        return ce_good(hs @ params["Why"].T + params["by"], targets)

    _named(check_initial_loss, initial_loss, "initial_loss/h0-sized-by-input", "np.zeros((B, H))",
           hidden=hidden)


# --- Mistakes an outside tester wrote blind (round 3), and others of the same kind -----------


@pytest.mark.parametrize("hidden", [False, True])
def test_a_product_of_the_shape_is_a_float_for_a_0d_array_and_is_named(hidden):
    # np.prod(()) is 1.0: a dict holding a 0-d array makes the total a float.
    _named(check_count_parameters, lambda p: sum(np.prod(np.shape(v)) for v in p.values()),
           "count_parameters/prod-of-empty-shape-is-float", "p.size", hidden=hidden)


def test_a_product_of_the_shape_as_an_int_passes():
    check_count_parameters(lambda p: int(sum(np.prod(v.shape, dtype=int) for v in p.values())), hidden=True)


@pytest.mark.parametrize("fn", [
    lambda p: int(round(sum(float(np.sum(v)) for v in p.values()))),  # the tester's
    lambda p: sum(np.sum(v) for v in p.values()),                      # left a float
    lambda p: int(sum(v.sum() for v in p.values())),                   # truncated
])
def test_adding_up_the_values_is_named(fn):
    _named(check_count_parameters, fn, "count_parameters/sums-values", "values", "p.size")


@pytest.mark.parametrize("fn, mistake_id", [
    # The tester's: the RNN's formula from the shapes of Wxh and Why.
    (lambda p: (p["Wxh"].shape[0] * p["Wxh"].shape[1] + p["Wxh"].shape[0] ** 2 + p["Wxh"].shape[0]
                + p["Why"].shape[0] * p["Wxh"].shape[0] + p["Why"].shape[0]), "count_parameters/rnn-formula"),
    # The five keys by name.
    (lambda p: sum(p[k].size for k in ("Wxh", "Whh", "bh", "Why", "by")), "count_parameters/only-rnn-keys"),
])
def test_counting_the_rnn_only_is_named(fn, mistake_id):
    _named(check_count_parameters, fn, mistake_id, "every")


def _logp(logits):
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _ce_fancy_tester(logits, targets, mask=None):
    picked = _logp(logits)[:, :, targets]  # (T, B, T, B)
    if mask is None:
        return float(-picked.mean())
    return float(-(picked * mask).sum() / (mask.sum() * targets.size))


def _ce_fancy_sum_over_n(logits, targets, mask=None):
    picked = _logp(logits)[:, :, targets]
    m = np.ones(targets.shape) if mask is None else mask
    return float(-(picked * m).sum() / m.sum())


@pytest.mark.parametrize("fn", [_ce_fancy_tester, _ce_fancy_sum_over_n])
def test_indexing_with_the_whole_targets_array_is_named(fn):
    _named(check_sequence_cross_entropy, fn, "sequence_cross_entropy/every-target-at-every-position",
           "logp[:, :, targets]", "take_along_axis")


def _loss_from(h0_of):
    def initial_loss(params, x, targets):
        B, H = x.shape[1], params["Whh"].shape[0]
        hs, _ = _given_rnn_forward(x, h0_of(B, H), params["Wxh"], params["Whh"], params["bh"])
        return ce_good(hs @ params["Why"].T + params["by"], targets)

    return initial_loss


@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.parametrize("h0_of", [
    lambda B, H: np.random.default_rng(0).standard_normal((B, H)) * 0.1,  # the tester's
    lambda B, H: np.full((B, H), 0.5),
    lambda B, H: np.random.default_rng(7).uniform(-1, 1, (B, H)),
])
def test_a_nonzero_h0_is_named(h0_of, hidden):
    _named(check_initial_loss, _loss_from(h0_of), "initial_loss/h0-not-zero", "np.zeros((B, H))",
           hidden=hidden)


def test_a_zero_h0_passes():
    check_initial_loss(_loss_from(lambda B, H: np.zeros((B, H))), hidden=True)
