"""``manage.py coach_messages``: bring the coach's message catalogs up to date with the code and compile them."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management import BaseCommand, call_command

from annotations.coach.catalog import DOMAINS, SHIPPED_LANGUAGES, catalog_path, extract


class Command(BaseCommand):
    help = (
        "Update locale/<language>/LC_MESSAGES/django.po and djangojs.po from the coach-facing templates, "
        "code and scripts, then compile the .mo files. Needs GNU gettext (xgettext, msgmerge, msgfmt). "
        "Translate the new and fuzzy entries it reports, then run it again and commit the .po and .mo files."
    )

    def handle(self, *args, **options) -> None:
        root = Path(settings.BASE_DIR)
        with tempfile.TemporaryDirectory(prefix="coach-messages-") as workdir:
            extracted = extract(root, Path(workdir))
            for language in SHIPPED_LANGUAGES:
                for domain in DOMAINS:
                    source = catalog_path(extracted, language, domain)
                    if source.exists():
                        target = catalog_path(root / "locale", language, domain)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(source, target)
                        self.stdout.write(f"updated {target.relative_to(root)}")
        call_command("compilemessages", locale=list(SHIPPED_LANGUAGES), verbosity=0)
        self.stdout.write("compiled the .mo files; translate any empty or fuzzy entries and run this again")
