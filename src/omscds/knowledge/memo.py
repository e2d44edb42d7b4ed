"""Values derived once from frozen knowledge, kept beside it (``KnowledgeBase``, ``Terminology``).

A frozen dataclass that declares ``_memo: dict[str, Any] = field(default_factory=dict,
compare=False, repr=False)`` and inherits ``Memoised`` gets ``memo(key, factory)``, and is
pickled without what it memoised (a Dask worker recomputes on use).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

__all__ = ["Memoised"]

T = TypeVar("T")


class Memoised:
    _memo: dict[str, Any]

    def memo(self, key: str, factory: Callable[[], T]) -> T:
        """Compute a value derived from the (immutable) facts once and keep it.

        Reasoning modules use this for pooled evidence and compiled rules, the FHIR writer for
        an order's codings; the facts themselves never change, so the cache can never go stale.
        """
        try:
            return cast(T, self._memo[key])
        except KeyError:
            value = self._memo[key] = factory()
            return value

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the memo (derived values are recomputed on use)."""
        return {**self.__dict__, "_memo": {}}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
