"""The tumour and paraneoplastic blocks of the case (issue 14): every bad value names its path."""

from __future__ import annotations

from typing import Any

import pytest

from omscds.errors import InputError
from omscds.model import parse_case


@pytest.mark.parametrize(
    ("block", "path", "fragment"),
    [
        ({"tumour": {"biology": {"mycn": "amp"}}}, "tumour.biology.mycn", "not one of"),
        (
            {"tumour": {"biology": {"sca": False, "aberration_11q": True}}},
            "tumour.biology.sca",
            "contradicts",
        ),
        (
            {"tumour": {"biology": {"ploidy": "diploid", "dna_index": 1.4}}},
            "tumour.biology.ploidy",
            "contradicts",
        ),
        ({"tumour": {"biology": {"dna_index": True}}}, "tumour.biology.dna_index", "number"),
        ({"tumour": {"metastases": {"brain": "present"}}}, "tumour.metastases.brain", "not one of"),
        ({"tumour": {"metastases": {"liver": "yes"}}}, "tumour.metastases.liver", "not one of"),
        ({"tumour": {"primary": {"size_mm": -3}}}, "tumour.primary.size_mm", "greater than 0"),
        ({"tumour": {"primary": {"region": "brain"}}}, "tumour.primary.region", "not one of"),
        (
            {"tumour": {"idrfs": {"two_compartments": "maybe"}}},
            "tumour.idrfs.two_compartments",
            "not one of",
        ),
        (
            {
                "tumour": {
                    "pathology": {
                        "category": "gnb_intermixed",
                        "differentiation": "differentiating",
                    }
                }
            },
            "tumour.pathology.differentiation",
            "applies to",
        ),
        ({"tumour": {"stage": "L1"}}, "tumour.stage", "unknown field"),
        (
            {"paraneoplastic": {"follow_up_months": "24"}},
            "paraneoplastic.follow_up_months",
            "number",
        ),
        (
            {"paraneoplastic": {"antibody_risk": "low-ish"}},
            "paraneoplastic.antibody_risk",
            "not one of",
        ),
    ],
)
def test_bad_tumour_input_names_the_field(block: dict[str, Any], path: str, fragment: str) -> None:
    with pytest.raises(InputError) as err:
        parse_case({"age_months": 19, **block})
    assert err.value.path == path, err.value.errors
    assert fragment in err.value.message


def test_a_full_tumour_block_parses() -> None:
    case = parse_case(
        {
            "age_months": 19,
            "tumour": {
                "primary": {"region": "chest", "site": "paraspinal", "size_mm": 18},
                "idrfs": {"intraspinal_extension": "absent"},
                "idrf_review_complete": True,
                "metastases": {"bone_marrow": "absent"},
                "pathology": {"category": "gnb_nodular", "differentiation": "differentiating"},
                "biology": {"mycn": "not_amplified", "dna_index": 1.3, "aberration_11q": True},
                "spinal_cord_compression": False,
            },
            "paraneoplastic": {"follow_up_months": 3},
        }
    )
    assert case.tumour is not None and case.tumour.biology.dna_index == 1.3
