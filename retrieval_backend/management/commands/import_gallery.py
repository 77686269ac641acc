"""``manage.py import_gallery FILE.jsonl``: import source videos and their demonstration clips."""

from __future__ import annotations

from retrieval_backend.importing.command import VideoManifestCommand
from retrieval_backend.importing.gallery import GalleryImport


class Command(VideoManifestCommand):
    help = (
        "Import a gallery manifest, one video a line: "
        '{"video": "videos/abc.mp4", "sport": "basketball", "title": "...", "external_id": "yt:abc", '
        '"clips": [{"id": "abc-1", "start": 12.5, "end": 19.0, "skill": "jump shot", "narration": "..."}]}. '
        "Every problem is reported as LINE: FIELD: what is wrong, and with any problem nothing is imported "
        "(unless --skip-invalid). Re-importing the same manifest changes nothing."
    )
    importer_class = GalleryImport
    summary_groups = [
        ("videos", ["videos new", "videos updated", "videos unchanged"]),
        ("clips", ["clips new", "clips updated", "clips unchanged"]),
    ]
