"""The examples shipped in the package are exactly the repository's seed examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from omscds.errors import InputError
from omscds.interfaces.web.examples import EXAMPLES_DIR, example_names, load_example

REPO_EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_packaged_examples_are_identical_to_the_repository() -> None:
    repo = {p.name: p.read_bytes() for p in REPO_EXAMPLES.glob("*.json")}
    shipped = {p.name: p.read_bytes() for p in EXAMPLES_DIR.glob("*.json")}
    assert repo, "examples/ is empty"
    assert shipped == repo, "copy examples/*.json into src/omscds/interfaces/web/examples/"


def test_load_example() -> None:
    assert "seed1-02-mibg-negative" in example_names()
    assert load_example("seed1-02-mibg-negative")["age_months"] == 19
    with pytest.raises(InputError, match="no example"):
        load_example("../pyproject")
