"""Embedding jobs on a real Celery worker: every backend end to end, decode failures, gallery changes, resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.jobs import resume_job, run_chunk
from core.models import Job, JobChunk
from retrieval_backend.embedding import assemble_index, embed_chunk, ensure_index, shard_paths
from retrieval_backend.models import Clip, EmbeddingIndex, RetrievalMethod, Sport, Video
from retrieval_backend.ranking import IndexNotReady, rank_queries
from retrieval_backend.video.synthetic import moving_bar
from tests.conftest import wait_for
from tests.factories import ClipFactory, MistakeQueryFactory, RetrievalMethodFactory, SportFactory, VideoFactory
from tests.retrieval_backend.fake_backend import fake_distribution  # noqa: F401 - fixture
from tests.retrieval_backend.tiny_encoder import write_torchscript


def static_colour(rgb: tuple[int, int, int]):
    def draw(index: int, t: float) -> np.ndarray:
        return np.broadcast_to(np.array(rgb, dtype=np.uint8), (120, 160, 3)).copy()

    return draw


class Gallery:
    """Two sports, five clips over three videos, one mistake query per sport."""

    def __init__(self, make_video) -> None:
        self.basketball = SportFactory(slug="basketball", name="Basketball")
        self.tennis = SportFactory(slug="tennis", name="Tennis")
        bar = self.video(make_video("bar.mp4", seconds=4, draw=moving_bar(160, 120)), self.basketball)
        red = self.video(make_video("red.mp4", seconds=4, draw=static_colour((220, 30, 30))), self.basketball)
        blue = self.video(make_video("blue.mp4", seconds=4, draw=static_colour((30, 30, 220))), self.tennis)
        self.elbow = self.clip("bb-elbow", bar, 0, 2, "Keep your shooting elbow tucked under the ball on free throws.")
        self.dribble = self.clip("bb-dribble", red, 0, 2, "Dribble low with your fingertips and keep your eyes up.")
        self.wrist = self.clip("bb-wrist", bar, 2, 4, "Follow through and snap your wrist after the release.")
        self.toss = self.clip("tn-toss", blue, 0, 2, "Toss the ball slightly in front of you on the serve.")
        self.turn = self.clip("tn-turn", blue, 2, 4, "Turn your shoulders early to prepare the forehand.")
        shot = self.video(make_video("my-shot.mp4", seconds=2, draw=moving_bar(160, 120)), self.basketball, "query")
        dark_blue = static_colour((30, 30, 210))
        serve = self.video(make_video("my-serve.mp4", seconds=2, draw=dark_blue), self.tennis, "query")
        self.q_shot = MistakeQueryFactory(
            video=shot, sport=self.basketball, external_id="q-shot", start_s=0, end_s=2,
            mistake="My elbow flares out to the side when I shoot free throws.",
        )  # fmt: skip
        self.q_serve = MistakeQueryFactory(
            video=serve, sport=self.tennis, external_id="q-serve", start_s=0, end_s=2,
            mistake="I toss the ball behind my head when I serve.",
        )  # fmt: skip
        self.queries = [self.q_shot, self.q_serve]

    def video(self, path: Path, sport: Sport, role: str = "gallery") -> Video:
        return VideoFactory(sport=sport, source_uri=str(path), role=role)

    def clip(self, external_id: str, video: Video, start: float, end: float, narration: str) -> Clip:
        return ClipFactory(
            video=video, sport=video.sport, external_id=external_id, start_s=start, end_s=end, narration=narration
        )

    def sport_of(self, clip_pk: int) -> int:
        return Clip.objects.get(pk=clip_pk).sport_id


# Generous: a worker loads torch and the text model cold, on a machine other test runs may be sharing.
JOB_TIMEOUT_S = 360


def build(method: RetrievalMethod, timeout_s: float = JOB_TIMEOUT_S) -> Job:
    job = ensure_index(method)
    assert job is not None
    wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, timeout_s=timeout_s, what=f"embedding job of {method}")
    job.refresh_from_db()
    return job


@pytest.fixture
def gallery(transactional_db, make_video) -> Gallery:
    """Committed rows, for tests whose worker process must see them."""
    return Gallery(make_video)


@pytest.fixture
def gallery_in_transaction(db, make_video) -> Gallery:
    """Rows in the test's transaction: nothing is queued (``on_commit`` never fires), chunks run in-process."""
    return Gallery(make_video)


def build_in_process(method: RetrievalMethod) -> EmbeddingIndex:
    job = ensure_index(method)
    for chunk_id in job.chunks.order_by("index").values_list("pk", flat=True):
        assert run_chunk(chunk_id, embed_chunk) == "done"
    assert assemble_index(job.pk) == "done"
    return EmbeddingIndex.objects.get(pk=job.params["index_id"])


def test_an_hnsw_method_ranks_each_sport_exactly_like_the_flat_one(gallery_in_transaction):
    gallery = gallery_in_transaction
    params = {"frames": 4, "chunk_size": 2}
    flat = RetrievalMethodFactory(name="flat", backend="visual", params=params)
    hnsw = RetrievalMethodFactory(name="hnsw", backend="visual", params={**params, "index": "hnsw"})
    flat_index, hnsw_index = build_in_process(flat), build_in_process(hnsw)
    assert (flat_index.kind, hnsw_index.kind) == ("flat", "hnsw")
    assert flat_index.status == hnsw_index.status == EmbeddingIndex.Status.READY
    assert flat_index.version != hnsw_index.version  # the index kind is part of what an index is built from
    assert rank_queries(hnsw, gallery.queries, k=3) == rank_queries(flat, gallery.queries, k=3)
    # Searching the whole gallery goes through the HNSW graph; with five clips it finds them all.
    anywhere = RetrievalMethodFactory(
        name="hnsw-any", backend="visual", params={**params, "index": "hnsw", "any_sport": True}
    )
    build_in_process(anywhere)
    ranked = rank_queries(anywhere, gallery.queries, k=5)
    assert {gallery.sport_of(c) for c, _ in ranked[gallery.q_shot.pk]} == {gallery.basketball.pk, gallery.tennis.pk}


def test_a_method_whose_index_is_missing_says_what_to_run(gallery_in_transaction):
    method = RetrievalMethodFactory(name="narration", backend="narration-text")
    with pytest.raises(IndexNotReady, match=r"build it with: python manage\.py build_index narration"):
        rank_queries(method, gallery_in_transaction.queries, k=3)
    job = ensure_index(method)
    with pytest.raises(IndexNotReady, match=rf"still being built \(job #{job.pk}, 0% done\)"):
        rank_queries(method, gallery_in_transaction.queries, k=3)
    assert ensure_index(method) == job  # asked again: the same job, not a second one


@pytest.mark.usefixtures("fake_distribution")  # before the worker starts, so it sees the package too
@pytest.mark.worker
@pytest.mark.redis
def test_every_backend_ranks_the_gallery_end_to_end_on_a_worker(gallery, celery_worker_factory, tmp_path):
    worker = celery_worker_factory()
    write_torchscript(tmp_path / "team-encoder.pt")
    methods = {
        "control": ("random", {"seed": 1}),
        "narration": ("narration-text", {}),
        "visual-baseline": ("visual", {"frames": 8}),
        "team-encoder": ("visual", {"frames": 4, "size": [32, 32], "checkpoint": str(tmp_path / "team-encoder.pt")}),
        "fusion": ("mistake-conditioned", {"weight": 0.5, "visual": {"frames": 8}}),
        "length": ("length-model", {}),  # a third-party backend, found through its entry point
    }
    results = {}
    for name, (backend, params) in methods.items():
        method = RetrievalMethodFactory(name=name, backend=backend, params=params)
        if backend != "random":
            with pytest.raises(IndexNotReady, match=rf"method '{name}'.*manage.py build_index {name}"):
                rank_queries(method, gallery.queries, k=3)
            job = build(method)
            assert job.status == Job.Status.DONE, (job.message, job.errors, worker.log()[-3000:])
            assert job.error_count == 0
            assert ensure_index(method) is None  # ready and up to date: nothing to do
            index = EmbeddingIndex.objects.get(method=method, status=EmbeddingIndex.Status.READY)
            assert index.n == 5
            assert Path(index.path).exists()
            assert len(index.sha256) == 64
        ranked = rank_queries(method, gallery.queries, k=3)
        assert ranked == rank_queries(method, gallery.queries, k=3)  # deterministic
        assert not ranked.errors
        for query in gallery.queries:
            clips = [clip for clip, _ in ranked[query.pk]]
            assert 0 < len(clips) <= 3
            assert len(set(clips)) == len(clips)
            assert {gallery.sport_of(c) for c in clips} == {query.sport_id}  # the query's sport only
            scores = [score for _, score in ranked[query.pk]]
            assert scores == sorted(scores, reverse=True)
        results[name] = ranked

    # The real packaged text model puts the narration about the mistake first.
    assert results["narration"][gallery.q_shot.pk][0][0] == gallery.elbow.pk
    assert results["narration"][gallery.q_serve.pk][0][0] == gallery.toss.pk
    # The visual baseline matches a moving bar to the moving-bar clips, not to the static red one.
    assert gallery.dribble.pk == results["visual-baseline"][gallery.q_shot.pk][-1][0]
    # Fusion: the clip that both looks like the execution and talks about the mistake wins.
    assert results["fusion"][gallery.q_shot.pk][0][0] == gallery.elbow.pk
    assert results["fusion"][gallery.q_serve.pk][0][0] == gallery.toss.pk


@pytest.mark.worker
@pytest.mark.redis
def test_a_clip_that_fails_to_decode_is_an_error_on_the_job_and_the_rest_is_indexed(
    gallery, celery_worker_factory, tmp_path
):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"not really a video" * 50)
    video = gallery.video(broken, gallery.basketball)
    bad = gallery.clip("bb-broken", video, 0, 2, "A clip whose file was damaged in transfer.")
    celery_worker_factory()
    method = RetrievalMethodFactory(name="visual", backend="visual", params={"frames": 4, "chunk_size": 2})
    job = build(method)

    assert job.status == Job.Status.DONE
    assert job.error_count == 1
    assert job.errors[0]["item"] == f"clip bb-broken (#{bad.pk})"
    assert "broken.mp4" in job.errors[0]["error"]
    assert "1 clip(s) could not be embedded" in job.message
    assert EmbeddingIndex.objects.get(method=method, status="ready").n == 5
    # The failed clip was tried: it does not make the index look stale and re-embed forever.
    assert ensure_index(method) is None
    ranked = rank_queries(method, gallery.queries, k=10)
    assert bad.pk not in {clip for clip, _ in ranked[gallery.q_shot.pk]}

    # A new clip: only it is embedded, into a new index version that keeps the old vectors.
    first = EmbeddingIndex.objects.get(method=method, status="ready")
    added = gallery.clip("bb-new", Video.objects.get(source_uri__endswith="bar.mp4"), 1, 3, "New clip.")
    job = build(method)
    assert (job.status, job.total, job.error_count) == (Job.Status.DONE, 1, 0)
    second = EmbeddingIndex.objects.get(method=method, status="ready")
    assert (second.n, second.version.rsplit(".", 1)[1]) == (6, "2")
    first.refresh_from_db()
    assert first.status == EmbeddingIndex.Status.STALE
    assert added.pk in {c for c, _ in rank_queries(method, [gallery.q_shot], k=10)[gallery.q_shot.pk]}

    # A removed clip forces a full rebuild.
    gallery.wrist.delete()
    job = build(method)
    assert (job.status, job.total) == (Job.Status.DONE, 6)  # every clip still there, the broken one included
    assert EmbeddingIndex.objects.get(method=method, status="ready").n == 5


@pytest.mark.worker
@pytest.mark.redis
def test_a_resumed_job_does_not_recompute_finished_chunks(gallery, celery_worker_factory, settings):
    method = RetrievalMethodFactory(
        name="narration", backend="narration-text", params={"chunk_size": 2}
    )  # three chunks for five clips
    job = ensure_index(method)  # queued, but no worker runs yet
    chunks = list(job.chunks.order_by("index"))
    assert len(chunks) == 3
    # Chunk 0 finished before the crash; chunk 1 was running on the worker that was killed.
    assert run_chunk(chunks[0].pk, embed_chunk) == "done"
    JobChunk.objects.filter(pk=chunks[1].pk).update(status=JobChunk.Status.RUNNING, attempts=1)
    index = EmbeddingIndex.objects.get(pk=job.params["index_id"])
    ids_path, vectors_path = shard_paths(Path(settings.EMBEDDING_ROOT) / method.name / index.version, 0)
    first_shard = (ids_path.stat().st_mtime_ns, vectors_path.read_bytes())

    # Resume before any worker runs, as after a crash: a live worker could already be running chunk 2 from
    # its first message, and resume_job (told every running chunk is dead) would queue it a second time.
    resume_job(Job.objects.get(pk=job.pk))
    worker = celery_worker_factory()  # the stale messages for chunks 0, 1 and 2 reach it too: only one claim wins
    wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, timeout_s=JOB_TIMEOUT_S, what="the resumed job")

    job.refresh_from_db()
    chunk_states = list(job.chunks.values_list("index", "status", "attempts", "error"))
    assert job.status == Job.Status.DONE, (job.message, chunk_states, worker.log()[-3000:])
    assert job.done == 5
    attempts = dict(job.chunks.values_list("index", "attempts"))
    assert attempts == {0: 1, 1: 2, 2: 1}
    assert (ids_path.stat().st_mtime_ns, vectors_path.read_bytes()) == first_shard
    assert EmbeddingIndex.objects.get(pk=index.pk).n == 5
