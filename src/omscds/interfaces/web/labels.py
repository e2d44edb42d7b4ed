"""What a clinician reads instead of internal names: the age in years and months, and
validation problems with the form's own labels ("Age (months): must be a number", not
"age_months: Input should be a valid number") and a "did you mean" for unknown names.

Pure: the knowledge base and a gettext function come in; strings go out. The paths stay the
case's own (``tests[1].regions``), so each message still lands beside its input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from omscds.knowledge import KnowledgeBase
from omscds.model.case import did_you_mean
from omscds.reports.html import N_

__all__ = [
    "AGE_FORMATS",
    "FIELD_LABELS",
    "TEST_FIELD_LABELS",
    "Problem",
    "age_text",
    "clinical_problems",
]

Tr = Callable[[str], str]

#: labels of the form's top-level and history fields (the form shows the same words)
FIELD_LABELS: dict[str, str] = {
    "case_id": N_("Case label"),
    "age_months": N_("Age (months)"),
    "sex": N_("Sex"),
    "visit_date": N_("Visit date"),
    "extra": N_("Other case data"),
    "case_json": N_("The case data"),
    "(root)": N_("The case"),
    "example": N_("Example case"),
    "next_test": N_("What-if study"),
    "result": N_("What-if result"),
    "history.symptom_duration_weeks": N_("Symptom duration (weeks)"),
    "history.preceding_infection": N_("Infection in the weeks before onset"),
    "history.recent_vaccination": N_("Vaccination in the weeks before onset"),
    "history.possible_toxic_ingestion": N_("Possible toxic ingestion"),
    "history.relapse": N_("Relapse after a remission"),
    "history.prior_tumour_resected": N_("A neuroblastic tumour was resected earlier"),
    "history.relapse_date": N_("Relapse date"),
}
TEST_FIELD_LABELS: dict[str, str] = {
    "modality": N_("Modality"),
    "regions": N_("Regions"),
    "result": N_("Result"),
    "date": N_("Date"),
    "findings": N_("Findings"),
    "location": N_("Location"),
    "histology": N_("Histology"),
    "note": N_("Note"),
    "extra": N_("Other test data"),
}
_TEST_PATH = re.compile(r"^tests\[(\d+)\](?:\.(\w+))?(?:\[\d+\])*$")
_QUOTED = re.compile(r"'([^']*)'")


#: the three shapes of an age (the page's script formats the age as it is typed with the same,
#: translated, strings)
AGE_FORMATS: dict[str, str] = {
    "ym": N_("%(y)s y %(m)s mo (%(total)s months)"),
    "y": N_("%(y)s y (%(total)s months)"),
    "m": N_("%(m)s mo (%(total)s months)"),
}


def age_text(months: float, tr: Tr) -> str:
    """The age in years and months, then in months as entered.

    >>> age_text(27, str)
    '2 y 3 mo (27 months)'
    >>> age_text(9, str), age_text(516, str), age_text(19.5, str)
    ('9 mo (9 months)', '43 y (516 months)', '1 y 7.5 mo (19.5 months)')
    """
    years, rest = divmod(months, 12)
    total = f"{months:g}"
    if years and rest:
        return tr(AGE_FORMATS["ym"]) % {
            "y": f"{years:g}",
            "m": f"{rest:g}",
            "total": total,
        }
    if years:
        return tr(AGE_FORMATS["y"]) % {"y": f"{years:g}", "total": total}
    return tr(AGE_FORMATS["m"]) % {"m": f"{rest:g}", "total": total}


@dataclass(frozen=True)
class Problem:
    """One validation problem as a clinician reads it; ``path`` names the form field."""

    path: str
    label: str
    message: str


def field_label(path: str, kb: KnowledgeBase, tr: Tr) -> str:
    """The form's label for a case path.

    >>> from omscds.knowledge import load_knowledge
    >>> kb = load_knowledge()
    >>> field_label("tests[1].regions", kb, str), field_label("findings.ataxia", kb, str)
    ('Test 2: Regions', 'Ataxia')
    """
    if path in FIELD_LABELS:
        return tr(FIELD_LABELS[path])
    m = _TEST_PATH.match(path)
    if m:
        test = tr("Test %(n)s") % {"n": int(m.group(1)) + 1}
        part = m.group(2)
        if part is None:
            return test
        return f"{test}: {tr(TEST_FIELD_LABELS.get(part, part.replace('_', ' ')))}"
    if path.startswith("findings."):
        key = path.removeprefix("findings.")
        finding = kb.findings.get(key)
        if finding is not None:
            return _short(finding.label)
        return tr("Finding %(name)s") % {"name": repr(key)}
    head, _, tail = path.partition(".")
    if head in ("history", "severity", "extensions"):
        return f"{tr(head.capitalize())}: {tail.replace('_', ' ')}" if tail else head.capitalize()
    return tr("Field %(name)s") % {"name": repr(path)}


def _short(label: str) -> str:
    """ "Opsoclonus (chaotic multidirectional saccades)" -> "Opsoclonus"."""
    return label.split(" (", 1)[0]


def _closest(word: str, options: dict[str, str]) -> str | None:
    """The key in ``options`` (key -> label) closest to ``word``, by key or by label; through
    the model's own ``did_you_mean`` so that the CLI and the page suggest alike."""
    for names, back in ((options, None), ({v.lower(): k for k, v in options.items()}, True)):
        hint = did_you_mean(word.lower() if back else word, names)
        found = _QUOTED.search(hint)
        if found:
            return names[found.group(1)] if back else found.group(1)
    return None


def _hint(word: str, options: dict[str, str], tr: Tr) -> str:
    """'; did you mean Ataxia (ataxia)?' for the closest known name, or ''."""
    key = _closest(word, options)
    if key is None:
        return ""
    return tr("; did you mean %(name)s?") % {"name": f"{options[key]} ({key})"}


def clinical_message(path: str, message: str, kb: KnowledgeBase, tr: Tr) -> str:
    """The engine's message in the form's words (the meaning unchanged)."""
    m = _TEST_PATH.match(path)
    part = m.group(2) if m else None
    modalities = {k: v.label for k, v in kb.modalities.items()}
    if message.startswith("Input should be a valid number"):
        return tr("must be a number")
    if message.startswith("Input should be a valid date"):
        return tr("must be a date (year-month-day)")
    if message.startswith("Input should be a valid boolean"):
        return tr("must be yes or no")
    bound = re.match(r"Input should be (greater|less) than( or equal to)? (\S+)", message)
    if bound:
        word = {"greater": tr("at least %(n)s"), "less": tr("at most %(n)s")}[bound.group(1)]
        if not bound.group(2):
            word = {"greater": tr("more than %(n)s"), "less": tr("less than %(n)s")}[bound.group(1)]
        return tr("must be %(bound)s") % {"bound": word % {"n": bound.group(3)}}
    if message == "required field is missing":
        return tr("required")
    if message.startswith("unknown test finding"):
        names = _QUOTED.findall(message)
        word = names[0] if names else ""
        options = {k: _short(v.label) for k, v in kb.test_findings.items()}
        return tr("%(word)s is not a test finding omscds knows%(hint)s") % {
            "word": repr(word),
            "hint": _hint(word, options, tr),
        }
    if message.startswith("unknown finding") and path.startswith("findings."):
        word = path.removeprefix("findings.")
        options = {k: _short(v.label) for k, v in kb.findings.items()}
        return tr("%(word)s is not a finding omscds knows (nor an HPO id)%(hint)s") % {
            "word": repr(word),
            "hint": _hint(word, options, tr),
        }
    if message.startswith("unknown field"):
        return message  # the model's own "did you mean" for the case's field names
    if part == "regions" and message.startswith("required for "):
        mod = message.removeprefix("required for ").split(" ", 1)[0]
        return tr("tick at least one region (required for %(modality)s)") % {
            "modality": modalities.get(mod, mod)
        }
    literal = re.match(r"^'([^']*)' is not one of ", message)
    if literal and part == "modality":
        return tr("%(word)s is not a modality omscds knows%(hint)s") % {
            "word": repr(literal.group(1)),
            "hint": _hint(literal.group(1), modalities, tr),
        }
    return message


def clinical_problems(
    errors: Sequence[tuple[str, str]], kb: KnowledgeBase, tr: Tr
) -> list[Problem]:
    """Every (path, message) of an ``InputError`` as a :class:`Problem`, in order."""
    return [Problem(p, field_label(p, kb, tr), clinical_message(p, m, kb, tr)) for p, m in errors]
