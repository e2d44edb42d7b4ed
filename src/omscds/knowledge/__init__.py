"""The versioned, cited knowledge base: load once, validate, freeze."""

from __future__ import annotations

from omscds.knowledge.codes import Code
from omscds.knowledge.loader import DATA_DIR, KnowledgeBase, load_knowledge
from omscds.knowledge.schema import ASSUMPTION, Cited

__all__ = ["ASSUMPTION", "DATA_DIR", "Cited", "Code", "KnowledgeBase", "load_knowledge"]
