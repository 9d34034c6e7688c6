"""Keep the message catalogues in step with the code: extract, merge, report what is missing.

    .venv/bin/python scripts/translations.py          # update messages.pot and every .po
    .venv/bin/python scripts/translations.py --check  # exit 1 if a message lacks a translation

Messages are extracted from `passport/web` (Python: `_`, `gettext`, `_l`; Jinja templates)
into `passport/web/translations/messages.pot`; each `{locale}/LC_MESSAGES/messages.po` keeps
its translations, drops messages no longer used and gets the new ones, untranslated, listed
on stderr. The build compiles the `.po` files (setup.py); nothing here writes a `.mo`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "passport" / "web"
FOLDER = SOURCE / "translations"
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}


def extracted() -> Catalog:
    """Return every message the code and templates use."""
    with (ROOT / "babel.cfg").open() as handle:
        methods, options = parse_mapping_cfg(handle)
    template = Catalog(project="passport-ledger")
    for _name, _line, message, _comments, _context in extract_from_dir(
        SOURCE, methods, options, keywords=KEYWORDS
    ):
        template.add(message)
    return template


def merged(template: Catalog, po: Path) -> tuple[Catalog, list[str]]:
    """Return the catalogue at `po` made to hold exactly the template's messages."""
    with po.open("rb") as handle:
        old = {m.id: m.string for m in read_po(handle) if m.id}
    locale = po.parts[-3]
    catalogue = Catalog(locale=locale, project="passport-ledger", language_team=locale)
    missing = []
    for message in template:
        if not message.id:
            continue
        translation = old.get(message.id, "")
        if not translation:
            missing.append(str(message.id))
        catalogue.add(message.id, translation)
    return catalogue, missing


def main() -> int:
    """Update (or with --check, only check) the catalogues."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    args = parser.parse_args()
    template = extracted()
    status = 0
    if not args.check:
        with (FOLDER / "messages.pot").open("wb") as handle:
            write_po(handle, template, width=100, sort_output=True, omit_header=True)
    for po in sorted(FOLDER.glob("*/LC_MESSAGES/messages.po")):
        catalogue, missing = merged(template, po)
        for message in missing:
            print(f"{po.relative_to(ROOT)}: no translation for {message!r}", file=sys.stderr)
        status |= bool(missing)
        if not args.check:
            with po.open("wb") as handle:
                write_po(handle, catalogue, width=100, sort_output=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
