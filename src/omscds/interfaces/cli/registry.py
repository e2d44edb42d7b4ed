"""``omscds registry …``: the longitudinal registry (patients, visits, treatments, relapses).

Storage, SQLAlchemy and matplotlib are imported inside the commands, so other subcommands start
fast. Errors are ``OmscdsError``s, which ``main`` prints as one line each with an exit status.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from omscds.errors import InputError
from omscds.interfaces.cli._common import (
    err_console,
    load_kb,
    out_console,
    progress_bar,
    read_document,
)

if TYPE_CHECKING:
    from omscds.interfaces.api.settings import Settings
    from omscds.knowledge import KnowledgeBase
    from omscds.storage import PatientHistory, Registry

__all__ = ["ExportFormat", "register"]

DB_HELP = "Database URL or SQLite file (default: $OMSCDS_DATABASE_URL, else the user data dir)."
_DB = typer.Option(None, "--database", "-d", help=DB_HELP)
_ACTOR = typer.Option(None, "--actor", help="Who writes (audit log); default $OMSCDS_ACTOR/login.")
_JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    fhir = "fhir"


def _settings() -> Settings:
    """The ``OMSCDS_*`` settings (the one class that reads them); a bad one is an InputError."""
    from omscds.interfaces.api.settings import Settings

    try:
        return Settings()
    except ValueError as exc:  # pydantic ValidationError: a bad OMSCDS_* variable
        raise InputError(f"bad OMSCDS_* setting: {exc}") from None


def _open(
    database: str | None,
    actor: str | None = None,
    create: bool = False,
    kb: KnowledgeBase | None = None,
) -> Registry:
    """The registry at ``--database``, else ``OMSCDS_DATABASE_URL``; the audit actor, whether
    external ids may hold identifiers and the SQLite busy timeout from the settings too (the
    timeout only when set: a command waits the storage default, 30 s, not the service's 5 s)."""
    from omscds.storage import open_registry

    s = _settings()
    busy = "registry_busy_timeout_s" in s.model_fields_set
    return open_registry(
        database or s.database_url,
        kb or load_kb(),
        actor=actor or s.actor,
        create=create,
        allow_identifiers=s.registry_allow_identifiers,
        busy_timeout_s=s.registry_busy_timeout_s if busy else None,
    )


def _history_json(h: PatientHistory) -> dict[str, Any]:
    from dataclasses import asdict

    data: dict[str, Any] = json.loads(json.dumps(asdict(h), default=str))
    return data


def _print_history(h: PatientHistory) -> None:
    p = h.patient
    ext = ", ".join(f"{k}={v}" for k, v in sorted(p.external_ids.items()))
    out_console.print(f"[bold]Patient {p.key}[/bold]" + (f"  ({ext})" if ext else ""))
    visits = Table("date", "severity", "findings present", "tests", "visit", title="Visits")
    for v in h.visits:
        present = [k for k, s in v.case.get("findings", {}).items() if s == "present"]
        total = "-" if v.severity_total is None else str(v.severity_total)
        visits.add_row(
            v.visit_date.isoformat(), total, ", ".join(present), str(len(v.case.get("tests", []))),
            v.uid[:8],
        )  # fmt: skip
    out_console.print(visits)
    if h.treatments:
        courses = Table("agent", "start", "stop", "dose", "note", title="Treatment courses")
        for t in h.treatments:
            stop = t.stop_date.isoformat() if t.stop_date else "ongoing"
            courses.add_row(t.agent, t.start_date.isoformat(), stop, t.dose or "", t.note or "")
        out_console.print(courses)
    for r in h.relapses:
        out_console.print(f"relapse: {r.onset_date.isoformat()} {r.note or ''}")
    a = h.latest_assessment
    if a is None:
        out_console.print("no stored assessment")
        return
    doc = a.assessment
    out_console.print(
        f"\n[bold]Latest assessment[/bold] (visit {a.visit_uid[:8]}, knowledge base "
        f"{a.kb_version}, sha256 {a.kb_sha256[:12]}…)"
    )
    out_console.print(f"  OMS criteria: {str(doc['oms']['status']).replace('_', ' ')}")
    t = doc["tumour"]
    status = str(t["status"]).replace("_", " ")
    if t["status"] == "not_applicable":  # no headline probability without a tumour question
        out_console.print(f"  tumour: {status}")
    else:
        out_console.print(f"  tumour: {status}, P(tumour) {t['probability']:.0%}")
    path = doc.get("pathway")
    if isinstance(path, dict):
        out_console.print(f"  pathway: {path.get('phase_label') or path.get('phase')}")
    for rec in doc.get("recommendations", []):
        line = f"  - [{rec['kind']}] {rec['id']}: {rec.get('title') or ''}".rstrip(": ")
        out_console.print(line, markup=False)
    for alert in doc.get("alerts", []):
        out_console.print(f"  ! {alert['level']}: {alert['message']}", markup=False)


def _parse_anchor(text: str) -> tuple[int, str]:
    row, _, sha = text.partition(":")
    sha = sha.strip().lower()
    if not row.strip().isdigit() or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise InputError("an anchor is ID:SHA256 as printed by verify", path="anchor")
    return int(row), sha


def register(app: typer.Typer) -> None:
    reg_app = typer.Typer(
        help="The longitudinal registry: visits, treatments and relapses over the years.",
        no_args_is_help=True,
    )
    app.add_typer(reg_app, name="registry")

    @reg_app.command("init")
    def init_cmd(
        database: str | None = _DB,
        app_role: str | None = typer.Option(
            None,
            "--app-role",
            help="PostgreSQL: the service's login role; it gets SELECT and INSERT only "
            "(run init as the owner of the tables).",
        ),
    ) -> None:
        """Create the registry database, or upgrade it to the newest schema."""
        from omscds.storage import current_revision, grant_app_role

        reg = _open(database, create=True)
        where = reg.engine.url.render_as_string(hide_password=True)
        try:
            rev = current_revision(reg.engine)
            if app_role:
                grant_app_role(reg.engine, app_role)
        finally:
            reg.close()
        out_console.print(f"registry ready: {where} (schema revision {rev})")
        if app_role:
            out_console.print(f"role {app_role} may read and append; it cannot change rows")

    @reg_app.command("verify")
    def verify_cmd(
        database: str | None = _DB,
        anchor: str | None = typer.Option(
            None,
            "--anchor",
            help="ID:SHA256 of a chain head printed by an earlier verify: the chain must "
            "still pass through it.",
        ),
    ) -> None:
        """Check the audit log's hash chain, then visits and assessments against it; report
        the first broken link (exit 1)."""
        from omscds.errors import StorageError
        from omscds.storage.database import audit_guard_warning

        pinned = _parse_anchor(anchor) if anchor else None
        reg = _open(database)
        try:
            check = reg.verify_audit(pinned)
            records = reg.verify_records() if check.broken is None else None
            warning = audit_guard_warning(reg.engine)
        finally:
            reg.close()
        if warning:
            err_console.print(f"warning: {warning}")
        if check.broken is not None:
            raise StorageError(
                f"audit log broken at row {check.broken.row_id}: {check.broken.reason} "
                f"({check.rows} row(s) checked)",
                path="audit_log",
            )
        head = "empty" if check.head_id is None else f"head {check.head_id}:{check.head_sha256}"
        out_console.print(f"audit log ok: {check.rows} row(s) chained, {head}", soft_wrap=True)
        assert records is not None
        if records.broken is not None:
            b = records.broken
            raise StorageError(f"{b.entity} {b.uid}: {b.reason}", path=f"{b.entity}s")
        out_console.print(
            f"data ok: {records.visits} visit(s) and {records.assessments} assessment(s) "
            "match their audit rows"
        )

    @reg_app.command("add-visit")
    def add_visit_cmd(
        case: str = typer.Argument(..., help="Case file (JSON or YAML); '-' reads stdin."),
        patient: str = typer.Option(..., "--patient", "-p", help="Pseudonymous patient key."),
        date: str | None = typer.Option(None, "--date", help="Visit date (else visit_date)."),
        no_assess: bool = typer.Option(False, "--no-assess", help="Store without assessing."),
        database: str | None = _DB,
        actor: str | None = _ACTOR,
    ) -> None:
        """Validate and store a visit, then assess it with the patient's history."""
        data = read_document(case)
        reg = _open(database, actor)
        try:
            rec = reg.add_visit(patient, data, date, assess_now=not no_assess)
            latest = reg.history(patient).latest_assessment
        finally:
            reg.close()
        total = "-" if rec.severity_total is None else rec.severity_total
        out_console.print(
            f"visit {rec.uid} stored for {patient} on {rec.visit_date} (severity {total})"
        )
        if latest is not None and latest.visit_uid == rec.uid:
            doc = latest.assessment
            ids = ", ".join(r["id"] for r in doc.get("recommendations", [])) or "none"
            out_console.print(
                f"assessed: OMS {doc['oms']['status']}, tumour {doc['tumour']['status']}; "
                f"recommendations: {ids}"
            )

    @reg_app.command("add-treatment")
    def add_treatment_cmd(
        patient: str = typer.Option(..., "--patient", "-p"),
        agent: str = typer.Option(
            ...,
            "--agent",
            help="acth, corticosteroids, "
            "dexamethasone_pulses, ivig, rituximab, cyclophosphamide, "
            "tumour_resection, chemotherapy",
        ),
        start: str = typer.Option(..., "--start", help="Start date (YYYY-MM-DD)."),
        stop: str | None = typer.Option(None, "--stop", help="Stop date; omit if ongoing."),
        dose: str | None = typer.Option(None, "--dose", help="Dose as recorded (free text)."),
        note: str | None = typer.Option(None, "--note"),
        database: str | None = _DB,
        actor: str | None = _ACTOR,
    ) -> None:
        """Record a treatment course."""
        reg = _open(database, actor)
        try:
            uid = reg.add_treatment(patient, agent, start, stop, dose, note)
        finally:
            reg.close()
        out_console.print(f"treatment {uid} recorded for {patient}")

    @reg_app.command("add-relapse")
    def add_relapse_cmd(
        patient: str = typer.Option(..., "--patient", "-p"),
        date: str = typer.Option(..., "--date", help="Onset date of the relapse."),
        note: str | None = typer.Option(None, "--note"),
        database: str | None = _DB,
        actor: str | None = _ACTOR,
    ) -> None:
        """Record a relapse (OMS back after a remission); later visits are assessed with it."""
        reg = _open(database, actor)
        try:
            uid = reg.add_relapse(patient, date, note)
        finally:
            reg.close()
        out_console.print(f"relapse {uid} recorded for {patient}")

    @reg_app.command("list")
    def list_cmd(
        limit: int = typer.Option(50, "--limit"),
        offset: int = typer.Option(0, "--offset"),
        as_json: bool = _JSON,
        database: str | None = _DB,
    ) -> None:
        """List patients (paginated)."""
        reg = _open(database)
        try:
            page = reg.list_patients(limit, offset)
        finally:
            reg.close()
        if as_json:
            items = [
                {"key": p.key, "external_ids": p.external_ids, "visits": p.visit_count,
                 "last_visit": p.last_visit.isoformat() if p.last_visit else None}
                for p in page.items
            ]  # fmt: skip
            doc = {"items": items, "total": page.total, "limit": limit, "offset": offset}
            typer.echo(json.dumps(doc, indent=2))
            return
        table = Table("patient", "visits", "last visit", title=f"{page.total} patient(s)")
        for p in page.items:
            last = p.last_visit.isoformat() if p.last_visit else "-"
            table.add_row(p.key, str(p.visit_count), last)
        out_console.print(table)
        if offset + len(page.items) < page.total:
            out_console.print(f"more: --offset {offset + len(page.items)}")

    @reg_app.command("show")
    def show_cmd(
        patient: str = typer.Argument(..., help="Patient key."),
        as_json: bool = _JSON,
        database: str | None = _DB,
    ) -> None:
        """Print a patient's visit history with the latest assessment."""
        reg = _open(database)
        try:
            history = reg.history(patient)
        finally:
            reg.close()
        if as_json:
            typer.echo(json.dumps(_history_json(history), indent=2, ensure_ascii=False))
        else:
            _print_history(history)

    @reg_app.command("timeline")
    def timeline_cmd(
        patient: str = typer.Argument(..., help="Patient key."),
        output: str = typer.Option(..., "--output", "-o", help="Image file (.svg or .png)."),
        database: str | None = _DB,
    ) -> None:
        """Draw severity over time on the whole scale: unscored visits, treatment courses and
        relapses marked (the drawing the web page shows; .png paints the same shapes)."""
        from omscds.interfaces.timeline import timeline_plot
        from omscds.reports.timeline import draw_timeline

        reg = _open(database)
        try:
            plot = timeline_plot(reg.timeline(patient), reg.kb, f"Patient {patient}")
        finally:
            reg.close()
        path = draw_timeline(plot, output)
        out_console.print(f"timeline written to {path}")

    @reg_app.command("export")
    def export_cmd(
        output: str | None = typer.Option(None, "--output", "-o", help="File (default stdout)."),
        fmt: ExportFormat = typer.Option(ExportFormat.jsonl, "--format", "-f"),
        database: str | None = _DB,
    ) -> None:
        """Export the whole registry as JSON lines or as a FHIR Bundle (collection)."""
        from omscds.interop.fhir.registry import records_to_bundle
        from omscds.storage.exchange import iter_records, write_jsonl

        reg = _open(database)
        target = Path(output) if output else None
        if target is not None and not target.parent.exists():
            raise InputError(f"no such directory: {target.parent}", path="output")
        tmp = target.with_name(target.name + ".part") if target else None
        stream = tmp.open("w", encoding="utf-8") if tmp else sys.stdout
        try:
            with err_console.status("exporting…") as status:

                def progress(n: int) -> None:
                    status.update(f"exporting… {n} records")

                if fmt is ExportFormat.jsonl:
                    n = write_jsonl(reg, stream, progress)
                else:
                    records = list(iter_records(reg))
                    bundle = records_to_bundle(records, load_kb())
                    json.dump(bundle, stream, indent=1, ensure_ascii=False)
                    stream.write("\n")
                    n = len(records)
        finally:
            reg.close()
            if tmp:
                stream.close()
        if tmp and target:
            tmp.replace(target)  # only a complete export takes the file's name
            err_console.print(f"exported {n} records to {target}")

    @reg_app.command("reassess")
    def reassess_cmd(
        database: str | None = _DB,
        kb_dir: str | None = typer.Option(
            None, "--kb", help="Knowledge-base directory to re-assess with (default: shipped)."
        ),
        workers: int | None = typer.Option(
            None, "--workers", "-w", help="Local processes (default: every core; 1: no pool)."
        ),
        scheduler: str | None = typer.Option(
            None, "--scheduler", help="Dask distributed scheduler address (tcp://host:port)."
        ),
        threshold: float | None = typer.Option(
            None,
            "--threshold",
            help="P(tumour) change that counts as changed advice (default: the knowledge "
            "base's reassess_probability_change).",
        ),
        jsonl: str | None = typer.Option(
            None, "--jsonl", help="Write one JSON line per re-assessed patient to this file."
        ),
        show_all: bool = typer.Option(False, "--all", help="List unchanged patients too."),
        actor: str | None = _ACTOR,
    ) -> None:
        """Re-assess every patient's latest visit under a knowledge base; report whose advice
        changed (phase, tumour status, P(tumour), recommendations). Resumable: visits already
        assessed under that knowledge base are skipped."""

        from omscds.storage import ReassessItem, ReassessRun

        kb = load_kb(kb_dir)
        target = Path(jsonl) if jsonl else None
        if target is not None and not target.parent.exists():
            raise InputError(f"no such directory: {target.parent}", path="jsonl")
        reg = _open(database, actor, kb=kb)
        items: list[ReassessItem] = []
        run: ReassessRun | None = None
        stream = target.open("a", encoding="utf-8") if target else None
        try:
            with progress_bar(transient=True) as bar:
                task = bar.add_task(f"re-assessing under {kb.version}", total=None)
                for out in reg.reassess(
                    kb_dir=kb_dir,
                    workers=workers,
                    scheduler=scheduler,
                    threshold=threshold,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                ):
                    if isinstance(out, ReassessRun):
                        run = out
                        bar.update(task, total=out.total, completed=out.skipped)
                        continue
                    items.append(out)
                    if stream is not None:
                        stream.write(json.dumps(out.as_dict(), ensure_ascii=False) + "\n")
        finally:
            reg.close()
            if stream is not None:
                stream.close()
        assert run is not None
        shown = [i for i in items if show_all or i.changed]
        if shown:
            table = Table("patient", "visit", "before", "what changed", title="Advice changes")
            for i in shown:
                what = "; ".join(i.change.what) if i.change and i.change.what else "no change"
                if i.change is None:
                    what = "first assessment"
                before = f"{i.before_kb} ({i.before_sha256[:8]})" if i.before_sha256 else "-"
                table.add_row(i.patient_key, i.visit_date.isoformat(), before, what)
            out_console.print(table)
        err_console.print(
            f"re-assessed {run.done} of {run.total} patients under knowledge base "
            f"{run.kb_version} ({kb.sha256[:8]}): {run.changed} with changed advice"
            + (f"; {run.skipped} already done" if run.skipped else "")
            + (f"; JSON lines in {target}" if target else ""),
            soft_wrap=True,
        )

    @reg_app.command("import")
    def import_cmd(
        file: str = typer.Argument(..., help="A JSON-lines export or a FHIR Bundle (.json)."),
        database: str | None = _DB,
        actor: str | None = _ACTOR,
    ) -> None:
        """Import an export (all or nothing; rows already present are skipped)."""
        from omscds.interop.fhir.registry import bundle_to_records
        from omscds.storage.exchange import import_records, read_jsonl

        path = Path(file)
        if not path.is_file():
            raise InputError(f"no such file: {file}", path="file")
        text = path.read_text(encoding="utf-8")
        first = text.lstrip()[:200]
        if first.startswith("{") and '"resourceType"' in text[:2000] and "\n{" not in first:
            records = bundle_to_records(read_document(file))
        else:
            records = read_jsonl(text.splitlines())
        reg = _open(database, actor)
        try:
            with err_console.status(f"importing {len(records)} records…") as status:
                summary = import_records(
                    reg, records, lambda n: status.update(f"importing… {n}/{len(records)}")
                )
        finally:
            reg.close()
        added = ", ".join(f"{v} {k}(s)" for k, v in summary.added.items() if v) or "nothing"
        skipped = sum(summary.skipped.values())
        out_console.print(f"imported {added}" + (f"; {skipped} already present" if skipped else ""))
        if summary.recomputed:
            err_console.print(
                f"{len(summary.recomputed)} assessment(s) in the file differed from what this "
                "knowledge base computes; the recomputed ones were stored"
            )
