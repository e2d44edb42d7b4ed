"""The words and numbers every face of omscds shows: one implementation each.

Percentages (``percent``, ``share``), ages (``format_age``), display words for the contract's
enumerations (``WORDS``) and the first sentence of a knowledge-base text (``first_sentence``).
Strings meant for the gettext catalogue are marked with ``N_`` and translated by whoever renders
them (the translator is passed in, never global).
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = [
    "N_",
    "WORDS",
    "Translate",
    "first_sentence",
    "format_age",
    "percent",
    "same",
    "share",
    "word",
]

#: a gettext-like function: message id -> translated message
Translate = Callable[[str], str]


def N_(s: str) -> str:
    """Mark a string for the message catalogue without translating it here."""
    return s


def same(s: str) -> str:
    """The identity translator (English source strings)."""
    return s


#: display words for the contract's enumerations (the values stay English ids in JSON)
WORDS: dict[str, str] = {
    "criteria_met": N_("criteria met"),
    "possible": N_("possible"),
    "not_met": N_("not met"),
    "confirmed": N_("confirmed"),
    "suspected": N_("suspected"),
    "search_incomplete": N_("search incomplete"),
    "not_found": N_("not found"),
    "not_applicable": N_("not applicable"),
    "urgent": N_("urgent"),
    "soon": N_("soon"),
    "routine": N_("routine"),
    "info": N_("info"),
    "warning": N_("warning"),
    "critical": N_("critical"),
    "positive": N_("positive"),
    "negative": N_("negative"),
    "equivocal": N_("equivocal"),
    "pending": N_("pending"),
    "neck": N_("neck"),
    "chest": N_("chest"),
    "abdomen": N_("abdomen"),
    "pelvis": N_("pelvis"),
    "brain": N_("brain"),
    "spine": N_("spine"),
    "breast": N_("breast"),
    "whole_body": N_("whole body"),
    "missing": N_("missing"),
    "done": N_("done"),
    "conditional": N_("if needed"),
    "unknown": N_("unknown"),
    "female": N_("female"),
    "male": N_("male"),
    "other": N_("other"),
}


def word(value: str, tr: Translate = same) -> str:
    """The display word of an enumeration value.

    >>> word("search_incomplete"), word("whole_body"), word("some_new_value")
    ('search incomplete', 'whole body', 'some new value')
    """
    return tr(WORDS.get(value, value.replace("_", " ")))


def percent(p: float) -> str:
    """A probability as a percentage, the one format of every output.

    Never "100%" or "0.0%" for what is not exactly certain or impossible: a model estimate above
    99% reads ">99%", one below 0.1% reads "<0.1%"; below 1% it keeps one decimal.

    >>> [percent(p) for p in (0, 0.0004, 0.005, 0.25, 0.994, 0.9996, 1)]
    ['0%', '<0.1%', '0.5%', '25%', '99%', '>99%', '100%']
    """
    if p <= 0:
        return "0%"
    if p >= 1:
        return "100%"
    if p < 0.001:
        return "<0.1%"
    if p < 0.01:
        return f"{p:.1%}"
    if p >= 0.995:
        return ">99%"
    return f"{p:.0%}"


def share(p: float) -> str:
    """A differential share (a softmax share is never exactly 1 or 0).

    >>> share(0.9999), share(0.0)
    ('>99%', '<0.1%')
    """
    return percent(min(max(p, 1e-9), 1 - 1e-9))


def format_age(months: float, tr: Translate = same) -> str:
    """Age in years and months, as a paediatric note writes it.

    >>> format_age(19), format_age(7.5), format_age(24), format_age(34 * 12 + 3)
    ('1 y 7 mo', '7 mo', '2 y', '34 y')
    """
    whole = int(months)
    years, rest = divmod(whole, 12)
    if years == 0:
        return tr(N_("%(m)s mo")) % {"m": rest}
    if rest == 0 or years >= 18:
        return tr(N_("%(y)s y")) % {"y": years}
    return tr(N_("%(y)s y %(m)s mo")) % {"y": years, "m": rest}


_SENTENCE_END = re.compile(r"(?<=[.])\s+(?=[A-Z])")


def first_sentence(text: str) -> str:
    """The first sentence of a knowledge-base text (its lead, for a summary), its white space
    made single spaces.

    >>> first_sentence("Raised in a minority. Cheap and quick.")
    'Raised in a minority.'
    """
    end = _SENTENCE_END.search(text)  # the first end only: the rest is never looked at
    return " ".join((text[: end.start()] if end else text).split())
