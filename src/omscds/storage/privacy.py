"""Privacy by default: what the registry refuses to store before anything is written.

The registry is pseudonymous. Three checks guard it, each raising :class:`InputError` naming the
field:

* **patient keys** must look like pseudonyms: no date (``2019-01-02``, ``20190102``,
  ``02.01.2019``), no health-service or social-security number shape (below), and not two or
  more name-like words (``John.Smith``, ``mary-jones-7``; all-capital site or study codes such
  as ``GOSH-OMS-001`` are fine);
* **external ids** must not be direct identifiers: no key naming a name, date of birth,
  address, postcode, phone, e-mail or national number, and no value shaped like a date, e-mail,
  phone or health-service number, unless the deployment allows identifiers
  (``allow_identifiers=True``: the service and the command line pass
  ``OMSCDS_REGISTRY_ALLOW_IDENTIFIERS=1`` so);
* **free text** (case snapshot strings, treatment dose and note, relapse note) must not hold a
  health-service, social-security or phone number or an e-mail address.

Free text is refused, not redacted. A redactor would store a note the clinician never wrote,
silently: a dose such as ``1 000 000 IU`` could lose its digits, and a number in a shape we do
not know would pass while looking cleaned. Refusing says exactly which field holds what, stores
nothing, and costs the user one edit. Matching is by shape only (no checksum), so a real NHS
number with a wrong check digit is refused too.

>>> check_patient_key("OMS-0042")
'OMS-0042'
>>> check_patient_key("John.Smith.2019-01-02")
Traceback (most recent call last):
omscds.errors.InputError: patient: a patient key must be a pseudonym: it contains a date
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from omscds.errors import InputError, format_path

__all__ = [
    "ALLOW_IDENTIFIERS_ENV",
    "KEY_PATTERN",
    "check_external_ids",
    "check_free_text",
    "check_patient_key",
    "check_tree_text",
    "identifier_shape",
]

ALLOW_IDENTIFIERS_ENV = "OMSCDS_REGISTRY_ALLOW_IDENTIFIERS"
#: pseudonymous keys: letters, digits and ``. _ : -`` (no spaces)
KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")

_DATE = re.compile(
    r"(?<!\d)(?:"
    r"(?:19|20)\d\d[-._/]?(?:0[1-9]|1[0-2])[-._/]?(?:0[1-9]|[12]\d|3[01])"  # 2019-01-02, 20190102
    r"|(?:0?[1-9]|[12]\d|3[01])[-._/](?:0?[1-9]|1[0-2])[-._/](?:19|20)?\d\d"  # 02.01.2019
    r"|(?:0?[1-9]|1[0-2])[-._/](?:0?[1-9]|[12]\d|3[01])[-._/](?:19|20)\d\d"  # 01/02/2019 (US)
    r")(?!\d)"
)
#: (label, pattern) of the number shapes refused, most specific first
_NUMBERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an NHS/CHI-style 10-digit number", re.compile(r"(?<![\d-])\d{3}[ -]?\d{3}[ -]?\d{4}(?![\d-])")),
    ("a US social security number", re.compile(r"(?<![\d-])\d{3}[ -]\d{2}[ -]\d{4}(?![\d-])")),
    (
        "a US Medicare beneficiary identifier",
        re.compile(r"\b[1-9][A-Z][A-Z0-9]\d-?[A-Z][A-Z0-9]\d-?[A-Z]{2}\d{2}\b"),
    ),
    ("a long number (9 or more digits)", re.compile(r"\d{9,}")),
    ("a phone number", re.compile(r"(?<![\w+])\+\d[\d ()-]{7,}\d")),
)  # fmt: skip
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[A-Za-z]{2,}")
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
#: external-id keys that name a direct identifier (compared without case, _, - or spaces)
_IDENTIFIER_KEYS = (
    "name",
    "firstname",
    "lastname",
    "surname",
    "givenname",
    "familyname",
    "fullname",
    "initials",
    "dob",
    "birth",
    "birthdate",
    "dateofbirth",
    "address",
    "street",
    "city",
    "postcode",
    "zip",
    "zipcode",
    "phone",
    "telephone",
    "mobile",
    "email",
    "mail",
    "nhs",
    "nhsnumber",
    "chi",
    "ssn",
    "socialsecurity",
    "medicare",
    "insurance",
    "passport",
)


def identifier_shape(text: str) -> str | None:
    """What direct-identifier shape ``text`` holds (a number, e-mail), or None.

    >>> identifier_shape("seen 943 476 5919 at clinic")
    'an NHS/CHI-style 10-digit number'
    >>> identifier_shape("dose 2 mg/kg on 2024-01-02") is None
    True
    """
    for label, pattern in _NUMBERS:
        if pattern.search(text):
            return label
    if _EMAIL.search(text):
        return "an e-mail address"
    return None


def _name_words(key: str) -> list[str]:
    """Name-like words of a key: letters only, two or more, not an all-capital code."""
    words = _WORD.findall(key)
    return [w for w in words if len(w) >= 2 and not w.isupper()]


def check_patient_key(key: Any, path: str = "patient") -> str:
    """``key`` if it is a usable pseudonym; :class:`InputError` saying why otherwise."""
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise InputError(
            "a patient key is 1-128 letters, digits or . _ : - (a pseudonym, never a name)",
            path=path,
        )
    why = None
    if _DATE.search(key):
        why = "it contains a date"
    elif (shape := identifier_shape(key)) is not None:
        why = f"it contains {shape}"
    elif len(_name_words(key)) >= 2:
        why = "it looks like a person's name"
    if why:
        raise InputError(f"a patient key must be a pseudonym: {why}", path=path)
    return key


def _normal(name: str) -> str:
    return re.sub(r"[\s_.-]", "", name).lower()


def check_external_ids(ids: Mapping[Any, Any] | None, *, allow_identifiers: bool) -> None:
    """External ids are non-empty text, and (unless allowed) never direct identifiers."""
    if ids is not None and not isinstance(ids, Mapping):
        raise InputError("external ids are an object of text values", path="external_ids")
    for k, v in (ids or {}).items():
        path = f"external_ids.{k}"
        if not isinstance(k, str) or not isinstance(v, str) or not k or not v:
            raise InputError("external ids are non-empty text", path=path)
        if allow_identifiers:
            continue
        name = _normal(k)
        if any(name == i or (len(i) > 4 and i in name) for i in _IDENTIFIER_KEYS):
            raise InputError(
                f"{k!r} names a direct identifier; the registry is pseudonymous "
                f"(set {ALLOW_IDENTIFIERS_ENV}=1 if this deployment may hold them)",
                path=path,
            )
        shape = "a date" if _DATE.search(v) else identifier_shape(v)
        if shape is not None:
            raise InputError(
                f"the value looks like {shape}, a direct identifier "
                f"(set {ALLOW_IDENTIFIERS_ENV}=1 if this deployment may hold them)",
                path=path,
            )


def check_free_text(text: str | None, path: str) -> None:
    """Refuse free text that holds a health-service, social-security or phone number or an
    e-mail address (see the module docstring for why it is refused, not redacted)."""
    if not text:
        return
    shape = identifier_shape(text)
    if shape is not None:
        raise InputError(
            f"the text holds what looks like {shape}: remove it (the registry is pseudonymous)",
            path=path,
        )


def _strings(value: Any, path: list[str | int]) -> Iterator[tuple[str, str]]:
    stack: list[tuple[list[str | int], Any]] = [(path, value)]
    while stack:
        p, v = stack.pop()
        if isinstance(v, str):
            yield format_path(p), v
        elif isinstance(v, dict):
            stack.extend(([*p, str(k)], v[k]) for k in reversed(list(v)))
        elif isinstance(v, list | tuple):
            stack.extend(([*p, i], v[i]) for i in reversed(range(len(v))))


def check_tree_text(value: Any, prefix: str = "") -> None:
    """:func:`check_free_text` on every string in a decoded document (a case snapshot)."""
    for path, text in _strings(value, []):
        check_free_text(text, f"{prefix}.{path}" if prefix else path)
