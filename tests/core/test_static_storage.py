"""Production's static storage minifies this project's CSS and JavaScript, and only those, before hashing."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

from django.contrib.staticfiles import finders
from django.core.files.storage import FileSystemStorage

from core.static_storage import MinifiedStaticFilesStorage, minify

OURS = ["css/coachbench.css", "js/player.js", "js/shortcuts.js"]
THEIRS = ["django_htmx/htmx-2.min.js", "admin/js/core.js"]


def _collect(tmp_path: Path) -> MinifiedStaticFilesStorage:
    """What collectstatic does for these files: copy them to STATIC_ROOT, then post-process."""
    storage = MinifiedStaticFilesStorage(location=tmp_path, base_url="/static/")
    paths = {}
    for name in OURS + THEIRS:
        source = Path(finders.find(name))
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, tmp_path / name)
        paths[name] = (FileSystemStorage(location=source.parent), source.name)
    for _name, _hashed, processed in storage.post_process(paths):
        assert not isinstance(processed, Exception), processed
    return storage


def test_our_css_and_javascript_are_served_minified_under_their_hashed_names(tmp_path):
    storage = _collect(tmp_path)
    for name in OURS:
        source = Path(finders.find(name))
        served = (tmp_path / storage.stored_name(name)).read_text(encoding="utf-8")
        assert served == minify(source)
        assert len(served) < 0.9 * source.stat().st_size, name
        assert "/*" not in served, f"{name} still carries comments"
        # WhiteNoise's compressed copy is of the minified file too.
        compressed = tmp_path / (storage.stored_name(name) + ".gz")
        assert gzip.decompress(compressed.read_bytes()).decode() == served


def test_third_party_files_are_served_as_their_authors_built_them(tmp_path):
    storage = _collect(tmp_path)
    for name in THEIRS:
        assert (tmp_path / storage.stored_name(name)).read_bytes() == Path(finders.find(name)).read_bytes(), name


def test_a_changed_source_gets_a_new_hashed_name(tmp_path):
    first = _collect(tmp_path / "one").stored_name("js/player.js")
    again = _collect(tmp_path / "two").stored_name("js/player.js")
    assert first == again  # same source, same name: browsers keep their cached copy
    assert first != "js/player.js"
