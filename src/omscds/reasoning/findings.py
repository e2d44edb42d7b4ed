"""Resolve the case's findings (names or HPO ids) to the knowledge base's finding keys."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from omscds.errors import InputError, KnowledgeError
from omscds.knowledge import KnowledgeBase
from omscds.model import MODALITIES, REGIONS, Case
from omscds.model.case import did_you_mean

__all__ = ["ResolvedCase", "check_contract", "resolve"]

_HPO_ID = re.compile(r"^HP:\d{7}$")


@dataclass(frozen=True)
class ResolvedCase:
    """A case whose findings are keyed by the knowledge base's vocabulary."""

    case: Case
    states: dict[str, str]
    #: which case fields support each finding's state, e.g. ``findings.HP:0002066``
    evidence: dict[str, tuple[str, ...]]
    warnings: tuple[str, ...] = ()
    test_findings: frozenset[str] = field(default_factory=frozenset)

    def state(self, key: str) -> str:
        return self.states.get(key, "unknown")

    def present(self, key: str) -> bool:
        return self.states.get(key) == "present"

    def absent(self, key: str) -> bool:
        return self.states.get(key) == "absent"


def unknown_finding(raw_key: str, kb: KnowledgeBase) -> str:
    """The message for a finding key the knowledge base does not know, with a hint."""
    hint = did_you_mean(raw_key, kb.findings).removeprefix("; ")
    known = ", ".join(sorted(kb.findings))
    return f"unknown finding{f' ({hint})' if hint else ''}; known keys: {known}, or an HPO id"


def finding_key_problems(findings: object, kb: KnowledgeBase) -> list[tuple[str, str]]:
    """The unknown finding names of a raw (not yet validated) ``findings`` object, so that a
    case with other errors reports them in the same pass."""
    if not isinstance(findings, dict):
        return []
    return [
        (f"findings.{k}", unknown_finding(k, kb))
        for k in findings
        if isinstance(k, str) and kb.finding_key(k) is None and not _HPO_ID.match(k)
    ]


def resolve(case: Case, kb: KnowledgeBase) -> ResolvedCase:
    """Map names and HPO ids to finding keys; reject unknown keys and contradictions.

    A present descendant term (HP:0002066 Gait ataxia) makes its finding (ataxia) present; an
    absent descendant says nothing about the broader finding and is reported as a warning.
    """
    kb.memo("findings.contract_checked", lambda: check_contract(kb))
    errors: list[tuple[str, str]] = []
    states: dict[str, str] = {}
    evidence: dict[str, list[str]] = {}
    origin: dict[str, str] = {}
    warnings: list[str] = []
    for raw_key, value in case.findings.items():
        path = f"findings.{raw_key}"
        key = kb.finding_key(raw_key)
        if key is None:
            if _HPO_ID.match(raw_key):
                errors.append(
                    (
                        path,
                        "HPO term is not one of the findings omscds reasons about "
                        "(nor below one in the HPO hierarchy)",
                    )
                )
            else:
                errors.append((path, unknown_finding(raw_key, kb)))
            continue
        exact = raw_key == key or raw_key == kb.findings[key].hpo
        if not exact and value != "present":
            warnings.append(
                f"{path} ({value}) is a narrower term than '{key}'; it does not make '{key}' "
                f"{value}"
            )
            continue
        previous = states.get(key)
        if previous is not None and previous != value and "unknown" not in (previous, value):
            errors.append(
                (
                    path,
                    f"contradicts {origin[key]} ({previous}): the same finding "
                    f"'{key}' is given as {value}",
                )
            )
            continue
        if previous is None or previous == "unknown":
            states[key] = value
            origin[key] = f"findings.{raw_key}"
        evidence.setdefault(key, []).append(path)
    test_findings: set[str] = set()
    case = _with_default_regions(case, kb, errors)
    for i, test in enumerate(case.tests):
        for j, tf in enumerate(test.findings):
            if tf not in kb.test_findings:
                known = ", ".join(sorted(kb.test_findings))
                errors.append(
                    (f"tests[{i}].findings[{j}]", f"unknown test finding {tf!r}; known: {known}")
                )
            else:
                test_findings.add(tf)
    if case.severity is not None:
        errors.extend(_check_severity(case, kb))
    if errors:
        path, msg = errors[0]
        raise InputError(msg, path=path, errors=errors)
    return ResolvedCase(
        case=case,
        states=states,
        evidence={k: tuple(v) for k, v in evidence.items()},
        warnings=tuple(warnings),
        test_findings=frozenset(test_findings),
    )


def _check_severity(case: Case, kb: KnowledgeBase) -> list[tuple[str, str]]:
    assert case.severity is not None
    scale = kb.severity_scales.get(case.severity.scale)
    if scale is None:
        return [
            (
                "severity.scale",
                f"{case.severity.scale!r} is not one of {', '.join(kb.severity_scales)}",
            )
        ]
    errors: list[tuple[str, str]] = []
    items = {item.id: item for item in scale.items}
    for name, score in case.severity.items.items():
        item = items.get(name)
        if item is None:
            errors.append(
                (f"severity.items.{name}", f"not an item of {scale.id}; items: {', '.join(items)}")
            )
        elif not item.min <= score <= item.max:
            errors.append((f"severity.items.{name}", f"{score} is outside {item.min}-{item.max}"))
    total = case.severity.total
    if total is not None and not scale.total_min <= total <= scale.total_max:
        errors.append(("severity.total", f"{total} is outside {scale.total_min}-{scale.total_max}"))
    return errors


def _with_default_regions(case: Case, kb: KnowledgeBase, errors: list[tuple[str, str]]) -> Case:
    """Apply each modality's region rules (modalities.yaml): required, or a default."""
    tests = list(case.tests)
    changed = False
    for i, test in enumerate(tests):
        if test.regions:
            continue
        mod = kb.modalities.get(test.modality)
        if mod is None:
            continue
        if mod.regions_required:
            errors.append(
                (
                    f"tests[{i}].regions",
                    f"required for {test.modality} (any of {', '.join(REGIONS)})",
                )
            )
        elif mod.default_regions:
            tests[i] = test.model_copy(update={"regions": mod.default_regions})
            changed = True
    return case.model_copy(update={"tests": tuple(tests)}) if changed else case


def check_contract(kb: KnowledgeBase) -> bool:
    """Every modality of the knowledge base is one the case contract names (``MODALITIES``).

    The contract names them (its JSON Schema enum); the knowledge base says what each does. A
    test proves the shipped knowledge base describes every one.
    """
    extra = sorted(set(kb.modalities) - set(MODALITIES))
    if extra:
        raise KnowledgeError(f"modalities.yaml: not in the case contract: {extra}")
    return True
