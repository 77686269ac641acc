"""The shipped translations are complete: a coach reading Spanish never meets an English string.

The first tests read the .po and .mo files in plain Python and always run. The last one
extracts the strings marked in the coach's templates, code and scripts (as
``manage.py coach_messages`` does) and needs GNU gettext, which a CI machine may lack.
"""

from __future__ import annotations

import gettext
import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings

from annotations.coach.catalog import DOMAINS, SHIPPED_LANGUAGES, catalog_path, extract
from tests.i18n.po_files import messages, read_po

ROOT = Path(settings.BASE_DIR)
CATALOGS = [(language, domain) for language in SHIPPED_LANGUAGES for domain in DOMAINS]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdr]|%[sd]")
FIX = "translate it in {po} (no empty msgstr, no '#, fuzzy'), then run `manage.py coach_messages`"


@pytest.mark.parametrize(("language", "domain"), CATALOGS)
def test_every_message_of_a_shipped_language_is_translated(language, domain):
    po = catalog_path(ROOT / "locale", language, domain)
    assert po.exists(), f"{po} is missing: run `manage.py coach_messages`"
    entries = messages(po)
    assert entries, f"{po} has no messages"
    untranslated = [entry.msgid for entry in entries if not entry.translated]
    fuzzy = [entry.msgid for entry in entries if "fuzzy" in entry.flags]
    assert not untranslated, f"untranslated in {po}: {untranslated}; " + FIX.format(po=po)
    assert not fuzzy, f"fuzzy (unchecked) in {po}: {fuzzy}; " + FIX.format(po=po)


@pytest.mark.parametrize(("language", "domain"), CATALOGS)
def test_translations_keep_every_placeholder(language, domain):
    po = catalog_path(ROOT / "locale", language, domain)
    for entry in messages(po):
        wanted = sorted(PLACEHOLDER.findall(entry.msgid_plural or entry.msgid))
        for form, text in entry.msgstr.items():
            assert sorted(PLACEHOLDER.findall(text)) == wanted, f"{po}: {entry.msgid!r} form {form!r}: {text!r}"


@pytest.mark.parametrize(("language", "domain"), CATALOGS)
def test_the_compiled_catalog_is_the_po_file(language, domain):
    po = catalog_path(ROOT / "locale", language, domain)
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing: run `manage.py compilemessages` and commit it"
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog  # what Django reads at run time
    expected: dict[object, str] = {}
    for entry in messages(po):
        if entry.msgid_plural:
            expected.update({(entry.msgid, int(form)): text for form, text in entry.msgstr.items()})
        else:
            expected[entry.msgid] = entry.msgstr[""]
    compiled = {key: text for key, text in compiled.items() if key != ""}
    assert compiled == expected, f"{mo} is older than {po}: run `manage.py compilemessages` and commit it"


def test_every_coach_string_marked_in_the_code_is_in_the_shipped_catalogs(tmp_path):
    missing = [tool for tool in ("xgettext", "msgmerge", "msguniq") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"GNU gettext is not installed ({', '.join(missing)} not found): can't extract the strings")
    extracted = extract(ROOT, tmp_path)
    for language, domain in CATALOGS:
        shipped = catalog_path(ROOT / "locale", language, domain)
        fresh = catalog_path(extracted, language, domain)
        in_code = {entry.key for entry in messages(fresh)} if fresh.exists() else set()
        in_catalog = {entry.key for entry in messages(shipped)}
        assert in_code - in_catalog == set(), f"marked in the code, not in {shipped}: run `manage.py coach_messages`"
        assert in_catalog - in_code == set(), f"in {shipped}, no longer in the code: run `manage.py coach_messages`"
        # Merged with the shipped translations: a changed string comes back empty or fuzzy.
        untranslated = [entry.msgid for entry in messages(fresh) if not entry.translated or "fuzzy" in entry.flags]
        assert not untranslated, f"changed in the code since {shipped} was translated: {untranslated}"
    assert read_po(catalog_path(extracted, SHIPPED_LANGUAGES[0], "django"))[0].msgid == ""  # the header stays
