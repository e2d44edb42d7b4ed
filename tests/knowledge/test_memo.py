"""Values derived once from the frozen knowledge base and its terminology, never pickled."""

from __future__ import annotations

import pickle


def test_memo_computes_once_and_is_not_pickled(kb) -> None:
    from omscds.knowledge.terminology import Terminology

    terms = Terminology.build({"regions": kb.terminology.entries["regions"]})
    calls: list[int] = []
    assert terms.memo("k", lambda: calls.append(1) or "v") == "v"
    assert terms.memo("k", lambda: calls.append(1) or "w") == "v"
    assert calls == [1]
    back = pickle.loads(pickle.dumps(terms))
    assert back == terms and back._memo == {}
    assert back.region_code("chest") == terms.region_code("chest")


def test_the_knowledge_base_memo_is_not_pickled(kb) -> None:
    kb.memo("test.k", lambda: "v")
    back = pickle.loads(pickle.dumps(kb))
    assert back.version == kb.version and back._memo == {}
    assert back.memo("test.k", lambda: "w") == "w" and kb.memo("test.k", lambda: "w") == "v"
