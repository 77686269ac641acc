"""Import mistake queries: one a line, a segment of a recording, what is wrong in it, known helpful clips.

Several queries may be segments of one recording, so a video file named on many
lines is one row. A query is the same row again when its id matches; its
positives must name clips already in the gallery (import the gallery first).
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from retrieval_backend.importing.bulk import RowWriter, db_datetime
from retrieval_backend.importing.importer import WRITE_BATCH_ROWS, ImportConflict, ManifestImport, seconds
from retrieval_backend.importing.manifest import ManifestLine, QueryEntry, parse_query_line
from retrieval_backend.importing.report import Issue
from retrieval_backend.importing.videos import (
    DURATION_SLACK_S,
    PROBED_FIELDS,
    VIDEO_INSERTS,
    VIDEO_WRITTEN,
    KnownVideos,
    ProbeMode,
    VideoRow,
    apply_probe,
    ensure_sports,
    with_files,
)
from retrieval_backend.models import Clip, MistakeQuery, Sport, Video
from retrieval_backend.video.probe import VideoInfo

_PROBED = RowWriter(Video, [*PROBED_FIELDS, "updated"])
QUERY_FIELDS = ["video", "sport", "skill", "start_s", "end_s", "mistake", "updated"]
Positive = MistakeQuery.positives.through


class QueryImport(ManifestImport[QueryEntry]):
    what = "queries"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._query_ids: dict[str, int] = {}
        self._sport_slugs: set[str] = set()
        self._sports: dict[str, Sport] = {}
        self._to_probe_later: set[int] = set()
        # Existing recordings named by the manifest, and those this run updated; a recording may span batches.
        self._known_videos: set[int] = set()
        self._updated_videos: set[int] = set()

    def parse(self, line: ManifestLine) -> tuple[QueryEntry | None, list[Issue]]:
        return parse_query_line(line, self.locator)

    # --- first pass -------------------------------------------------------------

    def check_batch(self, entries: list[QueryEntry]) -> None:
        for entry in entries:
            if entry.sport:
                self._sport_slugs.add(entry.sport)
            if entry.external_id:
                first = self._query_ids.setdefault(entry.external_id, entry.line)
                if first != entry.line:
                    self.fail(entry.line, "id", f"'{entry.external_id}' is already used on line {first}")
        usable = with_files(entries, self.fail)
        known = KnownVideos.fetch(uris=(e.location.uri for e in usable))
        infos = self._probe(usable, known)
        by_sha = KnownVideos.fetch(shas=(info.sha256 for info in infos.values()))
        videos: dict[int, VideoRow | None] = {}
        for entry in usable:
            info = infos.get(entry.line)
            video = self._video_for(entry, known, by_sha, info)
            videos[entry.line] = video
            self._check_segment(entry, video, info)
        self._check_existing_queries(entries, videos)
        self._check_positives(entries)

    def _probe(self, usable: list[QueryEntry], known: KnownVideos) -> dict[int, VideoInfo]:
        infos: dict[int, VideoInfo] = {}
        if self.options.probe != ProbeMode.SYNC:
            return infos
        for entry in usable:
            assert entry.location is not None
            video = known.by_uri.get(entry.location.uri)
            if video is not None and video.probe_status == Video.ProbeStatus.OK:
                continue
            info, error = self.probes.probe(entry.location)
            if error:
                self.fail(entry.line, "video", error)
            elif info is not None:
                infos[entry.line] = info
        return infos

    @staticmethod
    def _video_for(
        entry: QueryEntry, known: KnownVideos, by_sha: KnownVideos, info: VideoInfo | None
    ) -> VideoRow | None:
        """The existing row of this line's recording: the same file, or (once probed) the same content."""
        assert entry.location is not None
        video = known.by_uri.get(entry.location.uri)
        if video is None and info is not None:
            video = by_sha.by_sha.get(info.sha256)
        return video

    def _check_segment(self, entry: QueryEntry, video: VideoRow | None, info: VideoInfo | None) -> None:
        duration = info.duration_s if info else None
        if duration is None and video is not None and video.probe_status == Video.ProbeStatus.OK:
            duration = video.duration_s
        if duration is None:
            return
        if entry.start_s is not None and entry.start_s >= duration:
            self.fail(entry.line, "start", f"{seconds(entry.start_s)} is past the video's end ({duration:.1f} s)")
        elif entry.end_s is not None and entry.end_s > duration + DURATION_SLACK_S:
            self.fail(entry.line, "end", f"{seconds(entry.end_s)} is past the video's end ({duration:.1f} s)")

    def _check_existing_queries(self, entries: list[QueryEntry], videos: dict[int, VideoRow | None]) -> None:
        ids = [e.external_id for e in entries if e.external_id]
        existing = {
            query_id: (video_id, uri)
            for query_id, video_id, uri in MistakeQuery.objects.filter(external_id__in=ids).values_list(
                "external_id", "video_id", "video__source_uri"
            )
        }
        for entry in entries:
            if entry.external_id not in existing or entry.line not in videos:
                continue
            video_id, uri = existing[entry.external_id]
            video = videos[entry.line]
            if video is None or video.pk != video_id:
                self.fail(
                    entry.line,
                    "id",
                    f"'{entry.external_id}' is already a mistake query on another recording ({uri}); "
                    "give this one a new id",
                )

    def _check_positives(self, entries: list[QueryEntry]) -> None:
        wanted = {clip_id for e in entries for _, clip_id in e.positives}
        found = set(Clip.objects.filter(external_id__in=wanted).values_list("external_id", flat=True))
        for entry in entries:
            for index, clip_id in entry.positives:
                if clip_id not in found:
                    self.fail(
                        entry.line,
                        f"positives[{index}]",
                        f"no clip '{clip_id}' in the gallery; import the gallery first or fix the id",
                    )

    # --- second pass ------------------------------------------------------------

    def before_write(self) -> None:
        self._sports = ensure_sports(self._sport_slugs)

    def write_batch(self, entries: list[QueryEntry]) -> None:
        now = timezone.now()
        video_of = self._write_videos(entries, now)
        existing = {
            q.external_id: q for q in MistakeQuery.objects.filter(external_id__in=[e.external_id for e in entries])
        }
        clip_ids = dict(
            Clip.objects.filter(external_id__in={c for e in entries for _, c in e.positives}).values_list(
                "external_id", "id"
            )
        )
        current = self._current_positives([q.pk for q in existing.values()])
        new_queries: list[tuple[MistakeQuery, set[int]]] = []
        changed: list[MistakeQuery] = []
        replaced: dict[int, set[int]] = {}
        for entry in entries:
            wanted = set()
            for index, clip_id in entry.positives:
                if clip_id not in clip_ids:
                    raise ImportConflict(Issue(entry.line, f"positives[{index}]", f"clip '{clip_id}' was deleted"))
                wanted.add(clip_ids[clip_id])
            video = video_of[entry.line]
            assert entry.sport is not None
            values = {
                "video_id": video.pk,
                "sport_id": self._sports[entry.sport].pk,
                "skill": entry.skill,
                "start_s": entry.start_s,
                "end_s": entry.end_s,
                "mistake": entry.mistake,
            }
            query = existing.get(entry.external_id)
            if query is None:
                new_queries.append((MistakeQuery(external_id=entry.external_id, **values), wanted))
                continue
            if query.video_id != video.pk:
                raise ImportConflict(Issue(entry.line, "id", f"'{entry.external_id}' now belongs to another recording"))
            fields_changed = any(getattr(query, name) != value for name, value in values.items())
            positives_changed = current.get(query.pk, set()) != wanted
            if fields_changed or positives_changed:
                for name, value in values.items():
                    setattr(query, name, value)
                query.updated = now
                changed.append(query)
            if positives_changed:
                replaced[query.pk] = wanted
        MistakeQuery.objects.bulk_create([q for q, _ in new_queries], batch_size=WRITE_BATCH_ROWS)
        MistakeQuery.objects.bulk_update(changed, QUERY_FIELDS, batch_size=WRITE_BATCH_ROWS)
        Positive.objects.filter(mistakequery_id__in=list(replaced)).delete()
        links = [Positive(mistakequery_id=q.pk, clip_id=c) for q, wanted in new_queries for c in wanted]
        links += [Positive(mistakequery_id=q, clip_id=c) for q, wanted in replaced.items() for c in wanted]
        Positive.objects.bulk_create(links, batch_size=WRITE_BATCH_ROWS)
        self.count("queries new", len(new_queries))
        self.count("queries updated", len(changed))
        self.count("queries unchanged", len(entries) - len(new_queries) - len(changed))

    def _write_videos(self, entries: list[QueryEntry], now: datetime) -> dict[int, VideoRow]:
        """The recording row of each line: found by file or content, else created (once per file)."""
        stamp = db_datetime(now)
        infos = {e.line: self.probes.get(e.location.uri) for e in entries if e.location}
        known = KnownVideos.fetch(uris=(e.location.uri for e in entries if e.location))
        by_sha = KnownVideos.fetch(shas=(i.sha256 for i in infos.values() if i))
        created: dict[str, VideoRow] = {}
        probed: dict[int, VideoRow] = {}
        video_of: dict[int, VideoRow] = {}
        for entry in entries:
            assert entry.location is not None
            assert entry.sport is not None
            uri, info = entry.location.uri, infos.get(entry.line)
            video = created.get(uri) or self._video_for(entry, known, by_sha, info)
            if video is None:
                video = VideoRow(sport_id=self._sports[entry.sport].pk, role=Video.Role.QUERY.value, source_uri=uri)
                if info is not None:
                    apply_probe(video, info)
                created[uri] = video
            elif video.id is not None:
                if info is not None and video.probe_status != Video.ProbeStatus.OK:
                    apply_probe(video, info)
                    probed[video.id] = video
                self._known_videos.add(video.id)
            video_of[entry.line] = video
        VIDEO_INSERTS.insert([(*row.values(VIDEO_WRITTEN), stamp, stamp) for row in created.values()])
        for uri, video_id in Video.objects.filter(source_uri__in=list(created)).values_list("source_uri", "id"):
            created[uri].id = video_id
        _PROBED.update([(*row.values(PROBED_FIELDS), stamp, row.id) for row in probed.values()])
        self.count("videos new", len(created))
        self._updated_videos.update(probed)
        if self.options.probe == ProbeMode.ASYNC:
            self._to_probe_later.update(
                v.id for v in video_of.values() if v.probe_status != Video.ProbeStatus.OK and v.id is not None
            )
        return video_of

    @staticmethod
    def _current_positives(query_ids: list[int]) -> dict[int, set[int]]:
        current: dict[int, set[int]] = {}
        for query_id, clip_id in Positive.objects.filter(mistakequery_id__in=query_ids).values_list(
            "mistakequery_id", "clip_id"
        ):
            current.setdefault(query_id, set()).add(clip_id)
        return current

    def after_write(self) -> int | None:
        self.count("videos updated", len(self._updated_videos))
        self.count("videos unchanged", len(self._known_videos - self._updated_videos))
        if self.options.probe != ProbeMode.ASYNC or not self._to_probe_later:
            return None
        from retrieval_backend.importing.probing import queue_probe_job

        return queue_probe_job(sorted(self._to_probe_later), manifest=str(self.path)).pk
