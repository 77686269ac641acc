"""Celery tasks of the gallery and retrieval app.

Tasks are thin: they take ids, re-read rows, and call a service function. Chunked
work goes through ``core.jobs.run_chunk`` so that it is claimed once
and resumable. Queues are chosen by name in ``CELERY_TASK_ROUTES``: ``embed_*``
run on ``gpu``, ``render_*`` on ``render``, everything else on ``default``.
"""

from __future__ import annotations

from celery import shared_task

from core.jobs import TRANSIENT_ERRORS, run_chunk


@shared_task(autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=5)
def render_clips_chunk(chunk_id: int) -> str:
    """Render one chunk of clips and query segments ahead of time (queue ``render``, by its name)."""
    from retrieval_backend.prerender import render_chunk

    return run_chunk(chunk_id, render_chunk)


@shared_task(bind=True, max_retries=None, acks_late=True)
def generate_candidates_chunk(self, chunk_id: int) -> str:
    """Generate the candidate sets of one chunk of queries for one method (queue ``default``).

    While the method's index is building the task comes back later instead of
    holding a worker; database hiccups are retried a few times.
    """
    # Imported here so that processes which only queue tasks never load the ranking stack.
    from retrieval_backend.candidates.generation import INDEX_POLL_S, IndexStillBuilding, run_generation_chunk

    try:
        return run_generation_chunk(chunk_id, waited_s=self.request.retries * INDEX_POLL_S)
    except IndexStillBuilding as waiting:
        raise self.retry(countdown=waiting.countdown_s) from None
    except TRANSIENT_ERRORS as exc:
        raise self.retry(exc=exc, countdown=min(60, 2 ** (self.request.retries + 1)), max_retries=5) from exc


@shared_task(autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=5)
def probe_videos_chunk(chunk_id: int) -> str:
    """Probe one chunk of imported videos (``import_gallery --probe async``; queue ``default``)."""
    from retrieval_backend.importing.probing import probe_videos

    return run_chunk(chunk_id, probe_videos)


@shared_task(autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=5)
def embed_clips_chunk(chunk_id: int) -> str:
    """Embed one chunk of gallery clips into a ``.npy`` shard (queue ``gpu``, by its name)."""
    from retrieval_backend.embedding import embed_chunk

    return run_chunk(chunk_id, embed_chunk)


@shared_task(autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=5)
def assemble_embedding_index(job_id: int) -> str:
    """Assemble an embedding job's shards into a FAISS index and mark it ready (queue ``default``)."""
    from retrieval_backend.embedding import assemble_index

    return assemble_index(job_id)


@shared_task(autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=5)
def import_manifest_chunk(chunk_id: int) -> str:
    """Import a manifest of any kind (gallery, queries, candidates) uploaded through the API (queue ``default``)."""
    from retrieval_backend.importing.upload_jobs import import_chunk

    return run_chunk(chunk_id, import_chunk)


@shared_task
def requeue_stalled_chunks() -> int:
    """Beat, every five minutes: chunks left ``running`` by a dead worker are queued again."""
    from core.jobs import requeue_stalled_chunks as requeue

    return requeue()


@shared_task
def prune_index_files() -> str:
    """Beat, every six hours: superseded index files and finished builds' shards are removed (pruning.py)."""
    from retrieval_backend.pruning import prune_index_files as prune

    report = prune()
    return f"removed {len(report.removed)} paths, {report.bytes_freed / 1e6:.1f} MB"
