"""A worker killed mid-job: resuming finishes the job, and no finished chunk is computed again."""

from __future__ import annotations

import pytest

from core.jobs import resume_job
from core.models import JobChunk
from retrieval_backend.candidates.generation import start_generation
from retrieval_backend.models import Candidate, CandidateSet, MistakeQuery
from retrieval_backend.ranking import rank_queries
from tests.conftest import wait_for
from tests.factories import RetrievalMethodFactory
from tests.retrieval_backend.test_generate_candidates import make_gallery

pytestmark = [pytest.mark.worker, pytest.mark.redis]

# Four chunks of 200 queries, each writing 200 x K candidate rows: a second or more of
# work per chunk, long enough to catch one running between polls.
QUERIES = 800
K = 50


def _chunk_states(job_id: int) -> dict[int, tuple[str, int, object]]:
    return {
        index: (status, attempts, finished)
        for index, status, attempts, finished in JobChunk.objects.filter(job_id=job_id).values_list(
            "index", "status", "attempts", "finished"
        )
    }


def _caught_mid_job(job_id: int) -> bool:
    statuses = [state[0] for state in _chunk_states(job_id).values()]
    return "done" in statuses and "running" in statuses


def test_a_worker_killed_mid_job_is_resumed_without_recomputing_finished_chunks(
    transactional_db, celery_worker_factory
):
    make_gallery({"tennis": 200}, {"tennis": QUERIES})
    method = RetrievalMethodFactory(name="control", backend="random", params={"seed": 3})
    first_worker = celery_worker_factory(queues="default")
    job = start_generation([method], None, k=K)
    assert job.chunks.count() == 4

    wait_for(lambda: _caught_mid_job(job.pk), timeout_s=120, interval_s=0.01, what="one chunk done, one running")
    first_worker.kill()

    before = _chunk_states(job.pk)
    done_before = {index for index, state in before.items() if state[0] == "done"}
    killed = [index for index, state in before.items() if state[0] == "running"]
    assert len(killed) == 1, f"expected one chunk running at the kill, found {before}"
    assert done_before, before
    job.refresh_from_db()
    assert not job.is_finished

    assert resume_job(job) == 1
    celery_worker_factory(queues="default")
    wait_for(lambda: job.refresh_from_db() or job.is_finished, timeout_s=180, what="the resumed job to end")

    assert job.status == "done", job.message
    after = _chunk_states(job.pk)
    assert all(state[0] == "done" for state in after.values()), after
    for index in done_before:
        # Computed once: claimed once, and its finishing time untouched by the resume.
        assert after[index] == before[index]
    assert after[killed[0]][1] == 2  # claimed by the killed worker, then by the new one
    assert all(after[i][1] == 1 for i in after if i not in done_before and i not in killed)
    assert (job.done, job.total, job.error_count) == (QUERIES, QUERIES, 0)

    # The rows are exactly what the method ranks: no duplicate or half-written set survived the kill.
    assert CandidateSet.objects.filter(method=method).count() == QUERIES
    assert Candidate.objects.count() == QUERIES * K
    queries = list(MistakeQuery.objects.order_by("pk"))
    expected = rank_queries(method, queries, K)
    for query in queries[::97]:
        stored = list(
            Candidate.objects.filter(candidate_set__query=query, candidate_set__method=method)
            .order_by("rank")
            .values_list("clip_id", "score")
        )
        assert stored == [(clip, pytest.approx(score)) for clip, score in expected[query.pk]]
