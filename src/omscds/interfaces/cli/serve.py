"""``omscds serve``: the web page, REST API, FHIR operations and CDS Hooks under uvicorn.

Local mode (the default) binds to loopback and prints a URL carrying a random token, as Jupyter
does; opening it logs the browser in. Deployment mode (``OMSCDS_AUTH_MODE=oidc``) logs users in
at an OpenID provider. Logs are JSON lines (``omscds.access``: one per request, patient keys
hashed); uvicorn's own access log, which would print paths with patient keys, is off.
"""

from __future__ import annotations

import logging
import logging.config
import sys
from typing import Any

import typer

from omscds.interfaces.cli._common import err_console

__all__ = ["log_config", "register"]


def log_config(level: str) -> dict[str, Any]:
    """logging.dictConfig for the server: JSON lines on stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "omscds.interfaces.api.guards.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            },
        },
        "loggers": {
            "omscds": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: str = typer.Option("127.0.0.1", help="Interface to bind (local mode: loopback)."),
        port: int = typer.Option(8000, min=0, max=65535, help="TCP port."),
        insecure_dev: bool = typer.Option(
            False,
            "--insecure-dev",
            help="Skip CDS Hooks JWT verification (local demos only; never with patient data).",
        ),
        log_level: str = typer.Option("info", help="Log level."),
    ) -> None:
        """Serve the page, REST API, FHIR $assess and CDS Hooks (settings: OMSCDS_* variables)."""
        import secrets

        import uvicorn  # heavy imports stay inside the command: `omscds --help` stays fast

        from omscds.errors import InputError
        from omscds.interfaces.api import Settings, create_app
        from omscds.interfaces.api.app import INSECURE_WARNING

        try:
            settings = Settings(insecure_dev=True) if insecure_dev else Settings()
            if settings.auth_mode == "local" and settings.local_token is None:
                settings = settings.model_copy(update={"local_token": secrets.token_urlsafe(32)})
            settings.check_bind(host)
        except ValueError as exc:  # pydantic ValidationError: a bad OMSCDS_* variable
            raise InputError(f"bad OMSCDS_* setting: {exc}") from None
        if settings.insecure_dev:
            err_console.print(f"[bold red]WARNING[/bold red]: {INSECURE_WARNING}")
        elif not settings.cds_trusted_issuers:
            err_console.print(
                "[yellow]note[/yellow]: OMSCDS_CDS_TRUSTED_ISSUERS is empty, so every CDS Hooks "
                "call will be refused (401)."
            )
        app = create_app(settings)
        if settings.auth_mode == "local":
            shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
            url = f"http://{shown}:{port}/login?token={settings.local_token}"
            # stdout, alone on its line, so that scripts can read it; the token is never logged
            print(f"omscds is serving on http://{shown}:{port}\nopen: {url}", flush=True)
            err_console.print(
                "API clients: send [bold]Authorization: Bearer <token>[/bold] "
                "(the token in the URL above)."
            )
        else:
            err_console.print(f"OpenID Connect login at {settings.oidc_issuer}")
        logging.config.dictConfig(log_config(log_level))
        sys.stdout.flush()
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=log_level,
            access_log=False,
            log_config=log_config(log_level),
        )
