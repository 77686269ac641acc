"""A Celery worker killed (SIGKILL) in the middle of embedding, item building and export.

Each test starts a real worker, waits (by polling the database) until the work is provably half
done, kills the worker, checks that nothing half-written is offered, then recovers the way an
operator would (``resume_job``, or building again) with a fresh worker and checks the result whole.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import numpy as np
import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from annotations.models import StudyExport
from annotations.research.export.runs import start_export
from config.celery_app import app
from core.jobs import resume_job
from core.models import Job, JobChunk
from retrieval_backend.embedding import ensure_index, ready_index
from retrieval_backend.methods import get_backend
from retrieval_backend.models import EmbeddingIndex
from retrieval_backend.search import ClipIndex
from studies import lifecycle
from studies.items import plan_items
from studies.models import Item, Study
from tests.annotations.judged_study import judge_everything, open_study, prefer
from tests.conftest import wait_for
from tests.factories import RetrievalMethodFactory, StudyFactory, UserFactory
from tests.studies.conftest import make_coach, make_gallery

pytestmark = [pytest.mark.worker, pytest.mark.redis]


def _chunk_statuses(job_id: int) -> dict[int, str]:
    return dict(JobChunk.objects.filter(job_id=job_id).values_list("index", "status"))


def test_embedding_killed_mid_chunk_leaves_no_ready_index_and_resumes(settings, slow_backend, celery_worker_factory):
    _, clips, _, _ = make_gallery(n_queries=1, n_clips=12, methods=("alpha",))
    method = RetrievalMethodFactory(name="heavy", backend=slow_backend, params={"chunk_size": 3, "delay_s": 1.5})
    worker = celery_worker_factory(queues="default,gpu")
    job = ensure_index(method)
    assert job is not None
    assert job.chunks.count() == 4

    def mid_job() -> bool:
        # A chunk done, and one that started under half a second ago: over a second of its work is left.
        chunks = JobChunk.objects.filter(job_id=job.pk)
        just_started = timezone.now() - timedelta(seconds=0.5)
        return (
            chunks.filter(status="done").exists() and chunks.filter(status="running", started__gt=just_started).exists()
        )

    wait_for(mid_job, timeout_s=120, interval_s=0.02, what="one embedding chunk done and one running")
    worker.kill()

    # Nothing half-built is offered: the index is still building, no FAISS file exists, search refuses.
    killed = [index for index, status in _chunk_statuses(job.pk).items() if status == "running"]
    assert len(killed) == 1
    row = EmbeddingIndex.objects.get(pk=job.params["index_id"])
    assert row.status == EmbeddingIndex.Status.BUILDING
    assert ready_index(method, get_backend(method)) is None
    assert not list(settings.INDEX_ROOT.rglob("*.faiss"))
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING
    assert not job.is_finished
    # Asking for the index again hands back the same unfinished job instead of a second one.
    assert ensure_index(method).pk == job.pk

    # The operator resumes it (the command a researcher would run), and a new worker finishes it.
    call_command("resume_job", str(job.pk))
    celery_worker_factory(queues="default,gpu")
    wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, timeout_s=120, what="the resumed embedding job")
    job.refresh_from_db()
    assert job.status == Job.Status.DONE, job.message
    assert (job.done, job.total, job.error_count) == (12, 12, 0)
    assert JobChunk.objects.get(job=job, index=killed[0]).attempts == 2
    row.refresh_from_db()
    assert row.status == EmbeddingIndex.Status.READY
    index = ClipIndex.load(row.path)
    assert sorted(index.ids.tolist()) == sorted(c.pk for c in clips)
    assert np.allclose(np.linalg.norm(index.vectors, axis=1), 1.0)
    assert ensure_index(method) is None  # ready and current


@contextmanager
def table_locked(table: str) -> Iterator[psycopg.Connection]:
    """Hold an ACCESS EXCLUSIVE lock on ``table`` from a connection of its own until the block ends.

    A worker that reaches the table then waits, half-way through its work, at a point the test
    chooses: that is where the kill lands, every time.
    """
    cfg = connection.settings_dict
    with psycopg.connect(
        host=cfg["HOST"] or "127.0.0.1", port=cfg["PORT"] or 5432, user=cfg["USER"], dbname=cfg["NAME"],
        password=cfg["PASSWORD"] or None,
    ) as locker:  # fmt: skip
        locker.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')  # a fixed name, not input
        yield locker
        locker.rollback()


def _waiting_on(table: str, *, wrote: bool = False) -> bool:
    """True while another session waits for a lock to run a statement on ``table`` (having written, if asked)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND wait_event_type = 'Lock' AND query ILIKE %s AND (NOT %s OR backend_xid IS NOT NULL)",
            [f"%{table}%", wrote],
        )
        return cursor.fetchone()[0] > 0


def _open_transactions_on(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_xid IS NOT NULL AND query ILIKE %s",
            [f"%{table}%"],
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.postgres
def test_item_building_killed_mid_insert_publishes_nothing_and_builds_again(celery_worker_factory):
    sport, *_, methods = make_gallery(n_queries=60, n_clips=120, methods=("m1", "m2", "m3"), k=10)
    for n in range(3):
        make_coach(f"fault-coach{n}", sports=[sport])
    study = StudyFactory(title="Big study", slug="big", depth_k=10, raters_per_item=3, seed=5, methods=methods)
    planned, identical, _ = plan_items(study)
    assert len(planned) > 2_000  # more than one insert batch
    assert identical  # recorded after the items, in the same transaction
    worker = celery_worker_factory(queues="default")
    with table_locked("studies_pairingoutcome"):
        lifecycle.start_build(study)
        # Every item is inserted (not committed) and the worker waits to record the identical pairs.
        wait_for(lambda: _waiting_on("studies_pairingoutcome", wrote=True), timeout_s=120, what="items inserted")
        worker.kill()
    wait_for(lambda: not _open_transactions_on("studies_"), timeout_s=30, what="the dead session rolled back")

    # No half item set: the worker's transaction died with it; the study says what to do.
    assert Item.objects.filter(study=study).count() == 0
    study.refresh_from_db()
    assert study.status == Study.Status.GENERATING
    assert "build items again" in study.status_message
    with pytest.raises(lifecycle.LifecycleError):
        lifecycle.publish(study)

    lifecycle.start_build(study)  # the researcher's "Build items" once more
    celery_worker_factory(queues="default")
    wait_for(lambda: Study.objects.get(pk=study.pk).status == Study.Status.READY, timeout_s=120, what="items built")
    keys = list(Item.objects.filter(study=study).values_list("key", flat=True))
    assert len(keys) == len(set(keys)) == len(planned)


@pytest.mark.postgres
def test_export_killed_mid_bundle_offers_nothing_and_resumes(settings, client, celery_worker_factory):
    judged = open_study(n_queries=3, n_coaches=3, gold_rate=0.1)
    judge_everything(judged, prefer(judged, ["beta", "alpha"], tie_every=4))
    researcher = UserFactory(username="researcher", email="r@example.org", superuser=True)
    client.force_login(researcher)
    report_url = reverse("admin:studies_study_report", args=[judged.study.pk])
    app.control.purge()  # the report refreshes the judging queued: not what this test is about
    worker = celery_worker_factory(queues="default")
    with table_locked("studies_coachprofile"):
        export = start_export(judged.study)
        # The results are computed and the judgements, items, queries and clips tables written; the
        # worker waits to read the coaches' profiles for the coaches table, half-way through the bundle.
        wait_for(lambda: _waiting_on("studies_coachprofile"), timeout_s=120, what="the export half written")
        partial = [p.name for p in settings.EXPORT_ROOT.rglob("*") if ".partial-" in str(p)]
        assert any(name.startswith("judgements") for name in partial), partial
        worker.kill()

    export.refresh_from_db()
    assert export.status == StudyExport.Status.RUNNING
    assert not export.is_offered
    assert export.path == ""
    assert list(settings.EXPORT_ROOT.rglob("*.zip")) == []
    assert "download zip" not in client.get(report_url).content.decode()
    download = reverse("admin:studies_study_export_download", args=[judged.study.pk, export.pk])
    assert client.get(download).status_code == 404

    assert resume_job(export.job) == 1
    assert Job.objects.get(pk=export.job_id).status == Job.Status.QUEUED
    celery_worker_factory(queues="default")
    wait_for(lambda: Job.objects.get(pk=export.job_id).is_finished, timeout_s=120, what="the resumed export")
    export.refresh_from_db()
    assert export.status == StudyExport.Status.DONE, export.error
    assert export.is_offered
    assert Job.objects.get(pk=export.job_id).status == Job.Status.DONE
    zips = list(settings.EXPORT_ROOT.rglob("*.zip"))
    assert len(zips) == 1
    with zipfile.ZipFile(zips[0]) as archive:
        assert archive.testzip() is None
        assert any(name.endswith("manifest.json") for name in archive.namelist())
    assert "download zip" in client.get(report_url).content.decode()
