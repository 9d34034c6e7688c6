"""Build hook: compile the gettext catalogues into the package before it is built.

`passport/web/translations/{locale}/LC_MESSAGES/messages.po` are the sources (committed); the
`.mo` files flask-babel reads are made here, for a wheel, an sdist build and an editable
install alike, so no compiled catalogue is ever committed or hand-made. Everything else about
the build is in pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

TRANSLATIONS = Path(__file__).parent / "passport" / "web" / "translations"


def compile_catalogues() -> None:
    """Compile every `messages.po` under the translations folder to its `messages.mo`."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for source in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")):
        with source.open("rb") as handle:
            catalogue = read_po(handle, locale=source.parts[-3])
        with source.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalogue)


class BuildWithCatalogues(build_py):
    """`build_py` that compiles the catalogues first."""

    def run(self) -> None:
        compile_catalogues()
        super().run()


setup(cmdclass={"build_py": BuildWithCatalogues})
