"""Checkers for chapter 3: parameters, the output layer over time, and the loss over time.

* ``init_rnn_params(D, H, O, rng)`` is checked by its *properties* (keys, shapes, zero biases,
  the same result from the same seed, the ``1/sqrt(fan_in)`` scale measured on large
  matrices), so any correct way of drawing passes, not only the reference's order of draws.
  Its Exercise has ``check_student=``: each property that fails raises the id of the
  catalogued mistake that breaks it, and the catalogue holds those mistakes, each the reference
  :func:`rnnlib.params.init_rnn_params` with one edit.
* ``count_parameters``, ``output_forward``, ``sequence_cross_entropy`` and ``initial_loss``
  are Exercises of the engine: compared with the references in :mod:`rnnlib.params`,
  :mod:`rnnlib.layers` and :mod:`rnnlib.probes`, and a wrong answer is matched against a
  catalogue of variants (biases forgotten, a transposed weight, the mask ignored or the sum
  divided by the wrong count, bits instead of nats, perplexity instead of loss, ...).
"""
from __future__ import annotations

import numpy as np

from rnnlib import layers as _layers
from rnnlib import losses as _losses
from rnnlib import params as _params
from rnnlib import probes as _probes
from rnnlib import rnn as _rnn
from rnnlib.checks._core import CheckFailed, call_student, case_seeds, fmt_shape
from rnnlib.checks._engine import Case, Exercise, Mistake, mutate, run_check
from rnnlib.checks._questions import Question, Wrong, question_set

__all__ = [
    "check_init_rnn_params",
    "check_count_parameters",
    "check_output_forward",
    "check_sequence_cross_entropy",
    "check_initial_loss",
    "check_ch03_questions",
]

_init = _params.init_rnn_params
_cell_params = _params.rnn_cell_params
_linear_params = _params.linear_params
_count = _params.count_parameters
_output_forward = _layers.output_forward
_sequence_ce = _probes.sequence_cross_entropy
_softmax_ce = _losses.softmax_cross_entropy
_softmax = _losses.softmax
_initial_loss = _probes.initial_loss
_rnn_forward = _rnn.rnn_forward
_ndarray = np.ndarray
_array_equal = np.array_equal
_sqrt = np.sqrt
_log = np.log
_exp = np.exp
_get_state = np.random.get_state
_set_state = np.random.set_state
_global_seed = np.random.seed

_KEYS = ("Wxh", "Whh", "bh", "Why", "by")


# ---------------------------------------------------------------------------------------------
# init_rnn_params: checked by its properties


def _expected_shapes(D, H, O):
    return {"Wxh": (H, D), "Whh": (H, H), "bh": (H,), "Why": (O, H), "by": (O,)}


def _fan_in(D, H, O):
    return {"Wxh": D, "Whh": H, "Why": H}


def _get_params(init, D, H, O, rng):
    params = call_student(init, D, H, O, rng, name="init_rnn_params")
    where = f" (D={D}, H={H}, O={O})"
    if not isinstance(params, dict):
        raise CheckFailed("init_rnn_params should return a dict with the keys "
                          f"{', '.join(_KEYS)}, but it returns {fmt_shape(params)}.",
                          mistake_id="generic/type")
    missing = [k for k in _KEYS if k not in params]
    extra = [k for k in params if k not in _KEYS]
    if "Why" in missing and "Who" in extra:
        raise CheckFailed("init_rnn_params's dict has the key 'Who' where the course uses 'Why': "
                          "the article calls the output matrix Who (hidden to output), the course "
                          "and every rnnlib function call it Why (hidden to y). Use the keys "
                          f"{', '.join(_KEYS)}.", mistake_id="init_rnn_params/who-key")
    if missing:
        raise CheckFailed(
            f"init_rnn_params's dict is missing the key(s) {', '.join(map(repr, missing))}"
            + (f" and has unexpected key(s) {', '.join(map(repr, extra))}" if extra else "")
            + f". The keys must be exactly {', '.join(_KEYS)}: the biases are parameters too.",
            mistake_id="init_rnn_params/missing-key")
    if extra:
        raise CheckFailed(f"init_rnn_params's dict has unexpected key(s) {', '.join(map(repr, extra))}; "
                          f"the keys must be exactly {', '.join(_KEYS)}.", mistake_id="generic/extra")
    shapes = _expected_shapes(D, H, O)
    for k in _KEYS:
        v = params[k]
        want = shapes[k]
        if not isinstance(v, _ndarray):
            raise CheckFailed(f"params[{k!r}] should be a numpy array of shape {want}, but it is "
                              f"{fmt_shape(v)}{where}.", mistake_id="generic/type")
        if k.startswith("W") and v.shape == want[::-1] and v.shape != want:
            raise CheckFailed(
                f"params[{k!r}] has shape {v.shape}, expected {want}{where}: it is transposed. "
                "Weights are stored (to, from): Wxh is (H, D), Why is (O, H).",
                mistake_id="init_rnn_params/weight-transposed")
        if v.shape != want:
            raise CheckFailed(f"params[{k!r}] has shape {v.shape}, expected {want}{where}.",
                              mistake_id="generic/shape")
        if v.dtype.kind != "f":
            raise CheckFailed(f"params[{k!r}] should hold floats, but its dtype is {v.dtype}{where}.",
                              mistake_id="generic/kind")
        if v.dtype != np.float64:
            raise CheckFailed(
                f"params[{k!r}] is {v.dtype}: the course computes in float64, numpy's default (the "
                f"gradient checks of chapter 4 need its precision). Do not convert the arrays{where}.",
                mistake_id="init_rnn_params/not-float64")
    return params


def _draws_from_global_numpy(init, D, H, O, seed):
    """Does ``init`` give the same result twice when numpy's *global* generator is reseeded?"""
    saved = _get_state()
    try:
        _global_seed(12345)
        p1 = call_student(init, D, H, O, seed, name="init_rnn_params")
        _global_seed(12345)
        p2 = call_student(init, D, H, O, seed, name="init_rnn_params")
    except Exception:  # noqa: BLE001 - only a hint for the message
        return False
    finally:
        _set_state(saved)
    return all(_array_equal(p1[k], p2[k]) for k in ("Wxh", "Whh", "Why"))


def _uses_global_numpy(init, D, H, O, seed):
    """Does ``init`` (called with an int seed) draw from, or reseed, numpy's global generator?"""
    saved = _get_state()
    try:
        _global_seed(12345)
        before = _get_state()[1].copy()
        call_student(init, D, H, O, seed, name="init_rnn_params")
        return not _array_equal(before, _get_state()[1])
    except Exception:  # noqa: BLE001 - only a hint for the message
        return False
    finally:
        _set_state(saved)


def _describe_scale(w, fan_in, fan_out):
    std = float(w.std())
    target = 1.0 / _sqrt(fan_in)
    centred = w - w.mean()
    kurtosis = float((centred**4).mean() / std**4)  # 3 for a normal distribution, 1.8 for a uniform
    if kurtosis < 2.4:
        return ("init_rnn_params/uniform", "its entries are uniformly distributed (rng.uniform, as "
                "in PyTorch's default initialisation), with standard deviation "
                f"{std:.4g}: draw them from a normal distribution, rng.standard_normal(shape) / "
                f"np.sqrt(fan_in), whose standard deviation is 1/sqrt(fan_in) = {target:.4g}")
    glorot = _sqrt(2.0 / (fan_in + fan_out))
    if fan_out != fan_in and abs(std - glorot) < 0.03 * glorot:
        return ("init_rnn_params/glorot", f"its standard deviation is {std:.4g} = sqrt(2 / (fan_in + "
                "fan_out)), Glorot's (Xavier's) initialisation: this course scales by the fan-in "
                f"alone, 1/sqrt(fan_in) = {target:.4g}, the fan-in being the number of columns")
    if abs(std - 1.0) < 0.1:
        return ("init_rnn_params/unscaled", "its entries have standard deviation about 1: divide "
                "the standard normal draws by sqrt(fan_in)")
    if abs(std - 1.0 / fan_in) < 0.1 / fan_in:
        return "init_rnn_params/divided-by-fan-in", "it is divided by fan_in; divide by sqrt(fan_in) instead"
    if fan_out != fan_in and abs(std - 1.0 / _sqrt(fan_out)) < 0.1 / _sqrt(fan_out):
        return ("init_rnn_params/fan-out", "it is scaled with the number of rows; the fan-in is the "
                "number of columns (the size of the vector the matrix multiplies)")
    return ("generic/scale", f"the standard deviation of its entries is {std:.4g}, expected about "
            f"{target:.4g} = 1/sqrt({fan_in})")


def _check_init(init_rnn_params, hidden=False, quiet=False):
    sizes = [(1, 3, 1), (7, 2, 5), (4, 4, 4)] if hidden else [(3, 5, 4), (6, 2, 3)]
    for seed in case_seeds(hidden):
        for D, H, O in sizes:
            where = f" (D={D}, H={H}, O={O}, rng={seed})"
            p1 = _get_params(init_rnn_params, D, H, O, seed)
            for k in ("bh", "by"):
                if not _array_equal(p1[k], np.zeros_like(p1[k])):
                    raise CheckFailed(
                        f"params[{k!r}] is not zero: biases start at zero (np.zeros), only the "
                        f"weight matrices are random.{where}", mistake_id="init_rnn_params/nonzero-bias")
            p2 = _get_params(init_rnn_params, D, H, O, seed)
            for k in ("Wxh", "Whh", "Why"):
                if not _array_equal(p1[k], p2[k]):
                    if _draws_from_global_numpy(init_rnn_params, D, H, O, seed):
                        raise CheckFailed(
                            f"Not reproducible from the seed: two calls with rng={seed} give "
                            f"different params[{k!r}], because the weights are drawn from numpy's "
                            "global generator (np.random.randn, np.random.normal, ...), which the "
                            "seed you are given does not control. Draw everything from "
                            f"rng = np.random.default_rng(rng) (rng.standard_normal(shape)).{where}",
                            mistake_id="init_rnn_params/global-random")
                    raise CheckFailed(
                        f"Not reproducible from the seed: two calls with rng={seed} give different "
                        f"params[{k!r}]: the seed is not used. Start with "
                        f"rng = np.random.default_rng(rng) and draw every weight from it.{where}",
                        mistake_id="init_rnn_params/ignores-seed")
            try:
                p3 = _get_params(init_rnn_params, D, H, O, np.random.default_rng(seed))
            except CheckFailed as err:
                if err.mistake_id == "generic/crash" and _uses_global_numpy(init_rnn_params, D, H, O, seed):
                    mistake = next(m for m in INIT_RNN_PARAMS.mistakes if m.id == "init_rnn_params/seeds-global")
                    crash = str(err).split(" (called with")[0].split(" raised ", 1)[-1]
                    raise CheckFailed(f"init_rnn_params {mistake.says} Called with a Generator, "
                                      f"rng = np.random.default_rng({seed}), it raised {crash}{where}.",
                                      mistake_id=mistake.id) from None
                raise
            for k in ("Wxh", "Whh", "Why"):
                if not _array_equal(p1[k], p3[k]):
                    raise CheckFailed(
                        "Passing a Generator made with np.random.default_rng(seed) should give the "
                        f"same parameters as passing the int seed, but params[{k!r}] differs. Start "
                        f"with rng = np.random.default_rng(rng): it accepts both.{where}",
                        mistake_id="init_rnn_params/generator-not-accepted")
            p4 = _get_params(init_rnn_params, D, H, O, seed + 1)
            if all(_array_equal(p1[k], p4[k]) for k in ("Wxh", "Whh", "Why")):
                raise CheckFailed(f"rng={seed} and rng={seed + 1} give the same parameters: the seed "
                                  "is ignored.", mistake_id="init_rnn_params/ignores-seed")
            if D == H and _array_equal(p1["Wxh"], p1["Whh"]):
                raise CheckFailed("params['Wxh'] and params['Whh'] are the same matrix: draw each "
                                  "weight matrix separately.", mistake_id="init_rnn_params/same-matrix")
    # Scale, measured on large matrices where the sample mean and standard deviation are precise.
    D, H, O = (300, 200, 120) if not hidden else (150, 260, 90)
    p = _get_params(init_rnn_params, D, H, O, case_seeds(hidden)[0])
    fans = _fan_in(D, H, O)
    shapes = _expected_shapes(D, H, O)
    for k in ("Wxh", "Whh", "Why"):
        w = p[k]
        target = 1.0 / _sqrt(fans[k])
        std = float(w.std())
        # Six standard errors of the sample mean: a centred draw is never this far off.
        if abs(float(w.mean())) > 6 * std / _sqrt(w.size):
            raise CheckFailed(
                f"params[{k!r}] has mean {float(w.mean()):.3g}, but its entries should be centred "
                "on 0: use a normal distribution with mean 0 (rng.standard_normal), not a uniform "
                f"one on [0, 1) (rng.random). (D={D}, H={H}, O={O})",
                mistake_id="init_rnn_params/not-centred")
        # Five percent: on matrices this large a right draw is within one percent.
        if not abs(std - target) < 0.05 * target:
            mid, why = _describe_scale(w, fans[k], shapes[k][0])
            raise CheckFailed(f"params[{k!r}] has the wrong scale: {why}. (D={D}, H={H}, O={O})",
                              mistake_id=mid)
    if not quiet:
        print("init_rnn_params: all checks passed.")


_WXH = "Wxh = rng.standard_normal((H, D)) / np.sqrt(D)"
_WHY = '{"Why": rng.standard_normal((O, H)) / np.sqrt(H), "by": np.zeros(O)}'
_SEED = "rng = np.random.default_rng(rng)\n    return {"
_RETURN = "return {**rnn_cell_params(D, H, rng, whh_init, scale), **linear_params(H, O, rng)}"


def _cell(*edits):
    return mutate(_init, *edits, inner=_cell_params)


def _linear(*edits):
    return mutate(_init, *edits, inner=_linear_params)


INIT_RNN_PARAMS = Exercise(
    name="init_rnn_params",
    reference=_init,
    cases=lambda hidden: [],
    returns=("params",),
    section="ch03-init",
    check_student=lambda fn, hidden: _check_init(fn, hidden, quiet=True),
    mistakes=[
        Mistake("init_rnn_params/weight-transposed",
                "it is transposed. Weights are stored (to, from): Wxh is (H, D), Why is (O, H).",
                _cell((_WXH, "Wxh = rng.standard_normal((D, H)) / np.sqrt(D)")), "ch03-parameters"),
        Mistake("init_rnn_params/who-key",
                "has the key 'Who' where the course uses 'Why' (the article's name for W_hy).",
                mutate(_init, (_RETURN, "params = {**rnn_cell_params(D, H, rng, whh_init, scale), "
                                        "**linear_params(H, O, rng)}\n    params['Who'] = params.pop('Why')\n"
                                        "    return params")), "ch03-parameters"),
        Mistake("init_rnn_params/missing-key",
                "dict is missing the key(s) 'by': the biases are parameters too.",
                _linear((_WHY, '{"Why": rng.standard_normal((O, H)) / np.sqrt(H)}')), "ch03-parameters"),
        Mistake("init_rnn_params/not-float64",
                "the course computes in float64, numpy's default.",
                _linear((_WHY, '{"Why": (rng.standard_normal((O, H)) / np.sqrt(H)).astype(np.float32), '
                               '"by": np.zeros(O)}')), "ch03-init"),
        Mistake("init_rnn_params/nonzero-bias",
                "is not zero: biases start at zero (np.zeros), only the weight matrices are random.",
                _cell(('"bh": np.zeros(H)', '"bh": rng.standard_normal(H)')), "ch03-init"),
        Mistake("init_rnn_params/ignores-seed",
                "Not reproducible from the seed: the seed is not used.",
                mutate(_init, (_SEED, "rng = np.random.default_rng()\n    return {")), "ch03-init"),
        Mistake("init_rnn_params/global-random",
                "Not reproducible from the seed: the weights come from numpy's global generator.",
                _cell((_WXH, "Wxh = np.random.standard_normal((H, D)) / np.sqrt(D)")), "ch03-init"),
        Mistake("init_rnn_params/generator-not-accepted",
                "Passing a Generator made with np.random.default_rng(seed) should give the same "
                "parameters as passing the int seed.",
                mutate(_init, (_SEED, "rng = np.random.default_rng(rng if isinstance(rng, int) else None)"
                                      "\n    return {")), "ch03-init"),
        Mistake("init_rnn_params/not-centred",
                "its entries should be centred on 0: rng.random draws from [0, 1).",
                _cell(("Whh = rng.standard_normal((H, H)) / np.sqrt(H) * scale",
                       "Whh = rng.random((H, H)) / np.sqrt(H) * scale")), "ch03-init"),
        Mistake("init_rnn_params/seeds-global",
                "seeds and draws from numpy's global generator (np.random.seed(rng), "
                "np.random.randn, ...): rng may be a Generator, which np.random.seed cannot take, "
                "and reseeding the global generator changes the random numbers of all the code "
                "that runs after it. Start with rng = np.random.default_rng(rng) (it accepts an "
                "int, a Generator or None) and draw every weight from it, rng.standard_normal(shape).",
                mutate(_init, (_SEED, "np.random.seed(rng)\n    rng = np.random.default_rng("
                                      "np.random.randint(2**31))\n    return {")), "ch03-init"),
        Mistake("init_rnn_params/uniform",
                "params['Wxh'] has the wrong scale: its entries are uniformly distributed",
                _cell((_WXH, "Wxh = rng.uniform(-1.0, 1.0, (H, D)) / np.sqrt(D)")), "ch03-init"),
        Mistake("init_rnn_params/glorot",
                "params['Why'] has the wrong scale: its standard deviation is",
                _linear((_WHY, '{"Why": rng.standard_normal((O, H)) * np.sqrt(2.0 / (H + O)), "by": np.zeros(O)}')),
                "ch03-init"),
        Mistake("init_rnn_params/unscaled",
                "params['Wxh'] has the wrong scale: its entries have standard deviation about 1.",
                _cell((_WXH, "Wxh = rng.standard_normal((H, D))")), "ch03-init"),
        Mistake("init_rnn_params/divided-by-fan-in",
                "params['Why'] has the wrong scale: it is divided by fan_in.",
                _linear((_WHY, '{"Why": rng.standard_normal((O, H)) / H, "by": np.zeros(O)}')), "ch03-init"),
        Mistake("init_rnn_params/fan-out",
                "params['Wxh'] has the wrong scale: it is scaled with the number of rows.",
                _cell((_WXH, "Wxh = rng.standard_normal((H, D)) / np.sqrt(H)")), "ch03-init"),
    ],
)


def check_init_rnn_params(init_rnn_params, hidden=False):
    """Check a student's ``init_rnn_params(D, H, O, rng) -> params``.

    Checked: the five keys, every shape (float arrays), zero biases, the same parameters from
    the same seed (an int, or a fresh Generator with that seed), different parameters from
    different seeds, and each weight matrix's scale ``1/sqrt(fan_in)`` (mean about 0).

    Parameters
    ----------
    init_rnn_params : callable
    hidden : bool
        Hidden tests: other seeds and sizes (including ``D = 1``, ``O = 1``).
    """
    _check_init(init_rnn_params, hidden)


# ---------------------------------------------------------------------------------------------
# count_parameters


def _count_cases(hidden):
    rng = np.random.default_rng(case_seeds(hidden)[0])
    sizes = [(1, 3, 1), (7, 2, 5), (40, 64, 40)] if hidden else [(3, 5, 4), (65, 100, 65)]
    dicts = [{k: rng.standard_normal(s) for k, s in _expected_shapes(*size).items()} for size in sizes]
    if not hidden:
        # The exercise says "any dict of arrays": a visible case says so too (a two-layer RNN).
        dicts.append({k: rng.standard_normal(s) for k, s in
                      {"Wxh": (3, 2), "Whh": (3, 3), "bh": (3,), "Wxh2": (4, 3), "Whh2": (4, 4),
                       "bh2": (4,), "Why": (2, 4), "by": (2,)}.items()})
    if hidden:
        # The function counts *any* dict of arrays: a two-layer model, a gated cell.
        for shapes in ({"Wxh": (4, 3), "Whh": (4, 4), "bh": (4,), "Wxh2": (5, 4), "Whh2": (5, 5),
                        "bh2": (5,), "Why": (2, 5), "by": (2,)},
                       {"W": (12, 7), "b": (12,), "Why": (3, 3), "by": (3,)}):
            dicts.append({k: rng.standard_normal(s) for k, s in shapes.items()})
    # A 0-d array (one learned number, a temperature or a scale, stored as an array of shape
    # ()) holds one parameter: np.prod(()) is the float 1.0, so a product of the shape shows.
    dicts.append({k: rng.standard_normal(s) for k, s in
                  {"W": (4, 3) if hidden else (3, 2), "b": (4,) if hidden else (3,), "scale": ()}.items()})
    # A dict with no arrays at all (a layer without parameters) is a dict of arrays too: 0.
    dicts.append({})
    return [Case(("an empty dict {}" if not d else
                  "the dict {" + ", ".join(f"{k} {v.shape}" for k, v in d.items()) + "}"), (d,))
            for d in dicts]


def _diagnose_count(got, expected, case):
    (params,) = case.args
    n = got.get("count")
    if not isinstance(n, (int, float, np.integer, np.floating)) or isinstance(n, bool):
        return "generic/type", f"count_parameters should return an int, but it returns {fmt_shape(n)}."
    if n == sum(v.size for k, v in params.items() if k in _KEYS):
        return "count_parameters/only-rnn-keys", _ONLY_RNN_KEYS
    if params and abs(n - sum(float(np.sum(v)) for v in params.values())) < 1:
        # The values added up (then rounded or truncated to an int, or not).
        return "count_parameters/sums-values", _SUMS_VALUES
    return "generic/value", (f"count_parameters returns {n}, expected {expected['count']}: add up "
                             "array.size over every value in the dict.")


_SUM = "int(sum(np.asarray(p).size for p in params.values()))"
_ONLY_RNN_KEYS = (
    "It only counts the keys Wxh, Whh, bh, Why, by; count every array in the dict, whatever its "
    "name (a gated or a two-layer model has other keys).")
_SUMS_VALUES = (
    "It adds up the values stored in the arrays (np.sum(p), sum(p)): the number of parameters is "
    "how many numbers the arrays hold, whatever their values. Add up the sizes, p.size.")

COUNT_PARAMETERS = Exercise(
    name="count_parameters",
    reference=_count,
    cases=_count_cases,
    returns=("count",),
    section="ch03-count",
    kinds={"count": "int"},
    diagnose=_diagnose_count,
    mistakes=[
        Mistake("count_parameters/no-biases",
                "It leaves out the biases (bh, by): they are parameters too, H + O more numbers.",
                mutate(_count, (_SUM, "int(sum(np.asarray(p).size for p in params.values() if np.ndim(p) == 2))")),
                "ch03-count"),
        Mistake("count_parameters/sum-of-shape",
                "It adds the dimensions of each shape; the number of entries of an array is their "
                "product (array.size).",
                mutate(_count, (_SUM, "int(sum(sum(np.shape(p)) for p in params.values()))")), "ch03-count"),
        Mistake("count_parameters/counts-arrays",
                "It counts the arrays; count the numbers inside them (array.size).",
                mutate(_count, (_SUM, "len(params)")), "ch03-count"),
        Mistake("count_parameters/counts-rows",
                "It counts the rows of each array (len(p)); count all of its entries (p.size).",
                mutate(_count, (_SUM, "int(sum(len(p) for p in params.values()))")), "ch03-count"),
        Mistake("count_parameters/assumes-matrices",
                "It multiplies the first two numbers of every shape, p.shape[0] * p.shape[1]: a "
                "bias has only one, (H,). The number of entries of any array is p.size, the "
                "product of all of its shape.",
                mutate(_count, (_SUM, "int(sum(np.shape(p)[0] * np.shape(p)[1] for p in params.values()))")),
                "ch03-count"),
        Mistake("count_parameters/bytes",
                "It counts bytes (p.nbytes, 8 per float64 number), not numbers: count the entries, "
                "p.size.",
                mutate(_count, (_SUM, "int(sum(np.asarray(p).nbytes for p in params.values()))")),
                "ch03-count"),
        Mistake("count_parameters/returns-float",
                "count_parameters returns a float; a count is an integer: return int(...).",
                mutate(_count, (_SUM, "float(sum(np.asarray(p).size for p in params.values()))")),
                "ch03-count"),
        Mistake("count_parameters/only-rnn-keys", _ONLY_RNN_KEYS,
                mutate(_count, (_SUM, "int(sum(np.asarray(params[k]).size for k in ('Wxh', 'Whh', 'bh', 'Why', 'by')))")),
                "ch03-count"),
        Mistake("count_parameters/rnn-formula",
                "It computes the RNN's formula, H*D + H*H + H + O*H + O, with H, D and O read "
                "from the shapes of some of the arrays: that count holds for one RNN only. "
                "count_parameters counts any dict of arrays (a two-layer model, a gated cell: "
                "other keys, other shapes), so add up p.size over every value in the dict.",
                mutate(_count, (_SUM, "params['Wxh'].shape[0] * params['Wxh'].shape[1] + "
                                      "params['Wxh'].shape[0] ** 2 + params['Wxh'].shape[0] + "
                                      "params['Why'].shape[0] * params['Wxh'].shape[0] + params['Why'].shape[0]")),
                "ch03-count"),
        Mistake("count_parameters/sums-values", _SUMS_VALUES,
                mutate(_count, (_SUM, "int(round(sum(float(np.sum(p)) for p in params.values())))")),
                "ch03-count"),
        Mistake("count_parameters/prod-of-empty-shape-is-float",
                "For a 0-d array (one number stored as an array, shape ()) np.prod(p.shape) is 1.0, "
                "a float (the product of an empty tuple), so your total becomes a float. A count is "
                "an int: use p.size, which is an int for every array (1 for shape ()), or "
                "np.prod(p.shape, dtype=int).",
                mutate(_count, (_SUM, "sum(np.prod(np.shape(p)) for p in params.values())")),
                "ch03-count"),
        Mistake("count_parameters/fails-on-empty-dict",
                "It fails on a dict with no arrays in it (a layer without parameters): "
                "np.concatenate (like np.stack or functools.reduce) needs at least one array, "
                "while the count of nothing is simply 0. Add up the sizes instead, "
                "sum(p.size for p in params.values()), which is 0 for an empty dict.",
                mutate(_count, (_SUM, "len(np.concatenate([np.ravel(p) for p in params.values()]))")),
                "ch03-count", crashes=("need at least one array", "reduce() of empty")),
        Mistake("count_parameters/np-sum-of-nothing-is-float",
                "For an empty dict it returns 0.0, a float: np.sum of an empty list is a float "
                "(numpy cannot tell the type of the numbers in an empty list). A count is an int: "
                "wrap it, int(np.sum(...)), or add up with Python's sum(p.size for p in "
                "params.values()), which gives the int 0.",
                mutate(_count, (_SUM, "np.sum([np.asarray(p).size for p in params.values()])")),
                "ch03-count"),
    ],
)


def check_count_parameters(count_parameters, hidden=False):
    """Check a student's ``count_parameters(params) -> int``.

    The cases are RNN parameter dicts of several sizes; the hidden ones add dicts with other
    keys (a two-layer model, a gated cell), since the function counts *any* dict of arrays.
    """
    run_check(COUNT_PARAMETERS, count_parameters, hidden)


# ---------------------------------------------------------------------------------------------
# output_forward


def _output_cases(hidden):
    # A square case (H = O) is visible too: there a missing transpose runs and gives wrong values.
    shapes = [(1, 1, 4, 3), (5, 2, 4, 4), (3, 4, 6, 2)] if hidden else [(4, 3, 5, 6), (2, 2, 3, 7), (3, 2, 4, 4)]
    cases = []
    for seed in case_seeds(hidden):
        for T, B, H, O in shapes:
            rng = np.random.default_rng(seed)
            args = (np.tanh(rng.standard_normal((T, B, H))), rng.standard_normal((O, H)), rng.standard_normal(O))
            cases.append(Case(f"seed {seed}, T={T}, B={B}, H={H}, O={O}", args, {}, {"T": T, "B": B}))
    return cases


def _diagnose_output(got, expected, case):
    hs, Why, by = case.args
    T, B, _ = hs.shape
    ys = got.get("ys")
    if isinstance(ys, _ndarray) and ys.shape == (B, Why.shape[0]) and T > 1:
        return "output_forward/last-step-only", (
            f"ys has shape {ys.shape}: that is one time step. Apply the layer to every step; ys "
            f"must be (T, B, O) = {expected['ys'].shape}.")
    return None


def _softmax_applied(hs, Why, by):
    ys, cache = _output_forward(hs, Why, by)
    return _softmax(ys), cache


def _tanh_applied(hs, Why, by):
    ys, cache = _output_forward(hs, Why, by)
    return np.tanh(ys), cache


def _last_step_only(hs, Why, by):
    ys, cache = _output_forward(hs, Why, by)
    return ys[-1], cache


def _one_buffer_for_every_step(hs, Why, by):
    # ys.append(y) of one array y filled in at every step: every entry is the last step's.
    ys, cache = _output_forward(hs, Why, by)
    return np.broadcast_to(ys[-1], ys.shape).copy(), cache


def _cache_reordered(hs, Why, by):
    ys, cache = _output_forward(hs, Why, by)
    return ys, (cache.Why, cache.hs)


_YS = "ys = (hs.reshape(T * B, H) @ Why.T).reshape(T, B, -1) + by"

OUTPUT_FORWARD = Exercise(
    name="output_forward",
    reference=_output_forward,
    cases=_output_cases,
    returns=("ys", "cache"),
    compare=("ys",),
    time_axis={"ys": 0},
    # The exercise prescribes the cache, (hs, Why): chapter 4's output_backward unpacks it.
    cache_fields=("hs", "Why"),
    section="ch03-output-layer",
    diagnose=_diagnose_output,
    mistakes=[
        Mistake("output_forward/no-bias",
                "It leaves out the bias by: add it at every step (it broadcasts over T and B).",
                mutate(_output_forward, (_YS, "ys = (hs.reshape(T * B, H) @ Why.T).reshape(T, B, -1)")),
                "ch03-output-layer"),
        Mistake("output_forward/why-not-transposed",
                "It multiplies by Why where Why.T belongs: Why is stored (O, H), so the matrix "
                "shapes line up with rows as examples only as hs @ Why.T (and where H = O they "
                "line up either way, with wrong values).",
                mutate(_output_forward, (_YS, "ys = (hs.reshape(T * B, H) @ Why).reshape(T, B, -1) + by")),
                "ch03-output-layer"),
        Mistake("output_forward/softmax",
                "It applies softmax: the output layer returns the raw scores (logits); the loss "
                "applies softmax.",
                _softmax_applied, "ch03-output-layer"),
        Mistake("output_forward/tanh",
                "It applies tanh: the output layer is affine, y_t = W_hy h_t + b_y, with no "
                "nonlinearity.",
                _tanh_applied, "ch03-output-layer"),
        Mistake("output_forward/column-form",
                "It multiplies in the column form, np.dot(Why, ...): hs holds its states as rows, "
                "(T, B, H), and numpy's products line up the last axis of the left factor with "
                "the first (or second-to-last) of the right one. With rows, the product is "
                "hs @ Why.T, (T, B, H) @ (H, O).",
                mutate(_output_forward, (_YS, "ys = np.dot(Why, hs.T).T + by")), "ch03-output-layer", crashes=("not aligned",)),
        Mistake("output_forward/last-step-only",
                "ys has the shape of one time step, (B, O): it is the last step's output only. Apply "
                "the same Why and by at every time step; ys must be (T, B, O).",
                _last_step_only, "ch03-output-layer"),
        Mistake("output_forward/reshape-for-transpose",
                "It uses Why.reshape(H, O) where Why.T belongs: both have the shape (H, O), but a "
                "reshape keeps the numbers in their order in memory and only cuts them into rows of "
                "another length, so its columns are not the rows of Why. Only the transpose turns "
                "the rows of Why into columns: ys = hs @ Why.T + by.",
                mutate(_output_forward, (_YS, "ys = (hs.reshape(T * B, H) @ Why.reshape(H, -1)).reshape(T, B, -1) + by")),
                "ch03-output-layer"),
        Mistake("output_forward/one-buffer-for-every-step",
                "Every ys[t] holds the last step's output: one array was filled in at every step "
                "and stored (appended) each time, so every entry is that same array, overwritten "
                "by the last step. Store a new array at each step (ys.append(hs[t] @ Why.T + by)), "
                "or write into ys[t] of a (T, B, O) array, or compute all steps at once, "
                "hs @ Why.T + by.",
                _one_buffer_for_every_step, "ch03-output-layer"),
        Mistake("output_forward/cache-order",
                "its cache holds the right arrays in another order: chapter 4's backward pass "
                "unpacks it by position, hs, Why = cache, so return (hs, Why).",
                _cache_reordered, "ch03-output-layer"),
    ],
)


def check_output_forward(output_forward, hidden=False):
    """Check a student's ``output_forward(hs, Why, by) -> (ys, cache)``.

    ``hs`` is ``(T, B, H)``, ``Why`` is ``(O, H)``, ``by`` is ``(O,)``, and ``ys`` must be
    ``(T, B, O)`` with ``ys[t] = hs[t] @ Why.T + by`` at every step. ``cache`` must be
    ``(hs, Why)``, as the exercise says (chapter 4's backward pass unpacks it in that order).
    """
    _check_output_forward(output_forward, hidden)


def _check_output_forward(output_forward, hidden=False, quiet=False):
    run_check(OUTPUT_FORWARD, output_forward, hidden, quiet=quiet)


OUTPUT_FORWARD.check_student = lambda fn, hidden: _check_output_forward(fn, hidden, quiet=True)


# ---------------------------------------------------------------------------------------------
# sequence_cross_entropy


def _ce_cases(hidden):
    specs = ([(1, 1, 3, False, 1.0), (6, 4, 10, True, 2.0), (3, 2, 5, True, 300.0)] if hidden
             else [(5, 3, 7, True, 2.0), (4, 2, 5, False, 2.0), (2, 3, 4, True, 300.0)])
    cases = []
    for seed in case_seeds(hidden):
        rng = np.random.default_rng(seed)
        for T, B, V, masked, scale in specs:
            logits = rng.standard_normal((T, B, V)) * scale
            targets = rng.integers(0, V, size=(T, B))
            label = f"seed {seed}, T={T}, B={B}, V={V}, " + ("with a mask" if masked else "no mask")
            if masked:
                # Sequences of different lengths padded at the end, as a batch of real text would be.
                lengths = rng.integers(1, T + 1, size=B)
                lengths[0] = T
                if B > 2:
                    lengths[-1] = max(1, T // 3)
                mask = np.arange(T)[:, None] < lengths[None, :]
                cases.append(Case(label, (logits, targets, mask), {}, {"T": T, "B": B, "V": V}))
            else:
                cases.append(Case(label, (logits, targets), {}, {"T": T, "B": B, "V": V}))
    return cases


def _diagnose_ce(got, expected, case):
    loss = got.get("loss")
    logits = case.args[0]
    if isinstance(loss, tuple):
        return "sequence_cross_entropy/returns-tuple", (
            "sequence_cross_entropy should return one number (the loss), but it returns a tuple.")
    if isinstance(loss, _ndarray) and loss.size > 1:
        return "sequence_cross_entropy/not-averaged", (
            f"sequence_cross_entropy should return a single number (the mean loss), but it returns "
            f"an array of shape {loss.shape}: average it over the positions that count.")
    if _picks_every_target(loss, case):
        return "sequence_cross_entropy/every-target-at-every-position", _EVERY_TARGET
    if isinstance(loss, (float, np.floating)) and not np.isfinite(loss):
        return "sequence_cross_entropy/overflow", (
            f"The loss is {loss} for logits as large as {float(np.abs(logits).max()):.0f}: exp "
            "overflows. Subtract each row's largest logit before exp; the softmax does not change.")
    return None


_EVERY_TARGET = (
    "It indexes the log-probabilities with the whole targets array, logp[:, :, targets] (or "
    "log_probs[:, targets] on flattened rows): that takes, at every position, the "
    "log-probability of every position's target, a (T, B, T, B) array, and your loss averages "
    "all of them. Pick one entry per position, its own target: "
    "logp[np.arange(T)[:, None], np.arange(B), targets], or "
    "np.take_along_axis(logp, targets[..., None], axis=-1)[..., 0].")


def _picks_every_target(loss, case):
    """Is ``loss`` the mean, or the sum, of ``-logp[t, b, targets[t2, b2]]`` over every pair of
    positions, with the mask (if any) applied to either, and any of the usual counts as the
    divisor? That is what ``logp[:, :, targets]`` gives (a (T, B, T, B) array)."""
    if not (isinstance(loss, (float, np.floating, np.ndarray)) and np.size(loss) == 1
            and len(case.args) >= 2 and isinstance(case.args[0], _ndarray) and case.args[0].ndim == 3):
        return False
    loss = float(np.asarray(loss).reshape(()))
    logits, targets = case.args[0], case.args[1]
    mask = case.args[2] if len(case.args) > 2 and case.args[2] is not None else np.ones(targets.shape, bool)
    mask = np.asarray(mask, dtype=float)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    logp = shifted - _log(_exp(shifted).sum(axis=-1, keepdims=True))
    pairs = -logp[:, :, targets]  # (T, B, T, B)
    N, TB = float(mask.sum()), float(targets.size)
    sums = [pairs.sum(), (pairs * mask).sum(), (pairs * mask[:, :, None, None]).sum(),
            (pairs * mask[:, :, None, None] * mask).sum()]
    counts = {1.0, N, TB, N * TB, N * N, TB * TB}
    return any(np.isclose(loss, total / n, rtol=1e-6, atol=1e-9) for total in sums for n in counts)


def _ce(*edits):
    return mutate(_sequence_ce, *edits, inner=_softmax_ce)


def _ce_out(change):
    def variant(logits, targets, mask=None):
        return change(_sequence_ce(logits, targets, mask), logits)

    return variant


def _softmax_over_axis(axis):
    """The softmax normalised along ``axis`` of the (T, B, V) logits: the log-probabilities are
    computed so, then picked and averaged by the reference (its raw-logit edit takes them as
    they are)."""

    def variant(logits, targets, mask=None):
        shifted = logits - logits.max(axis=axis, keepdims=True)
        log_probs = shifted - _log(_exp(shifted).sum(axis=axis, keepdims=True))
        return _RAW_LOGIT(log_probs, targets, mask)

    return variant


def _mask_inverted(logits, targets, mask=None):
    # ~mask keeps the padding; with nothing padded it keeps nothing, and 0 / 0 is nan.
    with np.errstate(invalid="ignore", divide="ignore"):
        return _COUNT_ALL_KEPT(logits, targets, None if mask is None else ~np.asarray(mask, dtype=bool))


def _per_sequence_mean(logits, targets, mask=None):
    if mask is None:
        mask = np.ones(targets.shape, dtype=bool)
    per = [_sequence_ce(logits[:, b:b + 1], targets[:, b:b + 1], mask[:, b:b + 1])
           for b in range(targets.shape[1])]
    return float(np.mean(per))


_N = "n = max(int(mask.sum()), 1)"
_MASK = "mask = np.asarray(mask, dtype=bool)"
_LOGP = "log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))"
_RAW_LOGIT = _ce((_LOGP, "log_probs = flat"))
_COUNT_ALL_KEPT = _ce((_N, "n = int(mask.sum())"))  # no guard against 0 kept positions

SEQUENCE_CROSS_ENTROPY = Exercise(
    name="sequence_cross_entropy",
    reference=_sequence_ce,
    cases=_ce_cases,
    returns=("loss",),
    section="ch03-loss",
    diagnose=_diagnose_ce,
    arg_names=("logits", "targets", "mask"),
    mistakes=[
        Mistake("sequence_cross_entropy/if-not-mask",
                "It tests for a missing mask with `if not mask:` (or `if mask:`): the truth value "
                "of an array of several entries is ambiguous, so this raises as soon as a mask is "
                "given. Test for the default itself: `if mask is None:`.",
                _ce(("if mask is None:", "if not mask:")), "ch03-loss"),
        Mistake("sequence_cross_entropy/ignores-mask",
                "It ignores the mask: padded positions (mask False) must not count.",
                _ce((_MASK, "mask = np.ones((T, B), dtype=bool)")), "ch03-loss"),
        Mistake("sequence_cross_entropy/divides-by-all-positions",
                "It divides the masked sum by every position, T*B; divide by the number of "
                "positions the mask keeps, N = mask.sum(), so that padding does not pull the loss down.",
                _ce((_N, "n = T * B")), "ch03-loss"),
        Mistake("sequence_cross_entropy/divides-by-batch",
                "It divides the sum over the counted positions by the batch size B: the loss is the "
                "MEAN over the N = mask.sum() positions that count (every unmasked (t, b)), so "
                "divide by N, not by B.",
                _ce((_N, "n = B")), "ch03-loss"),
        Mistake("sequence_cross_entropy/sums",
                "It sums over the positions; the course's loss is the mean over the positions that "
                "count (divide by N = mask.sum()).",
                _ce((_N, "n = 1")), "ch03-loss"),
        Mistake("sequence_cross_entropy/sums-ignoring-mask",
                "It sums over every position and ignores the mask; take the mean over the unmasked "
                "positions.",
                _ce((_MASK, "mask = np.ones((T, B), dtype=bool)"), (_N, "n = 1")), "ch03-loss"),
        Mistake("sequence_cross_entropy/per-sequence-mean",
                "It averages each sequence first and then the sequences; the course averages over "
                "all unmasked positions at once (every position counts the same, whatever its "
                "sequence's length).",
                _per_sequence_mean, "ch03-loss"),
        Mistake("sequence_cross_entropy/mean-over-vocabulary",
                "It is the right loss divided by V: the mean was also taken over the V entries of "
                "each position (as in np.mean(onehot * log_p)). Sum over the vocabulary (only the "
                "target's entry counts), then average over the positions.",
                _ce_out(lambda loss, logits: loss / logits.shape[-1]), "ch03-loss"),
        Mistake("sequence_cross_entropy/sign",
                "It has the wrong sign: cross-entropy is minus the log-probability of the target "
                "(a positive number).",
                _ce_out(lambda loss, logits: -loss), "ch03-loss"),
        Mistake("sequence_cross_entropy/bits",
                "It is in bits (log base 2); use the natural log (np.log): the course measures the "
                "loss in nats.",
                _ce_out(lambda loss, logits: loss / np.log(2.0)), "ch03-loss"),
        Mistake("sequence_cross_entropy/perplexity",
                "It returns the perplexity exp(loss); return the loss itself.",
                _ce_out(lambda loss, logits: float(np.exp(loss))), "ch03-loss"),
        Mistake("sequence_cross_entropy/raw-logit",
                "It uses the raw logit of the target; the loss needs the log-softmax: "
                "logit - log(sum(exp(logits))).",
                _RAW_LOGIT, "ch03-loss"),
        Mistake("sequence_cross_entropy/probability-not-log",
                "It averages minus the probability of the target; cross-entropy is minus its "
                "logarithm, -ln p.",
                _ce((_LOGP, "log_probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)")),
                "ch03-loss"),
        Mistake("sequence_cross_entropy/softmax-over-time",
                "The softmax is normalised over the wrong axis, time (axis 0): each position's "
                "probabilities are spread over the V entries of the vocabulary, the last axis of "
                "the (T, B, V) logits. Take the max and the sum along axis=-1 (with "
                "keepdims=True).",
                _softmax_over_axis(0), "ch03-loss"),
        Mistake("sequence_cross_entropy/softmax-over-batch",
                "The softmax is normalised over the wrong axis, the batch (axis 1): each "
                "position's probabilities are spread over the V entries of the vocabulary, the "
                "last axis of the (T, B, V) logits. Take the max and the sum along axis=-1 (with "
                "keepdims=True).",
                _softmax_over_axis(1), "ch03-loss"),
        Mistake("sequence_cross_entropy/every-target-at-every-position", _EVERY_TARGET,
                _ce(("log_probs[rows, idx] * weights", "log_probs[:, idx] * weights"),
                    ("return loss, dflat", "return loss / (T * B), dflat")), "ch03-loss"),
        Mistake("sequence_cross_entropy/mask-inverted",
                "It counts the padded positions and leaves out the real ones: the mask is True "
                "where a position counts and False on padding, so weight each position by mask "
                "itself (not by ~mask, or 1 - mask) and divide by mask.sum().",
                _mask_inverted, "ch03-loss"),
    ],
)


def check_sequence_cross_entropy(sequence_cross_entropy, hidden=False):
    """Check a student's ``sequence_cross_entropy(logits, targets, mask=None) -> float``.

    The loss is the mean over the positions where ``mask`` is True (every position when
    ``mask`` is None) of ``-log softmax(logits[t, b])[targets[t, b]]``, in nats — the
    convention of :func:`rnnlib.losses.softmax_cross_entropy`.
    """
    run_check(SEQUENCE_CROSS_ENTROPY, sequence_cross_entropy, hidden)


# ---------------------------------------------------------------------------------------------
# initial_loss


def _loss_case(seed, T, B, V, H):
    rng = np.random.default_rng(seed)
    params = {
        "Wxh": rng.standard_normal((H, V)),
        "Whh": rng.standard_normal((H, H)) / _sqrt(H),
        "bh": rng.standard_normal(H) * 0.3,
        # Larger than an initialisation would use, so the right loss is far from ln V.
        "Why": rng.standard_normal((V, H)) * 2.0,
        "by": rng.standard_normal(V),
    }
    x = np.eye(V)[rng.integers(0, V, size=(T, B))]
    targets = rng.integers(0, V, size=(T, B))
    return Case(f"seed {seed}, T={T}, B={B}, V={V}, H={H}", (params, x, targets), {}, {"T": T, "B": B})


def _loss_cases(hidden):
    shapes = [(1, 1, 3, 2), (7, 2, 5, 6)] if hidden else [(6, 3, 5, 4), (4, 2, 8, 3)]
    return [_loss_case(seed, *s) for seed in case_seeds(hidden) for s in shapes]


def _logits(params, x):
    B, H = x.shape[1], params["Whh"].shape[0]
    hs, _ = _rnn_forward(x, np.zeros((B, H)), params["Wxh"], params["Whh"], params["bh"])
    return _output_forward(hs, params["Why"], params["by"])[0]


def _last_step_loss(params, x, targets):
    return _softmax_ce(_logits(params, x)[-1:], targets[-1:])[0]


def _targets_shifted_again(params, x, targets):
    return _softmax_ce(_logits(params, x)[:-1], targets[1:])[0]


def _without(key):
    def variant(params, x, targets):
        return _initial_loss({**params, key: np.zeros_like(params[key])}, x, targets)

    return variant


def _loss_out(change):
    def variant(params, x, targets):
        return change(_initial_loss(params, x, targets), targets)

    return variant


def _softmax_twice(params, x, targets):
    return _softmax_ce(_softmax(_logits(params, x)), targets)[0]


def _id_zero_masked(params, x, targets):
    # mask = targets > 0: id 0 taken for padding, as in much NLP code.
    return _sequence_ce(_logits(params, x), targets, targets != 0)


def _h0_sized_by_input(params, x, targets):
    # h0 = np.zeros((B, D)): the input's size (Wxh.shape[1], x.shape[2]) where H belongs.
    B, D = x.shape[1], x.shape[2]
    hs, _ = _rnn_forward(x, np.zeros((B, D)), params["Wxh"], params["Whh"], params["bh"])
    return _sequence_ce(_output_forward(hs, params["Why"], params["by"])[0], targets)


def _pair_not_unpacked(params, x, targets):
    # ys = output_forward(...) keeps the pair (ys, cache), and the loss is handed the pair.
    B, H = x.shape[1], params["Whh"].shape[0]
    hs, _ = _rnn_forward(x, np.zeros((B, H)), params["Wxh"], params["Whh"], params["bh"])
    return _softmax_ce(_output_forward(hs, params["Why"], params["by"]), targets)[0]


def _random_h0(params, x, targets):
    # h0 drawn at random (any nonzero h0 shows the same way) instead of np.zeros((B, H)).
    B, H = x.shape[1], params["Whh"].shape[0]
    h0 = np.random.default_rng(1).uniform(-1.0, 1.0, (B, H))
    hs, _ = _rnn_forward(x, h0, params["Wxh"], params["Whh"], params["bh"])
    return _sequence_ce(_output_forward(hs, params["Why"], params["by"])[0], targets)


def _h0_shape_swapped(params, x, targets):
    """The reference run from h0 = np.zeros((H, B)): it crashes in the first step's matrix
    product unless H == B, where those zeros are the right h0."""
    H, B = params["Whh"].shape[0], x.shape[1]
    _rnn.rnn_forward(x, np.zeros((H, B)), params["Wxh"], params["Whh"], params["bh"])
    return _initial_loss(params, x, targets)


INITIAL_LOSS = Exercise(
    name="initial_loss",
    reference=_initial_loss,
    cases=_loss_cases,
    returns=("loss",),
    section="ch03-initial-loss",
    diagnose=_diagnose_ce,
    mistakes=[
        Mistake("initial_loss/h0-shape-swapped",
                "Your h0 has shape (H, B), np.zeros((H, B)): a state has one row per example, "
                "like x[t] (B, D) and every hidden state (B, H), so h0 = np.zeros((B, H)). The "
                "first step's product h_prev @ Whh.T then fails because h0's columns are not H.",
                _h0_shape_swapped, "ch03-initial-loss"),
        Mistake("initial_loss/returns-ln-v",
                "It returns ln V without running the model: compute the loss of these parameters "
                "(ln V is what an untrained model should come close to, not the answer).",
                lambda params, x, targets: float(np.log(params["Why"].shape[0])), "ch03-initial-loss"),
        Mistake("initial_loss/perplexity",
                "It returns the perplexity exp(loss); return the loss.",
                _loss_out(lambda loss, t: float(np.exp(loss))), "ch03-initial-loss"),
        Mistake("initial_loss/bits",
                "It is in bits; use the natural log (nats).",
                _loss_out(lambda loss, t: loss / np.log(2.0)), "ch03-initial-loss"),
        Mistake("initial_loss/sums-all-positions",
                "It sums over all positions; return the mean over the T*B positions.",
                _loss_out(lambda loss, t: loss * t.size), "ch03-initial-loss"),
        Mistake("initial_loss/sums-over-time",
                "It sums over time and averages over the batch; return the mean over all T*B "
                "positions.",
                _loss_out(lambda loss, t: loss * t.shape[0]), "ch03-initial-loss"),
        Mistake("initial_loss/sums-over-batch",
                "It sums over the batch and averages over time; return the mean over all T*B "
                "positions.",
                _loss_out(lambda loss, t: loss * t.shape[1]), "ch03-initial-loss"),
        Mistake("initial_loss/no-output-bias",
                "It leaves out the output bias by: the logits are hs @ Why.T + by.",
                _without("by"), "ch03-initial-loss"),
        Mistake("initial_loss/no-hidden-bias",
                "It leaves out the hidden bias bh: pass params['bh'] to rnn_forward.",
                _without("bh"), "ch03-initial-loss"),
        Mistake("initial_loss/last-step-only",
                "It scores only the last time step: a character model predicts at every step, and "
                "the loss is the mean over all T*B positions.",
                _last_step_loss, "ch03-initial-loss"),
        Mistake("initial_loss/softmax-twice",
                "It applies softmax before the loss: sequence_cross_entropy takes the logits and "
                "applies the softmax itself (a softmax of probabilities, all between 0 and 1, is "
                "close to uniform). Pass it ys, the output layer's logits.",
                _softmax_twice, "ch03-initial-loss"),
        Mistake("initial_loss/pair-not-unpacked",
                "A function you call returns a pair, and the pair was used as one array: "
                "rnn_forward returns (hs, cache) and output_forward returns (ys, cache). Unpack "
                "them: hs, _ = rnn_forward(...), ys, _ = output_forward(...).",
                _pair_not_unpacked, "ch03-initial-loss", crashes=("'tuple'",)),
        Mistake("initial_loss/targets-shifted-again",
                "It compares logits[t] with targets[t + 1]: the targets are already the next "
                "characters (targets[t] is what to predict after reading x[t]), so do not shift "
                "them again.",
                _targets_shifted_again, "ch03-initial-loss"),
        Mistake("initial_loss/mask-drops-id-0",
                "It passes a mask that leaves out the positions whose target is 0 (mask = "
                "targets > 0, as if id 0 were padding): here 0 is a character like any other and "
                "nothing is padded, so every position counts. Call "
                "sequence_cross_entropy(ys, targets) without a mask.",
                _id_zero_masked, "ch03-initial-loss"),
        Mistake("initial_loss/h0-sized-by-input",
                "h0 has the size of the input, (B, D) (Wxh.shape[1] and x.shape[2] are D, the "
                "number of inputs), so h0 @ Whh.T fails inside rnn_forward: the hidden state has "
                "H numbers per example, H = params['Whh'].shape[0] (or Wxh.shape[0]), so "
                "h0 = np.zeros((B, H)).",
                _h0_sized_by_input, "ch03-initial-loss"),
        Mistake("initial_loss/h0-not-zero",
                "The hidden state before the first step is not zero (a random or a constant h0): "
                "your loss over the first step alone changes when Whh changes, and it cannot when "
                "the model starts from h0 = 0, where Whh @ h0 = 0. The model starts from "
                "h0 = np.zeros((B, H)), so that the loss depends only on the parameters and the data.",
                _random_h0, "ch03-initial-loss"),
    ],
)


_H0_NOT_ZERO = next(m for m in INITIAL_LOSS.mistakes if m.id == "initial_loss/h0-not-zero")


def check_initial_loss(initial_loss, hidden=False, output_forward=None, sequence_cross_entropy=None,
                       quiet=False):
    """Check a student's ``initial_loss(params, x, targets) -> float``.

    The model runs from ``h0 = 0``: the RNN over ``x``, the output layer at every step, and the
    mean softmax cross-entropy over all ``T*B`` positions. The parameters used here are *not*
    small, so a function that returns ``ln V`` without running the model fails.

    Parameters
    ----------
    initial_loss : callable
    hidden : bool
    output_forward, sequence_cross_entropy : callable, optional
        The student's functions it is built on: checked first when ``initial_loss`` is wrong
        ("fix output_forward first").
    """
    depends = {}
    if output_forward is not None:
        depends["output_forward"] = lambda: _check_output_forward(output_forward, hidden, quiet=True)
    if sequence_cross_entropy is not None:
        depends["sequence_cross_entropy"] = lambda: run_check(SEQUENCE_CROSS_ENTROPY, sequence_cross_entropy,
                                                              hidden, quiet=True)
    run_check(INITIAL_LOSS, initial_loss, hidden, depends=depends, quiet=quiet)


def _probe_h0(initial_loss, hidden, err):
    """A wrong loss no catalogued mistake matched: is the state before the first step zero?"""
    if err.mistake_id != "generic/value" or " first, which initial_loss builds on" in str(err):
        return None
    found = _nonzero_h0(initial_loss, hidden)
    if found is None:
        return None
    return CheckFailed(f"initial_loss: {_H0_NOT_ZERO.says} ({found})", mistake_id=_H0_NOT_ZERO.id)


INITIAL_LOSS.probe = _probe_h0


def _nonzero_h0(initial_loss, hidden):
    """The label of a case on which the student's loss, over the first step alone, changes with
    Whh although the right one cannot (from h0 = 0 the first step's Whh @ h0 is 0): the student's
    state before the first step is not zero. None when no case shows it."""
    for case in _loss_cases(hidden):
        params, x, targets = case.args
        first = (params, x[:1], targets[:1])
        right = _initial_loss(*first)
        try:
            mine = call_student(initial_loss, *first, name="initial_loss")
            without = call_student(initial_loss, {**params, "Whh": np.zeros_like(params["Whh"])},
                                   x[:1], targets[:1], name="initial_loss")
        except (CheckFailed, NotImplementedError):
            return None
        if not all(isinstance(v, (int, float, np.integer, np.floating)) for v in (mine, without)):
            return None
        mine, without = float(mine), float(without)
        if abs(mine - right) > 1e-6 * abs(right) + 1e-9 and abs(without - right) <= 1e-6 * abs(right) + 1e-9:
            return case.label + ", its first step alone"
    return None


INITIAL_LOSS.check_student = lambda fn, hidden: check_initial_loss(fn, hidden, quiet=True)


# ---------------------------------------------------------------------------------------------
# Conceptual questions

_CH03_EXERCISE, check_ch03_questions = question_set("ch03_questions", [
    Question(
        "n_params", 23165,
        "The number of parameters of a character RNN with D = O = 65 and H = 100",
        "Add up the sizes of the five arrays: W_xh (H, D), W_hh (H, H), b_h (H,), W_hy (O, H), b_y (O,).",
        wrong=(
            Wrong(23000, "no-biases",
                  "That leaves out the biases b_h and b_y: they are parameters too, H + O = 165 more."),
            Wrong(13165, "no-recurrent-matrix",
                  "That leaves out W_hh, the recurrent matrix, H * H = 10000 parameters."),
            Wrong(23100, "no-output-bias",
                  "That leaves out the output bias b_y, O = 65 parameters: it is a parameter too."),
            Wrong(23065, "no-hidden-bias",
                  "That leaves out the hidden bias b_h, H = 100 parameters: it is a parameter too."),
        ),
        section="ch03-count"),
    Question(
        "n_params_T1000", 23165,
        "The number of parameters of the same model when it reads sequences of T = 1000 characters",
        "Which of the five arrays has a size that depends on T?",
        wrong=(
            Wrong(23165000, "times-t",
                  "The same parameters serve every step (weight sharing): the count has H, D and O "
                  "in it, never T."),
        ),
        section="ch03-weight-sharing"),
    Question(
        "initial_loss_V65", float(np.log(65)),
        "The loss (in nats) of a character model over V = 65 characters whose output weights and "
        "bias are zero",
        "With W_hy = 0 and b_y = 0 every logit is 0: what probability does the softmax give the target?",
        wrong=(
            Wrong(65, "perplexity",
                  "65 is the perplexity e^L; the loss is its logarithm, ln 65."),
            Wrong(float(np.log2(65)), "bits",
                  "That is log2 65, in bits; the course measures the loss in nats, ln 65."),
            Wrong(1 / 65, "probability",
                  "1/65 is the probability of the target; the loss is minus its logarithm."),
        ),
        section="ch03-initial-loss", rtol=2e-3),
    Question(
        "dlogit_target", -0.2,
        "The mean loss over N = 4 counted positions; at one of them the model gives the target "
        "probability 0.2. The derivative of the loss with respect to that position's target logit",
        "Derive it: one position's loss has gradient p - onehot(target) with respect to its logits, "
        "and the mean multiplies each position's term by 1/N.",
        wrong=(
            Wrong(-0.8, "forgets-one-over-n",
                  "p - 1 = -0.8 is the gradient of that one position's loss; the mean over N = 4 "
                  "positions divides it by N."),
            Wrong(0.2, "sign",
                  "The target's entry of p - onehot is p - 1, negative: raising the target's logit "
                  "lowers the loss. With 1/N: (0.2 - 1) / 4."),
            Wrong(0.05, "forgets-onehot",
                  "That is p / N: the target's entry of onehot(target) is 1, so the gradient is "
                  "(p - 1) / N."),
        ),
        section="ch03-softmax-gradient"),
])
