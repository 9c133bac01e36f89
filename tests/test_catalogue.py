"""The mistake catalogues, tested from themselves: every catalogued mistake is rejected by its
function's checker and named as itself, in the visible and in the hidden checks; every entry
is a real mistake, has a stable id, and points at a book section that exists."""
from __future__ import annotations

import re
import types

import numpy as np
import pytest

import rnnlib.checks  # noqa: F401 - registers every exercise
from rnnlib.checks import CheckFailed
from rnnlib.checks._engine import EXERCISES, _Edits, check_as_student
from tests.conftest import ROOT

ENTRIES = [(ex, m) for ex in EXERCISES.values() for m in ex.mistakes]
CATALOGUE_EDITS = list(_Edits.made)  # the catalogue's, made when it was imported
IDS = [m.id for _, m in ENTRIES]


def test_the_catalogue_has_at_least_sixty_mistakes_with_unique_ids():
    assert len(IDS) == len(set(IDS))
    assert len(IDS) >= 60, f"{len(IDS)} catalogued mistakes"


@pytest.mark.parametrize("exercise, mistake", ENTRIES, ids=IDS)
@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
def test_each_catalogued_mistake_is_rejected_and_named(exercise, mistake, hidden):
    with pytest.raises(CheckFailed) as err:
        check_as_student(exercise, mistake.variant, hidden)
    assert err.value.mistake_id == mistake.id, str(err.value)
    assert mistake.says.split(":")[0][:30] in str(err.value)


@pytest.mark.parametrize("exercise, mistake", ENTRIES, ids=IDS)
def test_each_mistake_id_names_its_function_and_a_book_section_that_exists(exercise, mistake):
    assert mistake.id.startswith(exercise.name + "/")
    assert re.fullmatch(r"[a-z0-9_]+/[a-z0-9-]+", mistake.id), mistake.id
    labels = set(re.findall(r"^\(([\w-]+)\)=$", "\n".join(
        p.read_text() for p in (ROOT / "book").glob("*.md")), flags=re.M))
    assert mistake.section in labels, f"{mistake.id}: no label ({mistake.section})= in book/"


def test_the_report_command_prints_every_function_and_succeeds(capsys):
    from rnnlib.checks.__main__ import main

    assert main([]) == 0
    out = capsys.readouterr().out
    for name in EXERCISES:
        assert name in out
    assert re.search(r"total\s+(\d+)\s+\1\s+0\s+0", out), out[-300:]


def test_a_mutation_that_no_longer_matches_the_reference_fails_loudly():
    from rnnlib.checks._engine import mutate
    from rnnlib.rnn import rnn_step_forward

    edits = mutate(rnn_step_forward, ("this text is not in the source", "x"))
    with pytest.raises(ValueError, match="occurs 0 times"):
        edits.build()  # compiled when first used; the next test builds every one


def test_every_edit_of_the_catalogue_still_matches_its_reference():
    assert len(CATALOGUE_EDITS) > 400
    for edits in CATALOGUE_EDITS:
        assert isinstance(edits.build(), types.FunctionType)


def test_a_variant_runs_as_rnnlib_code_and_keeps_line_numbers():
    from rnnlib.checks._engine import mutate
    from rnnlib.rnn import rnn_step_forward

    variant = mutate(rnn_step_forward, ("np.tanh(", "np.arctan("))
    assert variant.__code__.co_filename == rnn_step_forward.__code__.co_filename
    assert variant.__code__.co_firstlineno == rnn_step_forward.__code__.co_firstlineno
    x = np.ones((1, 2))
    h, _ = variant(x, np.zeros((1, 2)), np.eye(2), np.eye(2), np.zeros(2))
    np.testing.assert_allclose(h, np.arctan(1.0))


def test_every_generic_diagnosis_a_checker_raises_is_described_for_the_instructors():
    from rnnlib.checks._engine import GENERIC

    used = set()
    for path in (ROOT / "rnnlib" / "checks").glob("*.py"):
        used |= set(re.findall(r'"(generic/[a-z0-9-]+)"', path.read_text()))
    assert used <= set(GENERIC), f"not described in _engine.GENERIC: {sorted(used - set(GENERIC))}"
