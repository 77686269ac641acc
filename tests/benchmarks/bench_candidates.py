"""Candidate generation at SportSkills scale: 1,000 queries x 3 methods against a 630k-clip gallery.

The gallery is built in a throw-away SQLite database (a child process with its
own ``VAR_DIR`` and ``DATABASE_URL``, so nothing touches the real database or
broker). The two embedding methods, ``narration-text`` (the packaged
sentence-transformers model) and ``visual`` (the appearance-and-motion
baseline), get random unit clip vectors written as ready indexes through the
same ``ClipIndex.build``/``save`` path the embedding job uses; queries are
encoded for real (mistake texts; query videos decoded with PyAV). The third
method is the ``random`` control.

Chunks run in this process through ``run_generation_chunk``, as a worker runs
them; ranking (``rank_queries``) and writing (``store_candidate_sets``) are
timed separately. One-off costs a worker pays once (loading the text model,
reading and checksumming an index) are measured by a warm-up and reported
apart. ``CANDIDATES_BENCH_CLIPS`` and ``CANDIDATES_BENCH_QUERIES`` shrink the
run for a quick look.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

SPORTS = 55
CLIPS_PER_VIDEO = 100
K = 10


def main() -> None:
    """Run the measurement in a child process against a temporary database."""
    clips = int(os.environ.get("CANDIDATES_BENCH_CLIPS", "630000"))
    queries = int(os.environ.get("CANDIDATES_BENCH_QUERIES", "1000"))
    folder = Path(tempfile.mkdtemp(prefix="cb-bench-candidates-"))
    env = {
        **os.environ,
        "VAR_DIR": str(folder),
        "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
        "MEDIA_ROOT": str(folder / "media"),
        "EMBEDDING_ROOT": str(folder / "embeddings"),
        "INDEX_ROOT": str(folder / "indexes"),
        # Never the configured broker: its workers would pick up tasks against another database.
        "CELERY_BROKER_URL": "filesystem://",
        "DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "LOG_LEVEL": "WARNING",
    }
    root = Path(__file__).resolve().parents[2]
    try:
        subprocess.run(
            [sys.executable, "-m", "tests.benchmarks.bench_candidates", str(clips), str(queries)],
            cwd=root,
            env=env,
            check=True,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _child(n_clips: int, n_queries: int) -> None:
    import django

    django.setup()
    import numpy as np
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(f"gallery: {n_clips:,} clips in {SPORTS} sports, {n_queries:,} queries, k={K}")
    started = time.perf_counter()
    clip_ids, clip_sports, queries = _build_gallery(n_clips, n_queries)
    print(f"  built the gallery rows in {time.perf_counter() - started:.1f} s (setup, not counted)")

    methods = _methods()
    started = time.perf_counter()
    rng = np.random.default_rng(0)
    for method in methods[1:]:
        _write_ready_index(method, clip_ids, clip_sports, rng)
    print(f"  wrote two ready flat indexes of random vectors in {time.perf_counter() - started:.1f} s (setup)")
    _measure(methods, queries)


def _build_gallery(n_clips: int, n_queries: int):
    import numpy as np
    from django.conf import settings

    from retrieval_backend.models import Clip, MistakeQuery, Sport, Video
    from retrieval_backend.video.synthetic import write_synthetic_video

    sports = Sport.objects.bulk_create(Sport(slug=f"sport-{i}", name=f"Sport {i}") for i in range(SPORTS))
    n_videos = -(-n_clips // CLIPS_PER_VIDEO)
    videos = Video.objects.bulk_create(
        (Video(sport=sports[i % SPORTS], source_uri=f"/bench/gallery/{i}.mp4") for i in range(n_videos)),
        batch_size=5000,
    )
    words = ["keep", "the", "elbow", "high", "bend", "knees", "follow", "through", "eyes", "on", "ball", "balance"]

    def clips():
        for i in range(n_clips):
            video = videos[i // CLIPS_PER_VIDEO]
            start = float(i % CLIPS_PER_VIDEO) * 4
            yield Clip(
                video=video,
                sport_id=video.sport_id,
                external_id=f"clip-{i}",
                start_s=start,
                end_s=start + 4,
                narration=" ".join(words[(i + j) % len(words)] for j in range(8)),
            )

    Clip.objects.bulk_create(clips(), batch_size=10000)
    # One short real video per sport: the visual method decodes the queries' executions.
    folder = Path(settings.MEDIA_ROOT) / "queries"
    query_videos = [
        Video.objects.create(
            sport=sport,
            role="query",
            source_uri=str(write_synthetic_video(folder / f"{sport.slug}.mp4", seconds=2, width=96, height=72)),
        )
        for sport in sports
    ]
    mistakes = ["elbow drops at contact", "stands up too early", "weight stays on the back foot", "grip too tight"]
    MistakeQuery.objects.bulk_create(
        MistakeQuery(
            video=query_videos[i % SPORTS],
            sport=sports[i % SPORTS],
            external_id=f"q-{i}",
            start_s=0,
            end_s=2,
            mistake=mistakes[i % len(mistakes)],
        )
        for i in range(n_queries)
    )
    rows = Clip.objects.order_by("pk").values_list("pk", "sport_id")
    pairs = np.array(list(rows.iterator(chunk_size=50000)), dtype=np.int64)
    return pairs[:, 0], pairs[:, 1], list(MistakeQuery.objects.order_by("pk"))


def _methods():
    from retrieval_backend.models import RetrievalMethod

    return [
        RetrievalMethod.objects.create(name="control", backend="random", params={"seed": 1}),
        RetrievalMethod.objects.create(name="text", backend="narration-text"),
        RetrievalMethod.objects.create(name="visual", backend="visual"),
    ]


def _write_ready_index(method, clip_ids, clip_sports, rng) -> None:
    """Random unit vectors of the backend's dimension, saved and registered as the method's ready index."""
    import numpy as np
    from django.conf import settings

    from retrieval_backend.embedding import clips_fingerprint, index_key
    from retrieval_backend.methods import get_backend
    from retrieval_backend.models import EmbeddingIndex
    from retrieval_backend.search import ClipIndex

    backend = get_backend(method)
    dim = backend.dim
    vectors = np.empty((len(clip_ids), dim), dtype=np.float32)
    for start in range(0, len(clip_ids), 65536):
        block = rng.standard_normal((min(65536, len(clip_ids) - start), dim), dtype=np.float32)
        vectors[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    index = ClipIndex.build(clip_ids, clip_sports, vectors, kind="flat")
    del vectors
    version = f"{index_key(method, backend)}.1"
    saved = index.save(Path(settings.INDEX_ROOT) / method.name / f"{version}.faiss")
    EmbeddingIndex.objects.create(
        method=method,
        version=version,
        kind="flat",
        dim=dim,
        n=index.n,
        path=str(saved.path),
        sha256=saved.sha256,
        clips_fingerprint=clips_fingerprint(clip_ids),
        status=EmbeddingIndex.Status.READY,
    )


def _measure(methods, queries) -> None:
    from core.models import Job
    from retrieval_backend.candidates import generation as candidates
    from retrieval_backend.models import Candidate
    from retrieval_backend.ranking import rank_queries

    print("\nwarm-up, once per worker process (one query per method):")
    for method in methods:
        started = time.perf_counter()
        rank_queries(method, queries[:1], K)
        print(f"  {method.name:8} {time.perf_counter() - started:6.1f} s  (model and index loading)")

    spent: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    rank, store = candidates.rank_queries, candidates.store_candidate_sets

    # Benchmark instrumentation: wrap the two steps where generation spends its time.
    def timed_rank(method, batch, k):
        started = time.perf_counter()
        try:
            return rank(method, batch, k)
        finally:
            spent[method.name]["ranking"] += time.perf_counter() - started

    def timed_store(method, rankings, **kwargs):
        started = time.perf_counter()
        try:
            return store(method, rankings, **kwargs)
        finally:
            spent[method.name]["writing"] += time.perf_counter() - started

    candidates.rank_queries, candidates.store_candidate_sets = timed_rank, timed_store
    try:
        started = time.perf_counter()
        job = candidates.start_generation(methods, None, K)
        queued = time.perf_counter() - started
        for chunk in job.chunks.order_by("index").values_list("id", "payload"):
            chunk_started = time.perf_counter()
            outcome = candidates.run_generation_chunk(chunk[0])
            spent[chunk[1]["method"]]["total"] += time.perf_counter() - chunk_started
            assert outcome == "done", outcome
        total = time.perf_counter() - started
    finally:
        candidates.rank_queries, candidates.store_candidate_sets = rank, store
    job = Job.objects.get(pk=job.pk)

    n = len(queries)
    print(
        f"\ngeneration job: {job.status}, {job.done:,}/{job.total:,} sets, {job.error_count} errors, "
        f"{Candidate.objects.count():,} candidate rows"
    )
    print(f"  queueing (start_generation, index checks): {queued:.2f} s")
    print(f"  {'method':8} {'ranking s':>10} {'writing s':>10} {'chunk total s':>14} {'ms/query':>9}")
    for method in methods:
        row = spent[method.name]
        print(
            f"  {method.name:8} {row['ranking']:10.2f} {row['writing']:10.2f} {row['total']:14.2f} "
            f"{1000 * row['total'] / n:9.2f}"
        )
    ranking = sum(r["ranking"] for r in spent.values())
    writing = sum(r["writing"] for r in spent.values())
    print(
        f"  total {total:.1f} s for {n:,} queries x {len(methods)} methods: "
        f"{1000 * total / (n * len(methods)):.2f} ms per (query, method); "
        f"ranking {ranking:.1f} s, writing {writing:.1f} s, job bookkeeping and query loading "
        f"{total - ranking - writing - queued:.1f} s"
    )
    print("  (figures are noisy while other work shares the machine's cores)")


if __name__ == "__main__":
    _child(int(sys.argv[1]), int(sys.argv[2]))
