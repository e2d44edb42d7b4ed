"""Export and import of the whole registry as JSON lines (one record per line).

Records, in order, per patient (patients by key): ``patient``, its ``visit``s, ``treatment``s,
``relapse``s and ``assessment``s. Every row keeps its uid and creation time, so export → import
into an empty registry → export gives the same text. The audit log is not exported; an import
writes its own audit rows (action ``import``). Import is all-or-nothing, and rows whose uid is
already present are skipped, so importing the same file twice changes nothing.

Derived values are never taken from the file: an ``assessment`` record only names the visit it
belongs to (and the uid and time to keep); its input case and output are recomputed here, with
this registry's knowledge base, from the imported history as it stood at the record's
``created_at`` (what was recorded by then), after every other record is in. So an honest export
re-imports byte for byte, and a forged one can at most pick an earlier moment of the genuine
history, which leaving records out of the file could do anyway. A file's assessment that
differs from ours is counted in ``ImportSummary.recomputed``. Likewise a visit's
``severity_total`` and ``case_sha256`` are computed, not read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from omscds.errors import InputError
from omscds.model import parse_case
from omscds.model.strict import loads_json
from omscds.storage import queries
from omscds.storage.audit import append_audit, sha256_text
from omscds.storage.database import head_revision
from omscds.storage.longitudinal import canonical_case, canonical_json
from omscds.storage.privacy import check_external_ids, check_free_text, check_patient_key
from omscds.storage.repository import Registry, check_case_text, parse_date
from omscds.storage.tables import assessments, patients, relapses, treatments, visits
from omscds.storage.vocabulary import parse_agent

__all__ = ["FORMAT", "ImportSummary", "import_records", "iter_records", "read_jsonl", "write_jsonl"]

FORMAT = "omscds-registry"
Progress = Callable[[int], None]
_TABLES = {"visit": visits, "treatment": treatments, "relapse": relapses, "assessment": assessments}


@dataclass(frozen=True)
class ImportSummary:
    added: dict[str, int]
    skipped: dict[str, int]
    #: uids of imported assessments whose given content differed from the recomputed one
    recomputed: tuple[str, ...] = ()


def _d(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def iter_records(registry: Registry, page: int = 500) -> Iterator[dict[str, Any]]:
    """Every record of the registry, one patient at a time (memory stays flat)."""
    yield {"type": "header", "format": FORMAT, "version": 1, "schema": head_revision()}
    offset = 0
    while True:
        listing = registry.list_patients(limit=page, offset=offset)
        for summary in listing.items:
            h = registry.history(summary.key)
            yield {
                "type": "patient",
                "key": summary.key,
                "external_ids": summary.external_ids,
                "created_at": summary.created_at,
            }
            for v in h.visits:
                yield {
                    "type": "visit",
                    "uid": v.uid,
                    "patient": v.patient_key,
                    "date": v.visit_date.isoformat(),
                    "case": v.case,
                    "severity_total": v.severity_total,
                    "created_at": v.created_at,
                }
            for t in h.treatments:
                yield {
                    "type": "treatment",
                    "uid": t.uid,
                    "patient": t.patient_key,
                    "agent": t.agent,
                    "start": t.start_date.isoformat(),
                    "stop": _d(t.stop_date),
                    "dose": t.dose,
                    "note": t.note,
                    "created_at": t.created_at,
                }
            for r in h.relapses:
                yield {
                    "type": "relapse",
                    "uid": r.uid,
                    "patient": r.patient_key,
                    "date": r.onset_date.isoformat(),
                    "note": r.note,
                    "created_at": r.created_at,
                }
            yield from _assessment_records(registry, [v.uid for v in h.visits])
        offset += len(listing.items)
        if not listing.items or offset >= listing.total:
            return


def _assessment_records(registry: Registry, visit_uids: list[str]) -> Iterator[dict[str, Any]]:
    if not visit_uids:
        return
    with registry.reading() as conn:
        rows = conn.execute(
            select(assessments, visits.c.uid.label("visit_uid"))
            .join(visits, visits.c.id == assessments.c.visit_id)
            .where(visits.c.uid.in_(visit_uids))
            .order_by(visits.c.visit_date, visits.c.id, assessments.c.id)
        ).all()
    for row in rows:
        a = queries.assessment_record(row, row.visit_uid)
        yield {
            "type": "assessment",
            "uid": a.uid,
            "visit": a.visit_uid,
            "kb_version": a.kb_version,
            "kb_sha256": a.kb_sha256,
            "omscds_version": a.omscds_version,
            "input": a.input_case,
            "assessment": a.assessment,
            "created_at": a.created_at,
        }


def write_jsonl(registry: Registry, out: IO[str], progress: Progress | None = None) -> int:
    """Write every record as one JSON line; returns the number of records."""
    n = 0
    for n, record in enumerate(iter_records(registry), start=1):
        out.write(canonical_json(record) + "\n")
        if progress and n % 100 == 0:
            progress(n)
    return n


def read_jsonl(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Decode JSON lines strictly (``omscds.model.strict``); errors name the line and field."""
    out: list[dict[str, Any]] = []
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            # strict: duplicate keys, NaN/Infinity, deep nesting and huge integers are refused
            record = loads_json(line)
        except InputError as exc:
            where = f"line {no}: {exc.path}" if exc.path else f"line {no}"
            raise InputError(exc.message, path=where) from None
        if not isinstance(record, dict) or "type" not in record:
            raise InputError("each line is a JSON object with a 'type'", path=f"line {no}")
        record["_line"] = no
        out.append(record)
    return out


def _where(record: dict[str, Any], i: int) -> str:
    return f"line {record['_line']}" if "_line" in record else f"records[{i}]"


def _need(record: dict[str, Any], name: str, where: str) -> Any:
    if record.get(name) in (None, ""):
        raise InputError("required field is missing", path=f"{where}: {name}")
    return record[name]


def _date(record: dict[str, Any], name: str, where: str, required: bool = True) -> Any:
    value = _need(record, name, where) if required else record.get(name)
    try:
        return parse_date(value, name)
    except InputError as exc:
        raise InputError(exc.message, path=f"{where}: {name}") from None


def _text(record: dict[str, Any], names: tuple[str, ...], where: str) -> None:
    for name in names:
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            raise InputError("must be text", path=f"{where}: {name}")
        check_free_text(value, f"{where}: {name}")


def _prepare(registry: Registry, record: dict[str, Any], where: str) -> dict[str, Any]:
    """Validate one record and turn it into column values (raises InputError naming it)."""
    kind = record.get("type")
    created = str(_need(record, "created_at", where))
    if kind == "patient":
        key = check_patient_key(str(_need(record, "key", where)), f"{where}: key")
        ext = record.get("external_ids") or {}
        if not isinstance(ext, dict):
            raise InputError("external ids are an object", path=f"{where}: external_ids")
        try:
            check_external_ids(ext, allow_identifiers=registry.allow_identifiers)
        except InputError as exc:
            raise InputError(exc.message, path=f"{where}: {exc.path}") from None
        return {"key": key, "created_at": created}
    if kind == "visit":
        try:
            case = parse_case(record.get("case"))
            check_case_text(case)
        except InputError as exc:
            raise InputError(exc.message, path=f"{where}: case.{exc.path}") from None
        data = canonical_case(case)
        return {
            "uid": _need(record, "uid", where),
            "visit_date": _date(record, "date", where),
            "case_json": canonical_json(data),
            # computed from the case, whatever the file says
            "severity_total": registry.severity_total(case),
            "created_at": created,
        }
    if kind == "treatment":
        try:
            agent = parse_agent(str(_need(record, "agent", where))).value
        except InputError as exc:
            raise InputError(exc.message, path=f"{where}: agent") from None
        _text(record, ("dose", "note"), where)
        return {
            "uid": _need(record, "uid", where),
            "agent": agent,
            "start_date": _date(record, "start", where),
            "stop_date": _date(record, "stop", where, required=False),
            "dose": record.get("dose"),
            "note": record.get("note"),
            "created_at": created,
        }
    if kind == "relapse":
        _text(record, ("note",), where)
        return {
            "uid": _need(record, "uid", where),
            "onset_date": _date(record, "date", where),
            "note": record.get("note"),
            "created_at": created,
        }
    if kind == "assessment":
        # only which visit it belongs to is taken from the file; the content is recomputed
        return {
            "uid": str(_need(record, "uid", where)),
            "visit": str(_need(record, "visit", where)),
        }
    raise InputError(f"unknown record type {kind!r}", path=f"{where}: type")


def import_records(
    registry: Registry, records: list[dict[str, Any]], progress: Progress | None = None
) -> ImportSummary:
    """Validate every record, then write them all in one transaction (or nothing)."""
    body = [r for r in records if r.get("type") != "header"]
    for i, r in enumerate(records):
        if r.get("type") == "header" and r.get("format") != FORMAT:
            raise InputError(f"not an {FORMAT} export", path=f"{_where(r, i)}: format")
    prepared = [(r, _prepare(registry, r, _where(r, i))) for i, r in enumerate(body)]
    added = {k: 0 for k in ("patient", *_TABLES)}
    skipped = {k: 0 for k in ("patient", *_TABLES)}
    # assessments last: each is recomputed from the whole imported history of its patient
    ordered = [p for p in prepared if p[0]["type"] != "assessment"]
    ordered += [p for p in prepared if p[0]["type"] == "assessment"]
    recomputed: list[str] = []
    with registry.transaction() as conn:
        for n, (record, values) in enumerate(ordered, start=1):
            kind = str(record["type"])
            if kind == "assessment":
                done = _import_assessment(registry, conn, record, values, recomputed)
            else:
                done = _insert(registry, conn, kind, record, values)
            if done:
                added[kind] += 1
            else:
                skipped[kind] += 1
            if progress and n % 100 == 0:
                progress(n)
    return ImportSummary(added, skipped, tuple(recomputed))


def _import_assessment(
    registry: Registry,
    conn: Connection,
    record: dict[str, Any],
    values: dict[str, Any],
    recomputed: list[str],
) -> bool:
    uid, visit_uid = values["uid"], values["visit"]
    if conn.execute(select(assessments.c.id).where(assessments.c.uid == uid)).first():
        return False
    if conn.execute(select(visits.c.id).where(visits.c.uid == visit_uid)).first() is None:
        raise InputError(
            f"visit {visit_uid!r} is neither in the registry nor earlier in the file",
            path=f"{_where(record, 0)}: visit",
        )
    try:
        stored = registry._assess_visit(
            conn, visit_uid, uid=uid, created_at=str(record["created_at"]), action="import"
        )
    except InputError as exc:  # e.g. a finding this knowledge base does not know
        raise InputError(
            f"cannot recompute: {exc.message}", path=f"{_where(record, 0)}: visit"
        ) from None
    given = (record.get("input"), record.get("assessment"), record.get("kb_sha256"))
    if given != (stored.input_case, stored.assessment, stored.kb_sha256):
        recomputed.append(uid)
    return True


def _insert(
    registry: Registry, conn: Connection, kind: str, record: dict[str, Any], values: dict[str, Any]
) -> bool:
    if kind == "patient":
        if queries.patient_row(conn, values["key"]) is not None:
            return False
        ext = canonical_json(record.get("external_ids") or {})
        conn.execute(insert(patients).values(external_ids=ext, **values))
        payload, uid, key = ext, values["key"], values["key"]
    else:
        table = _TABLES[kind]
        if conn.execute(select(table.c.id).where(table.c.uid == values["uid"])).first():
            return False
        key = str(record.get("patient"))
        prow = queries.patient_row(conn, key)
        if prow is None:
            raise InputError(
                f"patient {key!r} is neither in the registry nor earlier in the file",
                path=f"{_where(record, 0)}: patient",
            )
        if kind == "visit":
            values["case_sha256"] = sha256_text(values["case_json"])
        conn.execute(insert(table).values(patient_id=prow.id, **values))
        uid = str(values["uid"])
        # a visit's audit row hashes its snapshot, as on create, so `registry verify` can match
        payload = values["case_json"] if kind == "visit" else canonical_json(record)
    append_audit(
        conn,
        actor=registry.actor,
        action="import",
        entity=kind,
        entity_uid=uid,
        patient_key=key,
        payload=payload,
    )
    return True
