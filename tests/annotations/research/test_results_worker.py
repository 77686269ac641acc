"""On a real Celery worker: the researcher's "recompute now" and "Export dataset" end in a report and a download."""

from __future__ import annotations

import hashlib

import pytest
from django.urls import reverse

from annotations.models import StudyExport, StudyReport
from tests.annotations.judged_study import judge_everything, open_study, prefer
from tests.conftest import wait_for
from tests.factories import UserFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_worker_recomputes_the_report_and_writes_the_export(celery_worker_factory, client):
    judged = open_study(n_queries=1)
    judge_everything(judged, prefer(judged, ["alpha", "beta"], tie_every=3))
    researcher = UserFactory(username="researcher", email="r@example.org", superuser=True)
    client.force_login(researcher)
    worker = celery_worker_factory(queues="default")

    client.post(reverse("admin:studies_study_recompute", args=[judged.study.pk]))
    client.post(reverse("admin:studies_study_export", args=[judged.study.pk]))

    def report_ready():
        report = StudyReport.objects.filter(study=judged.study, computed__isnull=False).first()
        return report if report and not report.dirty else None

    report = wait_for(report_ready, timeout_s=120, what="the report to be computed")
    assert report.data["leaderboard"]["methods"][0]["method"] == "alpha"
    export = wait_for(
        lambda: StudyExport.objects.filter(study=judged.study, status__in=["done", "failed"]).first(),
        timeout_s=120,
        what="the export to finish",
    )
    assert export.status == "done", export.error + worker.log()
    assert export.job.status == "done"
    assert export.job.done == export.job.total > 0
    page = client.get(reverse("admin:studies_study_report", args=[judged.study.pk])).content.decode()
    assert "download zip" in page
    assert "<svg" in page
    download = reverse("admin:studies_study_export_download", args=[judged.study.pk, export.pk])
    body = b"".join(client.get(download).streaming_content)
    assert hashlib.sha256(body).hexdigest() == export.sha256
