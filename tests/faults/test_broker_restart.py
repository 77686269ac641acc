"""The broker (Redis) restarts while an embedding job runs: the worker reconnects and nothing is lost.

A private ``redis-server`` without persistence is the broker of this test (never the shared one):
restarting it loses the queued chunk messages, as a broker that crashed would. The chunk being
computed still finishes, the worker reconnects by itself, and ``resume_job`` sends the lost chunks
again: the job completes with every clip embedded once.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.models import Job, JobChunk
from retrieval_backend.models import EmbeddingIndex
from retrieval_backend.search import ClipIndex
from tests.conftest import ROOT, database_url_for_current_test_db, wait_for
from tests.factories import RetrievalMethodFactory
from tests.faults.services import PrivateRedis
from tests.studies.conftest import make_gallery

# Its own Redis (skipped without redis-server): the shared broker of the run is never restarted.
pytestmark = [pytest.mark.worker]


@pytest.fixture
def private_broker(settings, tmp_path: Path):
    """A private Redis as this test's broker; request it before ``celery_worker_factory``."""
    redis = PrivateRedis(tmp_path).start()
    settings.CELERY_BROKER_URL = redis.url
    yield redis
    redis.stop()


def _manage(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _statuses(job_id: int) -> list[str]:
    return list(JobChunk.objects.filter(job_id=job_id).order_by("index").values_list("status", flat=True))


def test_a_broker_restart_mid_job_loses_no_chunk(private_broker, slow_backend, settings, celery_worker_factory):
    _, clips, _, _ = make_gallery(n_queries=1, n_clips=10, methods=("alpha",))
    RetrievalMethodFactory(name="heavy", backend=slow_backend, params={"chunk_size": 2, "delay_s": 1.0})
    worker = celery_worker_factory(queues="default,gpu")
    # The operator's commands, in processes of their own that use the private broker.
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_current_test_db(),
        "CELERY_BROKER_URL": private_broker.url,
        "EMBEDDING_ROOT": str(settings.EMBEDDING_ROOT),
        "INDEX_ROOT": str(settings.INDEX_ROOT),
        "VAR_DIR": str(settings.VAR_DIR),
    }
    _manage("build_index", "heavy", "--no-wait", env=env)
    job = Job.objects.get(kind="embed_clips")
    assert len(_statuses(job.pk)) == 5

    wait_for(
        lambda: "done" in _statuses(job.pk) and "running" in _statuses(job.pk),
        timeout_s=120,
        interval_s=0.02,
        what="a chunk done and one running",
    )
    private_broker.stop()  # every queued message is gone with it
    private_broker.start()

    # The chunk that was running still finishes; the worker stays up and reconnects.
    wait_for(lambda: "running" not in _statuses(job.pk), timeout_s=60, what="the running chunk to finish")
    assert worker.process.poll() is None
    job.refresh_from_db()
    lost = _statuses(job.pk).count("pending")
    assert not job.is_finished
    assert lost > 0  # their messages were in the broker that restarted

    # The operator resumes the job; the same, reconnected worker computes the lost chunks.
    out = _manage("resume_job", str(job.pk), "--failed-only", env=env)
    assert f"job {job.pk}: {lost} chunk(s) queued again (0 were unfinished)." in out
    wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, timeout_s=120, what="the resumed job")
    job.refresh_from_db()
    assert job.status == Job.Status.DONE, job.message
    assert (job.done, job.total, job.error_count) == (10, 10, 0)
    assert worker.process.poll() is None
    assert "Connection to broker lost" in worker.log()
    index = EmbeddingIndex.objects.get(pk=job.params["index_id"])
    assert index.status == EmbeddingIndex.Status.READY
    assert sorted(ClipIndex.load(index.path).ids.tolist()) == sorted(c.pk for c in clips)
