"""Message catalogues (gettext via Babel): a translation is a data file under ``locale/``.

``locale/messages.pot`` is extracted with ``pybabel extract -F babel.cfg`` (see docs/web.md);
each language has ``locale/<lang>/LC_MESSAGES/messages.po`` and its compiled ``.mo``.
"""

from __future__ import annotations

import gettext
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.support import Translations

__all__ = ["DEFAULT_LANGUAGE", "LOCALE_DIR", "available_languages", "get_translations", "negotiate"]

LOCALE_DIR = Path(__file__).with_name("locale")
DEFAULT_LANGUAGE = "en"


def available_languages() -> list[str]:
    """Languages with a compiled catalogue, sorted."""
    return sorted(p.parent.parent.name for p in LOCALE_DIR.glob("*/LC_MESSAGES/messages.mo"))


@lru_cache(maxsize=16)
def get_translations(lang: str = DEFAULT_LANGUAGE) -> gettext.NullTranslations:
    """The catalogue for ``lang`` (falls back to the English source strings)."""
    translations = Translations.load(str(LOCALE_DIR), [lang, DEFAULT_LANGUAGE], "messages")
    return translations


def negotiate(wanted: str | None, accept_language: str | None = None) -> str:
    """Pick a language: an explicit ``wanted`` code, else the Accept-Language header, else English.

    >>> negotiate(None, "de-CH,de;q=0.9,en;q=0.8")
    'en'
    >>> negotiate("xx")
    'en'
    """
    have = available_languages() or [DEFAULT_LANGUAGE]
    candidates: list[str] = []
    if wanted:
        candidates.append(wanted)
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip()
        if code and code != "*":
            candidates.append(code)
    for code in candidates:
        try:
            loc = Locale.parse(code.replace("-", "_"))
        except (ValueError, UnknownLocaleError):
            continue
        for option in (str(loc), loc.language):
            if option in have:
                return option
    return DEFAULT_LANGUAGE
