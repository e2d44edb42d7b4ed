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
        # loading checked every rule's fact names (facts.yaml), every pathway step's rule and
        # that no rule is left without a phase; this adds the case contract's modalities
        from omscds.reasoning.findings import check_contract

        check_contract(kb)
        if kb.pathway is not None:
            phases = ", ".join(
                f"{p.id}{'/' + p.variant if p.variant else ''}" for p in kb.pathway.phases
            )
            out_console.print(
                f"pathway: branches {', '.join(b.id for b in kb.pathway.branches)}; phases "
                f"{phases}; {len(kb.recommendations)} rules, each owned by a phase; "
                f"{len(kb.facts)} facts"
            )
        facts = list(kb.cited_facts())
        out_console.print(f"{len(facts)} cited facts, all citing known sources")
        for where, fact in kb.assumptions():
            out_console.print(f"assumption: {where}: {(fact.reasoning or '').strip()}")
