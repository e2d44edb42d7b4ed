"""Rendering of the web pages: one Jinja2 environment per language over the web templates and
the report templates (the assessment partial is shared with the printed report)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment
from markupsafe import Markup, escape

from omscds import __version__
from omscds.interfaces.web.examples import example_names
from omscds.interfaces.web.forms import (
    BOOL_HISTORY,
    FORM_HISTORY,
    CaseForm,
    TestRow,
    errors_by_field,
    field_id,
    field_of,
)
from omscds.interfaces.web.i18n import get_translations
from omscds.interfaces.web.labels import AGE_FORMATS, age_text, clinical_problems
from omscds.interfaces.web.whatif import Hypothetical
from omscds.knowledge import KnowledgeBase
from omscds.model import MODALITIES, REGIONS, Assessment
from omscds.model.case import HISTOLOGIES, RESULTS
from omscds.reports.html import N_, WORDS, assessment_context, make_environment

__all__ = [
    "WEB_TEMPLATES",
    "assessment_vars",
    "case_line",
    "environment",
    "form_vars",
    "render_page",
    "share_link",
]

WEB_TEMPLATES = Path(__file__).with_name("templates")

GROUP_TITLES: dict[str, str] = {
    "eyes": N_("Eyes"),
    "movement": N_("Movement"),
    "behaviour_sleep": N_("Behaviour and sleep"),
    "other": N_("Other"),
}
HISTORY_LABELS: dict[str, str] = {
    "symptom_duration_weeks": N_("Symptom duration (weeks)"),
    "preceding_infection": N_("Infection in the weeks before onset"),
    "recent_vaccination": N_("Vaccination in the weeks before onset"),
    "possible_toxic_ingestion": N_("Possible toxic ingestion"),
    "relapse": N_("Relapse after a remission"),
    "prior_tumour_resected": N_("A neuroblastic tumour was resected earlier"),
}
SEX_LABELS: dict[str, str] = {
    "unknown": N_("unknown"),
    "female": N_("female"),
    "male": N_("male"),
    "other": N_("other"),
}


@lru_cache(maxsize=8)
def environment(lang: str) -> Environment:
    env = make_environment(get_translations(lang), extra_dirs=[WEB_TEMPLATES])
    env.globals.update(fid=field_id, version=__version__, err=field_error, invalid=invalid_attrs)
    return env


def field_error(errors: Mapping[str, Sequence[str]], name: str) -> Markup:
    """The message(s) shown beside the field ``name``, linked by id from the input."""
    if name not in errors:
        return Markup("")
    return (
        Markup(
            f'<p class="field-error" id="{field_id(name)}-error"><span aria-hidden="true">✗ </span>'
        )
        + Markup("; ").join(escape(m) for m in errors[name])
        + Markup("</p>")
    )


def invalid_attrs(errors: Mapping[str, Sequence[str]], name: str) -> Markup:
    """``aria-invalid`` and ``aria-describedby`` for a field with errors."""
    if name not in errors:
        return Markup("")
    return Markup(f' aria-invalid="true" aria-describedby="{field_id(name)}-error"')


def render_page(name: str, lang: str, **context: Any) -> str:
    return environment(lang).get_template(name).render(lang=lang, **context)


def assessment_vars(
    a: Assessment,
    kb: KnowledgeBase,
    lang: str,
    case: Mapping[str, Any],
    *,
    csrf: str = "",
    hypothetical: Hypothetical | None = None,
) -> dict[str, Any]:
    """Variables of the assessment partial, with the what-if buttons bound to ``case`` (and
    the session's CSRF token). With ``hypothetical``, ``a`` is the assessment of ``case`` plus
    that study: the tumour section labels itself, and ``result_view`` tells the page's PDF and Save
    buttons that they still use ``case``, the actual one."""
    ctx = assessment_context(a, kb, tr=get_translations(lang).gettext)
    case_json = json.dumps(case, ensure_ascii=False, sort_keys=True)
    ctx["whatif"] = {"url": "/whatif", "case_json": case_json, "csrf": csrf,
                     "hypothetical": hypothetical}  # fmt: skip
    ctx["result_view"] = "hypothetical" if hypothetical else "actual"
    ctx["case_json"] = case_json
    ctx["csrf"] = csrf
    return ctx


def share_link(case: Mapping[str, Any]) -> str:
    """A link to the page that carries ``case`` in its fragment (``/#case=`` and base64url of
    the JSON, unpadded): a browser never sends the fragment to a server; the page's script
    fills the form from it.

    >>> share_link({"age_months": 19})
    '/#case=eyJhZ2VfbW9udGhzIjoxOX0'
    """
    data = json.dumps(case, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return "/#case=" + base64.urlsafe_b64encode(data.encode("utf-8")).decode("ascii").rstrip("=")


def case_line(case: Mapping[str, Any], lang: str) -> str:
    """The line above the assessment: the patient's age in years and months, and sex."""
    tr = get_translations(lang).gettext
    age = case.get("age_months")
    parts = []
    if isinstance(age, int | float) and not isinstance(age, bool):
        parts.append(tr("Age %(age)s") % {"age": age_text(age, tr)})
    sex = case.get("sex")
    if isinstance(sex, str) and sex in SEX_LABELS and sex != "unknown":
        parts.append(tr(SEX_LABELS[sex]))
    return " · ".join(parts)


def form_vars(
    form: CaseForm,
    kb: KnowledgeBase,
    errors: Sequence[tuple[str, str]] = (),
    *,
    lang: str = "en",
    example: str | None = None,
) -> dict[str, Any]:
    """Variables of the case form: the values, the vocabularies, the problems in the form's
    words (keyed by field, and in order for the summary) and the example it was loaded from."""
    tr = get_translations(lang).gettext
    problems = clinical_problems(errors, kb, tr)
    groups = []
    for group, title in GROUP_TITLES.items():
        items = [f for f in kb.findings.values() if f.group == group]
        if items:
            groups.append({"id": group, "title": title, "findings": items})
    return {
        "form": form,
        "rows": form.rows_for_display(),
        "blank_row": TestRow(),
        "groups": groups,
        "history_fields": [
            {
                "name": n,
                "label": HISTORY_LABELS.get(n, n.replace("_", " ")),
                "bool": n in BOOL_HISTORY,
                "value": form.history.get(n, ""),
            }
            for n in FORM_HISTORY
        ],
        "sexes": SEX_LABELS,
        "modalities": [
            (m, kb.modalities[m].label if m in kb.modalities else m) for m in MODALITIES
        ],
        "regions": [(r, WORDS.get(r, r)) for r in REGIONS],
        "results": [(r, WORDS.get(r, r)) for r in RESULTS],
        "histologies": HISTOLOGIES,
        "test_findings": sorted(kb.test_findings.items()),
        "errors": errors_by_field([(p.path, p.message) for p in problems]),
        "problems": [(field_of(p.path), p.label, p.message) for p in problems],
        "examples": example_names(),
        "example": example,
        "age_readout": _age_readout(form.age_months, tr),
        "age_formats": {k: tr(v) for k, v in AGE_FORMATS.items()},
    }


def _age_readout(text: str, tr: Callable[[str], str]) -> str:
    """The age as typed, in years and months ('' when it is not a number)."""
    try:
        months = float(text)
    except ValueError:
        return ""
    return age_text(months, tr) if 0 <= months < 2000 else ""
