"""omscds: decision support for opsoclonus-myoclonus syndrome and its occult tumour.

omscds supports clinical decisions; it does not diagnose.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
