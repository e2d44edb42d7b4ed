"""Citation numbering: sources numbered in order of first citation, listed at the end.

The one implementation behind the Markdown/text outline, the HTML/PDF report and the web page.
A renderer walks its output in reading order, asks ``numbers()`` for each cited item and lists
``references()`` at the end; ``assumption`` is never numbered (it is not a source).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from omscds.knowledge import KnowledgeBase

__all__ = ["CitationIndex", "Reference", "reference_text"]


@dataclass(frozen=True)
class Reference:
    n: int
    id: str
    text: str
    link: str | None


def reference_text(kb: KnowledgeBase, sid: str) -> tuple[str, str | None]:
    """``Authors (year). Title. Journal.`` and a link (DOI, URL or PubMed), from sources.yaml."""
    src = kb.sources.get(sid)
    if src is None:
        return sid, None
    text = f"{src.authors} ({src.year or 'n.d.'}). {src.title.rstrip('.')}."
    if src.journal:
        text += f" {src.journal.rstrip('.')}."
    link = f"https://doi.org/{src.doi}" if src.doi else src.url
    if not link and src.pmid:
        link = f"https://pubmed.ncbi.nlm.nih.gov/{src.pmid}/"
    return text, link


class CitationIndex:
    """Numbers sources in order of first citation.

    >>> from omscds.knowledge import load_knowledge
    >>> kb = load_knowledge()
    >>> a, b = list(kb.sources)[:2]
    >>> cite = CitationIndex(kb)
    >>> cite.numbers([b, "assumption", a, b])
    [1, 'assumption', 2]
    >>> [r.id for r in cite.references()] == [b, a]
    True
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb
        self._numbers: dict[str, int] = {}

    def numbers(self, sources: Iterable[str]) -> list[int | str]:
        out: list[int | str] = []
        for s in sources:
            if s == "assumption":
                if s not in out:
                    out.append(s)
                continue
            n = self._numbers.setdefault(s, len(self._numbers) + 1)
            if n not in out:
                out.append(n)
        return out

    def label(self, sources: Iterable[str]) -> str:
        """`` [1, 2]`` (with a leading space), or an empty string for no sources."""
        nums = self.numbers(sources)
        return f" [{', '.join(map(str, nums))}]" if nums else ""

    def references(self) -> list[Reference]:
        out = []
        for sid, n in sorted(self._numbers.items(), key=lambda kv: kv[1]):
            text, link = reference_text(self._kb, sid)
            out.append(Reference(n, sid, text, link))
        return out
