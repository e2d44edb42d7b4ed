"""``omscds serve``: the web page, REST API, FHIR operations and CDS Hooks under uvicorn.

Local mode (the default) binds to loopback and prints a URL carrying a random token, as Jupyter
does; opening it logs the browser in. Deployment mode (``OMSCDS_AUTH_MODE=oidc``) logs users in
at an OpenID provider. Logs are JSON lines (``omscds.access``: one per request, patient keys
hashed); uvicorn's own access log, which would print paths with patient keys, is off.

``--workers N`` (N > 1) runs N uvicorn worker processes on one socket. They share what must be
shared: the CDS JWT replay cache and key-set reads on Redis (``OMSCDS_REDIS_URL``), the
registry on PostgreSQL (SQLite is refused: one file on one host, one writer at a time), CDS
feedback in ``OMSCDS_FEEDBACK_DB``, one session secret and local token (generated here when
unset and handed to the workers), and Prometheus metrics in ``PROMETHEUS_MULTIPROC_DIR``
(a fresh directory here unless set, emptied at start, removed at exit).
"""

from __future__ import annotations

import logging
import logging.config
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from omscds.interfaces.cli._common import err_console

if TYPE_CHECKING:
    from omscds.interfaces.api import Settings

__all__ = ["check_workers", "log_config", "register"]


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


def check_workers(settings: Settings, workers: int) -> None:
    """What several workers need; ValueError naming what is missing.

    >>> from omscds.interfaces.api import Settings
    >>> check_workers(Settings(), 1)
    >>> check_workers(Settings(redis_url=None), 2)
    Traceback (most recent call last):
    ...
    ValueError: 2 workers share state: set OMSCDS_REDIS_URL (the CDS replay cache)
    """
    if workers == 1:
        return
    from omscds.storage.database import resolve_url

    if not settings.redis_url:
        raise ValueError(f"{workers} workers share state: set OMSCDS_REDIS_URL (the CDS replay "
                         "cache)")  # fmt: skip
    if not resolve_url(settings.database_url).startswith("postgresql"):
        raise ValueError(
            f"{workers} workers need the registry on PostgreSQL (OMSCDS_DATABASE_URL="
            "postgresql://...): a SQLite file lives on one host and takes one writer at a time"
        )
    if not settings.feedback_db:
        raise ValueError(f"{workers} workers need OMSCDS_FEEDBACK_DB (a SQLite file or a "
                         "postgresql:// URL they all write CDS feedback to); in memory, each "
                         "would refuse the others' cards")  # fmt: skip


def _metrics_dir(given: str | None) -> tuple[str, bool]:
    """The multiprocess metrics directory (emptied) and whether we made it."""
    if given:
        for stale in Path(given).glob("*.db"):
            stale.unlink()
        return given, False
    return tempfile.mkdtemp(prefix="omscds-metrics-"), True


def _run_workers(settings: Settings, host: str, port: int, workers: int, log_level: str) -> None:
    import uvicorn

    metrics_dir, made = _metrics_dir(settings.prometheus_multiproc_dir)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir  # read by each worker's import
    try:
        uvicorn.run(
            "omscds.interfaces.api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            access_log=False,
            log_config=log_config(log_level),
        )
    finally:
        if made:
            shutil.rmtree(metrics_dir, ignore_errors=True)


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
        workers: int = typer.Option(
            1,
            min=1,
            max=64,
            help="Worker processes; more than 1 needs OMSCDS_REDIS_URL, a PostgreSQL "
            "OMSCDS_DATABASE_URL and OMSCDS_FEEDBACK_DB (docs/deployment.md).",
        ),
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
            check_workers(settings, workers)
        except ValueError as exc:  # pydantic ValidationError: a bad OMSCDS_* variable
            raise InputError(f"bad OMSCDS_* setting: {exc}") from None
        if settings.insecure_dev:
            err_console.print(f"[bold red]WARNING[/bold red]: {INSECURE_WARNING}")
        elif not settings.cds_trusted_issuers:
            err_console.print(
                "[yellow]note[/yellow]: OMSCDS_CDS_TRUSTED_ISSUERS is empty, so every CDS Hooks "
                "call will be refused (401)."
            )
        if workers > 1:
            # every worker builds its app from the environment: hand them one token and one
            # session secret (a cookie signed by one worker must be read by the others)
            if settings.local_token:
                os.environ["OMSCDS_LOCAL_TOKEN"] = settings.local_token
            if settings.session_secret is None:
                os.environ["OMSCDS_SESSION_SECRET"] = secrets.token_urlsafe(32)
            if settings.insecure_dev:
                os.environ["OMSCDS_INSECURE_DEV"] = "1"
        # built here even when workers build their own: a setting only the app checks (FHIR
        # servers, the knowledge base) fails now, once, not in a loop of restarted workers
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
        if workers > 1:
            err_console.print(f"{workers} workers, shared state on Redis")
            _run_workers(settings, host, port, workers, log_level)
            return
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=log_level,
            access_log=False,
            log_config=log_config(log_level),
        )
