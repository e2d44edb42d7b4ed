from __future__ import annotations

from omscds.knowledge import Code


def test_code_is_a_hashable_value_object() -> None:
    a = Code("HPO", "HP:0010543", "Opsoclonus")
    assert a == Code("HPO", "HP:0010543", "Opsoclonus")
    assert len({a, Code("HPO", "HP:0010543", "Opsoclonus")}) == 1
    assert Code("LOINC", "3124-5").uri == "http://loinc.org"
