"""``omscds kb info|sources|check``: what the knowledge base holds and whether it is sound."""

from __future__ import annotations

import typer
from rich.table import Table

from omscds.interfaces.cli._common import load_kb, out_console

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    kb_app = typer.Typer(help="Inspect the knowledge base.", no_args_is_help=True)
    app.add_typer(kb_app, name="kb")

    @kb_app.command("info")
    def info() -> None:
        """Version, checksum and contents."""
        kb = load_kb()
        m = kb.manifest
        out_console.print(f"knowledge base {m.version} (as of {m.as_of})")
        out_console.print(f"sha256 {kb.sha256}")
        out_console.print(f"HPO release {m.hpo_release or 'unknown'}")
        for name, n in (
            ("sources", len(kb.sources)),
            ("findings", len(kb.findings)),
            ("HPO terms mapped", len(kb.hpo_index)),
            ("criteria", len(kb.criteria)),
            ("priors", len(kb.priors)),
            ("modalities", len(kb.modalities)),
            ("differential conditions", len(kb.differential)),
            ("recommendation rules", len(kb.recommendations)),
            ("alerts", len(kb.alerts)),
            ("facts marked as assumptions", len(kb.assumptions())),
        ):
            out_console.print(f"  {name}: {n}")

    @kb_app.command("sources")
    def sources() -> None:
        """Every source the knowledge base cites."""
        kb = load_kb()
        table = Table("id", "reference", show_lines=False)
        for s in kb.sources.values():
            ref = f"{s.authors} ({s.year or 'n.d.'}). {s.title}."
            if s.journal:
                ref += f" {s.journal}."
            if s.doi:
                ref += f" doi:{s.doi}"
            elif s.url:
                ref += f" {s.url}"
            table.add_row(s.id, ref)
        out_console.print(table)

    @kb_app.command("check")
    def check() -> None:
        """Validate the knowledge base and list every fact that rests on an assumption."""
        kb = load_kb()  # validation happens on load; a broken base exits 1 with the reason
        from omscds.reasoning.facts import is_known_fact

        bad: list[str] = []
        for rule in kb.recommendations:
            for f in (*rule.when_all, *rule.when_any, *rule.when_none):
                if not is_known_fact(f, kb):
                    bad.append(f"recommendations.{rule.id}: unknown fact {f!r}")
        for alert in kb.alerts:
            for f in (*alert.when_all, *alert.when_any, *alert.when_none):
                if not is_known_fact(f, kb):
                    bad.append(f"alerts.{alert.id}: unknown fact {f!r}")
        for cond in kb.differential:
            for r in cond.rules:
                if not is_known_fact(r.when, kb):
                    bad.append(f"differential.{cond.id}: unknown fact {r.when!r}")
        for line in bad:
            out_console.print(f"[red]error[/red]: {line}")
        facts = list(kb.cited_facts())
        out_console.print(f"{len(facts)} cited facts, all citing known sources")
        for where, fact in kb.assumptions():
            out_console.print(f"assumption: {where}: {(fact.reasoning or '').strip()}")
        if bad:
            raise typer.Exit(1)
