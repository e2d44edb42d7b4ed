"""Write the code tables of docs/fhir-mapping.md from the knowledge base (terminology.yaml).

Run ``python tools/gen_fhir_mapping.py``; ``tests/interop/test_docs.py`` fails while the doc and
the knowledge base disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from omscds.knowledge import load_knowledge
from omscds.knowledge.codes import SYSTEM_URIS
from omscds.knowledge.terminology import markdown_tables

DOC = Path(__file__).resolve().parents[1] / "docs" / "fhir-mapping.md"
BEGIN = "<!-- BEGIN generated code tables (tools/gen_fhir_mapping.py) -->"
END = "<!-- END generated code tables -->"


def render(text: str) -> str:
    kb = load_knowledge()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{markdown_tables(kb.terminology, SYSTEM_URIS)}{END}{tail}"


def main() -> int:
    text = DOC.read_text()
    if BEGIN not in text or END not in text:
        print(f"{DOC}: markers missing", file=sys.stderr)
        return 1
    DOC.write_text(render(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
