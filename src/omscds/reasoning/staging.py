"""Neuroblastoma staging and risk once a tumour is found (``staging.yaml``).

Three cited rule tables: the INRG staging system (Monclair 2009: L1, L2, M, MS with the
18-month rule), the INRG pretreatment classification (Cohn 2009: groups A-R and their risk
level) and the COG 2021 risk classification (Irwin 2021: high and low as published, intermediate
as all others). Each answer names the row that decided it, or, while a deciding input is
unknown, every result still possible and the inputs that decide ("MYCN status not known: B or
K"). The staging work-up still missing becomes facts the pathway's *found* phase orders.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from omscds.errors import InputError
from omscds.knowledge import KnowledgeBase
from omscds.knowledge.schema import ClassRule, Staging
from omscds.model import Case, Classification, StagingNote, StagingResult, WorkupItem
from omscds.reasoning.classify import Outcome, classify
from omscds.reasoning.facts import Facts

__all__ = ["StagingContext", "stage_tumour", "staging_applies", "staging_inputs"]

_HISTOLOGY_FROM_TEST = {
    "neuroblastoma": ("neuroblastoma",),
    "ganglioneuroblastoma": ("gnb_intermixed", "gnb_nodular"),
    "ganglioneuroma": ("gn_maturing",),
}
_BIOLOGY_VARS = ("histology", "differentiation", "mycn", "aberration_11q", "ploidy", "inpc", "sca")


@dataclass(frozen=True)
class StagingContext:
    result: StagingResult
    #: facts for the pathway's found phase (facts.yaml: staging_*, idrfs_two_or_more, ...)
    facts: frozenset[str]


def staging_applies(case: Case, facts: Facts) -> bool:
    """A tumour is seen or proven in a child, or the case describes the tumour (any age)."""
    if case.tumour is not None:
        return True
    if "histology_confirmed" in facts and "histology_neuroblastic" not in facts:
        return False
    return "child" in facts and ("tumour_seen" in facts or "histology_neuroblastic" in facts)


def _known(value: str | None, domain: Iterable[str]) -> frozenset[str]:
    return frozenset({value}) if value is not None else frozenset(domain)


def _yes_no(value: bool | None) -> frozenset[str]:
    return frozenset({"yes" if value else "no"}) if value is not None else frozenset({"yes", "no"})


def _validate(case: Case, st: Staging) -> None:
    t = case.tumour
    if t is None:
        return
    known = {i.id for i in st.idrfs}
    errors = [
        (f"tumour.idrfs.{key}", f"{key!r} is not an image-defined risk factor of staging.yaml")
        for key in t.idrfs
        if key not in known
    ]
    if errors:
        raise InputError(errors[0][1], path=errors[0][0], errors=errors)


def _marrow_from_tests(case: Case) -> str | None:
    state = None
    for test in case.tests:
        if test.modality == "bone_marrow" and test.result in ("positive", "negative"):
            state = "present" if test.result == "positive" else "absent"
    return state


def _metastatic_options(sites: Mapping[str, str], st: Staging) -> frozenset[str]:
    ms = {s.id for s in st.metastatic_sites if s.ms_site}
    state = {s.id: sites.get(s.id, "unknown") for s in st.metastatic_sites}
    if any(v == "present" for k, v in state.items() if k not in ms):
        return frozenset({"other_sites"})
    out: set[str] = set()
    ms_present = any(state[k] == "present" for k in ms)
    ms_open = any(state[k] == "unknown" for k in ms)
    other_open = any(v == "unknown" for k, v in state.items() if k not in ms)
    if ms_present:
        out.add("ms_sites_only")
    else:
        out.add("none")
        if ms_open:
            out.add("ms_sites_only")
    if other_open:
        out.add("other_sites")
    return frozenset(out)


def staging_inputs(
    case: Case, st: Staging, *, marrow_absent: bool = False
) -> tuple[dict[str, frozenset[str]], list[str]]:
    """Each classifier variable as the set of values still possible, and notes on how the case
    was read. ``marrow_absent``: read the marrow as clear (for "otherwise stage 1")."""
    v = st.variables
    t = case.tumour
    notes: list[str] = []
    infant, ms_age = st.cutoff("infant_age_months"), st.cutoff("ms_max_age_months")
    band = "lt12" if case.age_months < infant else "12to18" if case.age_months < ms_age else "ge18"
    sites: dict[str, str] = {str(k): str(x) for k, x in t.metastases.items()} if t else {}
    marrow = _marrow_from_tests(case)
    if sites.get("bone_marrow", "unknown") == "unknown" and marrow is not None:
        sites["bone_marrow"] = marrow
        notes.append(f"bone marrow read from the marrow test: {marrow}")
    if marrow_absent and sites.get("bone_marrow", "unknown") == "unknown":
        sites["bone_marrow"] = "absent"
    present_idrfs = [k for k, s in (t.idrfs.items() if t else ()) if s == "present"]
    if present_idrfs:
        idrf = frozenset({"yes"})
    elif t is not None and t.idrf_review_complete:
        idrf = frozenset({"no"})
    else:
        idrf = frozenset(v["idrf"])
    histology: frozenset[str] = frozenset(v["histology"])
    if t is not None and t.pathology.category is not None:
        histology = frozenset({t.pathology.category})
    else:
        proven = [x.histology for x in case.tests if x.histology in _HISTOLOGY_FROM_TEST]
        if proven:
            histology = frozenset(_HISTOLOGY_FROM_TEST[str(proven[-1])])
            notes.append(f"histology read from tests: {proven[-1]} (INPC category not given)")
    p = t.pathology if t is not None else None
    b = t.biology if t is not None else None
    ploidy = b.ploidy if b is not None else None
    if b is not None and ploidy is None and b.dna_index is not None:
        if b.dna_index > 1:
            ploidy = "hyperdiploid"
        elif b.dna_index == 1:
            ploidy = "diploid"
        else:
            notes.append(
                f"DNA index {b.dna_index:g} (< 1): the INRG table names only hyperdiploid and "
                "diploid; give tumour.biology.ploidy"
            )
    sca = b.sca if b is not None else None
    if b is not None and sca is None and (b.aberration_11q or b.aberration_1p):
        sca = True
    resection = case.history.resection.completeness if case.history.resection else "unknown"
    options = {
        "age_band": frozenset({band}),
        "metastatic": _metastatic_options(sites, st),
        "idrf": idrf,
        "histology": histology,
        "differentiation": _known(p.differentiation if p else None, v["differentiation"]),
        "mycn": _known(b.mycn if b else None, v["mycn"]),
        "aberration_11q": _yes_no(b.aberration_11q if b else None),
        "ploidy": _known(ploidy, v["ploidy"]),
        "inpc": _known(p.inpc if p else None, v["inpc"]),
        "sca": _yes_no(sca),
        "resection": _known(None if resection == "unknown" else resection, v["resection"]),
        "symptomatic": _yes_no(t.symptomatic if t else None),
    }
    return options, notes


def _classification(
    system: str,
    label: str,
    out: Outcome,
    st: Staging,
    *,
    describe: Mapping[str, str] | None = None,
    risk_rows: bool = False,
    order: tuple[str, ...] = (),
) -> Classification:
    if order:
        rank = {k: i for i, k in enumerate(order)}
        out = Outcome(
            possible=tuple(sorted(out.possible, key=lambda p: rank.get(p, len(rank)))),
            rules=out.rules,
            deciding=out.deciding,
            sure=out.sure,
        )
    labels = tuple(st.variable_labels.get(m, m) for m in out.deciding)
    assumed = [r for r in out.rules if r.is_assumption]
    sources = tuple(dict.fromkeys(s for r in out.rules for s in r.source))
    shown = [describe.get(p, p) if describe else p for p in out.possible]
    if out.result is not None:
        deciders = [r for r in out.rules if (r.risk if risk_rows else r.result) == out.result]
        rule: ClassRule | None = deciders[0] if len(deciders) == 1 else out.sure
        text = f"{label}: {shown[0]}"
        text += f" ({rule.label})." if rule is not None else "."
    else:
        rule = None
        text = f"{label}: {' or '.join(shown)}"
        text += f"; not known: {', '.join(labels)}." if labels else "."
    note = ""
    if out.result is not None and rule is not None and rule.is_assumption:
        note = f"Rests on an assumption (UNCONFIRMED): {(rule.reasoning or '').strip()}"
    elif out.result is not None and all(r.is_assumption for r in out.rules):
        note = "Rests on an assumption (UNCONFIRMED): " + " ".join(
            (r.reasoning or "").strip() for r in assumed
        )
    elif out.result is None and assumed and not risk_rows:
        note = (
            "Placed by assumption (UNCONFIRMED; see 'assumptions'): "
            + ", ".join(dict.fromkeys(r.result for r in assumed))
            + "."
        )
    assumed = assumed if note else []
    return Classification.build(
        system=system,
        label=label,
        result=out.result,
        possible=out.possible,
        rule=rule.id if rule is not None else None,
        rule_label=rule.label if rule is not None else "",
        missing=out.deciding,
        missing_labels=labels,
        explanation=text,
        assumption=bool(assumed),
        assumption_note=note,
        sources=sources,
    )


def _classify_all(
    options: dict[str, frozenset[str]], st: Staging, kb: KnowledgeBase
) -> tuple[Outcome, Outcome, Outcome, Outcome]:
    stage = _classified(kb, "inrgss", st.inrgss_rules, options)
    with_stage = {**options, "stage": frozenset(stage.possible)}
    group = _classified(kb, "inrg", st.inrg_rules, with_stage)
    risk = _classified(kb, "inrg_risk", st.inrg_rules, with_stage, key=lambda r: r.risk or "")
    cog = _classified(kb, "cog", st.cog_rules, with_stage)
    return stage, group, _with_stage(risk, stage), _with_stage(cog, stage)


def _classified(
    kb: KnowledgeBase,
    table: str,
    rules: tuple[ClassRule, ...],
    options: Mapping[str, frozenset[str]],
    key: Callable[[ClassRule], str] | None = None,
) -> Outcome:
    """``classify``, kept (bounded) per table and set of inputs: it is a pure function of the
    tables and the inputs' possible values, and trying every combination of the unknown
    inputs costs tens of milliseconds when most are unknown, the common case (measured)."""
    names = kb.memo(
        f"staging.variables.{table}", lambda: sorted({var for rule in rules for var in rule.when})
    )
    memo_key = (table, tuple((n, tuple(sorted(options[n]))) for n in names))
    cache = kb.memo("staging.classified", lambda: _Lru(_CACHE_SIZE))
    hit = cache.get(memo_key)
    if hit is None:
        hit = cache.put(
            memo_key, classify(rules, options, key) if key else classify(rules, options)
        )
    out: Outcome = hit
    return out


_CACHE_SIZE = 2048


class _Lru:
    """A small least-recently-used map (the knowledge base's memo must stay bounded)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any) -> Any:
        if key in self.data:
            self.data.move_to_end(key)
            return self.data[key]
        return None

    def put(self, key: Any, value: Any) -> Any:
        self.data[key] = value
        if len(self.data) > self.size:
            self.data.popitem(last=False)
        return value


def _with_stage(out: Outcome, stage: Outcome) -> Outcome:
    """The stage is itself uncertain: name what decides the stage when the stage decides."""
    if "stage" not in out.deciding:
        return out
    deciding = tuple(dict.fromkeys((*stage.deciding, *(d for d in out.deciding if d != "stage"))))
    return Outcome(possible=out.possible, rules=out.rules, deciding=deciding, sure=out.sure)


def stage_tumour(case: Case, facts: Facts, kb: KnowledgeBase) -> StagingContext | None:
    """Stage the tumour of ``case`` (None when no tumour is seen or proven, or no staging.yaml).

    Raises ``InputError`` naming ``tumour.idrfs.<id>`` for an IDRF the knowledge base lacks.
    """
    st = kb.staging
    if st is None or not staging_applies(case, facts):
        return None
    _validate(case, st)
    options, notes = staging_inputs(case, st)
    stage, group, risk, cog = _classify_all(options, st, kb)
    stage_c = _with_stage(group, stage)
    risks = {r.id: r for r in st.inrg_risks}
    stages: dict[str, str] = {str(s.id): str(s.id) for s in st.stages}
    c_stage = _classification(
        "inrgss", "INRGSS stage", stage, st, describe=stages, order=st.variables["stage"]
    )
    groups = tuple(sorted({r.result for r in st.inrg_rules}))
    c_group = _classification("inrg_group", "INRG pretreatment group", stage_c, st, order=groups)
    c_risk = _classification(
        "inrg_risk",
        "INRG pretreatment risk",
        risk,
        st,
        describe={k: r.label for k, r in risks.items()},
        risk_rows=True,
        order=tuple(risks),
    )
    if c_risk.result is not None and c_risk.result in risks:
        level = risks[c_risk.result]
        c_risk = c_risk.model_copy(
            update={
                "assumption_note": (
                    f"{c_risk.assumption_note} Meaning of the level ({level.efs}): "
                    f"{(level.reasoning or '').strip()}"
                ).strip()
            }
        )
    c_cog = _classification(
        "cog_2021", "COG 2021 risk group", cog, st, order=("low", "intermediate", "high")
    )
    t = case.tumour
    idrfs = tuple(k for k, s in (t.idrfs.items() if t else ()) if s == "present")
    mets = tuple(k for k, s in (t.metastases.items() if t else ()) if s == "present")
    workup, work_facts = _workup(case, facts, st, options, stage, kb)
    result_facts = set(work_facts)
    practice: list[StagingNote] = []
    for item in st.practice:
        if item.min_idrfs is not None:
            if len(idrfs) >= item.min_idrfs:
                result_facts.add("idrfs_two_or_more")
                practice.append(_note(item.id, item.text, item))
        elif item.id != "idrf_agreement" or idrfs:
            practice.append(_note(item.id, item.text, item))
    if t is not None and t.spinal_cord_compression:
        result_facts.add("spinal_cord_compression")
    decided = {"inrgss": stage.possible, "inrg": group.possible, "cog": cog.possible}
    outcomes = tuple(
        _note(o.id, o.text, o)
        for o in st.outcomes
        if any(set(decided[k]) and set(decided[k]) <= set(v) for k, v in o.applies.items())
    )
    missing = tuple(
        dict.fromkeys(
            (
                *c_stage.missing_labels,
                *c_group.missing_labels,
                *c_risk.missing_labels,
                *c_cog.missing_labels,
            )
        )
    )
    oms = tuple(_note(n.id, n.text, n) for n in st.oms_notes)
    result = StagingResult.build(
        stage=c_stage,
        inrg_group=c_group,
        inrg_risk=c_risk,
        cog_risk=c_cog,
        idrfs_present=idrfs,
        idrf_count=len(idrfs),
        metastases_present=mets,
        workup=workup,
        missing=missing,
        outcomes=outcomes,
        practice=tuple(practice),
        oms_notes=oms if facts.true & {"oms_met_or_possible"} else (),
        notes=tuple(notes),
        summary=_summary(c_stage, c_group, c_risk, c_cog, workup),
        title=st.title,
        sources=tuple(
            dict.fromkeys((*c_stage.sources, *c_group.sources, *c_cog.sources, "nci_pdq_nb"))
        ),
    )
    return StagingContext(result=result, facts=frozenset(result_facts))


def _note(nid: str, text: str, fact: object) -> StagingNote:
    source = tuple(getattr(fact, "source", ()))
    return StagingNote.build(id=nid, text=text, assumption="assumption" in source, sources=source)


def _summary(
    stage: Classification,
    group: Classification,
    risk: Classification,
    cog: Classification,
    workup: tuple[WorkupItem, ...],
) -> str:
    def one(c: Classification) -> str:
        if c.result is not None:
            return c.result + (" (assumption)" if c.assumption else "")
        return " or ".join(c.possible)

    parts = [
        f"INRGSS {one(stage)}",
        f"INRG group {one(group)} (risk {one(risk).replace('_', ' ')})",
        f"COG 2021 {one(cog)}",
    ]
    text = "Tumour staging: " + "; ".join(parts) + "."
    missing = [w.short or w.label for w in workup if w.status == "missing"]
    if missing:
        text += " Still missing: " + "; ".join(missing) + "."
    return text


def _done(case: Case, modality: str) -> list[str]:
    return [t.result for t in case.tests if t.modality == modality and t.result != "pending"]


_RULES = {
    "primary_imaging": ("staging_idrf_review_missing", "staging_idrf_review"),
    "mibg": ("staging_mibg_missing", "staging_mibg"),
    "fdg_pet": ("staging_fdg_pet_missing", "staging_fdg_pet"),
    "bone_marrow": ("staging_marrow_missing", "staging_bone_marrow"),
    "urine": ("staging_urine_missing", "staging_urine"),
    "biology": ("staging_biology_missing", "staging_tumour_biology"),
}


def _workup(
    case: Case,
    facts: Facts,
    st: Staging,
    options: dict[str, frozenset[str]],
    stage: Outcome,
    kb: KnowledgeBase,
) -> tuple[tuple[WorkupItem, ...], set[str]]:
    """Which items of the staging work-up (NCI PDQ) are still missing, and the facts that
    order them in the pathway's found phase."""
    t = case.tumour
    status: dict[str, tuple[str, str]] = {}
    idrf_open = len(options["idrf"]) > 1
    status["primary_imaging"] = (
        ("missing", "no IDRF review reported (tumour.idrfs, tumour.idrf_review_complete)")
        if idrf_open
        else ("done", "")
    )
    mibg = _done(case, "mibg")
    status["mibg"] = ("done", f"MIBG {mibg[-1]}") if mibg else ("missing", "")
    avid = t.mibg_avid if t is not None else None
    if avid is None and mibg:
        avid = True if mibg[-1] == "positive" else None if mibg[-1] == "equivocal" else False
    if _done(case, "fdg_pet"):
        status["fdg_pet"] = ("done", "")
    elif avid is True:
        status["fdg_pet"] = ("not_needed", "the tumour takes up MIBG")
    elif avid is False:
        status["fdg_pet"] = ("missing", "MIBG negative with a tumour present: not MIBG-avid")
    elif mibg:
        status["fdg_pet"] = ("missing", "MIBG equivocal: avidity uncertain")
    else:
        status["fdg_pet"] = ("conditional", "if the tumour proves not MIBG-avid")
    marrow_known = (t is not None and t.metastases.get("bone_marrow", "unknown") != "unknown") or (
        _marrow_from_tests(case) is not None
    )
    if marrow_known:
        status["bone_marrow"] = ("done", "")
    else:
        clear, _ = staging_inputs(case, st, marrow_absent=True)
        otherwise_l1 = _classified(kb, "inrgss", st.inrgss_rules, clear).result == "L1"
        status["bone_marrow"] = (
            ("conditional", "may be unnecessary for this otherwise stage-1 tumour")
            if otherwise_l1
            else ("missing", "")
        )
    status["urine"] = ("done", "") if _done(case, "urine_catecholamines") else ("missing", "")
    with_stage = {**options, "stage": frozenset(stage.possible)}
    open_bio = set(_classified(kb, "inrg", st.inrg_rules, with_stage).deciding)
    open_bio |= set(_classified(kb, "cog", st.cog_rules, with_stage).deciding)
    open_bio &= set(_BIOLOGY_VARS)
    status["biology"] = (
        (
            "missing",
            "not known: " + ", ".join(st.variable_labels.get(v, v) for v in sorted(open_bio)),
        )
        if open_bio
        else ("done", "")
    )
    items = []
    out_facts: set[str] = set()
    for item in st.workup:
        state, note = status.get(item.id, ("conditional", ""))
        fact, rule = _RULES.get(item.id, ("", None))
        if state == "missing" and fact:
            out_facts.add(fact)
        items.append(
            WorkupItem.build(
                id=item.id,
                label=item.label,
                short=item.short,
                status=state,
                note=note,
                rule=rule,
                sources=item.source,
            )
        )
    return tuple(items), out_facts
