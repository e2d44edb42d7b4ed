"""The seed example cases, shipped inside the package (a copy of the repository's examples/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omscds.errors import InputError

__all__ = ["EXAMPLES_DIR", "example_names", "load_example"]

EXAMPLES_DIR = Path(__file__).with_name("examples")


def example_names() -> list[str]:
    """Names of the shipped examples (file stems), sorted."""
    return sorted(p.stem for p in EXAMPLES_DIR.glob("*.json"))


def load_example(name: str) -> dict[str, Any]:
    """The example case called ``name``; InputError for a name that is not shipped."""
    if name not in example_names():
        raise InputError(f"no example called {name!r}", path="example")
    data: dict[str, Any] = json.loads((EXAMPLES_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return data
