"""The video side of an import: does the file exist, what does PyAV say about it, which row is it already.

Shared by the gallery and the query importers. Probing is the slow part of an
import, so each file is probed at most once per run and its result kept until
the rows are written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from retrieval_backend.importing.bulk import RowWriter, select_in
from retrieval_backend.importing.locations import VideoLocation
from retrieval_backend.models import Sport, Video
from retrieval_backend.video.errors import VideoError
from retrieval_backend.video.probe import VideoInfo, probe

# Containers round durations; a clip may end this far past the reported end.
DURATION_SLACK_S = 0.05


class ProbeMode:
    SYNC = "sync"
    NONE = "none"
    ASYNC = "async"
    CHOICES = (SYNC, NONE, ASYNC)


def with_files(entries: list, fail) -> list:
    """The entries whose video file can be used; ``fail(line, field, message)`` is told of each that can't."""
    usable = []
    for entry in entries:
        if entry.location is None:
            continue
        problem = missing_file(entry.location, entry.video_text or "")
        if problem:
            fail(entry.line, "video", problem)
        else:
            usable.append(entry)
    return usable


def missing_file(location: VideoLocation, written: str) -> str | None:
    """Why a local video can't be used before even opening it (missing, a folder), or ``None``.

    A stat per video is cheap even at gallery scale, so it runs in every probe
    mode: a typo in a path is the most common manifest error.
    """
    if location.is_remote:
        return None
    try:
        if os.path.isdir(location.uri):
            return f"{location.uri} is a folder, not a video file"
        os.stat(location.uri)
    except FileNotFoundError:
        hint = "" if os.path.isabs(written) else " (relative paths start at the manifest's folder)"
        return f"no such file: {location.uri}{hint}"
    except OSError as exc:
        return f"cannot read {location.uri}: {exc.strerror or exc}"
    return None


class VideoProbes:
    """Probe results of this import run, by location: each file is opened once, even if many lines name it."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.infos: dict[str, VideoInfo] = {}
        self.failures: dict[str, str] = {}

    def probe(self, location: VideoLocation) -> tuple[VideoInfo | None, str | None]:
        uri = location.uri
        if uri in self.infos:
            return self.infos[uri], None
        if uri in self.failures:
            return None, self.failures[uri]
        try:
            info = probe(uri, timeout_s=self.timeout_s)
        except VideoError as exc:
            self.failures[uri] = str(exc)
            return None, str(exc)
        self.infos[uri] = info
        return info, None

    def get(self, uri: str) -> VideoInfo | None:
        return self.infos.get(uri)


@dataclass(slots=True)
class VideoRow:
    """An existing video's columns, light enough to hold a batch of thousands (no model instances)."""

    id: int | None = None
    sport_id: int | None = None
    role: str = Video.Role.GALLERY.value
    source_uri: str = ""
    external_id: str | None = None
    title: str = ""
    sha256: str = ""
    size_bytes: int | None = None
    duration_s: float | None = None
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    codec: str = ""
    has_audio: bool = False
    frame_count: int | None = None
    probe_status: str = Video.ProbeStatus.PENDING.value
    probe_error: str = ""

    @property
    def pk(self) -> int | None:
        return self.id

    def values(self, fields: list[str]) -> tuple:
        return tuple(getattr(self, name) for name in fields)


# Every column a VideoRow holds, in order; the written ones are all but the id.
VIDEO_COLUMNS = list(VideoRow.__dataclass_fields__)
VIDEO_WRITTEN = VIDEO_COLUMNS[1:]

PROBED_FIELDS = list(Video.PROBED_FIELDS)
# New videos, inserted a batch at a time by the gallery and the query imports.
VIDEO_INSERTS = RowWriter(Video, [*VIDEO_WRITTEN, "created", "updated"])


def apply_probe(video: Video | VideoRow, info: VideoInfo) -> None:
    """Copy what a probe found onto a video (a model instance or a row; not saved)."""
    video.sha256 = info.sha256
    video.size_bytes = info.size_bytes
    video.duration_s = info.duration_s
    video.fps = info.fps
    video.width = info.width
    video.height = info.height
    video.codec = info.codec
    video.has_audio = info.has_audio
    video.frame_count = info.frame_count
    video.probe_status = Video.ProbeStatus.OK.value
    video.probe_error = ""


def describe(video: Video | VideoRow) -> str:
    """How a message names an existing video: its external id when it has one, else its file."""
    return f"'{video.external_id}' ({video.source_uri})" if video.external_id else video.source_uri


@dataclass
class KnownVideos:
    """The existing rows a batch of lines can refer to, looked up in two queries, not one per line."""

    by_external_id: dict[str, VideoRow]
    by_uri: dict[str, VideoRow]
    by_sha: dict[str, VideoRow]

    @classmethod
    def fetch(cls, external_ids: Iterable[str] = (), uris: Iterable[str] = (), shas: Iterable[str] = ()) -> KnownVideos:
        ids, paths, contents = set(external_ids), set(uris), set(shas) - {""}
        known = cls({}, {}, {})
        for values in select_in(Video, VIDEO_COLUMNS, "external_id", ids):
            row = VideoRow(*values)
            known.by_external_id[row.external_id] = row
        for values in select_in(Video, VIDEO_COLUMNS, "source_uri", paths):
            # One row object per video, whichever key found it, so a change made through one is seen by the other.
            row = known.by_external_id.get(values[VIDEO_COLUMNS.index("external_id")]) or VideoRow(*values)
            known.by_uri[row.source_uri] = row
        # Oldest first wins among several rows of one content.
        for values in sorted(select_in(Video, VIDEO_COLUMNS, "sha256", contents), reverse=True):
            row = VideoRow(*values)
            known.by_sha[row.sha256] = row
        return known


def ensure_sports(slugs: Iterable[str]) -> dict[str, Sport]:
    """The sports with these slugs, creating the missing ones (named after the slug) in one insert."""
    wanted = set(slugs)
    sports = {sport.slug: sport for sport in Sport.objects.filter(slug__in=wanted)}
    missing = [Sport(slug=slug, name=sport_name(slug)) for slug in sorted(wanted - sports.keys())]
    if missing:
        Sport.objects.bulk_create(missing, ignore_conflicts=True)
        sports = {sport.slug: sport for sport in Sport.objects.filter(slug__in=wanted)}
    return sports


def sport_name(slug: str) -> str:
    """``ice-hockey`` -> ``Ice Hockey``: a readable name until an administrator writes a better one."""
    return slug.replace("-", " ").replace("_", " ").title()
