"""Dataset exports through the API: start one, follow it, download the zip once it is complete."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from django.contrib.auth.models import Permission

from annotations.models import StudyExport
from annotations.research.export.runs import run_export
from studies.models import Study
from tests.annotations.judged_study import judge_everything, open_study, prefer
from tests.annotations.rating_setup import fast_password_hashing  # noqa: F401 - autouse
from tests.api.study_people import DENIED, people
from tests.factories import StudyExportFactory

pytestmark = pytest.mark.django_db
BOOTSTRAP = 20


@pytest.fixture
def who(db):
    return people()


@pytest.fixture
def judged(who):
    judged = open_study(n_queries=1, kinds="pairwise")
    Study.objects.filter(pk=judged.study.pk).update(group=who["lab"])
    judge_everything(judged, prefer(judged, ["beta", "alpha"], tie_every=3))
    return judged


def _download(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("role", sorted(DENIED))
def test_only_researchers_of_the_group_start_follow_and_download_exports(api, who, judged, role):
    export = StudyExportFactory(study=judged.study)
    client = api(who[role])
    base = f"/api/v1/studies/{judged.study.pk}/exports/"
    for response in (
        client.get(base),
        client.post(base, {}),
        client.get(f"{base}{export.pk}/"),
        client.get(f"{base}{export.pk}/download/"),
    ):
        assert response.status_code == DENIED[role]
        assert response.json()["detail"]
    assert StudyExport.objects.count() == 1


def test_an_export_is_started_followed_and_downloaded_once_complete(api, who, judged):
    client = api(who["researcher"])
    base = f"/api/v1/studies/{judged.study.pk}/exports/"
    started = client.post(base, {})
    assert started.status_code == 202
    body = started.json()
    assert body["status"] == "queued"
    assert body["download_url"] is None
    assert body["requested_by"] == "lab-researcher"
    assert body["include_identities"] is False

    not_yet = client.get(f"{base}{body['id']}/download/")
    assert not_yet.status_code == 409
    assert "not ready yet" in not_yet.json()["detail"]

    assert run_export(body["id"], bootstrap=BOOTSTRAP) == "done"
    status = client.get(f"{base}{body['id']}/").json()
    assert status["status"] == "done"
    assert status["progress"]["done"] == status["progress"]["total"] > 0
    assert status["download_url"] == f"http://testserver{base}{body['id']}/download/"
    download = client.get(status["download_url"], HTTP_ACCEPT="application/zip")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    assert download["Content-Disposition"].startswith("attachment;")
    content = _download(download)
    assert hashlib.sha256(content).hexdigest() == status["sha256"] == download["X-Content-SHA256"]
    assert len(content) == status["size_bytes"]
    names = zipfile.ZipFile(io.BytesIO(content)).namelist()
    assert "serve/parquet/judgements.parquet" in names

    second = client.post(base, {"include_identities": False}).json()
    listed = client.get(f"{base}?page_size=1")
    assert [row["id"] for row in listed.json()["results"]] == [second["id"]]  # newest first
    assert client.get(listed.json()["next"]).json()["results"][0]["id"] == body["id"]


def test_a_failed_or_vanished_export_says_what_to_do(api, who, judged, settings):
    client = api(who["researcher"])
    base = f"/api/v1/studies/{judged.study.pk}/exports/"
    failed = StudyExportFactory(study=judged.study, status="failed", error="disk full")
    response = client.get(f"{base}{failed.pk}/download/")
    assert response.status_code == 409
    assert response.json()["detail"] == "This export failed (disk full): start a new export."

    gone = StudyExportFactory(study=judged.study, status="done", path="serve/never-written.zip")
    response = client.get(f"{base}{gone.pk}/download/")
    assert response.status_code == 404
    assert "start a new export" in response.json()["detail"]
    escaping = StudyExportFactory(study=judged.study, status="done", path="../../etc/passwd")
    assert client.get(f"{base}{escaping.pk}/download/").status_code == 404


def test_exports_naming_coaches_need_the_change_permission(api, who, judged):
    base = f"/api/v1/studies/{judged.study.pk}/exports/"
    reader = who["staff_without_perms"]
    reader.user_permissions.set(
        Permission.objects.filter(codename__in=["view_studyexport", "add_studyexport", "view_study"])
    )
    client = api(reader)
    refused = client.post(base, {"include_identities": True})
    assert refused.status_code == 403
    assert "export pseudonymously" in refused.json()["detail"]
    assert client.post(base, {}).status_code == 202

    named = StudyExportFactory(study=judged.study, include_identities=True, status="done", path="x.zip")
    assert client.get(f"{base}{named.pk}/download/").status_code == 403
    assert api(who["researcher"]).post(base, {"include_identities": True}).json()["include_identities"] is True


def test_odd_export_requests_are_a_400_or_a_404(api, who, judged):
    client = api(who["researcher"])
    base = f"/api/v1/studies/{judged.study.pk}/exports/"
    assert client.post(base, {"include_identities": "perhaps"}).status_code == 400
    assert client.generic("POST", base, "{", content_type="application/json").status_code == 400
    assert client.get(f"{base}99999999999999999999/").status_code == 404
    other = open_study(slug="other", n_queries=1, kinds="likert", sport_slug="golf")
    elsewhere = StudyExportFactory(study=other.study)
    # An export of another study, asked for under this one, is not found.
    assert client.get(f"{base}{elsewhere.pk}/").status_code == 404
    assert StudyExport.objects.filter(study=judged.study).count() == 0
