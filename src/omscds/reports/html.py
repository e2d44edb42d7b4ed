"""The assessment as HTML: one Jinja2 partial shared by the printable report and the web page.

``render_report_html`` gives a standalone document with print CSS (the input of the PDF);
``assessment_context`` gives the variables the partial ``_assessment.html.j2`` needs, so the web
page renders exactly the same sections. Translations (gettext) are passed in by the interface;
the default is English source strings.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from omscds.knowledge import KnowledgeBase
from omscds.model import Assessment, Recommendation
from omscds.reasoning.workup import URGENCY_ORDER
from omscds.reports.charts import body_diagram_svg, probability_steps_svg

__all__ = [
    "TEMPLATES_DIR",
    "Citations",
    "assessment_context",
    "make_environment",
    "render_report_html",
]

TEMPLATES_DIR = Path(__file__).with_name("templates")


def N_(s: str) -> str:
    """Mark a string for the message catalogue without translating it here."""
    return s


#: display words for the contract's enumerations (the values stay English ids in JSON)
WORDS: dict[str, str] = {
    "criteria_met": N_("criteria met"),
    "possible": N_("possible"),
    "not_met": N_("not met"),
    "confirmed": N_("confirmed"),
    "suspected": N_("suspected"),
    "search_incomplete": N_("search incomplete"),
    "not_found": N_("not found"),
    "not_applicable": N_("not applicable"),
    "urgent": N_("urgent"),
    "soon": N_("soon"),
    "routine": N_("routine"),
    "info": N_("info"),
    "warning": N_("warning"),
    "critical": N_("critical"),
    "positive": N_("positive"),
    "negative": N_("negative"),
    "equivocal": N_("equivocal"),
    "pending": N_("pending"),
    "neck": N_("neck"),
    "chest": N_("chest"),
    "abdomen": N_("abdomen"),
    "pelvis": N_("pelvis"),
    "brain": N_("brain"),
    "spine": N_("spine"),
    "whole_body": N_("whole body"),
}


class Citations:
    """Numbers sources in order of first citation; ``references()`` lists them for the end."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb
        self._numbers: dict[str, int] = {}

    def numbers(self, sources: Sequence[str]) -> list[int | str]:
        out: list[int | str] = []
        for s in sources:
            if s == "assumption":
                out.append("assumption")
                continue
            n = self._numbers.setdefault(s, len(self._numbers) + 1)
            if n not in out:
                out.append(n)
        return out

    def __call__(self, sources: Sequence[str]) -> Markup:
        """``[1, 2]`` with links to the reference list (an empty string for no sources)."""
        nums = self.numbers(sources)
        if not nums:
            return Markup("")
        parts = [
            f'<a href="#ref-{n}" class="cite">{n}</a>'
            if isinstance(n, int)
            else f'<span class="assume">{escape(n)}</span>'
            for n in nums
        ]
        return Markup(f' <span class="cites">[{", ".join(parts)}]</span>')

    def references(self) -> list[dict[str, Any]]:
        refs = []
        for sid, n in sorted(self._numbers.items(), key=lambda kv: kv[1]):
            src = self._kb.sources.get(sid)
            if src is None:
                refs.append({"n": n, "id": sid, "text": sid, "link": None})
                continue
            text = f"{src.authors} ({src.year or 'n.d.'}). {src.title}."
            if src.journal:
                text += f" {src.journal}."
            link = f"https://doi.org/{src.doi}" if src.doi else src.url
            refs.append({"n": n, "id": sid, "text": text, "link": link})
        return refs


def _group_recommendations(
    recs: Sequence[Recommendation],
) -> list[tuple[str, list[Recommendation]]]:
    groups = []
    for urgency in sorted(URGENCY_ORDER, key=URGENCY_ORDER.__getitem__):
        items = [r for r in recs if r.urgency == urgency]
        if items:
            groups.append((urgency, items))
    return groups


def assessment_context(
    a: Assessment,
    kb: KnowledgeBase,
    *,
    tr: Callable[[str], str] | None = None,
    id_prefix: str = "a",
) -> dict[str, Any]:
    """Variables for ``_assessment.html.j2``: the assessment, citations, labels and charts."""
    t = tr or (lambda s: s)
    modality_labels = {k: m.label for k, m in kb.modalities.items()}

    def word(value: str) -> str:
        return t(WORDS.get(value, value.replace("_", " ")))

    def evidence_label(path: str) -> str:
        if path.startswith("findings."):
            key = path.removeprefix("findings.")
            f = kb.findings.get(key)
            return f.label if f else key
        return path

    return {
        "a": a,
        "kb": kb,
        "cite": Citations(kb),
        "word": word,
        "modality": lambda m: modality_labels.get(m, m) if m else "",
        "evidence_labels": lambda paths: ", ".join(map(evidence_label, paths)),
        "words": lambda values: ", ".join(map(word, values)),
        "pct": _pct,
        "rec_groups": _group_recommendations(a.recommendations),
        "steps_svg": Markup(
            probability_steps_svg(
                a.tumour, labels=modality_labels, tr=word, id_prefix=f"{id_prefix}-steps"
            )
        ),
        "body_svg": Markup(
            body_diagram_svg(
                dict(a.tumour.searched_regions.items()),
                dict(a.tumour.region_probabilities.items()),
                labels=modality_labels,
                tr=word,
                id_prefix=f"{id_prefix}-body",
            )
        ),
    }


def _pct(p: float) -> str:
    return f"{p:.0%}" if p >= 0.01 or p == 0 else f"{p:.1%}"


def make_environment(
    translations: gettext.NullTranslations | None = None,
    extra_dirs: Sequence[Path] = (),
) -> Environment:
    """A Jinja2 environment over ``extra_dirs`` then the report templates, with gettext."""
    env = Environment(
        loader=FileSystemLoader([*map(str, extra_dirs), str(TEMPLATES_DIR)]),
        autoescape=select_autoescape(["html", "j2", "svg"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(  # type: ignore[attr-defined]
        translations or gettext.NullTranslations(), newstyle=True
    )
    env.filters["e_"] = escape
    return env


@lru_cache(maxsize=8)
def _default_env(translations: gettext.NullTranslations | None) -> Environment:
    return make_environment(translations)


def render_report_html(
    a: Assessment,
    kb: KnowledgeBase,
    *,
    translations: gettext.NullTranslations | None = None,
    lang: str = "en",
) -> str:
    """The printable report: a standalone HTML document (inline CSS and SVG, no external files)."""
    env = _default_env(translations)
    tr = (translations or gettext.NullTranslations()).gettext
    ctx = assessment_context(a, kb, tr=tr, id_prefix="r")
    css = (TEMPLATES_DIR / "report.css").read_text(encoding="utf-8")
    return env.get_template("report.html.j2").render(**ctx, css=Markup(css), lang=lang, whatif=None)
