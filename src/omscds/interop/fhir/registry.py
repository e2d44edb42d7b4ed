"""The registry as a FHIR R4 Bundle (type ``collection``), built as plain JSON dicts.

FHIR is written in one place (``interop/fhir``); the registry's records (``storage.exchange``
JSON-lines records, plain dicts) come in and go out here. The resources:

* ``Patient`` per patient: the pseudonymous key and external ids as identifiers;
* ``Encounter`` per visit (``period.start`` = visit date) carrying the full case snapshot in an
  extension, so that the Bundle re-imports losslessly;
* ``Observation`` per finding of a visit (present/absent/unknown) and one for the severity total:
  derived views for FHIR readers, ignored on import (the snapshot is authoritative). Given the
  knowledge base, a finding is coded as ``$assess`` codes it (HPO, SNOMED CT) and its state as
  a LOINC answer (LA33-6 Yes / LA32-8 No / LA4489-6 Unknown), with omscds' private codes as
  extra codings;
* ``MedicationStatement`` per drug course, ``Procedure`` for a tumour resection;
* ``Condition`` per relapse event;
* ``Basic`` per stored assessment (input case, output, knowledge-base version and sha256).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

from omscds.errors import InputError
from omscds.knowledge import KnowledgeBase
from omscds.knowledge.codes import SYSTEM_URIS

__all__ = ["EXT", "bundle_to_records", "records_to_bundle"]

#: the treatment agent recorded as a Procedure (``storage.vocabulary.Agent.tumour_resection``)
_RESECTION = "tumour_resection"

EXT = "urn:omscds:fhir:extension:"
SYS = "urn:omscds:"
_NS = uuid.UUID("6f1c3f1e-2b7a-4f43-9a55-0c3c1b0d2a11")


def _full_url(kind: str, ident: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NS, f'{kind}/{ident}')}"


def _ext(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, int) and not isinstance(value, bool):
        return {"url": EXT + name, "valueInteger": value}
    if isinstance(value, str):
        return {"url": EXT + name, "valueString": value}
    return {"url": EXT + name, "valueString": json.dumps(value, sort_keys=True)}


def _exts(resource: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for e in resource.get("extension", []):
        url = str(e.get("url", ""))
        if url.startswith(EXT):
            out[url.removeprefix(EXT)] = e.get("valueInteger", e.get("valueString"))
    return out


def _coding(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": SYS + system, "code": code}], "text": code}


def _patient(r: dict[str, Any]) -> dict[str, Any]:
    ids = [{"system": SYS + "patient-key", "value": r["key"]}]
    ids += [
        {"system": f"{SYS}external-id:{name}", "value": value}
        for name, value in sorted(r["external_ids"].items())
    ]
    return {
        "resourceType": "Patient",
        "identifier": ids,
        "extension": [_ext("created_at", r["created_at"])],
    }


def _standard(kb: KnowledgeBase | None, key: str, state: str) -> tuple[list[Any], list[Any]]:
    """Standard codings of a finding and of its state (empty without a knowledge base)."""
    if kb is None:
        return [], []
    codes = []
    finding = kb.findings.get(key)
    if finding is not None and finding.hpo:
        codes.append({"system": SYSTEM_URIS["HPO"], "code": finding.hpo, "display": finding.label})
    for code in kb.terminology.codes("findings", key)[:1]:
        codes.append({"system": code.uri, "code": code.code, "display": code.display})
    answers = [
        {"system": a.uri, "code": a.code, "display": a.display}
        for a in kb.terminology.codes("answers", state)[:1]
    ]
    return codes, answers


def _visit_resources(
    r: dict[str, Any], kb: KnowledgeBase | None = None
) -> list[tuple[str, dict[str, Any]]]:
    subject = {"reference": _full_url("patient", r["patient"])}
    enc_url = _full_url("visit", r["uid"])
    exts = [_ext("created_at", r["created_at"]), _ext("case", r["case"])]
    if r.get("severity_total") is not None:
        exts.append(_ext("severity_total", r["severity_total"]))
    encounter = {
        "resourceType": "Encounter",
        "identifier": [{"system": SYS + "visit", "value": r["uid"]}],
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": subject,
        "period": {"start": r["date"]},
        "extension": exts,
    }
    out: list[tuple[str, dict[str, Any]]] = [(enc_url, encounter)]
    base = {
        "resourceType": "Observation",
        "status": "final",
        "subject": subject,
        "encounter": {"reference": enc_url},
        "effectiveDateTime": r["date"],
    }
    for key, state in sorted(r["case"].get("findings", {}).items()):
        codes, answers = _standard(kb, key, state)
        code, value = _coding("finding", key), _coding("state", state)
        code["coding"][:0] = codes  # standard first, omscds' private code as an extra coding
        value["coding"][:0] = answers
        obs = {**base, "code": code, "valueCodeableConcept": value}
        out.append((_full_url("finding", f"{r['uid']}/{key}"), obs))
    if r.get("severity_total") is not None:
        scale = r["case"].get("severity", {}).get("scale", "severity")
        obs = {
            **base,
            "code": _coding("severity-total", scale),
            "valueInteger": r["severity_total"],
        }
        out.append((_full_url("severity", r["uid"]), obs))
    return out


def _treatment(r: dict[str, Any]) -> dict[str, Any]:
    period = {"start": r["start"], **({"end": r["stop"]} if r.get("stop") else {})}
    procedure = r["agent"] == _RESECTION
    res: dict[str, Any] = {
        "resourceType": "Procedure" if procedure else "MedicationStatement",
        "identifier": [{"system": SYS + "treatment", "value": r["uid"]}],
        "status": "completed" if r.get("stop") or procedure else "active",
        "subject": {"reference": _full_url("patient", r["patient"])},
        "extension": [_ext("created_at", r["created_at"]), _ext("agent", r["agent"])],
    }
    if procedure:
        res["code"] = _coding("treatment", r["agent"])
        res["performedPeriod"] = period
    else:
        res["medicationCodeableConcept"] = _coding("treatment", r["agent"])
        res["effectivePeriod"] = period
        if r.get("dose"):
            res["dosage"] = [{"text": r["dose"]}]
    if r.get("note"):
        res["note"] = [{"text": r["note"]}]
    return res


def _relapse(r: dict[str, Any]) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Condition",
        "identifier": [{"system": SYS + "relapse", "value": r["uid"]}],
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "relapse",
                }
            ]
        },
        "code": _coding("event", "oms_relapse"),
        "subject": {"reference": _full_url("patient", r["patient"])},
        "onsetDateTime": r["date"],
        "extension": [_ext("created_at", r["created_at"])],
    }
    if r.get("note"):
        res["note"] = [{"text": r["note"]}]
    return res


def _assessment(r: dict[str, Any], patient: str) -> dict[str, Any]:
    keys = ("created_at", "kb_version", "kb_sha256", "omscds_version", "input", "assessment")
    return {
        "resourceType": "Basic",
        "identifier": [{"system": SYS + "assessment", "value": r["uid"]}],
        "code": _coding("record", "omscds-assessment"),
        "subject": {"reference": _full_url("patient", patient)},
        "extension": [_ext(k, r[k]) for k in keys]
        + [
            _ext("visit", r["visit"]),
            {
                "url": EXT + "encounter",
                "valueReference": {"reference": _full_url("visit", r["visit"])},
            },
        ],
    }


def records_to_bundle(
    records: Iterable[dict[str, Any]], kb: KnowledgeBase | None = None
) -> dict[str, Any]:
    """A Bundle of type collection holding every record (see the module docstring).

    With ``kb``, the derived finding Observations carry the standard codes ``$assess`` uses.
    """
    entries: list[dict[str, Any]] = []
    meta: dict[str, Any] = {}
    visit_patient: dict[str, str] = {}
    for r in records:
        kind = r["type"]
        if kind == "header":
            meta = {"tag": [{"system": SYS + "format", "code": f"{r['format']}/{r['version']}"}]}
            continue
        if kind == "patient":
            items = [(_full_url("patient", r["key"]), _patient(r))]
        elif kind == "visit":
            visit_patient[r["uid"]] = r["patient"]
            items = _visit_resources(r, kb)
        elif kind == "treatment":
            items = [(_full_url("treatment", r["uid"]), _treatment(r))]
        elif kind == "relapse":
            items = [(_full_url("relapse", r["uid"]), _relapse(r))]
        else:
            items = [(_full_url("assessment", r["uid"]), _assessment(r, visit_patient[r["visit"]]))]
        entries += [{"fullUrl": url, "resource": res} for url, res in items]
    return {"resourceType": "Bundle", "type": "collection", "meta": meta, "entry": entries}


def _ident(res: dict[str, Any], system: str) -> str:
    for i in res.get("identifier", []):
        if i.get("system") == SYS + system:
            return str(i.get("value"))
    raise InputError(f"{res.get('resourceType')} without an {SYS}{system} identifier")


def bundle_to_records(bundle: Any) -> list[dict[str, Any]]:
    """Invert :func:`records_to_bundle` (derived Observations are skipped)."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise InputError("not a FHIR Bundle", path="resourceType")
    by_url: dict[str, str] = {}
    out: list[dict[str, Any]] = [{"type": "header", "format": "omscds-registry", "version": 1}]
    for i, entry in enumerate(bundle.get("entry", [])):
        where = f"entry[{i}].resource"
        res = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(res, dict):
            raise InputError("an entry without a resource", path=where)
        rtype, ext = res.get("resourceType"), _exts(res)
        try:
            if rtype == "Patient":
                key = _ident(res, "patient-key")
                by_url[str(entry.get("fullUrl"))] = key
                external = {
                    str(x["system"]).removeprefix(f"{SYS}external-id:"): x["value"]
                    for x in res.get("identifier", [])
                    if str(x.get("system", "")).startswith(f"{SYS}external-id:")
                }
                out.append(
                    {
                        "type": "patient",
                        "key": key,
                        "external_ids": external,
                        "created_at": ext["created_at"],
                    }
                )
            elif rtype == "Encounter":
                out.append(
                    {
                        "type": "visit",
                        "uid": _ident(res, "visit"),
                        "patient": by_url[res["subject"]["reference"]],
                        "date": res["period"]["start"],
                        "case": json.loads(ext["case"]),
                        "severity_total": ext.get("severity_total"),
                        "created_at": ext["created_at"],
                    }
                )
            elif rtype in ("MedicationStatement", "Procedure"):
                period = res.get("effectivePeriod") or res.get("performedPeriod") or {}
                dosage = res.get("dosage") or [{}]
                out.append(
                    {
                        "type": "treatment",
                        "uid": _ident(res, "treatment"),
                        "patient": by_url[res["subject"]["reference"]],
                        "agent": ext["agent"],
                        "start": period.get("start"),
                        "stop": period.get("end"),
                        "dose": dosage[0].get("text"),
                        "note": (res.get("note") or [{}])[0].get("text"),
                        "created_at": ext["created_at"],
                    }
                )
            elif rtype == "Condition":
                out.append(
                    {
                        "type": "relapse",
                        "uid": _ident(res, "relapse"),
                        "patient": by_url[res["subject"]["reference"]],
                        "date": res.get("onsetDateTime"),
                        "note": (res.get("note") or [{}])[0].get("text"),
                        "created_at": ext["created_at"],
                    }
                )
            elif rtype == "Basic":
                rec: dict[str, Any] = {"type": "assessment", "uid": _ident(res, "assessment")}
                rec["visit"] = ext["visit"]
                for k in ("kb_version", "kb_sha256", "omscds_version", "created_at"):
                    rec[k] = ext[k]
                rec["input"] = json.loads(ext["input"])
                rec["assessment"] = json.loads(ext["assessment"])
                out.append(rec)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise InputError(
                f"{rtype} cannot be read back: missing or bad {exc}", path=where
            ) from None
    return out
