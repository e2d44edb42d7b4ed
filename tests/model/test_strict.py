"""Strict decoding: nothing that silently changes meaning gets through (omscds.model.strict)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omscds.errors import InputError
from omscds.model.strict import (
    MAX_DEPTH,
    _depth_ok,
    _depth_scan,
    check_tree,
    loads_json,
    loads_yaml,
)


@pytest.mark.parametrize(
    ("text", "path", "fragment"),
    [
        ('{"age_months": 19, "age_months": 3}', "age_months", "duplicate key"),
        ('{"history": {"relapse": true, "relapse": false}}', "history.relapse", "duplicate key"),
        ('{"age_months": NaN}', "age_months", "NaN"),
        ('{"tests": [{"quantitative": {"r": -Infinity}}]}', "tests[0].quantitative.r", "Infinity"),
        ('{"age_months": 1' + "0" * 40 + "}", None, "more than 15 digits"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), None, "nested deeper"),
        ('{"a": ', None, "not valid JSON"),
    ],
)
def test_json_that_would_change_meaning_is_refused(
    text: str, path: str | None, fragment: str
) -> None:
    with pytest.raises(InputError) as info:
        loads_json(text)
    assert fragment in info.value.message
    if path is not None:
        assert info.value.path == path


def test_a_deep_bomb_is_refused_without_recursion() -> None:
    with pytest.raises(InputError, match="nested deeper"):
        loads_json("[" * 100_000 + "]" * 100_000)


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    assert loads_json('{"note": "' + "[" * 200 + '"}')["note"] == "[" * 200


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("age_months: 19\nage_months: 3\n", "duplicate key"),
        ("age_months: .nan\n", "nan"),
        ("1: x\n", "a key must be text"),
        ("age_months: [\n", "not valid YAML"),
    ],
)
def test_yaml_that_would_change_meaning_is_refused(text: str, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        loads_yaml(text)


def test_valid_documents_decode_unchanged() -> None:
    assert loads_json('{"age_months": 19.5, "findings": {"ataxia": "present"}}') == {
        "age_months": 19.5,
        "findings": {"ataxia": "present"},
    }
    assert loads_yaml("age_months: 19\n") == {"age_months": 19}
    check_tree({"a": [1, 2.5, "x", None, True]})


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='[]{}"\\ ax,:\n', max_size=200), st.integers(min_value=0, max_value=8))
def test_the_quick_depth_count_agrees_with_the_character_scan(text: str, limit: int) -> None:
    """The regular-expression count decides only when it finds the document shallow enough;
    it must never call shallow what the exact scan calls too deep."""
    assert _depth_ok(text, limit) == _depth_scan(text, limit)
