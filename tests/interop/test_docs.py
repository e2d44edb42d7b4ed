"""docs/fhir-mapping.md carries the knowledge base's code tables (tools/gen_fhir_mapping.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_fhir_mapping_doc_matches_the_code_table() -> None:
    spec = importlib.util.spec_from_file_location("gen", ROOT / "tools" / "gen_fhir_mapping.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    text = gen.DOC.read_text()
    assert text == gen.render(text), "run: python tools/gen_fhir_mapping.py"
