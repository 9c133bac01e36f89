"""Dates as people write them, and the same dates in ISO form: a translation task that ships
with Python.

``"tuesday, 3 march 1998"``, ``"3/3/98"`` and ``"march 3rd 1998"`` all mean ``"1998-03-03"``.
Translating the first kind into the second needs what translating a sentence needs, on a small
scale: read a whole input of any length, find the day, the month and the year wherever the
format puts them (the month as a word or a number, the year with two digits or four), and
write them out in another order. The dates are drawn from a seed with the standard library's
:mod:`datetime` (every weekday is the right one for its date), so nothing is downloaded and
the same seed always gives the same data.

* :data:`FORMATS` — the ways a date is written here, each a function of a ``datetime.date``;
* :func:`date_pairs` — ``n`` random dates, each in a random format, with its ISO form;
* :func:`date_splits` — training, validation and a test set whose inputs are all *longer* than
  every training input (how well does a translator generalise to lengths it never saw?);
* :func:`source_vocab`, :func:`target_vocab` — the characters of inputs and outputs, with
  the padding character of :mod:`rnnlib.seq2seq`, and for the outputs its start and end
  markers.

Conventions: everything is lowercase English; a numeric date is day first, ``d/m/yy`` (the
British order; ``3/4/98`` is the 3rd of April); a two-digit year ``yy`` means ``19yy`` from 50
to 99 and ``20yy`` from 00 to 49, and the dates are drawn from 1950 to 2049 so that this is
never ambiguous. The month and weekday names are written out here rather than taken from
:mod:`calendar`, whose names follow the machine's language setting.
"""
from __future__ import annotations

import datetime
from typing import NamedTuple

import numpy as np

from rnnlib.data import Vocab
from rnnlib.seq2seq import BOS, EOS, PAD

__all__ = [
    "MONTHS",
    "WEEKDAYS",
    "FORMATS",
    "FIRST_DAY",
    "LAST_DAY",
    "iso",
    "ordinal",
    "date_pairs",
    "DateSplits",
    "date_splits",
    "source_vocab",
    "target_vocab",
]

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

#: The range the dates are drawn from: two-digit years are unambiguous inside it.
FIRST_DAY = datetime.date(1950, 1, 1)
LAST_DAY = datetime.date(2049, 12, 31)


def iso(d):
    """``"1998-03-03"``: the target form of a date (ISO 8601)."""
    return d.isoformat()


def ordinal(day):
    """``1 -> "1st"``, ``2 -> "2nd"``, ``3 -> "3rd"``, ``11 -> "11th"``, ``23 -> "23rd"``."""
    if 10 <= day % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _month(d):
    return MONTHS[d.month - 1]


def _weekday(d):
    return WEEKDAYS[d.weekday()]


#: Name -> how that format writes a date. Each name spells the format itself.
FORMATS = {
    "d/m/yy": lambda d: f"{d.day}/{d.month}/{d.year % 100:02d}",
    "dd.mm.yyyy": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    "d month yyyy": lambda d: f"{d.day} {_month(d)} {d.year}",
    "d mon yy": lambda d: f"{d.day} {_month(d)[:3]} {d.year % 100:02d}",
    "month dth yyyy": lambda d: f"{_month(d)} {ordinal(d.day)} {d.year}",
    "month d, yyyy": lambda d: f"{_month(d)} {d.day}, {d.year}",
    "dth of month yyyy": lambda d: f"{ordinal(d.day)} of {_month(d)} {d.year}",
    "wkd d mon yyyy": lambda d: f"{_weekday(d)[:3]} {d.day} {_month(d)[:3]} {d.year}",
    "weekday d/m/yy": lambda d: f"{_weekday(d)} {d.day}/{d.month}/{d.year % 100:02d}",
    "weekday, d month yyyy": lambda d: f"{_weekday(d)}, {d.day} {_month(d)} {d.year}",
    "weekday, month dth yy": lambda d: f"{_weekday(d)}, {_month(d)} {ordinal(d.day)} {d.year % 100:02d}",
}


def date_pairs(n, rng=None, formats=None):
    """``n`` random dates, each written in a random format, and their ISO forms.

    Parameters
    ----------
    n : int
    rng : int | numpy.random.Generator | None
    formats : sequence of str, optional
        Names from :data:`FORMATS` to draw from (default: all of them, equally often).

    Returns
    -------
    sources : list of str
        The dates as people write them, e.g. ``"tuesday, 3 march 1998"``.
    targets : list of str
        The same dates as ``"yyyy-mm-dd"``, ten characters each.
    kinds : (n,) int ndarray
        The index in ``formats`` of each source's format.

    Examples
    --------
    >>> s, t, _ = date_pairs(2, rng=0)
    >>> len(s) == len(t) == 2 and all(len(x) == 10 for x in t)
    True
    """
    rng = np.random.default_rng(rng)
    names = list(FORMATS) if formats is None else list(formats)
    days = rng.integers(FIRST_DAY.toordinal(), LAST_DAY.toordinal() + 1, size=n)
    kinds = rng.integers(0, len(names), size=n)
    dates = [datetime.date.fromordinal(int(k)) for k in days]
    sources = [FORMATS[names[k]](d) for k, d in zip(kinds, dates)]
    return sources, [iso(d) for d in dates], kinds


class DateSplits(NamedTuple):
    """Training, validation and test pairs (each a ``(sources, targets)`` pair of lists)."""

    train: tuple
    val: tuple
    test: tuple
    max_train_len: int


def date_splits(n_train, n_val, n_test, max_train_len=20, rng=None, formats=None):
    """Distinct date pairs split by input length: the test inputs are all longer.

    Training and validation inputs have at most ``max_train_len`` characters; every test input
    has more. Every source string occurs in at most one split, and at most once.

    Parameters
    ----------
    n_train, n_val, n_test : int
    max_train_len : int
        The longest input the model is trained on.
    rng : int | numpy.random.Generator | None
    formats : sequence of str, optional
        As in :func:`date_pairs`.

    Returns
    -------
    DateSplits
        ``train``, ``val``, ``test`` as ``(sources, targets)``, and ``max_train_len``.
    """
    rng = np.random.default_rng(rng)
    short, long_ = {}, {}
    for _ in range(20):
        sources, targets, _ = date_pairs(4 * (n_train + n_val + n_test), rng, formats)
        for s, t in zip(sources, targets):
            pool = short if len(s) <= max_train_len else long_
            pool.setdefault(s, t)  # dicts keep the order of first appearance: reproducible
        if len(short) >= n_train + n_val and len(long_) >= n_test:
            break
    else:
        raise ValueError(f"could not draw {n_train + n_val} distinct dates of at most "
                         f"{max_train_len} characters and {n_test} longer ones in these formats")
    short_items = list(short.items())[: n_train + n_val]
    long_items = list(long_.items())[:n_test]

    def unzip(items):
        return [s for s, _ in items], [t for _, t in items]

    return DateSplits(unzip(short_items[:n_train]), unzip(short_items[n_train:]),
                      unzip(long_items), max_train_len)


def source_vocab():
    """Every character a source can contain, and :data:`PAD` (an :class:`rnnlib.data.Vocab`)."""
    chars = set("".join(MONTHS + WEEKDAYS)) | set("0123456789 ,./") | set("stndrh") | {PAD}
    return Vocab(sorted(chars))


def target_vocab():
    """The digits, ``"-"``, and :data:`PAD`, :data:`BOS`, :data:`EOS`."""
    return Vocab(sorted(set("0123456789-") | {PAD, BOS, EOS}))
