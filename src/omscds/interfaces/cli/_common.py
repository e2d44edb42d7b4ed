"""Shared helpers of the CLI: reading case files, loading the knowledge base, printing errors."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from omscds.errors import InputError, OmscdsError

if TYPE_CHECKING:  # the knowledge base (pydantic schemas) loads only when a command needs it
    from rich.progress import Progress

    from omscds.knowledge import KnowledgeBase

__all__ = [
    "err_console",
    "load_kb",
    "out_console",
    "print_error",
    "progress_bar",
    "read_document",
]

out_console = Console(highlight=False, soft_wrap=True)  # reports are never hard-wrapped
err_console = Console(stderr=True, highlight=False)


def progress_bar(*, transient: bool) -> Progress:
    """The progress bar of long commands (imaging batch, registry reassess), on stderr."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=transient,
    )


def load_kb(directory: str | None = None) -> KnowledgeBase:
    """The knowledge base, its parsed files kept in the user's cache directory
    (``$XDG_CACHE_HOME/omscds``, else ``~/.cache/omscds``): half a cold start is YAML parsing."""
    from omscds.knowledge import load_knowledge

    return load_knowledge(directory, cache_dir=cache_dir())


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "omscds"


def read_document(path: str) -> Any:
    """Read JSON or YAML from a file (by extension, else by content) or from stdin for ``-``."""
    name = "<stdin>" if path == "-" else path
    if path == "-":
        text = sys.stdin.read()
    else:
        p = Path(path)
        if not p.exists():
            raise InputError("no such file", path=name)
        if p.is_dir():
            raise InputError(f"is a directory, not a case file: {path}", path=name)
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise InputError("not UTF-8 text (is this a case file?)", path=name) from None
    if not text.strip():
        raise InputError("the file is empty", path=name)
    from omscds.model.strict import loads_json, loads_yaml

    suffix = Path(path).suffix.lower() if path != "-" else ""
    try:
        if suffix == ".json" or (
            suffix not in (".yaml", ".yml") and text.lstrip().startswith(("{", "["))
        ):
            return loads_json(text)
        return loads_yaml(text)
    except InputError as exc:
        # keep the field path; the file name is printed by print_error's source prefix
        raise InputError(exc.message, path=exc.path or name, errors=exc.errors) from None


def print_error(exc: OmscdsError, source: str | None = None) -> None:
    """One line per problem: ``file: field.path: message``. Never a traceback."""
    prefix = f"{source}: " if source else ""
    if isinstance(exc, InputError) and len(exc.errors) > 1:
        for path, msg in exc.errors:
            err_console.print(
                f"[red]error[/red]: {prefix}{path}: {msg}", markup=True, soft_wrap=True
            )
    else:
        text = str(exc)
        if source and isinstance(exc, OmscdsError) and exc.path == source:
            text = exc.message  # the path is the file itself: say it once
        err_console.print(f"[red]error[/red]: {prefix}{text}", markup=True, soft_wrap=True)
