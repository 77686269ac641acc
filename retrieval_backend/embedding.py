"""Clip embeddings as chunked jobs, and the FAISS index assembled from them.

``ensure_index(method)`` compares the method's newest ready index with the
gallery. Same clips: nothing to do. New clips only: a job embeds just those and
the finalize step adds them to a copy of the old index (a new index version).
Clips removed: the whole gallery is embedded again, as the old vectors can no
longer be trusted to be the gallery. Meanwhile the old index keeps serving.

Chunks run on the ``gpu`` queue and write ``.npy`` shards under
``EMBEDDING_ROOT/<method>/<index version>/``, one pair per chunk, via temp
files and ``os.replace``: a re-run chunk rewrites the same shard. A clip whose
video cannot be decoded is a per-item error on the job; the others go on.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction

from core.jobs import ChunkResult, create_chunked_job, fail_job, finish_job, resume_job
from core.models import Job, JobChunk
from retrieval_backend.methods import ClipItem, Encoded, RetrievalBackend, get_backend
from retrieval_backend.models import Clip, EmbeddingIndex, RetrievalMethod
from retrieval_backend.search import ClipIndex

logger = logging.getLogger(__name__)

EMBED_JOB_KIND = "embed_clips"
CHUNK_TASK = "retrieval_backend.tasks.embed_clips_chunk"
FINALIZE_TASK = "retrieval_backend.tasks.assemble_embedding_index"
_ID_BATCH = 5000


class EmbeddingError(Exception):
    """An embedding job cannot go on; the message says what to fix."""


def index_key(method: RetrievalMethod, backend: RetrievalBackend) -> str:
    """What an index's vectors depend on: the method's version, the backend's embedding parameters, the index kind."""
    return f"{method.version}-{backend.embedding_key()}-{backend.params['index']}"


def indexes_for_key(method: RetrievalMethod, key: str):
    return EmbeddingIndex.objects.filter(method=method, version__startswith=f"{key}.")


def ready_index(method: RetrievalMethod, backend: RetrievalBackend) -> EmbeddingIndex | None:
    """The newest ready index built with the method's current parameters."""
    key = index_key(method, backend)
    return indexes_for_key(method, key).filter(status=EmbeddingIndex.Status.READY).order_by("-created", "-pk").first()


def gallery_clip_ids() -> np.ndarray:
    return np.fromiter(Clip.objects.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=20000), np.int64)


def clips_fingerprint(clip_ids: np.ndarray) -> str:
    """sha256 of the sorted clip ids: equal exactly when an index was built from the same clips."""
    return hashlib.sha256(np.unique(np.asarray(clip_ids, dtype=np.int64)).astype("<i8").tobytes()).hexdigest()


def embedding_job_for(index: EmbeddingIndex) -> Job | None:
    return Job.objects.filter(kind=EMBED_JOB_KIND, params__index_id=index.pk).order_by("-pk").first()


def ensure_index(method: RetrievalMethod) -> Job | None:
    """Start (or return the running) embedding job when the method's index is missing or stale; None when ready.

    A failed job for the current parameters is resumed rather than started
    again, so finished chunks are not recomputed.
    """
    backend = get_backend(method)
    if not backend.needs_index:
        return None
    key = index_key(method, backend)
    with transaction.atomic():
        # Serialise concurrent callers for one method, so they share one job.
        RetrievalMethod.objects.select_for_update().filter(pk=method.pk).first()
        building = indexes_for_key(method, key).filter(status=EmbeddingIndex.Status.BUILDING).order_by("-pk").first()
        if building is not None:
            job = embedding_job_for(building)
            if job is not None and job.status != Job.Status.DONE:
                if job.status in (Job.Status.FAILED, Job.Status.CANCELLED):
                    resume_job(job)
                    job.refresh_from_db()
                return job
            building.status = EmbeddingIndex.Status.FAILED
            building.error = "its embedding job was lost; a new one was started"
            building.save(update_fields=["status", "error", "updated"])
        gallery = gallery_clip_ids()
        ready = ready_index(method, backend)
        base: EmbeddingIndex | None = None
        todo = gallery
        if ready is not None:
            if ready.clips_fingerprint == clips_fingerprint(gallery):
                return None
            attempted = _attempted_ids(ready)
            if attempted is not None and np.isin(attempted, gallery).all():
                base, todo = ready, np.setdiff1d(gallery, attempted)
        return _start_job(method, backend, key, todo, base)


def _attempted_ids(index: EmbeddingIndex) -> np.ndarray | None:
    try:
        with np.load(Path(index.path).with_name(Path(index.path).name + ".meta.npz")) as meta:
            return meta["attempted"]
    except OSError:
        logger.warning("index %s has no readable metadata at %s; rebuilding from scratch", index.pk, index.path)
        return None


def _start_job(
    method: RetrievalMethod, backend: RetrievalBackend, key: str, todo: np.ndarray, base: EmbeddingIndex | None
) -> Job:
    builds = [v.rsplit(".", 1)[-1] for v in indexes_for_key(method, key).values_list("version", flat=True)]
    build = 1 + max((int(b) for b in builds if b.isdigit()), default=0)
    index = EmbeddingIndex.objects.create(
        method=method, version=f"{key}.{build}", kind=backend.params["index"], status=EmbeddingIndex.Status.BUILDING
    )
    size = backend.params["chunk_size"]
    payloads = ({"clip_ids": todo[i : i + size].tolist()} for i in range(0, len(todo), size))
    return create_chunked_job(
        EMBED_JOB_KIND,
        payloads,
        task=CHUNK_TASK,
        total=len(todo),
        finalize_task=FINALIZE_TASK,
        params={
            "method_id": method.pk,
            "method": method.name,
            "index_id": index.pk,
            "key": key,
            "base_index_id": base.pk if base else None,
        },
    )


# --- chunks -----------------------------------------------------------------


def shard_dir(method_name: str, version: str) -> Path:
    return Path(settings.EMBEDDING_ROOT) / method_name / version


def shard_paths(folder: Path, chunk_index: int) -> tuple[Path, Path]:
    stem = f"chunk-{chunk_index:06d}"
    return folder / f"{stem}.ids.npy", folder / f"{stem}.npy"


def _backend_for_job(job: Job) -> tuple[RetrievalMethod, RetrievalBackend]:
    method = RetrievalMethod.objects.get(pk=job.params["method_id"])
    backend = get_backend(method)
    if index_key(method, backend) != job.params["key"]:
        raise EmbeddingError(
            f"the parameters of method {method.name!r} changed while its embedding job #{job.pk} ran; "
            "cancel this job and build the index again."
        )
    return method, backend


def embed_chunk(chunk: JobChunk) -> ChunkResult:
    """Embed one chunk's clips and write its shard; undecodable clips become per-item errors."""
    job = chunk.job
    method, backend = _backend_for_job(job)
    clips = list(
        Clip.objects.filter(pk__in=chunk.payload["clip_ids"]).select_related("video").order_by("pk")
    )  # clips deleted since the job started are simply gone
    items = [
        ClipItem(
            pk=c.pk,
            sport_id=c.sport_id,
            video_uri=c.video.source_uri,
            start_s=c.start_s,
            end_s=c.end_s,
            narration=c.narration,
            skill=c.skill,
        )
        for c in clips
    ]
    encoded = Encoded.of(backend.encode_clips(items), len(items)) if items else Encoded(np.zeros((0, 0), np.float32))
    ok = encoded.ok_positions
    folder = shard_dir(method.name, EmbeddingIndex.objects.get(pk=job.params["index_id"]).version)
    write_shard(folder, chunk.index, np.array([items[i].pk for i in ok], dtype=np.int64), encoded.vectors[ok])
    errors = [
        {"item": f"clip {clips[i].external_id} (#{clips[i].pk})", "error": reason}
        for i, reason in sorted(encoded.failed.items())
    ]
    return ChunkResult(done=len(chunk.payload["clip_ids"]), errors=errors)


def write_shard(folder: Path, chunk_index: int, ids: np.ndarray, vectors: np.ndarray) -> None:
    """Write a chunk's ids and vectors; each file appears whole via a temp file and ``os.replace``."""
    folder.mkdir(parents=True, exist_ok=True)
    for path, array in zip(shard_paths(folder, chunk_index), (ids, vectors), strict=True):
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as handle:
            np.save(handle, np.ascontiguousarray(array))
        os.replace(tmp, path)


# --- finalize ---------------------------------------------------------------


def assemble_index(job_id: int) -> str:
    """Build the FAISS index from the old index (if any) and this job's shards; mark it ready when written."""
    job = Job.objects.get(pk=job_id)
    if job.status != Job.Status.FINALIZING:
        return f"skipped: job is {job.status}"
    row = EmbeddingIndex.objects.get(pk=job.params["index_id"])
    try:
        saved_n = _assemble(job, row)
    except Exception as exc:
        logger.exception("assembling the index of job %s failed", job_id)
        message = f"assembling the index failed: {type(exc).__name__}: {exc}"
        EmbeddingIndex.objects.filter(pk=row.pk).update(status=EmbeddingIndex.Status.FAILED, error=message)
        fail_job(job_id, message + " (fix the cause, then resume the job)")
        return "failed"
    job.refresh_from_db()
    skipped = f"; {job.error_count} clip(s) could not be embedded (see errors)" if job.error_count else ""
    finish_job(job_id, message=f"index {row.version} ready with {saved_n} clips{skipped}")
    return "done"


def _assemble(job: Job, row: EmbeddingIndex) -> int:
    method, backend = _backend_for_job(job)
    folder = shard_dir(method.name, row.version)
    planned = [np.asarray(p.get("clip_ids", []), dtype=np.int64) for p in job.chunks.values_list("payload", flat=True)]
    new_ids, new_vectors = [], []
    for chunk_index in job.chunks.order_by("index").values_list("index", flat=True):
        ids_path, vectors_path = shard_paths(folder, chunk_index)
        new_ids.append(np.load(ids_path))
        new_vectors.append(np.load(vectors_path))
    base: ClipIndex | None = None
    base_row = EmbeddingIndex.objects.filter(pk=job.params.get("base_index_id")).first()
    if base_row is not None:
        base = ClipIndex.load(base_row.path)
        planned.append(base.attempted)
    attempted = np.unique(np.concatenate(planned)) if planned else np.zeros(0, np.int64)
    fresh_ids = np.concatenate(new_ids) if new_ids else np.zeros(0, np.int64)
    # Clips deleted while the job ran are left out (and, being in `attempted`, force a rebuild next time).
    known, known_sports = _sports_of(fresh_ids)
    keep = np.isin(fresh_ids, known)
    dims = {v.shape[1] for v in new_vectors if len(v)} | ({base.dim} if base is not None else set())
    if len(dims) > 1:
        raise EmbeddingError(f"the shards disagree on the vector dimension ({sorted(dims)}); rebuild the index")
    dim = dims.pop() if dims else backend.dim
    n_base = base.n if base is not None else 0
    total = n_base + int(keep.sum())
    vectors = np.empty((total, dim), dtype=np.float32)
    ids = np.empty(total, dtype=np.int64)
    clip_sports = np.empty(total, dtype=np.int64)
    if base is not None:
        vectors[:n_base], ids[:n_base], clip_sports[:n_base] = base.vectors, base.ids, base.sports
        del base  # its storage is released before the new index copies the vectors in
    offset, at = n_base, 0
    new_vectors.reverse()
    while new_vectors:
        shard = new_vectors.pop()  # each shard is released once copied: one copy of the vectors at a time
        mask = keep[at : at + len(shard)]
        kept = shard[mask]
        vectors[offset : offset + len(kept)] = kept
        ids[offset : offset + len(kept)] = fresh_ids[at : at + len(shard)][mask]
        offset += len(kept)
        at += len(shard)
    clip_sports[n_base:] = known_sports[np.searchsorted(known, ids[n_base:])]
    params = backend.params
    index = ClipIndex.build(
        ids, clip_sports, vectors, kind=params["index"], hnsw_m=params["hnsw_m"], attempted=attempted
    )
    del vectors
    path = Path(settings.INDEX_ROOT) / method.name / f"{row.version}.faiss"
    saved = index.save(path)
    with transaction.atomic():
        EmbeddingIndex.objects.filter(pk=row.pk).update(
            status=EmbeddingIndex.Status.READY,
            dim=dim,
            n=index.n,
            path=str(saved.path),
            sha256=saved.sha256,
            clips_fingerprint=clips_fingerprint(attempted),
            error="",
        )
        # Older builds are superseded; their files stay until someone prunes them.
        EmbeddingIndex.objects.filter(method=method, status=EmbeddingIndex.Status.READY).exclude(pk=row.pk).update(
            status=EmbeddingIndex.Status.STALE
        )
    return index.n


def _sports_of(clip_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted ids of the clips that still exist, their sport ids)."""
    pairs: list[tuple[int, int]] = []
    values = clip_ids.tolist()
    for start in range(0, len(values), _ID_BATCH):
        batch = values[start : start + _ID_BATCH]
        pairs.extend(Clip.objects.filter(pk__in=batch).values_list("pk", "sport_id"))
    pairs.sort()
    known = np.array([p[0] for p in pairs], dtype=np.int64)
    return known, np.array([p[1] for p in pairs], dtype=np.int64)


def describe_missing_index(method: RetrievalMethod, backend: RetrievalBackend) -> str:
    """Why a method cannot be searched yet, and what to run."""
    key = index_key(method, backend)
    building = indexes_for_key(method, key).filter(status=EmbeddingIndex.Status.BUILDING).order_by("-pk").first()
    job = embedding_job_for(building) if building else None
    if job is not None and not job.is_finished:
        return (
            f"the embedding index of method {method.name!r} is still being built (job #{job.pk}, {job.percent}% done); "
            f"wait for it: python manage.py build_index {method.name}"
        )
    return (
        f"method {method.name!r} has no ready embedding index for its current parameters; "
        f"build it with: python manage.py build_index {method.name}"
    )


def job_summary(job: Job) -> dict[str, Any]:
    return {"job": job.pk, "status": job.status, "done": job.done, "total": job.total, "errors": job.error_count}
