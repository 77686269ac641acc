"""The disk fills up while clips are rendered or a study is exported.

The work runs in a child process (a web process or a worker) that finds its output folder full
(see ``full_disk``). It must fail with a message that says what to do, cache or offer nothing
half-written, and succeed in full once there is room again.
"""

from __future__ import annotations

import json
import os
import textwrap
import zipfile

import av
import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from annotations.models import StudyExport
from annotations.research.export.runs import run_export, start_export
from core.jobs import resume_job, run_chunk
from core.models import Job
from retrieval_backend.models import Clip
from retrieval_backend.prerender import queue_rendering, render_chunk
from tests.annotations.judged_study import judge_everything, open_study, prefer
from tests.conftest import database_url_for_current_test_db
from tests.factories import SportFactory, UserFactory
from tests.faults.full_disk import FullDisk
from tests.retrieval_backend.test_render_ahead import _clip, _video

pytestmark = [pytest.mark.django_db(transaction=True)]


def _child_env(settings) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url_for_current_test_db(),
        "CLIP_CACHE_DIR": str(settings.CLIP_CACHE_DIR),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "EXPORT_ROOT": str(settings.EXPORT_ROOT),
        "VAR_DIR": str(settings.VAR_DIR),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "1",
    }


RENDER_WHILE_FULL = textwrap.dedent(
    """
    import json, sys
    import django
    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from core.jobs import run_chunk
    from core.models import Job
    from retrieval_backend.prerender import render_chunk

    clip_url, job_id = sys.argv[1], int(sys.argv[2])
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(username="researcher"))
    response = client.get(clip_url)
    job = Job.objects.get(pk=job_id)
    outcome = run_chunk(job.chunks.get().pk, render_chunk)
    job.refresh_from_db()
    chunk = job.chunks.get()
    print(json.dumps({
        "status": response.status_code, "retry_after": response.get("Retry-After"),
        "body": response.content.decode(), "chunk": outcome, "chunk_error": chunk.error,
        "job": job.status, "message": job.message,
    }))
    """
)


def test_a_full_clip_cache_says_so_caches_nothing_and_renders_once_there_is_room(settings, make_video, client):
    sport = SportFactory(slug="basketball", name="Basketball")
    video = _video(make_video("drill.mp4", seconds=3, audio=True), sport)
    clip = _clip(video, "bb-1", 0.0, 2.0)
    _clip(video, "bb-2", 1.0, 3.0)
    UserFactory(username="researcher", email="r@example.org", superuser=True)
    job = queue_rendering(Clip.objects.all(), chunk_size=10)
    clip_url = reverse("media:clip", args=[clip.pk])

    with FullDisk(settings.CLIP_CACHE_DIR) as disk:
        child = disk.run(
            RENDER_WHILE_FULL.replace("sys.argv[1], int(sys.argv[2])", f"{clip_url!r}, {job.pk}"), _child_env(settings)
        )
        assert child.returncode == 0, child.stderr
        seen = json.loads(child.stdout.strip().splitlines()[-1])
        # The player is told to come back later (503), and the researcher what filled up and where.
        assert seen["status"] == 503, (disk.how, seen)
        assert seen["retry_after"]
        assert "the clip cache is full" in seen["body"]
        assert f"free space in {settings.CLIP_CACHE_DIR}" in seen["body"]
        # Rendering ahead fails its chunk (not one error per clip) and the job says to resume it.
        assert seen["chunk"] == "failed"
        assert "free space" in seen["chunk_error"]
        assert seen["job"] == Job.Status.FAILED
        assert "resume the job" in seen["message"]
        # Nothing half-written is left in the cache to be served later.
        assert disk.files() == [], disk.files()

        disk.free()
        assert resume_job(Job.objects.get(pk=job.pk)) == 1
        assert run_chunk(job.chunks.get().pk, render_chunk) == "done"
        job.refresh_from_db()
        assert job.status == Job.Status.DONE, job.message
        assert job.error_count == 1  # the failed attempt stays on record

        client.force_login(get_user_model().objects.get(username="researcher"))
        response = client.get(clip_url)
        assert response.status_code == 200
        body = b"".join(response.streaming_content)
        served = settings.CLIP_CACHE_DIR / "served.mp4"
        served.write_bytes(body)
        with av.open(str(served)) as container:
            frames = sum(1 for _ in container.decode(video=0))
        assert frames > 0
        assert sorted(p.suffix for p in disk.files() if p != served) == [".mp4", ".mp4"]


def test_an_export_onto_a_full_disk_fails_clearly_offers_nothing_and_resumes(settings, client):
    judged = open_study(n_queries=2, n_coaches=3)
    judge_everything(judged, prefer(judged, ["beta", "alpha"], tie_every=4))
    export = start_export(judged.study)
    code = (
        "import django; django.setup()\n"
        "from annotations.research.export.runs import run_export\n"
        f"print(run_export({export.pk}, bootstrap=20))\n"
    )

    with FullDisk(settings.EXPORT_ROOT) as disk:
        child = disk.run(code, _child_env(settings))
        assert child.returncode == 0, child.stderr
        assert child.stdout.strip().splitlines()[-1] == "failed", child.stdout
        export.refresh_from_db()
        assert export.status == StudyExport.Status.FAILED
        assert not export.is_offered
        assert "free space there" in export.error, (disk.how, export.error)
        assert f"resume_job {export.job_id}" in export.error
        assert Job.objects.get(pk=export.job_id).status == Job.Status.FAILED
        assert disk.files() == []  # no zip, and the staging folder is gone too

        researcher = UserFactory(username="researcher", email="r@example.org", superuser=True)
        client.force_login(researcher)
        download = reverse("admin:studies_study_export_download", args=[judged.study.pk, export.pk])
        assert client.get(download).status_code == 404

        disk.free()
        assert resume_job(Job.objects.get(pk=export.job_id)) == 1
        assert run_export(export.pk, bootstrap=20) == "done"  # what the resent task does on a worker
        export.refresh_from_db()
        assert export.is_offered
        response = client.get(download)
        assert response.status_code == 200
        archive = settings.EXPORT_ROOT / "downloaded.zip"
        archive.write_bytes(b"".join(response.streaming_content))
        with zipfile.ZipFile(archive) as bundle:
            assert bundle.testzip() is None
