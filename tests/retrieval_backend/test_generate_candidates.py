"""Candidate generation: chunked jobs, sets of the query's sport, deterministic, idempotent, waiting for indexes."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from core.models import Job, JobChunk
from retrieval_backend.candidates import generation as candidates
from retrieval_backend.candidates.generation import IndexStillBuilding, run_generation_chunk, start_generation
from retrieval_backend.embedding import CHUNK_TASK, EMBED_JOB_KIND, FINALIZE_TASK, index_key
from retrieval_backend.methods import get_backend
from retrieval_backend.models import (
    Candidate,
    CandidateSet,
    Clip,
    EmbeddingIndex,
    MistakeQuery,
    RetrievalMethod,
)
from tests.conftest import wait_for
from tests.factories import ClipFactory, MistakeQueryFactory, RetrievalMethodFactory, SportFactory, VideoFactory


def make_gallery(clips_per_sport: dict[str, int], queries_per_sport: dict[str, int]) -> None:
    """Sports with clips and queries; external ids like ``tennis-c3`` and ``tennis-q1``."""
    for slug in sorted(set(clips_per_sport) | set(queries_per_sport)):
        sport = SportFactory(slug=slug, name=slug.title())
        video = VideoFactory(sport=sport, source_uri=f"/videos/{slug}.mp4")
        Clip.objects.bulk_create(
            ClipFactory.build(
                video=video, sport=sport, external_id=f"{slug}-c{i}", start_s=i, end_s=i + 2, narration="keep low"
            )
            for i in range(clips_per_sport.get(slug, 0))
        )
        query_video = VideoFactory(sport=sport, source_uri=f"/videos/{slug}-query.mp4", role="query")
        MistakeQuery.objects.bulk_create(
            MistakeQueryFactory.build(
                video=query_video, sport=sport, external_id=f"{slug}-q{i}", start_s=0, end_s=3, mistake="stands up"
            )
            for i in range(queries_per_sport.get(slug, 0))
        )


@pytest.fixture
def gallery(db):
    # Swimming has a query but no clips: its query cannot get candidates.
    make_gallery({"tennis": 30, "golf": 12}, {"tennis": 5, "golf": 3, "swimming": 1})
    return RetrievalMethodFactory(name="control", backend="random", params={"seed": 7})


def run_all_chunks(job: Job) -> Job:
    """Run a job's chunks in this process, as a worker would, one after the other."""
    for chunk_id in job.chunks.order_by("index").values_list("id", flat=True):
        assert run_generation_chunk(chunk_id) == "done"
    job.refresh_from_db()
    return job


def candidate_lists(method: RetrievalMethod) -> dict[str, list[tuple[str, float]]]:
    return {
        s.query.external_id: [(c.clip.external_id, c.score) for c in s.candidates.select_related("clip")]
        for s in CandidateSet.objects.filter(method=method).select_related("query")
    }


def test_it_splits_the_work_into_chunks_of_queries_per_method(gallery, monkeypatch):
    monkeypatch.setattr(candidates, "QUERIES_PER_CHUNK", 4)
    other = RetrievalMethodFactory(name="control-2", backend="random", params={"seed": 8})
    job = start_generation([gallery, other], None, k=5)
    assert (job.kind, job.status, job.total) == ("generate_candidates", "queued", 18)
    payloads = [c.payload for c in job.chunks.order_by("index")]
    assert [(p["method"], len(p["query_ids"])) for p in payloads] == [
        ("control", 4),
        ("control", 4),
        ("control", 1),
        ("control-2", 4),
        ("control-2", 4),
        ("control-2", 1),
    ]
    assert job.params["methods"] == ["control", "control-2"]


def test_each_query_gets_k_ranked_clips_of_its_sport_and_a_query_without_clips_is_an_error(gallery):
    job = run_all_chunks(start_generation([gallery], None, k=10))
    assert job.status == "done"
    assert (job.done, job.total, job.error_count) == (8, 9, 1)
    assert job.errors == [
        {
            "item": "query swimming-q0 · control",
            "error": "no candidates: the gallery has no clip this method can rank for the query's sport",
        }
    ]
    lists = candidate_lists(gallery)
    assert sorted(lists) == [*(f"golf-q{i}" for i in range(3)), *(f"tennis-q{i}" for i in range(5))]
    for query, ranked in lists.items():
        sport = query.split("-")[0]
        assert len(ranked) == 10
        assert all(clip.startswith(f"{sport}-c") for clip, _ in ranked)
        scores = [score for _, score in ranked]
        assert scores == sorted(scores, reverse=True)
    one = CandidateSet.objects.get(query__external_id="tennis-q0", method=gallery)
    assert (one.k, one.source, len(one.params_hash)) == (10, "generated", 64)
    assert list(one.candidates.values_list("rank", flat=True)) == list(range(1, 11))


def test_a_sport_with_fewer_clips_than_k_gets_all_of_them(gallery):
    run_all_chunks(start_generation([gallery], None, k=20))
    assert len(candidate_lists(gallery)["golf-q0"]) == 12


def test_generating_again_gives_the_same_sets_and_replaces_rather_than_adds(gallery):
    run_all_chunks(start_generation([gallery], None, k=10))
    first = candidate_lists(gallery)
    set_ids = set(CandidateSet.objects.values_list("pk", flat=True))
    run_all_chunks(start_generation([gallery], None, k=10))
    assert candidate_lists(gallery) == first
    assert set(CandidateSet.objects.values_list("pk", flat=True)) == set_ids
    assert Candidate.objects.count() == 8 * 10


def test_rerunning_one_chunk_rewrites_the_same_rows(gallery):
    job = run_all_chunks(start_generation([gallery], None, k=10))
    before = candidate_lists(gallery)
    chunk = job.chunks.get()
    candidates.generate_chunk(chunk)
    assert candidate_lists(gallery) == before
    assert Candidate.objects.count() == 80


def test_another_seed_draws_other_clips_and_another_params_hash(gallery):
    run_all_chunks(start_generation([gallery], None, k=10))
    reseeded = RetrievalMethodFactory(name="control-b", backend="random", params={"seed": 8})
    run_all_chunks(start_generation([reseeded], None, k=10))
    assert candidate_lists(reseeded) != candidate_lists(gallery)
    hashes = set(CandidateSet.objects.values_list("params_hash", flat=True))
    assert len(hashes) == 2


def test_only_the_chosen_queries_are_generated(gallery):
    chosen = MistakeQuery.objects.filter(external_id__in=["golf-q1", "tennis-q4"])
    job = run_all_chunks(start_generation([gallery], chosen, k=3))
    assert job.total == 2
    assert sorted(candidate_lists(gallery)) == ["golf-q1", "tennis-q4"]


def test_a_cancelled_job_leaves_its_chunks_unrun(gallery):
    job = start_generation([gallery], None, k=3)
    Job.objects.filter(pk=job.pk).update(status="cancelled")
    assert run_generation_chunk(job.chunks.get().id) == "cancelled"
    assert not CandidateSet.objects.exists()


# --- methods that need an index ------------------------------------------------------


@pytest.fixture
def visual(gallery):
    return RetrievalMethodFactory(name="visual-baseline", backend="visual")


def _building_index(method: RetrievalMethod, status: str = "running") -> Job:
    """The state ensure_index leaves behind: an index being built and its embedding job at work."""
    key = index_key(method, get_backend(method))
    index = EmbeddingIndex.objects.create(method=method, version=f"{key}.1", status="building")
    params = {"index_id": index.pk, "task": CHUNK_TASK, "finalize_task": FINALIZE_TASK}
    return Job.objects.create(kind=EMBED_JOB_KIND, status=status, params=params, total=42)


def test_starting_generation_starts_the_embedding_job_of_a_method_without_an_index(visual):
    job = start_generation([visual], None, k=5)
    embedding = Job.objects.get(kind=EMBED_JOB_KIND)
    assert job.params["waiting_for_indexes"] == {"visual-baseline": embedding.pk}
    assert embedding.total == Clip.objects.count()


def test_a_chunk_waits_unclaimed_while_its_index_is_building(visual):
    embedding = _building_index(visual)
    job = start_generation([visual], None, k=5)
    chunk = job.chunks.get()
    with pytest.raises(IndexStillBuilding):
        run_generation_chunk(chunk.id, waited_s=60)
    chunk.refresh_from_db()
    assert (chunk.status, chunk.attempts) == ("pending", 0)
    assert Job.objects.filter(kind=EMBED_JOB_KIND).get() == embedding  # no second embedding job


def test_a_failed_embedding_job_fails_the_chunk_with_what_to_do(visual):
    embedding = _building_index(visual, status="failed")
    job = start_generation([visual], None, k=5)
    embedding.refresh_from_db()
    # start_generation resumed the failed embedding job once; it failed again meanwhile.
    Job.objects.filter(pk=embedding.pk).update(status="failed", message="model file missing")
    assert run_generation_chunk(job.chunks.get().id) == "failed"
    job.refresh_from_db()
    assert job.status == "failed"
    error = job.errors[0]["error"]
    assert f"embedding job {embedding.pk} is failed (model file missing)" in error
    assert f"resume_job {embedding.pk}, then resume_job {job.pk}" in error


def test_a_chunk_gives_up_waiting_after_the_limit(visual):
    _building_index(visual)
    job = start_generation([visual], None, k=5)
    assert run_generation_chunk(job.chunks.get().id, waited_s=candidates.MAX_INDEX_WAIT_S) == "failed"
    job.refresh_from_db()
    assert "was not ready after 24 h" in job.errors[0]["error"]


# --- the command ---------------------------------------------------------------------


def _generate(*args: str) -> str:
    out = StringIO()
    call_command("generate_candidates", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_the_command_queues_a_job_without_waiting(gallery):
    out = _generate("--methods", "control", "--k", "4", "--no-wait")
    job = Job.objects.get(kind="generate_candidates")
    assert f"queued job {job.pk}: 9 candidate sets (9 queries x 1 methods, k=4) in 1 chunks." in out
    assert f"cancel_job {job.pk}" in out


def test_the_command_takes_query_external_ids(gallery):
    _generate("--methods", "control", "--queries", "golf-q0, tennis-q2", "--no-wait")
    job = Job.objects.get(kind="generate_candidates")
    assert job.total == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--methods", "control,nope"], r"unknown method\(s\): nope\. Known methods: broken, control, imported-run\. "),
        (["--methods", ""], "--methods is empty"),
        (["--methods", "control", "--queries", "golf-q0,golf-q99"], r"unknown query id\(s\): golf-q99\. "),
        (["--methods", "control", "--k", "0"], "--k must be between 1 and 1000, not 0"),
        (["--methods", "imported-run"], "holds imported candidates"),
        (["--methods", "broken"], "method broken cannot be used: unknown parameter"),
    ],
)
def test_the_command_rejects_bad_input_with_a_clear_message(gallery, args, message):
    RetrievalMethodFactory(name="imported-run", backend="imported")
    RetrievalMethodFactory(name="broken", backend="random", params={"seeed": 1})
    with pytest.raises(CommandError, match=message):
        _generate(*args, "--no-wait")
    assert not Job.objects.filter(kind="generate_candidates").exists()


# --- the admin -----------------------------------------------------------------------


def test_the_admin_action_asks_for_k_and_queues_a_job(gallery, admin_client):
    url = reverse("admin:retrieval_backend_retrievalmethod_changelist")
    action = {"action": "generate_candidates_for_all_queries", "_selected_action": [gallery.pk]}
    page = admin_client.post(url, action)
    assert page.status_code == 200
    assert b'name="k"' in page.content
    assert b'value="10"' in page.content
    done = admin_client.post(url, {**action, "apply": "1", "k": "4"})
    job = Job.objects.get(kind="generate_candidates")
    assert done.status_code == 302
    assert done["Location"] == reverse("admin:core_job_change", args=[job.pk])
    assert (job.params["k"], job.total) == (4, 9)


def test_the_admin_action_refuses_a_bad_k(gallery, admin_client):
    url = reverse("admin:retrieval_backend_retrievalmethod_changelist")
    page = admin_client.post(
        url, {"action": "generate_candidates_for_all_queries", "_selected_action": [gallery.pk], "apply": "1", "k": "0"}
    )
    assert page.status_code == 200
    assert b"greater than or equal to 1" in page.content
    assert not Job.objects.exists()


def test_job_pages_reload_themselves_while_the_job_runs_and_stop_when_it_ends(gallery, admin_client):
    job = start_generation([gallery], None, k=3)
    refresh = b'<meta http-equiv="refresh"'
    change = reverse("admin:core_job_change", args=[job.pk])
    listing = reverse("admin:core_job_changelist")
    assert refresh in admin_client.get(change).content
    assert refresh in admin_client.get(listing).content
    assert b"<progress" in admin_client.get(listing).content
    run_all_chunks(job)
    assert refresh not in admin_client.get(change).content
    assert refresh not in admin_client.get(listing).content


# --- through a real worker -----------------------------------------------------------


@pytest.mark.worker
def test_the_command_waits_for_a_real_worker_and_summarises(transactional_db, celery_worker_factory):
    make_gallery({"tennis": 30, "golf": 12}, {"tennis": 5, "golf": 3, "swimming": 1})
    RetrievalMethodFactory(name="control", backend="random", params={"seed": 7})
    celery_worker_factory(queues="default")
    out = _generate("--methods", "control", "--k", "6")
    job = wait_for(lambda: Job.objects.filter(kind="generate_candidates", status="done").first(), what="the job")
    assert f"job {job.pk} done: 8 of 9 candidate sets written, 1 errors" in out
    assert "swimming-q0 · control: no candidates" in out
    assert Candidate.objects.count() == 8 * 6
    assert JobChunk.objects.get(job=job).attempts == 1
