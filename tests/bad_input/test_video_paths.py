"""Video paths that try to leave the allowed folders, or are not paths at all: refused, each saying why."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from retrieval_backend.importing.locations import LocationError, VideoLocator
from retrieval_backend.models import Clip, Video
from retrieval_backend.video.synthetic import write_synthetic_video

OUTSIDE = [
    ("../../etc/passwd", "outside the folders videos may come from"),
    ("videos/../../../../etc/passwd", "outside the folders videos may come from"),
    ("/etc/passwd", "outside the folders videos may come from"),
    ("link-out.mp4", "outside the folders videos may come from"),  # a symbolic link to /etc/hostname
    ("linked-folder/hostname", "outside the folders videos may come from"),  # through a linked folder
    ("file:///etc/passwd", "file:// URLs are not supported"),
    ("FILE:///etc/passwd", "FILE:// URLs are not supported"),
    ("file:/etc/passwd", "file: URLs are not supported"),
    ("ftp://example.org/a.mp4", "ftp:// URLs are not supported"),
    ("javascript:alert(document.cookie)", "javascript: URLs are not supported"),
    ("data:video/mp4;base64,AAAAIGZ0eXA=", "data: URLs are not supported"),
    ("rtsp://camera.local/stream", "rtsp:// URLs are not supported"),
    ("concat:/etc/passwd|/etc/hosts", "concat: URLs are not supported"),
    ("https:///no-host.mp4", "is not a URL with a host name"),
    ("http://[::1/a.mp4", "is not a valid URL"),
    ("videos/" + "a" * 1100 + ".mp4", "the limit is 1024"),
]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An allowed folder holding one real video, a link pointing out of it and a linked folder."""
    folder = tmp_path / "allowed"
    write_synthetic_video(folder / "videos" / "good.mp4", seconds=1)
    (folder / "link-out.mp4").symlink_to("/etc/hostname")
    (folder / "linked-folder").symlink_to("/etc", target_is_directory=True)
    return folder.resolve()


@pytest.mark.parametrize(("value", "message"), OUTSIDE, ids=[v[:40] for v, _ in OUTSIDE])
def test_the_locator_refuses_paths_outside_the_roots_and_other_schemes(root, value, message):
    with pytest.raises(LocationError, match=message.replace("(", r"\(").replace("/", "/")):
        VideoLocator(root, [root]).locate(value)


def test_paths_inside_the_roots_still_work_and_a_colon_can_be_written_as_dot_slash(root):
    locator = VideoLocator(root, [root])
    assert locator.locate("videos/good.mp4").uri == str(root / "videos" / "good.mp4")
    assert locator.locate("videos/./../videos/good.mp4").uri == str(root / "videos" / "good.mp4")
    assert locator.locate("./clip:1.mp4").uri == str(root / "clip:1.mp4")
    assert locator.locate("https://cdn.example.org/a.mp4").is_remote


@pytest.mark.django_db
def test_an_import_naming_such_paths_reports_each_line_and_imports_nothing(root, settings):
    settings.VIDEO_ALLOWED_ROOTS = [root]
    values = ["videos/good.mp4", *(value for value, _ in OUTSIDE), "videos/good\u0000.mp4", "videos/\ud800.mp4"]
    manifest = root / "gallery.jsonl"
    with open(manifest, "w", encoding="utf-8") as out:
        for number, value in enumerate(values):
            line = {
                "video": value,
                "sport": "golf",
                "clips": [{"id": f"c{number}", "start": 0, "end": 1, "narration": "n"}],
            }
            out.write(json.dumps(line) + "\n")
    with pytest.raises(CommandError) as refused:
        call_command("import_gallery", str(manifest), "--probe", "none", stdout=StringIO(), stderr=StringIO())
    message = str(refused.value)
    assert "nothing was imported" in message
    for number, (value, reason) in enumerate(OUTSIDE, start=2):
        assert f"\n{number}: video: " in message, value
        assert reason in message
    assert f"\n{len(values) - 1}: video: contains a NUL character" in message
    assert f"\n{len(values)}: video: contains \\ud800, half of a surrogate pair" in message
    assert "\n1: " not in message
    assert not Video.objects.exists()
    assert not Clip.objects.exists()


def test_the_path_a_refusal_names_is_where_the_dots_lead_not_the_path_as_written(root):
    """The message shows where ``..`` led, so a reader sees the escape, not a harmless-looking path."""
    with pytest.raises(LocationError) as refused:
        VideoLocator(root, [root]).locate("videos/" + "../" * 40 + "etc/passwd")
    assert "resolves to /etc/passwd, outside" in str(refused.value)
