"""Small phantoms (64^3 at 4 mm) keep the imaging tests fast on two cores."""

from __future__ import annotations

from typing import Any

import pytest

from omscds.imaging import Phantom, make_phantom

SMALL: dict[str, Any] = {"shape": (64, 64, 64), "spacing": 4.0}


def small_phantom(**kw: Any) -> Phantom:
    return make_phantom(**(SMALL | kw))


@pytest.fixture(scope="session")
def normal_spect() -> Phantom:
    return small_phantom(seed=101)
