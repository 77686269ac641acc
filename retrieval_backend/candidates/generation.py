"""Candidate generation: which clips each retrieval method returns for each mistake query.

``start_generation`` splits the (method, query) pairs into chunks of
``QUERIES_PER_CHUNK`` queries of one method and queues one Celery task per
chunk (``retrieval_backend.tasks.generate_candidates_chunk``). A chunk ranks
its queries with ``rank_queries`` and writes one ``CandidateSet`` per query,
replacing the earlier set of that query and method, so re-running a chunk (a
resumed job, a redelivered message) rewrites the same rows instead of adding
to them.

Waiting for indexes (chosen over chaining the job after the embedding job,
which would need the embedding code to know about generation):
``start_generation`` calls ``ensure_index`` for each method, which starts (or
resumes) the embedding job of a method whose index is missing or behind the
gallery, and queues the generation job at once. Each chunk checks its
method's index when it starts; while an embedding job for the method's
current parameters is at work, the task is retried with a countdown
(``INDEX_POLL_S``, up to ``MAX_INDEX_WAIT_S``) without being claimed, so a
slow embedding job holds no worker and chunks of methods that need no index
(``random``) run meanwhile. An embedding job that failed, or a wait past the
limit, fails the chunk with a message saying what to fix before
``resume_job``.

Per-query problems (a query video that will not decode, a sport with no
clips) are recorded on the job with the query's external id, and the chunk
carries on with the other queries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded

from core.jobs import TRANSIENT_ERRORS, ChunkResult, create_chunked_job, run_chunk
from core.models import Job, JobChunk
from retrieval_backend.candidates.sets import Ranking, params_hash, store_candidate_sets
from retrieval_backend.embedding import embedding_job_for, index_key, indexes_for_key, ready_index
from retrieval_backend.methods import get_backend
from retrieval_backend.models import CandidateSet, EmbeddingIndex, MistakeQuery, RetrievalMethod
from retrieval_backend.ranking import IndexNotReady, ensure_index, rank_queries

logger = logging.getLogger(__name__)

JOB_KIND = "generate_candidates"
CHUNK_TASK = "retrieval_backend.tasks.generate_candidates_chunk"
# Big enough that a chunk's fixed costs (loading an index, one batched search) are
# amortised, small enough that a killed worker loses little and progress moves.
QUERIES_PER_CHUNK = 200
MAX_K = 1000
# Backends that hold candidates computed elsewhere and cannot generate any.
IMPORTED_BACKEND = "imported"
INDEX_POLL_S = 30
MAX_INDEX_WAIT_S = 24 * 3600


class GenerationError(ValueError):
    """A request that cannot be queued; the message says what to change."""


class IndexStillBuilding(Exception):
    """The chunk's method has no ready index yet; retry the task after ``countdown_s``."""

    def __init__(self, method: str, embedding_job_id: int | None, countdown_s: int):
        super().__init__(f"index of {method} is still building (job {embedding_job_id})")
        self.countdown_s = countdown_s


def start_generation(
    methods: Sequence[RetrievalMethod],
    queries: Iterable[MistakeQuery] | None = None,
    k: int = 10,
) -> Job:
    """Queue a job that generates ``k`` candidates per query for each method; ``queries=None`` means all.

    Raises ``GenerationError`` for a request that cannot run (no methods, an
    imported method, an unknown backend, a bad k). Methods whose index must be
    built first get their embedding job started here; see the module docstring.
    """
    if not methods:
        raise GenerationError("name at least one retrieval method.")
    if not 1 <= k <= MAX_K:
        raise GenerationError(f"k must be between 1 and {MAX_K}, not {k}.")
    for method in methods:
        check_can_generate(method)
    if queries is None:
        query_ids = list(MistakeQuery.objects.order_by("pk").values_list("pk", flat=True))
    else:
        query_ids = sorted({q.pk for q in queries})
    waiting_for: dict[str, int] = {}
    for method in methods:
        embedding_job = ensure_index(method)
        if embedding_job is not None:
            waiting_for[method.name] = embedding_job.pk
    payloads = [
        {"method_id": method.pk, "method": method.name, "k": k, "query_ids": query_ids[i : i + QUERIES_PER_CHUNK]}
        for method in methods
        for i in range(0, len(query_ids), QUERIES_PER_CHUNK)
    ]
    return create_chunked_job(
        JOB_KIND,
        payloads,
        task=CHUNK_TASK,
        total=len(query_ids) * len(methods),
        params={
            "methods": [m.name for m in methods],
            "k": k,
            "queries": len(query_ids),
            "waiting_for_indexes": waiting_for,
        },
    )


def check_can_generate(method: RetrievalMethod) -> None:
    """Raise ``GenerationError`` unless ``method`` has a backend that can rank queries."""
    if method.backend == IMPORTED_BACKEND:
        raise GenerationError(
            f"method {method.name} holds imported candidates and has no backend to generate with; "
            "import its candidates again with import_candidates instead."
        )
    try:
        get_backend(method)
    except Exception as exc:
        raise GenerationError(f"method {method.name} cannot be used: {exc}") from exc


def run_generation_chunk(chunk_id: int, *, waited_s: float = 0) -> str:
    """Run one chunk once its method's index is ready; raise ``IndexStillBuilding`` while it is not.

    Returns what ``run_chunk`` returns ("done", "skipped", "failed", "cancelled").
    """
    chunk = JobChunk.objects.select_related("job").filter(id=chunk_id).first()
    if chunk is None or chunk.status != JobChunk.Status.PENDING:
        return "skipped"
    if chunk.job.status == Job.Status.CANCELLED:
        return run_chunk(chunk_id, generate_chunk)  # releases it without working
    method = RetrievalMethod.objects.filter(pk=chunk.payload["method_id"]).first()
    if method is None:
        return run_chunk(chunk_id, _fail(f"method {chunk.payload.get('method')} was deleted after the job started."))
    embedding_job = embedding_job_to_wait_for(method)
    if embedding_job is None:
        return run_chunk(chunk_id, generate_chunk)
    if embedding_job.status in {Job.Status.FAILED, Job.Status.CANCELLED}:
        return run_chunk(
            chunk_id,
            _fail(
                f"the index of method {method.name} could not be built: embedding job {embedding_job.pk} "
                f"is {embedding_job.status} ({embedding_job.message or 'see its errors'}). "
                f"Fix that and resume_job {embedding_job.pk}, then resume_job {chunk.job_id}."
            ),
        )
    if waited_s >= MAX_INDEX_WAIT_S:
        return run_chunk(
            chunk_id,
            _fail(
                f"the index of method {method.name} was not ready after {waited_s / 3600:.0f} h "
                f"(embedding job {embedding_job.pk}, {embedding_job.percent}% done); "
                f"resume_job {chunk.job_id} once it is."
            ),
        )
    raise IndexStillBuilding(method.name, embedding_job.pk, INDEX_POLL_S)


def embedding_job_to_wait_for(method: RetrievalMethod) -> Job | None:
    """The embedding job this method's chunks must wait for, or None when they can rank now.

    An index being rebuilt for the current parameters (new clips, say) is
    waited for even while an older one could serve, so that candidates include
    the clips the researcher just added. A failed build is reported, not
    resumed here: resuming it every poll would hide a failure that needs a person.
    """
    backend = get_backend(method)
    if not backend.needs_index:
        return None
    key = index_key(method, backend)
    building = indexes_for_key(method, key).filter(status=EmbeddingIndex.Status.BUILDING).order_by("-pk").first()
    job = embedding_job_for(building) if building is not None else None
    if job is not None and job.status != Job.Status.DONE:
        return job
    if ready_index(method, backend) is not None:
        return None
    # Nothing built and nothing building (an index deleted after the job started): start it.
    return ensure_index(method)


class CannotGenerate(Exception):
    """The chunk cannot run until someone acts (builds an index, restores a method); the message says what."""


def _fail(message: str):
    def work(chunk: JobChunk) -> ChunkResult:
        raise CannotGenerate(message)

    return work


def generate_chunk(chunk: JobChunk) -> ChunkResult:
    """Rank a chunk's queries with its method and store their sets; per-query problems become job errors."""
    payload: dict[str, Any] = chunk.payload
    method = RetrievalMethod.objects.get(pk=payload["method_id"])
    k = int(payload["k"])
    wanted = [int(i) for i in payload["query_ids"]]
    queries = list(MistakeQuery.objects.filter(pk__in=wanted).select_related("video", "sport").order_by("pk"))
    errors = [
        {"item": f"query #{query_id} · {method.name}", "error": "the query was deleted after the job started"}
        for query_id in sorted(set(wanted) - {q.pk for q in queries})
    ]
    rankings, rank_errors = _rank(method, queries, k)
    errors.extend(rank_errors)
    written = store_candidate_sets(
        method, rankings, source=CandidateSet.Source.GENERATED, k=k, params_hash=params_hash(method, k)
    )
    return ChunkResult(done=written, errors=errors)


def _rank(
    method: RetrievalMethod, queries: Sequence[MistakeQuery], k: int
) -> tuple[dict[int, Ranking], list[dict[str, str]]]:
    """Rank all queries in one batch; if the batch fails, rank them one by one to find the culprits."""
    ranked: dict[int, Ranking] = {}
    # query pk -> why it has no ranking (an undecodable execution video, an exception of its own).
    reasons: dict[int, str] = {}
    try:
        batches = [_rank_batch(method, queries, k)] if queries else []
    except _PROPAGATE:
        raise
    except Exception:
        logger.warning("ranking %d queries with %s failed; ranking them one by one", len(queries), method.name)
        batches = []
        for query in queries:
            try:
                batches.append(_rank_batch(method, [query], k))
            except _PROPAGATE:
                raise
            except Exception as exc:
                reasons[query.pk] = f"{type(exc).__name__}: {exc}"
    for batch in batches:
        ranked.update(batch)
        reasons.update(getattr(batch, "errors", {}))
    rankings: dict[int, Ranking] = {}
    errors: list[dict[str, str]] = []
    for query in queries:
        ranking = ranked.get(query.pk)
        problem = reasons.get(query.pk) if ranking is None else ""
        problem = problem or _check_ranking(ranking, k)
        if problem:
            errors.append(_query_error(query, method, problem))
        else:
            rankings[query.pk] = ranking
    return rankings, errors


class IndexWentStale(Exception):
    """The index was ready when the chunk started and was rebuilt or removed while it ran."""


def _rank_batch(method: RetrievalMethod, queries: Sequence[MistakeQuery], k: int) -> dict[int, Ranking]:
    try:
        return rank_queries(method, queries, k)
    except IndexNotReady as exc:
        raise IndexWentStale(
            f"the index of method {method.name} stopped being ready while this chunk ran ({exc}); "
            "resume the job once it is rebuilt."
        ) from exc


# Errors that end the chunk rather than being blamed on one query.
_PROPAGATE: tuple[type[BaseException], ...] = (SoftTimeLimitExceeded, IndexWentStale, *TRANSIENT_ERRORS)


def _check_ranking(ranked: Ranking | None, k: int) -> str:
    if ranked is None:
        return "the method returned no ranking for this query"
    if not ranked:
        return "no candidates: the gallery has no clip this method can rank for the query's sport"
    clips = [clip for clip, _ in ranked]
    if len(set(clips)) != len(clips):
        return "the method returned a clip twice; its ranking was not stored"
    if len(ranked) > k:
        return f"the method returned {len(ranked)} clips for k={k}; its ranking was not stored"
    return ""


def _item(query: MistakeQuery, method: RetrievalMethod) -> str:
    return f"query {query.external_id} · {method.name}"


def _query_error(query: MistakeQuery, method: RetrievalMethod, message: str) -> dict[str, str]:
    return {"item": _item(query, method), "error": message}
