"""Render clips and query segments ahead of time on the ``render`` queue.

Rendering on first request works, but the first coach to open a clip waits a
second or two, and a study opening to fifty coaches at once would put all those
renders on the web servers. A researcher renders the study's clips beforehand
instead: ``manage.py render_clips`` creates a chunked ``Job`` whose chunks run
as ``render_clips_chunk`` tasks. A segment that cannot be rendered is recorded on
the job with its reason and the rest carry on; a segment already in the cache
is not rendered again, so re-running the command only fills the gaps.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain, islice
from typing import Any

from django.db.models import QuerySet

from core.jobs import ChunkResult, create_chunked_job
from core.models import Job, JobChunk
from retrieval_backend.models import Clip, MistakeQuery
from retrieval_backend.playback import SegmentStorageFull, SegmentUnavailable, render_segment_for

RENDER_TASK = "retrieval_backend.tasks.render_clips_chunk"
JOB_KIND = "render_clips"
# About a minute of work per chunk for typical 5-10 s clips: long enough that task
# overhead is negligible, short enough that a killed worker loses little.
DEFAULT_CHUNK_SIZE = 25


def queue_rendering(
    clips: QuerySet[Clip],
    queries: QuerySet[MistakeQuery] | None = None,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    params: dict[str, Any] | None = None,
) -> Job:
    """Create a job rendering every clip (and query segment) selected; chunks are queued on commit."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    n_clips = clips.count()
    n_queries = queries.count() if queries is not None else 0
    payloads: Iterator[dict[str, list[int]]] = _payloads("clips", clips, chunk_size)
    if queries is not None:
        payloads = chain(payloads, _payloads("queries", queries, chunk_size))
    return create_chunked_job(
        JOB_KIND,
        payloads,
        task=RENDER_TASK,
        total=n_clips + n_queries,
        params={**(params or {}), "clips": n_clips, "queries": n_queries},
    )


def _payloads(key: str, rows: QuerySet, chunk_size: int) -> Iterator[dict[str, list[int]]]:
    # Ordered by video so that one chunk opens each source file as few times as possible.
    ids = rows.order_by("video_id", "start_s", "id").values_list("id", flat=True).iterator(chunk_size=2000)
    while batch := list(islice(ids, chunk_size)):
        yield {key: batch}


def render_chunk(chunk: JobChunk) -> ChunkResult:
    """Render the clips and query segments named by one chunk; per-segment problems become job errors.

    Rows deleted since the job was created have nothing left to render and count as done.
    """
    result = ChunkResult()
    clip_ids = chunk.payload.get("clips", [])
    query_ids = chunk.payload.get("queries", [])
    clips = Clip.objects.filter(id__in=clip_ids).select_related("video").order_by("video_id", "start_s")
    queries = MistakeQuery.objects.filter(id__in=query_ids).select_related("video").order_by("video_id", "start_s")
    found = 0
    for kind, row in [*(("clip", c) for c in clips), *(("query", q) for q in queries)]:
        found += 1
        try:
            render_segment_for(row.video, row.start_s, row.end_s)
        except SegmentStorageFull:
            raise  # every later segment would fail too: the chunk fails, and resuming after freeing space redoes it
        except SegmentUnavailable as exc:
            result.errors.append({"item": f"{kind} {row.external_id}", "error": exc.reason})
        else:
            result.done += 1
    result.done += len(clip_ids) + len(query_ids) - found
    return result
