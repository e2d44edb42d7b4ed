"""``omscds serve``: the HTTP API, FHIR operations and CDS Hooks services under uvicorn."""

from __future__ import annotations

import typer

from omscds.interfaces.cli._common import err_console

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: str = typer.Option("127.0.0.1", help="Interface to bind."),
        port: int = typer.Option(8000, min=0, max=65535, help="TCP port."),
        insecure_dev: bool = typer.Option(
            False,
            "--insecure-dev",
            help="Skip CDS Hooks JWT verification (local demos only; never with patient data).",
        ),
        log_level: str = typer.Option("info", help="uvicorn log level."),
    ) -> None:
        """Serve the REST API, FHIR $assess and CDS Hooks (settings from OMSCDS_* variables)."""
        import uvicorn  # heavy imports stay inside the command: `omscds --help` stays fast

        from omscds.interfaces.api import Settings, create_app
        from omscds.interfaces.api.app import INSECURE_WARNING

        try:
            settings = Settings(insecure_dev=insecure_dev) if insecure_dev else Settings()
        except ValueError as exc:  # pydantic ValidationError: a bad OMSCDS_* variable
            from omscds.errors import InputError

            raise InputError(f"bad OMSCDS_* setting: {exc}") from None
        if settings.insecure_dev:
            err_console.print(f"[bold red]WARNING[/bold red]: {INSECURE_WARNING}")
        elif not settings.cds_trusted_issuers:
            err_console.print(
                "[yellow]note[/yellow]: OMSCDS_CDS_TRUSTED_ISSUERS is empty, so every CDS Hooks "
                "call will be refused (401)."
            )
        uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)
