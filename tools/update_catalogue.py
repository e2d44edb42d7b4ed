"""Regenerate the web message catalogue from the sources (English: msgstr = msgid).

    .venv/bin/python tools/update_catalogue.py

Runs ``pybabel extract`` as docs/web.md says, then updates every language's ``.po`` (new
English entries read as their msgid; other languages keep their translations and show new
entries untranslated, which the catalogue test reports) and compiles the ``.mo`` files.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

PKG = Path(__file__).resolve().parents[1] / "src" / "omscds"
LOCALE = PKG / "interfaces" / "web" / "locale"


def main() -> int:
    pot = LOCALE / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).with_name("pybabel")),
            "-q",
            "extract",
            "-F",
            "interfaces/web/babel.cfg",
            "-k",
            "N_",
            "-k",
            "tr",
            "--no-location",
            "--sort-output",
            "--omit-header",
            "-o",
            str(pot),
            ".",
        ],
        cwd=PKG,
        check=True,
    )
    with pot.open("rb") as fh:
        template = read_po(fh)
    for po in sorted(LOCALE.glob("*/LC_MESSAGES/messages.po")):
        lang = po.parts[-3]
        with po.open("rb") as fh:
            cat = read_po(fh, locale=lang)
        cat.update(template, no_fuzzy_matching=True, update_header_comment=False)
        cat.obsolete.clear()
        for m in cat:
            empty = not (any(m.string) if isinstance(m.string, tuple) else m.string)
            if lang == "en" and m.id and empty:
                m.string = m.id
            m.flags.discard("fuzzy")
        cat.fuzzy = False
        with po.open("wb") as fh:
            write_po(fh, cat, no_location=True, sort_output=True, include_previous=False)
        with po.with_suffix(".mo").open("wb") as fh:
            write_mo(fh, cat)
        print(f"{po.relative_to(PKG)}: {len(cat)} messages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
