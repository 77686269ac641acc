"""Import a gallery manifest: one source video a line, with its demonstration clips and narrations.

A video is the same row again when its external id, its file, or (once probed)
its content's sha256 matches; a clip when its id matches. So re-importing a
manifest changes nothing, and re-importing it with edited narrations updates
just those clips.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import timezone

from retrieval_backend.importing.bulk import RowWriter, db_datetime, select_in
from retrieval_backend.importing.importer import ImportConflict, ManifestImport, seconds
from retrieval_backend.importing.manifest import GalleryEntry, ManifestLine, parse_gallery_line
from retrieval_backend.importing.report import Issue
from retrieval_backend.importing.videos import (
    DURATION_SLACK_S,
    VIDEO_INSERTS,
    VIDEO_WRITTEN,
    KnownVideos,
    ProbeMode,
    VideoRow,
    apply_probe,
    describe,
    ensure_sports,
    with_files,
)
from retrieval_backend.models import Clip, Sport, Video
from retrieval_backend.video.probe import VideoInfo

# Statements the second pass runs once per batch, for all the batch's rows.
_VIDEO_UPDATES = RowWriter(Video, [*VIDEO_WRITTEN, "updated"])
# A clip's content, in the order compared and written; its key and video come first when read.
_CLIP_CONTENT = ["start_s", "end_s", "skill", "narration", "sport_id"]
_CLIP_KEYED = ["external_id", "video_id", *_CLIP_CONTENT]
_CLIPS = RowWriter(Clip, ["video_id", "external_id", *_CLIP_CONTENT, "created", "updated"])
_CLIP_UPDATES = RowWriter(Clip, [*_CLIP_CONTENT, "updated"])


@dataclass
class _Match:
    """Which existing video a line is, if any, and why it can't be (a conflict with the gallery)."""

    video: VideoRow | None = None
    conflicts: list[tuple[str, str]] = field(default_factory=list)


class GalleryImport(ManifestImport[GalleryEntry]):
    what = "videos"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Only these sets live for the whole run: the line each id was first seen on.
        self._video_ids: dict[str, int] = {}
        self._uris: dict[str, int] = {}
        self._shas: dict[str, int] = {}
        self._clip_ids: dict[str, int] = {}
        self._sport_slugs: set[str] = set()
        self._sports: dict[str, Sport] = {}
        self._to_probe_later: list[int] = []

    def parse(self, line: ManifestLine) -> tuple[GalleryEntry | None, list[Issue]]:
        return parse_gallery_line(line, self.locator)

    # --- first pass -------------------------------------------------------------

    def check_batch(self, entries: list[GalleryEntry]) -> None:
        for entry in entries:
            self._check_duplicates(entry)
        usable = with_files(entries, self.fail)
        known = KnownVideos.fetch((e.external_id for e in entries if e.external_id), (e.location.uri for e in usable))
        matches = {e.line: self._match(e, known, sha=None) for e in usable}
        infos = self._probe(usable, matches)
        unmatched = [e for e in usable if matches[e.line].video is None and e.line in infos]
        if unmatched:
            by_sha = KnownVideos.fetch(shas=(infos[e.line].sha256 for e in unmatched))
            for entry in unmatched:
                matches[entry.line] = self._match(entry, by_sha, sha=infos[entry.line].sha256)
        for entry in usable:
            for field_name, message in matches[entry.line].conflicts:
                self.fail(entry.line, field_name, message)
            self._check_segments(entry, matches[entry.line].video, infos.get(entry.line))
        self._check_clips_against_gallery(entries, matches)

    def _check_duplicates(self, entry: GalleryEntry) -> None:
        if entry.sport:
            self._sport_slugs.add(entry.sport)
        if entry.external_id:
            first = self._video_ids.setdefault(entry.external_id, entry.line)
            if first != entry.line:
                self.fail(entry.line, "external_id", f"'{entry.external_id}' is already used on line {first}")
        if entry.location:
            first = self._uris.setdefault(entry.location.uri, entry.line)
            if first != entry.line:
                self.fail(
                    entry.line,
                    "video",
                    f"{entry.location.uri} is already the video of line {first}; "
                    "give each video one line, with all its clips",
                )
        on_this_line: set[str] = set()
        for clip in entry.clips:
            if not clip.external_id:
                continue
            if clip.external_id in on_this_line:
                self.fail(entry.line, f"{clip.path}.id", f"'{clip.external_id}' is used twice on this line")
                continue
            on_this_line.add(clip.external_id)
            first = self._clip_ids.setdefault(clip.external_id, entry.line)
            if first != entry.line:
                self.fail(entry.line, f"{clip.path}.id", f"'{clip.external_id}' is already used on line {first}")

    def _probe(self, usable: list[GalleryEntry], matches: dict[int, _Match]) -> dict[int, VideoInfo]:
        """Probe the files that need it (new, moved or not yet probed); the durations of the rest come from rows."""
        infos: dict[int, VideoInfo] = {}
        if self.options.probe != ProbeMode.SYNC:
            return infos
        for entry in usable:
            video = matches[entry.line].video
            assert entry.location is not None
            if video and video.probe_status == Video.ProbeStatus.OK and video.source_uri == entry.location.uri:
                sha = video.sha256  # probed before, unchanged path: its row knows the content
            else:
                info, error = self.probes.probe(entry.location)
                if error:
                    self.fail(entry.line, "video", error)
                    continue
                assert info is not None
                infos[entry.line] = info
                sha = info.sha256
            if not sha:
                continue
            first = self._shas.setdefault(sha, entry.line)
            if first != entry.line:
                self.fail(
                    entry.line,
                    "video",
                    f"has the same content (sha256 {sha[:12]}...) as the video on line {first}; "
                    "give each video one line",
                )
        return infos

    def _match(self, entry: GalleryEntry, known: KnownVideos, sha: str | None) -> _Match:
        assert entry.location is not None
        uri, ext = entry.location.uri, entry.external_id
        match = _Match()
        if ext and ext in known.by_external_id:
            match.video = known.by_external_id[ext]
            other = known.by_uri.get(uri)
            if other is not None and other.pk != match.video.pk:
                match.conflicts.append(
                    ("video", f"{uri} is already in the gallery as another video, {describe(other)}")
                )
        elif uri in known.by_uri:
            match.video = known.by_uri[uri]
            if ext and match.video.external_id and match.video.external_id != ext:
                match.conflicts.append(
                    (
                        "external_id",
                        f"'{ext}' differs from the external id of this file in the gallery, "
                        f"'{match.video.external_id}'; use that id or another file",
                    )
                )
        elif sha and sha in known.by_sha:
            # The same content under a new path: the file moved, the row follows it.
            match.video = known.by_sha[sha]
            if ext and match.video.external_id and match.video.external_id != ext:
                match.conflicts.append(
                    (
                        "video",
                        f"the same content (sha256 {sha[:12]}...) is already in the gallery as {describe(match.video)}",
                    )
                )
        return match

    def _check_segments(self, entry: GalleryEntry, video: VideoRow | None, info: VideoInfo | None) -> None:
        duration = info.duration_s if info else None
        if duration is None and video is not None and entry.location and video.source_uri == entry.location.uri:
            duration = video.duration_s if video.probe_status == Video.ProbeStatus.OK else None
        if duration is None:
            return  # not probed (--probe none/async): the worker checks it later
        for clip in entry.clips:
            if clip.start_s is not None and clip.start_s >= duration:
                self.fail(
                    entry.line,
                    f"{clip.path}.start",
                    f"{seconds(clip.start_s)} is past the video's end ({duration:.1f} s)",
                )
            elif clip.end_s is not None and clip.end_s > duration + DURATION_SLACK_S:
                self.fail(
                    entry.line, f"{clip.path}.end", f"{seconds(clip.end_s)} is past the video's end ({duration:.1f} s)"
                )

    def _check_clips_against_gallery(self, entries: list[GalleryEntry], matches: dict[int, _Match]) -> None:
        ids = [c.external_id for e in entries for c in e.clips if c.external_id]
        owner_of = dict(select_in(Clip, ["external_id", "video_id"], "external_id", ids))
        conflicts = []
        for entry in entries:
            match = matches.get(entry.line)
            if match is None:
                continue  # the line's video is unusable; that error is reported already
            video_id = match.video.pk if match.video else None
            conflicts += [
                (entry, clip, owner_of[clip.external_id])
                for clip in entry.clips
                if clip.external_id in owner_of and owner_of[clip.external_id] != video_id
            ]
        if not conflicts:
            return
        owners = {
            row[0]: row
            for row in Video.objects.filter(id__in={c[2] for c in conflicts}).values_list(
                "id", "external_id", "source_uri"
            )
        }
        for entry, clip, owner_id in conflicts:
            _, ext, uri = owners[owner_id]
            name = f"'{ext}' ({uri})" if ext else uri
            self.fail(
                entry.line,
                f"{clip.path}.id",
                f"'{clip.external_id}' already belongs to another video in the gallery, {name}; "
                "clip ids must be unique across the gallery",
            )

    # --- second pass ------------------------------------------------------------

    def before_write(self) -> None:
        self._sports = ensure_sports(self._sport_slugs)

    def write_batch(self, entries: list[GalleryEntry]) -> None:
        now = timezone.now()
        stamp = db_datetime(now)
        infos = {e.line: self.probes.get(e.location.uri) for e in entries if e.location}
        known = KnownVideos.fetch(
            (e.external_id for e in entries if e.external_id),
            (e.location.uri for e in entries if e.location),
            (info.sha256 for info in infos.values() if info),
        )
        new_rows: dict[int, VideoRow] = {}
        changed: list[VideoRow] = []
        moved_sport: list[VideoRow] = []
        video_of: dict[int, VideoRow] = {}
        for entry in entries:
            info = infos.get(entry.line)
            match = self._match(entry, known, sha=info.sha256 if info else None)
            if match.conflicts:
                raise ImportConflict(Issue(entry.line, *match.conflicts[0]))
            video = match.video
            if video is None:
                video = new_rows[entry.line] = self._new_video(entry, info)
            else:
                old_sport = video.sport_id
                if self._update_video(video, entry, info):
                    changed.append(video)
                    if video.sport_id != old_sport:
                        moved_sport.append(video)
            video_of[entry.line] = video
        VIDEO_INSERTS.insert([(*row.values(VIDEO_WRITTEN), stamp, stamp) for row in new_rows.values()])
        new_ids = dict(
            Video.objects.filter(source_uri__in=[row.source_uri for row in new_rows.values()]).values_list(
                "source_uri", "id"
            )
        )
        for row in new_rows.values():
            row.id = new_ids[row.source_uri]
        _VIDEO_UPDATES.update([(*row.values(VIDEO_WRITTEN), stamp, row.id) for row in changed])
        self.count("videos new", len(new_rows))
        self.count("videos updated", len(changed))
        self.count("videos unchanged", len(entries) - len(new_rows) - len(changed))
        if self.options.probe == ProbeMode.ASYNC:
            self._to_probe_later.extend(
                v.id for v in video_of.values() if v.probe_status != Video.ProbeStatus.OK and v.id is not None
            )
        self._write_clips(entries, video_of, stamp)
        for video in moved_sport:
            # Clips carry their video's sport; those not in this manifest must follow too.
            Clip.objects.filter(video_id=video.id).exclude(sport_id=video.sport_id).update(
                sport_id=video.sport_id, updated=now
            )

    def _new_video(self, entry: GalleryEntry, info: VideoInfo | None) -> VideoRow:
        assert entry.location is not None
        assert entry.sport is not None
        video = VideoRow(
            sport_id=self._sports[entry.sport].pk,
            source_uri=entry.location.uri,
            external_id=entry.external_id,
            title=entry.title,
        )
        if info is not None:
            apply_probe(video, info)
        return video

    def _update_video(self, video: VideoRow, entry: GalleryEntry, info: VideoInfo | None) -> bool:
        """Bring an existing row in line with its manifest line; true if anything changed."""
        assert entry.location is not None
        assert entry.sport is not None
        before = video.values(VIDEO_WRITTEN)
        video.sport_id = self._sports[entry.sport].pk
        video.role = Video.Role.GALLERY.value
        if video.source_uri != entry.location.uri:
            video.source_uri = entry.location.uri
            if info is None:
                # A new file we have not looked at: its old probe says nothing about it.
                video.probe_status = Video.ProbeStatus.PENDING.value
        if entry.external_id:
            video.external_id = entry.external_id
        video.title = entry.title or video.title
        if info is not None:
            apply_probe(video, info)
        return video.values(VIDEO_WRITTEN) != before

    def _write_clips(self, entries: list[GalleryEntry], video_of: dict[int, VideoRow], stamp: object) -> None:
        ids = [c.external_id for e in entries for c in e.clips]
        existing = {values[1]: values for values in select_in(Clip, ["id", *_CLIP_KEYED], "external_id", ids)}
        new_clips: list[tuple] = []
        changed: list[tuple] = []
        for entry in entries:
            video = video_of[entry.line]
            for item in entry.clips:
                values = (item.start_s, item.end_s, item.skill, item.narration, video.sport_id)
                old = existing.get(item.external_id)
                if old is None:
                    new_clips.append((video.id, item.external_id, *values, stamp, stamp))
                    continue
                if old[2] != video.id:
                    raise ImportConflict(
                        Issue(entry.line, f"{item.path}.id", f"'{item.external_id}' now belongs to another video")
                    )
                if old[3:] != values:
                    changed.append((*values, stamp, old[0]))
        _CLIPS.insert(new_clips)
        _CLIP_UPDATES.update(changed)
        self.count("clips new", len(new_clips))
        self.count("clips updated", len(changed))
        self.count("clips unchanged", len(ids) - len(new_clips) - len(changed))

    def after_write(self) -> int | None:
        if self.options.probe != ProbeMode.ASYNC or not self._to_probe_later:
            return None
        from retrieval_backend.importing.probing import queue_probe_job

        return queue_probe_job(self._to_probe_later, manifest=str(self.path)).pk
