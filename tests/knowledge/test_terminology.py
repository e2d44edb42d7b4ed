"""terminology.yaml: every code cites a source, names a known concept, and looks up both ways."""

from __future__ import annotations

import pytest

from omscds.errors import KnowledgeError
from omscds.knowledge import Code
from omscds.knowledge.codes import SYSTEM_URIS, system_id
from omscds.knowledge.terminology import parse_terminology
from omscds.model import MODALITIES, REGIONS


def test_every_entry_names_a_known_concept(kb) -> None:
    t = kb.terminology
    assert set(t.entries) >= {"findings", "answers", "regions", "conditions", "procedures"}
    for item in t.entries["findings"]:
        assert item.concept in kb.findings, item.concept
    for item in t.entries["answers"]:
        assert item.concept in ("present", "absent", "unknown")
    for item in t.entries["procedures"]:
        assert item.modality in MODALITIES and item.modality in kb.modalities
    for item in t.entries["regions"]:
        assert item.regions and set(item.regions) <= set(REGIONS)
    for region in REGIONS:
        assert t.region_code(region) is not None, region


def test_every_entry_cites_a_known_source(kb) -> None:
    known = {*kb.sources, *kb.terminology.sources, "assumption"}
    for _kind, item, cd in kb.terminology.all_codes():
        assert set(item.source) <= known, (item.concept, cd.code)
        assert cd.system in SYSTEM_URIS
    # nothing is claimed verified that was only curated
    assert not any(i.verified for _, i, _ in kb.terminology.all_codes())


@pytest.mark.parametrize(
    ("kind", "system", "code", "concept"),
    [
        ("answers", "LOINC", "LA32-8", "absent"),
        ("answers", "LOINC", "LA33-6", "present"),
        ("answers", "SNOMEDCT", "260385009", "absent"),
        ("findings", "SNOMEDCT", "55929007", "irritability"),
        ("findings", "SNOMEDCT", "39898005", "sleep_disturbance"),
        ("findings", "SNOMEDCT", "20262006", "ataxia"),
        ("conditions", "SNOMEDCT", "230350000", "oms"),
        ("conditions", "SNOMEDCT", "432328008", "neuroblastoma"),
        ("regions", "SNOMEDCT", "67734004", "upper_trunk"),
        ("procedures", "CPT", "78801", "mibg"),
        ("procedures", "CPT", "78832", "mibg"),
        ("procedures", "LOINC", "24627-2", "ct_chest"),
    ],
)
def test_lookup(kb, kind, system, code, concept) -> None:
    assert kb.terminology.concept(kind, system, code) == concept


def test_written_codes_come_first(kb) -> None:
    t = kb.terminology
    assert t.codes("procedures", "mibg")[0] == Code(
        "CPT", "78802", "Radiopharmaceutical localization of tumor, whole body, single day imaging"
    )
    assert t.procedure("mri", ["pelvis"]).codes[0].code == "72197"
    assert t.procedure("mri", ["chest", "abdomen"]) is None


def test_system_aliases() -> None:
    assert system_id("http://purl.obolibrary.org/obo/hp") == "HPO"
    assert system_id("http://human-phenotype-ontology.org") == "HPO"
    assert system_id("http://www.ama-assn.org/go/cpt") == "CPT"
    assert system_id(None) is None


@pytest.mark.parametrize(
    ("raw", "msg"),
    [
        (
            {
                "findings": [
                    {
                        "concept": "x",
                        "codes": [{"system": "NOPE", "code": "1"}],
                        "source": ["hpo"],
                        "as_of": "2026-01-01",
                    }
                ]
            },
            "unknown code system",
        ),
        (
            {
                "findings": [
                    {
                        "concept": "x",
                        "codes": [{"system": "LOINC", "code": "1"}],
                        "source": ["nobody"],
                        "as_of": "2026-01-01",
                    }
                ]
            },
            "unknown source id",
        ),
        (
            {
                "findings": [
                    {
                        "concept": "x",
                        "codes": [{"system": "LOINC", "code": "1"}],
                        "source": ["hpo"],
                        "as_of": "2026-01-01",
                    },
                    {
                        "concept": "y",
                        "codes": [{"system": "LOINC", "code": "1"}],
                        "source": ["hpo"],
                        "as_of": "2026-01-01",
                    },
                ]
            },
            "listed for both",
        ),
        ({"colours": []}, "unknown section"),
    ],
)
def test_bad_terminology_is_refused(raw, msg) -> None:
    with pytest.raises(KnowledgeError, match=msg):
        parse_terminology(raw, {"hpo": object()}, "terminology.yaml")
