"""Conceptual questions, checked like graded functions: each known wrong answer is a catalogued
mistake with the sentence that explains it.

A question set is one :class:`~rnnlib.checks._engine.Exercise`. The student fills in a dict
of answers in a solution cell (``answers = {"dWhh_shape": (4, 4), ...}``) and its test cell
calls the set's checker (``check_ch04_questions(answers)``). A dict whose every answer is
still the placeholder ``None`` (or ``...``) raises ``NotImplementedError``, as an unwritten
function does. Every known wrong answer of every
question becomes a :class:`~rnnlib.checks._engine.Mistake` whose variant is the right answers
with that one replaced, so the catalogue tests and the instructors' misconception report see
questions and functions alike. The checker goes question by question and stops at the first
wrong one, naming the misconception when the answer is a known wrong one.

An answer left as ``None`` or ``...`` is not given yet; when no answer is given at all, the
checker raises ``NotImplementedError``, as an untouched exercise does.

Answers may be numbers (compared with a relative tolerance, 0 for counts), strings (multiple
choice: compared case-insensitively, without spaces or enclosing brackets), tuples or lists of
integers (shapes, lists of time steps; compared exactly, a list as a set when ``as_set``), or
booleans.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from rnnlib.checks._core import CheckFailed
from rnnlib.checks._engine import Exercise, Mistake

__all__ = ["Question", "Wrong", "question_set"]


@dataclasses.dataclass(frozen=True)
class Wrong:
    """A known wrong answer and what it shows the student believes."""

    answer: Any
    slug: str
    says: str


@dataclasses.dataclass(frozen=True)
class Question:
    """One question of a set.

    Attributes
    ----------
    key : str
        The key of the answers dict.
    right : object
        The right answer.
    asks : str
        The question, short (used in messages: "For 'the shape of dWhh' ...").
    explain : str
        Said for a wrong answer that is not a known one: how to get to the right answer
        (without giving it away).
    wrong : tuple of Wrong
        Known wrong answers.
    section : str
        Book label of the section that teaches the point.
    rtol : float
        Relative tolerance for numbers.
    as_set : bool
        Compare a list of integers as a set (order does not matter).
    accept : tuple
        Other ways of writing the right answer (``"x[t:T]"`` for ``"x[t..T-1]"``).
    """

    key: str
    right: Any
    asks: str
    explain: str
    wrong: tuple = ()
    section: str = ""
    rtol: float = 1e-3
    as_set: bool = False
    accept: tuple = ()


def _normal(value, question):
    if isinstance(value, str):
        return _text(value).lower()
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (range, set, frozenset)):
        value = sorted(value)
    if isinstance(value, (tuple, list)):
        items = [int(v) if isinstance(v, (int, np.integer)) else v for v in value]
        return frozenset(items) if question.as_set else tuple(items)
    return value


def _text(value):
    """``"1-z"``, ``" 1 - z "`` and ``"(1 - z)"`` are one answer: no spaces, no outer brackets."""
    text = "".join(value.split()).strip("'\"")
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    return text


def _accepted(answer, question):
    """Is ``answer`` one of the question's other spellings of the right answer? Compared with
    case, since in ``x[t:T]`` the two letters differ."""
    return isinstance(answer, str) and any(_text(answer) == _text(other) for other in question.accept)


def _same(answer, expected, question):
    a, e = _normal(answer, question), _normal(expected, question)
    if isinstance(e, float) and not isinstance(e, bool):
        return isinstance(a, float) and abs(a - e) <= question.rtol * max(abs(e), 1e-12)
    return type(a) is type(e) and a == e


def _unanswered(value):
    # The skeleton's placeholder: None (it crosses to the instructor's judge by value), or ...
    return value is None or value is ...


def _kind(value):
    """What kind of answer ``value`` is, for a message: "a number", "a tuple or list of integers"..."""
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (bool, np.bool_)):
        return "True or False"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return "a number"
    if isinstance(value, (tuple, list, np.ndarray, range, set, frozenset)):
        return "a tuple or list of integers"
    return type(value).__name__


def question_set(name, questions, section=""):
    """An Exercise for a set of questions, and its checker ``check(answers, hidden=False)``.

    Parameters
    ----------
    name : str
        The set's name, e.g. ``"ch04_questions"``; the checker is ``check_<name>``.
    questions : sequence of Question
    section : str
        Book label of the chapter.

    Returns
    -------
    (Exercise, callable)
    """
    questions = tuple(questions)
    right = {q.key: q.right for q in questions}

    def reference():
        return dict(right)

    mistakes = []
    for q in questions:
        for w in q.wrong:
            answers = dict(right)
            answers[q.key] = w.answer
            mistakes.append(Mistake(f"{name}/{w.slug}", f"{q.asks}: {w.says}",
                                    (lambda a=answers: dict(a)), q.section or section))

    def check(answers, hidden=False, quiet=False):
        """Check a dict of answers; print a line, or raise CheckFailed naming the first wrong one."""
        if callable(answers):  # the catalogue's variants, and anyone who wraps the dict
            answers = answers()
        if not isinstance(answers, dict):
            raise CheckFailed(f"answers should be a dict of your answers, but it is a "
                              f"{type(answers).__name__}.", mistake_id="generic/type")
        if all(_unanswered(answers.get(q.key)) for q in questions):
            # Nothing answered yet: an untouched exercise, like a function that still raises.
            raise NotImplementedError(f"answers has no answers yet: replace each None in it "
                                      f"with your answer ({name}).")
        for q in questions:
            if q.key not in answers or _unanswered(answers[q.key]):
                raise CheckFailed(f"answers has no answer for {q.key!r} ({q.asks}).",
                                  mistake_id="generic/missing-answer")
            given = answers[q.key]
            if _same(given, q.right, q) or _accepted(given, q):
                continue
            kind = _kind(q.right)
            if kind != _kind(given) and not (kind == "a number" and isinstance(given, np.ndarray) and given.ndim == 0):
                raise CheckFailed(f"{q.asks}: your answer {given!r} should be {kind}.",
                                  mistake_id="generic/type")
            for w in q.wrong:
                if _same(given, w.answer, q):
                    raise CheckFailed(f"{q.asks}: your answer {given!r} is not right. {w.says}",
                                      mistake_id=f"{name}/{w.slug}")
            raise CheckFailed(f"{q.asks}: your answer {given!r} is not right. {q.explain}",
                              mistake_id=f"{name}/{q.key}-other")
        if not quiet:
            print(f"{name}: all answers are right.")

    exercise = Exercise(name=name, reference=reference, cases=lambda hidden: [],
                        returns=("answers",), mistakes=mistakes, section=section,
                        check_student=lambda fn, hidden: check(fn, hidden, quiet=True))
    check.__name__ = f"check_{name}"
    return exercise, check
