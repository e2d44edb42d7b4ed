"""Cards only map what the reasoning decided: the pathway's level, its order review, staging."""

from __future__ import annotations

from typing import Any

import pytest

from omscds.interop.cdshooks.cards import order_warning_card, workup_card
from omscds.knowledge import KnowledgeBase
from omscds.reasoning import assess_data, review_orders
from omscds.view import build_view, percent
from tests.conftest import EXAMPLES


def _card(kb: KnowledgeBase, case: dict[str, Any]) -> Any:
    a = assess_data(case, kb)
    card = workup_card(
        a, view=build_view(a, kb), patient_ref="Patient/x", refs=kb.sources, terms=kb.terminology
    )
    return a, card


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.json")))
def test_the_card_leads_with_the_views_summary(
    name: str, kb: KnowledgeBase, examples: dict[str, dict[str, Any]]
) -> None:
    a, card = _card(kb, examples[name])
    if card is None:
        return
    s = build_view(a, kb).summary
    assert card.summary == s.headline and len(card.summary) < 140
    first = card.detail.split("\n\n**OMS criteria**")[0]
    assert f"**Phase**: {s.phase_label}" in first
    assert s.next_action is not None and f"**Next**: {s.next_action.title}" in first
    if a.tumour.status in ("not_applicable", "confirmed"):
        assert "P(tumour)" not in card.summary
        assert f"probability {percent(a.tumour.probability)}" not in card.detail
    # sources are cited readably, never by their internal key
    assert "**Sources**" in card.detail and "hasegawa_2015" not in card.detail


def test_the_indicator_is_the_pathway_level_raised_by_alerts(
    kb: KnowledgeBase, examples: dict[str, dict[str, Any]]
) -> None:
    a, card = _card(kb, examples["seed1-02-mibg-negative"])
    assert a.pathway is not None and a.pathway.level == "warning"
    assert card is not None and card.indicator == "warning"
    a, card = _card(kb, examples["post-infectious-ataxia"])
    assert a.pathway is not None and a.pathway.level == "none"
    assert card is None  # no question open: at most an alert card (services.run_hook)


def test_a_found_tumour_card_carries_the_staging_line(
    kb: KnowledgeBase, examples: dict[str, dict[str, Any]]
) -> None:
    a, card = _card(kb, examples["seed1-03-ct-positive"])
    assert card is not None and card.indicator == "warning"
    assert a.staging is not None and a.staging.summary
    assert f"**Staging**: {a.staging.summary}" in card.detail
    _, before = _card(kb, examples["seed1-02-mibg-negative"])  # nothing found: no staging
    assert before is not None and "**Staging**" not in before.detail


def test_the_order_card_proposes_the_pathways_own_step(
    kb: KnowledgeBase, examples: dict[str, dict[str, Any]]
) -> None:
    a = assess_data(examples["seed1-02-mibg-negative"], kb)
    review = review_orders(a, {"mibg"}, kb)
    card = order_warning_card(
        a,
        review,
        view=build_view(a, kb),
        patient_ref="Patient/x",
        order_ids=["ServiceRequest/1"],
        refs=kb.sources,
        terms=kb.terminology,
    )
    assert card is not None and card.suggestions
    proposed = [act.resource for s in card.suggestions for act in s.actions]
    assert proposed and all(r["resourceType"] == "ServiceRequest" for r in proposed)
    assert review is not None and review.message in card.detail
    assert len(card.summary) < 140
    assert (
        order_warning_card(a, None, view=build_view(a, kb), patient_ref="Patient/x", order_ids=[])
        is None
    )


def test_citations_are_kept_per_source_entry_not_per_id(kb: KnowledgeBase) -> None:
    """A kept citation is the entry's own text; another knowledge base's entry under the same
    id (a corrected title, say) is written from its own fields."""
    from omscds.interop.cdshooks.cards import _cite, citation

    for sid, ref in kb.sources.items():
        assert citation(sid, kb.sources) == citation(sid, kb.sources) == _cite(ref)
    sid, ref = next((s, r) for s, r in kb.sources.items() if r.title)
    corrected = {sid: ref.model_copy(update={"title": "A corrected title"})}
    assert "A corrected title" in citation(sid, corrected)
    assert "A corrected title" not in citation(sid, kb.sources)
