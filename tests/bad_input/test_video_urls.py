"""http(s) videos limited to VIDEO_ALLOWED_URL_PREFIXES: no manifest can make the server fetch an internal address."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from retrieval_backend.importing.locations import LocationError, VideoLocator
from retrieval_backend.models import Video

PREFIXES = ["https://videos.example.org/gallery/", "http://media.example.org:8080"]

REFUSED = [
    "http://127.0.0.1:6379/",  # an internal service
    "http://169.254.169.254/latest/meta-data/",  # a cloud metadata service
    "http://localhost/admin.mp4",
    "https://videos.example.org/other/a.mp4",  # the right host, a path outside the prefix
    "https://videos.example.org/gallery/../private/a.mp4",
    "https://videos.example.org/gallery/%2e%2e/private/a.mp4",
    "https://videos.example.org.evil.net/gallery/a.mp4",  # a host that only starts like the allowed one
    "https://videos.example.org@evil.net/gallery/a.mp4",  # user info that looks like the host
    "http://videos.example.org/gallery/a.mp4",  # another scheme
    "https://videos.example.org:8443/gallery/a.mp4",  # another port
    "http://media.example.org/a.mp4",  # the allowed host without its port
]

ALLOWED = [
    "https://videos.example.org/gallery/a.mp4",
    "https://VIDEOS.example.org/gallery/sub/b.mp4?sig=1",
    "http://media.example.org:8080/anything/c.mp4",
]


@pytest.mark.parametrize("url", REFUSED)
def test_a_url_outside_the_allowed_prefixes_is_refused_naming_them(tmp_path: Path, url):
    with pytest.raises(LocationError, match="not under the addresses videos may come from") as refused:
        VideoLocator(tmp_path, [], PREFIXES).locate(url)
    assert "VIDEO_ALLOWED_URL_PREFIXES: https://videos.example.org/gallery/" in str(refused.value)


@pytest.mark.parametrize("url", ALLOWED)
def test_a_url_under_an_allowed_prefix_is_accepted(tmp_path: Path, url):
    assert VideoLocator(tmp_path, [], PREFIXES).locate(url).is_remote


@pytest.mark.django_db
def test_an_import_with_an_internal_address_imports_nothing(tmp_path: Path, settings):
    settings.VIDEO_ALLOWED_URL_PREFIXES = PREFIXES
    manifest = tmp_path / "gallery.jsonl"
    lines = [ALLOWED[0], REFUSED[1]]
    manifest.write_text(
        "".join(
            json.dumps({"video": url, "sport": "golf", "clips": [{"id": f"c{n}", "start": 0, "end": 1}]}) + "\n"
            for n, url in enumerate(lines)
        )
    )
    with pytest.raises(CommandError) as refused:
        call_command("import_gallery", str(manifest), "--probe", "none", stdout=StringIO(), stderr=StringIO())
    assert "\n2: video: 'http://169.254.169.254/latest/meta-data/' is not under" in str(refused.value)
    assert not Video.objects.exists()
