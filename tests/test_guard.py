"""The guard: while a student's function is checked, calls from outside rnnlib into rnnlib's
functions are refused, whatever they are called; rnnlib's own calls go through."""
from __future__ import annotations

import functools
import sys
import threading

import numpy as np
import pytest

import rnnlib
from rnnlib._guard import ReferenceUsedError, call_blocked, reference_functions, references_blocked
from rnnlib.rnn import rnn_step_forward


def _step_args(rng=0):
    rng = np.random.default_rng(rng)
    return (rng.standard_normal((2, 3)), rng.standard_normal((2, 4)),
            rng.standard_normal((4, 3)), rng.standard_normal((4, 4)), rng.standard_normal(4))


def test_every_public_function_of_the_numpy_modules_is_a_reference():
    names = set(reference_functions().values())
    for expected in ("rnnlib.rnn.rnn_forward", "rnnlib.dynamics.rnn_loss", "rnnlib.data.batchify",
                     "rnnlib.charlm.sample", "rnnlib.optim.Adam.step", "rnnlib.models.SequenceModel.loss"):
        assert expected in names
    assert not any(n.startswith(("rnnlib.checks", "rnnlib.plotting")) for n in names)


def test_a_reference_under_another_name_is_refused_by_its_code():
    renamed = rnnlib.rnn.rnn_step_forward  # imported before the check, under any name

    def student(*args):
        return renamed(*args)

    with pytest.raises(ReferenceUsedError, match="rnnlib.rnn.rnn_step_forward"):
        call_blocked(student, *_step_args())


def test_the_reference_itself_or_a_partial_of_it_as_the_student_function_is_refused():
    with pytest.raises(ReferenceUsedError):
        call_blocked(rnn_step_forward, *_step_args())
    with pytest.raises(ReferenceUsedError):
        call_blocked(functools.partial(rnn_step_forward), *_step_args())


def test_a_student_who_catches_the_refusal_and_calls_again_still_fails():
    def student(*args):
        try:
            return rnn_step_forward(*args)
        except ReferenceUsedError:
            return rnn_step_forward(*args)  # the hook is off after a refusal: caught anyway

    with pytest.raises(ReferenceUsedError, match="carried on"):
        call_blocked(student, *_step_args())


def test_a_student_who_catches_the_refusal_and_raises_something_else_is_told_about_the_reference():
    def student(*args):
        try:
            return rnn_step_forward(*args)
        except ReferenceUsedError:
            raise ValueError("hidden") from None

    with pytest.raises(ReferenceUsedError):
        call_blocked(student, *_step_args())


def test_rnnlib_calling_rnnlib_inside_the_window_goes_through():
    # rnn_loss (a reference) is refused when the student calls it; but the models it is built
    # on run when rnnlib calls them, e.g. a checker's callback.
    from rnnlib.checks.long_sequences import _Recorder

    params = rnnlib.params.init_rnn_params(5, 4, 5, rng=0)
    ids = np.arange(6).reshape(3, 2) % 5
    recorder = _Recorder(5)
    loss, _, _ = call_blocked(lambda: recorder(params, ids, ids, np.zeros((2, 4))))
    assert np.isfinite(loss)


def test_a_strict_window_refuses_a_catalogue_variant_the_student_built_from_the_reference():
    # The catalogue's mutate() copies a reference's source (edited) under a "<variant>" name; a
    # student could build one that computes the reference exactly. In the grader's worker (a
    # strict window, where no checker runs) calling it is calling the reference.
    from rnnlib.checks._engine import mutate

    copy = mutate(rnn_step_forward, ("np.tanh(", "np.tanh(")).build()

    def student(*args):
        return copy(*args)

    with pytest.raises(ReferenceUsedError, match="rnn_step_forward"):
        with references_blocked(strict=True):
            student(*_step_args())
    with references_blocked():  # where checkers run their variants as the student
        h, _ = student(*_step_args())
    np.testing.assert_allclose(h, rnn_step_forward(*_step_args())[0])


def test_allowed_functions_may_be_called():
    from rnnlib.charlm import char_rnn_loss, init_char_rnn

    params = init_char_rnn(5, 3, rng=0)
    ids = np.zeros((2, 2), dtype=int)
    loss, _, _ = call_blocked(lambda: char_rnn_loss(params, ids, ids), allow=(char_rnn_loss,))
    assert np.isfinite(loss)
    with pytest.raises(ReferenceUsedError):
        call_blocked(lambda: char_rnn_loss(params, ids, ids))


def test_numpy_and_the_students_own_code_run_and_the_hook_is_removed_afterwards():
    def student(x_t, h_prev, Wxh, Whh, bh):
        return np.tanh(x_t @ Wxh.T + h_prev @ Whh.T + bh)

    before = sys.getprofile()
    h = call_blocked(student, *_step_args())
    assert h.shape == (2, 4)
    assert sys.getprofile() is before
    assert threading.getprofile() is None
    rnn_step_forward(*_step_args())  # outside the window the reference runs


def test_a_thread_started_by_the_student_is_guarded_too():
    errors = []

    def worker(args):
        try:
            rnn_step_forward(*args)
        except ReferenceUsedError as err:
            errors.append(err)

    def student(*args):
        t = threading.Thread(target=worker, args=(args,))
        t.start()
        t.join()
        return None

    with pytest.raises(ReferenceUsedError):
        call_blocked(student, *_step_args())
    assert errors


def test_a_generator_reference_is_refused_at_its_first_step_and_finalised_quietly(capsys):
    import gc

    from rnnlib.data import iter_chunks

    streams = np.arange(20).reshape(10, 2)
    leftover = iter_chunks(streams, 3)
    next(leftover)  # a generator rnnlib started before the window, finalised inside it
    with pytest.raises(ReferenceUsedError, match="iter_chunks"):
        call_blocked(lambda: next(iter_chunks(streams, 3)))
    call_blocked(lambda: (leftover.close(), gc.collect()))
    assert "Exception ignored" not in capsys.readouterr().err
