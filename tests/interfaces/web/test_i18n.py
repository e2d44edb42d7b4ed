"""The message catalogue: the .pot matches the sources, every language covers it, the .mo is
compiled from the .po it ships with."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from omscds.interfaces.web.i18n import (
    LOCALE_DIR,
    available_languages,
    get_translations,
    negotiate,
)

PKG = Path(LOCALE_DIR).parents[2]  # src/omscds


def _key(value: object) -> object:
    """A message id or string; plural forms (tuples in a .po, lists in a .mo) as tuples."""
    return tuple(value) if isinstance(value, list | tuple) else value


def _ids(catalog: object) -> set[object]:
    return {_key(m.id) for m in catalog if m.id}  # type: ignore[attr-defined]


def test_pot_is_up_to_date(tmp_path: Path) -> None:
    out = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-c", "from babel.messages.frontend import main; main()", "-q", "extract", "-F",
         str(PKG / "interfaces/web/babel.cfg"), "-k", "N_", "-k", "tr", "--no-location",
         "--sort-output", "--omit-header", "-o", str(out), "."],
        cwd=PKG, check=True, capture_output=True,
    )  # fmt: skip
    fresh = _ids(read_po(io.BytesIO(out.read_bytes())))
    shipped = _ids(read_po(io.BytesIO((LOCALE_DIR / "messages.pot").read_bytes())))
    assert fresh == shipped, "re-run pybabel extract (see docs/web.md)"
    assert "Download PDF (case as entered)" in shipped


def test_every_language_translates_every_message_and_mo_matches_po() -> None:
    pot = _ids(read_po(io.BytesIO((LOCALE_DIR / "messages.pot").read_bytes())))
    assert "en" in available_languages()
    for lang in available_languages():
        folder = LOCALE_DIR / lang / "LC_MESSAGES"
        po = read_po(io.BytesIO((folder / "messages.po").read_bytes()))
        mo = read_mo(io.BytesIO((folder / "messages.mo").read_bytes()))
        done = {
            _key(m.id) for m in po if m.id and all(_key(m.string) if m.pluralizable else [m.string])
        }
        assert pot <= done, f"{lang}: untranslated messages"
        assert {_key(m.id): _key(m.string) for m in po if m.id} == {
            _key(m.id): _key(m.string) for m in mo if m.id
        }


def test_translations_and_negotiation() -> None:
    assert get_translations("en").gettext("Download PDF") == "Download PDF"
    assert negotiate("en") == "en"
    assert negotiate(None, "fr-FR,fr;q=0.9") == "en"  # no French catalogue: English
    assert negotiate("not a language!") == "en"
