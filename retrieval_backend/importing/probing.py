"""Probing imported videos on Celery workers (``--probe async``), for galleries too large for one process.

The import writes the rows as ``pending`` and queues a chunked job; each chunk
probes a few videos and fills in their metadata. A video PyAV can't read is
marked ``failed`` with the reason, recorded as an error on the job, and the
chunk carries on with the next one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.utils import timezone

from core.jobs import ChunkResult, create_chunked_job
from core.models import Job, JobChunk
from retrieval_backend.importing.videos import DURATION_SLACK_S, PROBED_FIELDS, apply_probe, describe
from retrieval_backend.models import Video
from retrieval_backend.video.errors import VideoError
from retrieval_backend.video.probe import probe

PROBE_JOB_KIND = "probe_videos"
PROBE_TASK = "retrieval_backend.tasks.probe_videos_chunk"
# Videos per chunk: small enough that a chunk stays well inside the task time limit at the probe timeout.
VIDEOS_PER_CHUNK = 20
# Clips past a video's end reported per video; the rest are counted in the message.
_LATE_CLIPS_SHOWN = 5


def queue_probe_job(video_ids: list[int], *, manifest: str = "") -> Job:
    """Create the probing job; its chunks are queued when the surrounding transaction commits."""

    def payloads() -> Iterator[dict[str, Any]]:
        for start in range(0, len(video_ids), VIDEOS_PER_CHUNK):
            yield {"video_ids": video_ids[start : start + VIDEOS_PER_CHUNK]}

    return create_chunked_job(
        PROBE_JOB_KIND,
        payloads(),
        task=PROBE_TASK,
        total=len(video_ids),
        params={"manifest": manifest},
    )


def probe_videos(chunk: JobChunk) -> ChunkResult:
    """Probe a chunk's videos, saving what PyAV reports; one bad file is an error, not a failed chunk.

    Re-running a chunk probes its videos again and writes the same values, so a
    redelivered task is harmless.
    """
    result = ChunkResult()
    ids = chunk.payload.get("video_ids", [])
    for video in Video.objects.filter(id__in=ids):
        try:
            info = probe(video.source_uri, timeout_s=settings.VIDEO_PROBE_TIMEOUT_S)
        except VideoError as exc:
            Video.objects.filter(pk=video.pk).update(
                probe_status=Video.ProbeStatus.FAILED, probe_error=str(exc), updated=timezone.now()
            )
            result.errors.append({"item": f"video {describe(video)}", "error": str(exc)})
        else:
            apply_probe(video, info)
            video.updated = timezone.now()
            video.save(update_fields=[*PROBED_FIELDS, "updated"])
            late = _clips_past_the_end(video, info.duration_s)
            if late:
                result.errors.append({"item": f"video {describe(video)}", "error": late})
    # Videos deleted since the import count as done too: there is nothing left to probe.
    result.done = len(ids)
    return result


def _clips_past_the_end(video: Video, duration_s: float) -> str:
    """Clips imported unchecked (the video was not probed then) that end after the video does."""
    late = list(
        video.clips.filter(end_s__gt=duration_s + DURATION_SLACK_S).values_list("external_id", "end_s")[
            : _LATE_CLIPS_SHOWN + 1
        ]
    )
    if not late:
        return ""
    shown = ", ".join(f"{clip_id} ends at {end_s!r} s" for clip_id, end_s in late[:_LATE_CLIPS_SHOWN])
    more = " and more" if len(late) > _LATE_CLIPS_SHOWN else ""
    return f"clips end past the video's end ({duration_s:.1f} s): {shown}{more}; fix them in the manifest"
