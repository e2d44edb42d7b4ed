"""Load the knowledge base once, validate every file against its schema, and freeze it."""

from __future__ import annotations

import copyreg
import hashlib
import os
import pickle
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import pydantic
import yaml
from pydantic import BaseModel, ValidationError

from omscds.errors import KnowledgeError
from omscds.knowledge.memo import Memoised
from omscds.knowledge.schema import (
    ASSUMPTION,
    AlertRule,
    Cited,
    Criterion,
    DifferentialCondition,
    FactDef,
    FindingDef,
    Manifest,
    ModalityDef,
    Parameter,
    Pathway,
    PnsCare,
    Prior,
    Recommendation,
    RegionDistribution,
    SeverityScale,
    Source,
    Staging,
    TestFindingDef,
)
from omscds.knowledge.terminology import Terminology, parse_terminology

__all__ = ["DATA_DIR", "KnowledgeBase", "load_knowledge"]

DATA_DIR = Path(__file__).parent / "data"

M = TypeVar("M", bound=BaseModel)

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _by_id(items: Iterable[Any], attr: str = "id") -> Mapping[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key = getattr(item, attr)
        if key in out:
            raise KnowledgeError(f"duplicate id {key!r}")
        out[key] = item
    return MappingProxyType(out)


@dataclass(frozen=True)
class KnowledgeBase(Memoised):
    """The frozen, validated knowledge base. Pass it to every reasoning function.

    ``memo(key, factory)`` keeps values derived from it (``Memoised``)."""

    manifest: Manifest
    sha256: str
    sources: Mapping[str, Source]
    findings: Mapping[str, FindingDef]
    test_findings: Mapping[str, TestFindingDef]
    criteria: tuple[Criterion, ...]
    severity_scales: Mapping[str, SeverityScale]
    priors: tuple[Prior, ...]
    modalities: Mapping[str, ModalityDef]
    regions: tuple[RegionDistribution, ...]
    differential: tuple[DifferentialCondition, ...]
    recommendations: tuple[Recommendation, ...]
    alerts: tuple[AlertRule, ...]
    parameters: Mapping[str, Parameter]
    facts: Mapping[str, FactDef] = field(default_factory=lambda: MappingProxyType({}))
    pathway: Pathway | None = None
    hpo_index: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: standard codes of the concepts above (terminology.yaml)
    terminology: Terminology = field(default_factory=Terminology)
    #: neuroblastoma staging and risk (staging.yaml) and the PNS-Care score (pns_care.yaml)
    staging: Staging | None = None
    pns_care: PnsCare | None = None
    #: values derived purely from the facts above (e.g. pooled sensitivities), computed once
    _memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def version(self) -> str:
        return self.manifest.version

    def param(self, key: str) -> float:
        """A numeric parameter's point value (raises KnowledgeError when missing)."""
        try:
            return self.parameters[key].value
        except KeyError:
            raise KnowledgeError(f"parameter {key!r} is not in the knowledge base") from None

    def finding_key(self, key_or_hpo: str) -> str | None:
        """Map a finding key or an HPO id (the term or a descendant) to a finding key."""
        if key_or_hpo in self.findings:
            return key_or_hpo
        return self.hpo_index.get(key_or_hpo)

    def cited_facts(self) -> Iterable[tuple[str, Cited]]:
        """Every cited fact with a label saying where it is (for checks and `kb check`)."""
        for k, f in self.findings.items():
            yield f"findings.{k}", f
        for k, tf in self.test_findings.items():
            yield f"test_findings.{k}", tf
        for c in self.criteria:
            yield f"criteria.{c.id}", c
        for k, s in self.severity_scales.items():
            yield f"severity.{k}", s
        for p in self.priors:
            yield f"priors.{p.id}", p
        for k, m in self.modalities.items():
            for i, ev in enumerate(m.sensitivity):
                yield f"modalities.{k}.sensitivity[{i}]", ev
            for i, ev in enumerate(m.specificity):
                yield f"modalities.{k}.specificity[{i}]", ev
            if m.sensitivity_from_reason is not None:
                yield f"modalities.{k}.sensitivity_from_reason", m.sensitivity_from_reason
        for r in self.regions:
            yield f"regions.{r.id}", r
        for d in self.differential:
            yield f"differential.{d.id}", d
            for i, rule in enumerate(d.rules):
                yield f"differential.{d.id}.rules[{i}]", rule
        for rec in self.recommendations:
            yield f"recommendations.{rec.id}", rec
        for a in self.alerts:
            yield f"alerts.{a.id}", a
        for k, prm in self.parameters.items():
            yield f"parameters.{k}", prm
        if self.pathway is not None:
            if self.pathway.reopen is not None:
                yield "pathway.reopen", self.pathway.reopen
            if self.pathway.order_review is not None:
                yield "pathway.order_review", self.pathway.order_review
            for b in self.pathway.branches:
                yield f"pathway.branches.{b.id}", b
            for ph in self.pathway.phases:
                yield f"pathway.phases.{ph.id}{'.' + ph.variant if ph.variant else ''}", ph
        yield from _staging_facts(self.staging, self.pns_care)

    def assumptions(self) -> list[tuple[str, Cited]]:
        return list(
            self.memo(
                "assumptions",
                lambda: tuple((where, f) for where, f in self.cited_facts() if f.is_assumption),
            )
        )


def _staging_facts(staging: Staging | None, pns: PnsCare | None) -> Iterable[tuple[str, Cited]]:
    if staging is not None:
        for c in staging.age_cutoffs:
            yield f"staging.age_cutoffs.{c.id}", c
        for st in staging.stages:
            yield f"staging.stages.{st.id}", st
        yield "staging.ms_sites_source", staging.ms_sites_source
        for name in ("inrgss_rules", "inrg_rules", "cog_rules"):
            for rule in getattr(staging, name):
                yield f"staging.{name}.{rule.id}", rule
        for idrf in staging.idrfs:
            yield f"staging.idrfs.{idrf.id}", idrf
        for rl in staging.inrg_risks:
            yield f"staging.inrg_risks.{rl.id}", rl
        for o in staging.outcomes:
            yield f"staging.outcomes.{o.id}", o
        for name in ("workup", "practice", "oms_notes"):
            for item in getattr(staging, name):
                yield f"staging.{name}.{item.id}", item
    if pns is not None:
        for name in ("phenotype_points", "antibody_points", "cancer_points", "levels"):
            for p in getattr(pns, name):
                yield f"pns_care.{name}.{p.id}", p
        yield "pns_care.follow_up_window_months", pns.follow_up_window_months
        for name in ("phenotypes", "antibodies", "consistent_cancers", "notes"):
            for item in getattr(pns, name):
                yield f"pns_care.{name}.{item.id}", item


def _optional_model(model: type[M], raw: Any, fname: str) -> M | None:
    if not raw:
        return None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise KnowledgeError(f"{fname}: {loc}: {err['msg']}") from None


def _parse(root: Path, name: str, data: bytes | None) -> Any:
    if data is None:
        if name in OPTIONAL_FILES:
            return {}
        raise KnowledgeError(f"knowledge file missing: {root / name}")
    try:
        return yaml.load(data, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"{name}: not valid YAML: {exc}") from None


def _proxy(items: dict[str, Any]) -> MappingProxyType[str, Any]:
    return MappingProxyType(items)


# the knowledge base's read-only maps, pickled as the dicts they wrap (for the load cache)
copyreg.pickle(MappingProxyType, lambda m: (_proxy, (dict(m),)))


def _cache_key(digest: str) -> str:
    from omscds import __version__

    versions = f"{digest}|{__version__}|{pydantic.VERSION}|{yaml.__version__}"
    return hashlib.sha256(versions.encode()).hexdigest()


def _cached(cache_dir: Path, key: str) -> KnowledgeBase | None:
    """The knowledge base this omscds built from exactly these files before, if kept."""
    try:
        with (cache_dir / f"kb-{key[:32]}.pickle").open("rb") as fh:
            cached = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError):
        return None
    if isinstance(cached, dict) and cached.get("key") == key:
        kb = cached.get("kb")
        if isinstance(kb, KnowledgeBase):
            return kb
    return None


def _store(cache_dir: Path, key: str, kb: KnowledgeBase) -> None:
    """Keep ``kb`` for the next load (atomically; a cache that cannot be written is not used)."""
    path = cache_dir / f"kb-{key[:32]}.pickle"
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            pickle.dump({"key": key, "kb": kb}, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        older = sorted(cache_dir.glob("kb-*.pickle"), key=lambda p: p.stat().st_mtime)
        for stale in older[:-_CACHE_KEEP]:
            stale.unlink(missing_ok=True)
    except OSError:
        pass


#: validated knowledge bases kept in a cache directory (a clinic may switch between a few)
_CACHE_KEEP = 4


def _models(model: type[M], raw: Any, fname: str, key: str) -> list[M]:
    items = raw.get(key, []) if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise KnowledgeError(f"{fname}: expected a mapping with a list under {key!r}")
    out: list[M] = []
    for i, item in enumerate(items):
        try:
            out.append(model.model_validate(item))
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            ident = item.get("id") or item.get("key") if isinstance(item, dict) else None
            raise KnowledgeError(f"{fname}: {key}[{i}] ({ident}): {loc}: {err['msg']}") from None
    return out


FILES = (
    "manifest.yaml",
    "sources.yaml",
    "findings.yaml",
    "test_findings.yaml",
    "criteria.yaml",
    "severity.yaml",
    "priors.yaml",
    "modalities.yaml",
    "regions.yaml",
    "differential.yaml",
    "recommendations.yaml",
    "alerts.yaml",
    "parameters.yaml",
    "facts.yaml",
    "pathway.yaml",
)
OPTIONAL_FILES = (
    "hpo_descendants.yaml",
    "imaging_norms.yaml",
    "terminology.yaml",
    "staging.yaml",
    "pns_care.yaml",
)


def load_knowledge(
    directory: Path | str | None = None, *, cache_dir: Path | str | None = None
) -> KnowledgeBase:
    """Read, validate and freeze the knowledge base in ``directory`` (default: the shipped one).

    ``cache_dir``: keep the validated knowledge base there, keyed on the files' contents and on
    the omscds, pydantic and PyYAML versions (parsing and validating are most of a CLI's cold
    start). The cache is a pickle: it must be a directory only the user can write.
    """
    root = Path(directory) if directory is not None else DATA_DIR
    if not root.is_dir():
        raise KnowledgeError(f"knowledge directory not found: {root}")
    digest = hashlib.sha256()
    texts: dict[str, bytes | None] = {}
    for name in FILES + OPTIONAL_FILES:
        path = root / name
        if name in OPTIONAL_FILES and not path.exists():
            texts[name] = None
            continue
        data = path.read_bytes() if path.exists() else b""
        digest.update(name.encode() + b"\0" + data + b"\0")
        texts[name] = data if path.exists() else None
    cache_dir = None if cache_dir is None else Path(cache_dir)
    cache_key = _cache_key(digest.hexdigest()) if cache_dir is not None else ""
    if cache_dir is not None and (kb := _cached(cache_dir, cache_key)) is not None:
        return kb
    raw = {name: _parse(root, name, data) for name, data in texts.items()}
    try:
        manifest = Manifest.model_validate(raw["manifest.yaml"])
    except ValidationError as exc:
        raise KnowledgeError(f"manifest.yaml: {exc.errors()[0]['msg']}") from None

    sources = _by_id(_models(Source, raw["sources.yaml"], "sources.yaml", "sources"))
    findings = _by_id(_models(FindingDef, raw["findings.yaml"], "findings.yaml", "findings"), "key")
    test_findings = _by_id(
        _models(TestFindingDef, raw["test_findings.yaml"], "test_findings.yaml", "test_findings"),
        "key",
    )
    criteria = tuple(_models(Criterion, raw["criteria.yaml"], "criteria.yaml", "criteria"))
    scales = _by_id(_models(SeverityScale, raw["severity.yaml"], "severity.yaml", "scales"))
    priors = tuple(_models(Prior, raw["priors.yaml"], "priors.yaml", "priors"))
    modalities = _by_id(
        _models(ModalityDef, raw["modalities.yaml"], "modalities.yaml", "modalities")
    )
    regions = tuple(
        _models(RegionDistribution, raw["regions.yaml"], "regions.yaml", "distributions")
    )
    differential = tuple(
        _models(DifferentialCondition, raw["differential.yaml"], "differential.yaml", "conditions")
    )
    recs = tuple(
        _models(Recommendation, raw["recommendations.yaml"], "recommendations.yaml", "rules")
    )
    alerts = tuple(_models(AlertRule, raw["alerts.yaml"], "alerts.yaml", "alerts"))
    params = _by_id(_models(Parameter, raw["parameters.yaml"], "parameters.yaml", "parameters"))
    facts = _by_id(_models(FactDef, raw["facts.yaml"], "facts.yaml", "facts"))
    try:
        pathway = Pathway.model_validate(raw["pathway.yaml"])
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise KnowledgeError(f"pathway.yaml: {loc}: {err['msg']}") from None

    hpo_index: dict[str, str] = {}
    desc_raw = raw.get("hpo_descendants.yaml") or {}
    desc_map: dict[str, list[str]] = dict(desc_raw.get("descendants", {}) or {})
    # The finding's own term wins; a descendant maps to the most specific finding above it
    # (e.g. Irritability is under Atypical behavior, yet maps to `irritability`).
    for key, f in findings.items():
        if f.hpo:
            hpo_index[f.hpo] = key
    subtree = {key: (*f.descendants, *desc_map.get(key, [])) for key, f in findings.items()}
    for key in sorted(subtree, key=lambda k: len(subtree[k])):
        for term in subtree[key]:
            hpo_index.setdefault(term, key)
    if manifest.hpo_release is None and desc_raw.get("hpo_release"):
        manifest = manifest.model_copy(update={"hpo_release": str(desc_raw["hpo_release"])})

    kb = KnowledgeBase(
        manifest=manifest,
        sha256=digest.hexdigest(),
        sources=sources,
        findings=findings,
        test_findings=test_findings,
        criteria=criteria,
        severity_scales=scales,
        priors=priors,
        modalities=modalities,
        regions=regions,
        differential=differential,
        recommendations=recs,
        alerts=alerts,
        parameters=params,
        facts=facts,
        pathway=pathway,
        hpo_index=MappingProxyType(hpo_index),
        terminology=parse_terminology(raw["terminology.yaml"], sources, "terminology.yaml"),
        staging=_optional_model(Staging, raw["staging.yaml"], "staging.yaml"),
        pns_care=_optional_model(PnsCare, raw["pns_care.yaml"], "pns_care.yaml"),
    )
    _check_references(kb)
    _check_rule_names(kb)
    if cache_dir is not None:
        _store(cache_dir, cache_key, kb)
    return kb


def _check_references(kb: KnowledgeBase) -> None:
    for where, fact in kb.cited_facts():
        for sid in fact.source:
            if sid != ASSUMPTION and sid not in kb.sources:
                raise KnowledgeError(f"{where}: unknown source id {sid!r}")
    for c in kb.criteria:
        for fk in c.any_of:
            if fk not in kb.findings:
                raise KnowledgeError(f"criteria.{c.id}: unknown finding {fk!r}")
    for key, m in kb.modalities.items():
        if m.sensitivity_from and m.sensitivity_from not in kb.modalities:
            raise KnowledgeError(f"modalities.{key}: unknown sensitivity_from {m.sensitivity_from}")
        for sid in m.burden_source:
            if sid != ASSUMPTION and sid not in kb.sources:
                raise KnowledgeError(f"modalities.{key}.burden_source: unknown source id {sid!r}")
    for key, m in kb.modalities.items():
        if m.candidate is not None:
            for other in m.candidate.after:
                if other not in kb.modalities:
                    raise KnowledgeError(f"modalities.{key}.candidate.after: unknown {other!r}")
    for rec in kb.recommendations:
        if rec.modality and rec.modality not in kb.modalities:
            raise KnowledgeError(f"recommendations.{rec.id}: unknown modality {rec.modality!r}")


def _is_fact(name: str, kb: KnowledgeBase) -> bool:
    if name.startswith(("finding:", "absent:", "unknown:")):
        return name.split(":", 1)[1] in kb.findings
    return name in kb.facts


def _check_rule_names(kb: KnowledgeBase) -> None:
    """Every fact a rule names exists, every rule a pathway step names exists."""

    def check(where: str, names: Iterable[str]) -> None:
        for name in names:
            if not _is_fact(name, kb):
                raise KnowledgeError(f"{where}: unknown fact {name!r} (facts.yaml)")

    for rec in kb.recommendations:
        check(f"recommendations.{rec.id}", (*rec.when_all, *rec.when_any, *rec.when_none))
    for a in kb.alerts:
        check(f"alerts.{a.id}", (*a.when_all, *a.when_any, *a.when_none))
    for d in kb.differential:
        check(f"differential.{d.id}", (r.when for r in d.rules))
        if d.explained_by and d.explained_by not in {r.id for r in kb.recommendations}:
            raise KnowledgeError(f"differential.{d.id}: unknown rule {d.explained_by!r}")
    for f in kb.facts.values():
        check(f"facts.{f.id}", (*f.when_all, *f.when_any, *f.when_none))
    for key, m in kb.modalities.items():
        named = (m.done_fact, m.negative_fact, m.equivocal_fact)
        check(f"modalities.{key}", (n for n in named if n is not None))
    if kb.pathway is None:
        return
    rules = {r.id for r in kb.recommendations}
    owned: set[str] = set()
    for branch in kb.pathway.branches:
        check(f"pathway.branches.{branch.id}", branch.when_all)
    if kb.pathway.reopen is not None:
        r = kb.pathway.reopen
        check("pathway.reopen", (*r.when_all, *r.when_any, *r.when_none))
    for population, ids in kb.pathway.always.items():
        for rid in ids:
            if rid not in rules:
                raise KnowledgeError(f"pathway.always.{population}: unknown rule {rid!r}")
        owned.update(ids)
    for ph in kb.pathway.phases:
        where = f"pathway.phases.{ph.id}{'.' + ph.variant if ph.variant else ''}"
        check(where, (*ph.when_all, *ph.when_any, *ph.when_none))
        for population, steps in ph.steps.items():
            for step in steps:
                if step.rule not in rules:
                    raise KnowledgeError(f"{where}.{population}: unknown rule {step.rule!r}")
                check(
                    f"{where}.{population}.{step.rule}",
                    (*step.when_all, *step.when_any, *step.when_none),
                )
                owned.add(step.rule)
    if (
        kb.pathway.phases[-1].when_all
        or kb.pathway.phases[-1].when_any
        or kb.pathway.phases[-1].when_none
    ):
        raise KnowledgeError("pathway.phases: the last phase must be the unconditional default")
    review = kb.pathway.order_review
    if review is not None:
        unknown = [m for m in review.modalities if m not in kb.modalities]
        completing = [
            m for m in review.modalities if m in kb.modalities and kb.modalities[m].completes_search
        ]
        if unknown or completing:
            raise KnowledgeError(
                "pathway.order_review.modalities: "
                + (f"unknown modalities {unknown}" if unknown else "")
                + (f"{completing} complete the search themselves" if completing else "")
            )
    orphans = sorted(rules - owned)
    if orphans:
        raise KnowledgeError(
            f"pathway: rules no phase owns (they would never be advised): {orphans}"
        )
