"""terminology.yaml: every code cites a source, names a known concept, and looks up both ways."""

from __future__ import annotations

from typing import ClassVar

import pytest

from omscds.errors import KnowledgeError
from omscds.knowledge import Code
from omscds.knowledge.codes import SYSTEM_URIS, system_id
from omscds.knowledge.terminology import KINDS, parse_terminology
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
    # verified only where the release itself was checked (HPO, tools/check_hpo_codes.py):
    # nothing only curated (SNOMED CT, LOINC, CPT, HCPCS) is claimed verified
    for _kind, item, cd in kb.terminology.all_codes():
        if item.verified:
            assert cd.system == "HPO", (item.concept, cd.system, cd.code)


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
        ("procedures", "HCPCS", "A9582", "mibg"),
        ("procedures", "LOINC", "46358-8", "whole_body_mri"),
        ("procedures", "CPT", "70450", "ct_head"),
        ("onsets", "HPO", "HP:0011463", "childhood"),
        ("onsets", "HPO", "HP:0410280", "pediatric"),
        ("onsets", "HPO", "HP:0034198", "antenatal"),
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


def test_procedure_lookup_is_the_first_listed_for_those_regions_in_any_order(kb) -> None:
    t = kb.terminology
    listed = t.entries["procedures"]
    for item in listed:
        first = next(
            p
            for p in listed
            if p.modality == item.modality and sorted(p.regions) == sorted(item.regions)
        )
        assert t.procedure(item.modality or "", reversed(item.regions)) is first
    assert t.procedure("no_such_modality") is None


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


@pytest.mark.parametrize(
    ("code", "low", "high"),
    [
        ("HP:0003623", 0, 0.9),  # neonatal: the first 28 days
        ("HP:0003593", 0.9, 12),  # infantile: 28 days to 1 year
        ("HP:0011463", 12, 60),  # childhood: 1 to 5 years
        ("HP:0003621", 60, 180),  # juvenile: 5 to 15 years
        ("HP:0003581", 192, None),  # adult: 16 years or later
        ("HP:0003584", 720, None),  # late: after 60 years
    ],
)
def test_onset_ages_are_the_hpo_definitions(kb, code: str, low: float, high: float | None) -> None:
    entry = kb.terminology.entry("onsets", "HPO", code)
    assert entry is not None and entry.age_months == (low, high)
    assert entry.note and "HPO" in entry.note


def test_onset_ranges_nest_and_are_ordered(kb) -> None:
    for item in kb.terminology.entries["onsets"]:
        assert item.age_months is not None, item.concept
        low, high = item.age_months
        assert low >= 0 and (high is None or high >= low), item.concept


def _check_tool():  # tools/ is not a package: load the module from its file
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "tools" / "check_hpo_codes.py"
    spec = importlib.util.spec_from_file_location("check_hpo_codes", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class _Term:
    def __init__(self, tid: str, name: str, parents: tuple[_Term, ...] = ()) -> None:
        self.id, self.name, self.is_obsolete = tid, name, False
        self.all_parents = set(parents)
        for p in parents:
            self.all_parents |= p.all_parents


class _MiniOntology:
    """A hand-built three-term ontology in place of hpo3's."""

    onset = _Term("HP:0003674", "Onset")
    terms: ClassVar[dict[str, _Term]] = {
        t.id: t
        for t in (
            onset,
            _Term("HP:0011463", "Childhood onset", (onset,)),
            _Term("HP:0001251", "Ataxia"),
        )
    }

    @classmethod
    def get_hpo_object(cls, tid: str) -> _Term:
        return cls.terms[tid]


def test_hpo_check_tool_finds_wrong_codes() -> None:
    tool = _check_tool()
    good = {"system": "HPO", "code": "HP:0011463", "display": "Childhood onset"}
    ok = {"onsets": [{"concept": "childhood", "verified": True, "codes": [good]}]}
    assert tool.check(_MiniOntology, ok) == []
    bad = {
        "onsets": [
            {
                "concept": "x",
                "verified": True,
                "codes": [
                    {"system": "HPO", "code": "HP:0001251", "display": "Ataxia"},  # not an onset
                    {"system": "HPO", "code": "HP:0011463", "display": "Childhood"},  # label
                    {"system": "HPO", "code": "HP:9999999"},  # not in the release
                    {"system": "SNOMEDCT", "code": "1"},  # not checkable, yet verified
                ],
            }
        ]
    }
    problems = tool.check(_MiniOntology, bad)
    assert len(problems) == 4, problems


def test_concepts_mapping_answers_as_concept_does(kb) -> None:
    terms = kb.terminology
    for kind, _item, cd in terms.all_codes():
        assert terms.concepts(kind)[cd.system, cd.code] == terms.concept(kind, cd.system, cd.code)
        assert (None, cd.code) not in terms.concepts(kind)  # no system id: no concept
    for kind in KINDS:
        assert len(terms.concepts(kind)) == sum(1 for k, _, _ in terms.all_codes() if k == kind)
    assert terms.concepts("findings") is terms.concepts("findings")  # built once
