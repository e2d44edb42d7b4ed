"""Strict decoding of JSON and YAML documents: nothing that silently changes meaning.

Python's ``json`` module accepts duplicate keys (the last one wins), ``NaN`` and ``Infinity``,
integers of any length and nesting until the interpreter's recursion limit. A case is small and
flat, so each of these is refused with an :class:`~omscds.errors.InputError` naming the field:

>>> loads_json('{"age_months": 19, "age_months": 3}')
Traceback (most recent call last):
omscds.errors.InputError: age_months: duplicate key (the document gives it twice)
>>> loads_json('{"age_months": NaN}')
Traceback (most recent call last):
omscds.errors.InputError: age_months: NaN is not a number a case can hold
>>> loads_json('{"findings": {"ataxia": "present"}}')["findings"]
{'ataxia': 'present'}

Every adapter that decodes a body (CLI file, REST, web form ``case_json``, registry import)
calls :func:`loads_json` or :func:`loads_yaml`; an already-decoded value is checked with
:func:`check_tree`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from itertools import accumulate
from typing import Any

from omscds.errors import InputError, format_path

__all__ = ["MAX_DEPTH", "MAX_INT_DIGITS", "check_tree", "loads_json", "loads_yaml"]

#: deepest nesting accepted. The deepest real structure (a FHIR Bundle entry with a coded
#: value inside a component) is about 12 levels; 64 leaves room and stops 10^5-deep bombs
MAX_DEPTH = 64
#: longest integer accepted: no count, age or dose in a case has more than 15 digits
MAX_INT_DIGITS = 15


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


def _constant(name: str) -> float:
    raise ValueError(name)


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise OverflowError(text)
    return int(text)


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DELTA = {"[": 1, "{": 1, "]": -1, "}": -1}


def _depth_ok(text: str, max_depth: int) -> tuple[bool, int]:
    """Bracket depth outside strings, without recursion (the decoder would hit RecursionError).

    The brackets outside strings are counted by regular expressions; only a document that may
    be too deep is scanned character by character (``_depth_scan``) for the exact answer and
    the position. The quick count is never lower than the scan's: the two read strings alike,
    except after an unterminated string, where the scan counts nothing more.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if max(accumulate(map(_DELTA.__getitem__, brackets)), default=0) <= max_depth:
        return True, -1
    return _depth_scan(text, max_depth)


def _depth_scan(text: str, max_depth: int) -> tuple[bool, int]:
    depth = 0
    in_string = False
    escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > max_depth:
                return False, i
        elif ch in "]}":
            depth -= 1
    return True, -1


def _locate(doc: Any, key: str, predicate: Any) -> str:
    """Field path of the first ``key`` (or value) matching ``predicate``, for the message."""
    for path, value in _walk(doc, []):
        if predicate(path, value, key):
            return format_path(path)
    return key or "(root)"


def _walk(value: Any, path: list[str | int]) -> Iterator[tuple[list[str | int], Any]]:
    stack: list[tuple[list[str | int], Any]] = [(path, value)]
    while stack:
        p, v = stack.pop()
        yield p, v
        if isinstance(v, dict):
            stack.extend(([*p, k], v[k]) for k in reversed(list(v)))
        elif isinstance(v, list):
            stack.extend(([*p, i], v[i]) for i in reversed(range(len(v))))


def _path_of_duplicate(text: str, key: str) -> str:
    # decode again keeping the first value of each key, then find the object holding ``key``
    def first(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        dup = False
        for k, v in pairs:
            if k in out:
                dup = dup or k == key
                continue
            out[k] = v
        if dup:
            out["\x00dup"] = True
        return out

    try:
        doc = json.loads(text, object_pairs_hook=first)
    except (ValueError, RecursionError):
        return key
    for p, v in _walk(doc, []):
        if isinstance(v, dict) and v.get("\x00dup") and key in v:
            return format_path([*p, key])
    return key


def loads_json(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode JSON strictly; raise :class:`InputError` naming the field on anything ambiguous."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("not UTF-8 text") from None
    ok, at = _depth_ok(text, max_depth)
    if not ok:
        raise InputError(f"nested deeper than {max_depth} levels (at character {at + 1})")
    try:
        doc = json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant, parse_int=_int)
    except _Duplicate as exc:
        raise InputError(
            "duplicate key (the document gives it twice)",
            path=_path_of_duplicate(text, exc.key),
        ) from None
    except OverflowError:
        raise InputError(f"an integer has more than {MAX_INT_DIGITS} digits") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except ValueError as exc:
        # parse_constant: NaN, Infinity, -Infinity; find where for the message
        name = str(exc)
        loose = json.loads(text)
        path = _locate(loose, name, lambda p, v, _k: isinstance(v, float) and not math.isfinite(v))
        raise InputError(f"{name} is not a number a case can hold", path=path) from None
    return doc


def loads_yaml(text: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode YAML (safe subset) strictly: duplicate keys, ``.nan``/``.inf``, depth, huge ints."""
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in out:
                mark = key_node.start_mark
                raise InputError(
                    f"duplicate key {key!r} at line {mark.line + 1}, column {mark.column + 1}"
                    " (the document gives it twice)",
                    path=str(key),
                )
            out[key] = loader.construct_object(value_node, deep=True)
        return out

    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    try:
        doc = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise InputError(f"not valid YAML: {problem}{where}") from None
    except RecursionError:
        raise InputError(f"nested deeper than {max_depth} levels") from None
    check_tree(doc, max_depth=max_depth)
    return doc


def check_tree(value: Any, *, max_depth: int = MAX_DEPTH) -> None:
    """Check an already-decoded document: depth, NaN/Infinity, huge integers, non-string keys.

    >>> check_tree({"tests": [{"quantitative": {"ratio": float("inf")}}]})
    Traceback (most recent call last):
    omscds.errors.InputError: tests[0].quantitative.ratio: inf is not a number a case can hold
    """
    stack: list[tuple[list[str | int], Any, int]] = [([], value, 0)]
    while stack:
        path, v, depth = stack.pop()
        if depth > max_depth:
            raise InputError(f"nested deeper than {max_depth} levels", path=format_path(path))
        if isinstance(v, float) and not math.isfinite(v):
            raise InputError(f"{v} is not a number a case can hold", path=format_path(path))
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10**MAX_INT_DIGITS:
            raise InputError(
                f"an integer has more than {MAX_INT_DIGITS} digits", path=format_path(path)
            )
        if isinstance(v, dict):
            for k in reversed(list(v)):
                if not isinstance(k, str):
                    raise InputError(
                        f"a key must be text, not {type(k).__name__} ({k!r})",
                        path=format_path(path),
                    )
                stack.append(([*path, k], v[k], depth + 1))
        elif isinstance(v, list | tuple):
            stack.extend(([*path, i], v[i], depth + 1) for i in reversed(range(len(v))))
