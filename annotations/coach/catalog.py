"""Which files hold the coach's strings, and extracting them into message catalogs.

The coach's pages are translated; the researcher's admin and API are not (yet), so
Django's ``makemessages`` over the whole project would fill the catalogs with
strings no translator needs. ``extract`` copies only the coach-facing files into a
folder of its own and runs ``makemessages`` there, merging the catalogs already
shipped. The ``coach_messages`` command writes the result back to ``locale/``; the
tests run the same extraction to find a coach string that a shipped catalog lacks.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterable
from pathlib import Path

from django.core.management import call_command
from django.test.utils import override_settings

# Relative to the project root. Every string marked for translation in these is on a coach's screen.
COACH_SOURCES = (
    "annotations/coach/**/*.py",
    "annotations/models.py",  # the labels of answers and flags on "My answers"
    "studies/models.py",  # a study's status, on its instructions page
    "templates/_base.html",
    "templates/_messages.html",
    "templates/503.html",
    "templates/annotations/**/*.html",
    "templates/registration/*.html",
    "static/js/*.js",
)
# Languages shipped complete; English is the source language and needs no catalog.
SHIPPED_LANGUAGES = ("es",)
# Django's domain for templates and Python; djangojs for the scripts, served by JavaScriptCatalog.
DOMAINS = {"django": ["html", "txt", "py"], "djangojs": ["js"]}


def coach_sources(root: Path) -> list[Path]:
    """The coach-facing files under ``root``, relative to it, sorted (stable catalogs)."""
    found = {path.relative_to(root) for pattern in COACH_SOURCES for path in root.glob(pattern) if path.is_file()}
    return sorted(found)


def catalog_path(locale_dir: Path, language: str, domain: str) -> Path:
    return locale_dir / language / "LC_MESSAGES" / f"{domain}.po"


def extract(root: Path, workdir: Path, languages: Iterable[str] = SHIPPED_LANGUAGES) -> Path:
    """Extract the coach's strings of ``root`` into catalogs under ``workdir/locale``; return that folder.

    Each catalog starts from the one shipped in ``root/locale``, so translations are kept,
    changed strings come back fuzzy and strings no longer used are dropped. Needs GNU
    gettext's ``xgettext`` and ``msgmerge`` (``makemessages`` says so when they are missing).
    """
    languages = list(languages)
    for relative in coach_sources(root):
        target = workdir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / relative, target)
    locale_dir = workdir / "locale"
    for language in languages:
        for domain in DOMAINS:
            shipped = catalog_path(root / "locale", language, domain)
            if shipped.exists():
                copy = catalog_path(locale_dir, language, domain)
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(shipped, copy)
    locale_dir.mkdir(exist_ok=True)
    # makemessages searches the current folder and writes to the first of LOCALE_PATHS.
    with contextlib.chdir(workdir), override_settings(LOCALE_PATHS=[locale_dir]):
        for domain, extensions in DOMAINS.items():
            call_command(
                "makemessages",
                locale=languages,
                domain=domain,
                extensions=extensions,
                no_obsolete=True,
                add_location="file",
                verbosity=0,
            )
    return locale_dir
