"""One exception tree for omscds.

::

    OmscdsError                 root: interfaces catch this and map it to an exit code,
    |                           an HTTP problem body or a FHIR OperationOutcome
    +-- InputError              a case, request or file the user gave is wrong (exit 2, HTTP 422)
    |   +-- NotFoundError       it names something that does not exist (a patient: HTTP 404)
    +-- KnowledgeError          the knowledge base is missing, malformed or inconsistent
    +-- ImagingError            an image cannot be read, or fails quality control
    +-- StorageError            the registry database cannot do what was asked
    +-- InteropError            FHIR / CDS Hooks / Phenopackets conversion failed
    |   +-- AuthError           a CDS client could not be authenticated (HTTP 401)

Every error carries context: the field path, rule id or file it is about.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AuthError",
    "ImagingError",
    "InputError",
    "InteropError",
    "KnowledgeError",
    "NotFoundError",
    "OmscdsError",
    "StorageError",
    "format_path",
]


def format_path(parts: Sequence[str | int]) -> str:
    """Render a location as ``tests[2].result``.

    >>> format_path(["tests", 2, "result"])
    'tests[2].result'
    >>> format_path([])
    '(root)'
    """
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(root)"


class OmscdsError(Exception):
    """Root of every error omscds raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class InputError(OmscdsError):
    """Bad user input. ``errors`` holds every (path, message) found, first one in ``path``."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        errors: Sequence[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(message, path=path)
        self.errors: tuple[tuple[str, str], ...] = tuple(errors or ((path or "(root)", message),))


class NotFoundError(InputError):
    """The input names something that does not exist (e.g. an unknown patient key)."""


class KnowledgeError(OmscdsError):
    """The knowledge base is invalid (bad file, unknown source id, missing citation)."""


class ImagingError(OmscdsError):
    """An image cannot be read or quantified, or failed quality control."""

    exit_code = 2


class StorageError(OmscdsError):
    """The registry cannot complete an operation."""


class InteropError(OmscdsError):
    """A FHIR, CDS Hooks or Phenopacket document could not be converted."""

    exit_code = 2


class AuthError(InteropError):
    """A caller could not be authenticated."""
