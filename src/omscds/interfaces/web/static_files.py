"""The page's static files, served by the web router itself (every asset local, no CDN)."""

from __future__ import annotations

from pathlib import Path

from omscds.reports.html import TEMPLATES_DIR

__all__ = ["STATIC_DIR", "static_path"]

STATIC_DIR = Path(__file__).with_name("static")

#: the only files served: name -> path (no directory traversal possible)
_FILES: dict[str, Path] = {
    "app.js": STATIC_DIR / "app.js",
    "style.css": STATIC_DIR / "style.css",
    "report.css": TEMPLATES_DIR / "report.css",
}


def static_path(name: str) -> Path | None:
    """The file served as ``/static/<name>``, or None."""
    return _FILES.get(name)
