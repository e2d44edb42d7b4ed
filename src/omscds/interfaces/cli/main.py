"""Entry point of the ``omscds`` command. Exit status: 0 ok, 2 bad input, 1 internal error."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import typer

try:  # typer >= 0.20 vendors its own copy of click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as click_exceptions  # type: ignore[no-redef]

from omscds import __version__
from omscds.errors import OmscdsError
from omscds.interfaces.cli._common import err_console, print_error

__all__ = ["SUBCOMMANDS", "build_app", "main"]

#: modules of omscds.interfaces.cli that each define ``register(app)``; heavy imports stay lazy
SUBCOMMANDS: tuple[str, ...] = (
    "assess",
    "validate",
    "kb",
    "schema",
    "serve",
    "imaging",
    "report",
    "registry",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"omscds {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="omscds",
        help="Decision support for opsoclonus-myoclonus syndrome and its occult tumour. "
        "It supports decisions; it does not diagnose.",
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Print the version."
        ),
    ) -> None:
        """omscds command line."""

    for name in SUBCOMMANDS:
        importlib.import_module(f"omscds.interfaces.cli.{name}").register(app)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    app = build_app()
    try:
        result = typer.main.get_command(app).main(
            args=args, prog_name="omscds", standalone_mode=False
        )
    except click_exceptions.ClickException as exc:
        exc.show()
        return 2
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        return 130
    except OmscdsError as exc:
        print_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last line of defence: no traceback for users
        err_console.print(f"[red]internal error[/red]: {type(exc).__name__}: {exc}")
        err_console.print("please report this with the input that caused it")
        return 1
    return int(result) if isinstance(result, int) else 0


if __name__ == "__main__":
    raise SystemExit(main())
