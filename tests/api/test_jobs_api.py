"""Jobs through the API: candidate generation started, its progress polled, a job cancelled, jobs listed."""

from __future__ import annotations

import pytest

from core.models import Job
from retrieval_backend.candidates.generation import run_generation_chunk
from retrieval_backend.models import Candidate, CandidateSet, RetrievalMethod
from tests.api.conftest import make_researcher
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db

GENERATE = "/api/v1/jobs/generate-candidates/"


@pytest.fixture
def control(gallery):
    return RetrievalMethod.objects.create(name="control", backend="random", params={"seed": 3})


def test_only_researchers_start_see_and_cancel_jobs(api, researcher, coach, other_coach, control):
    job = Job.objects.create(kind="generate_candidates", total=4)
    staff = make_researcher("staff-no-perms", perms=False)
    for user in (None, coach, other_coach, staff):
        expected = 401 if user is None else 403
        client = api(user)
        assert client.get("/api/v1/jobs/").status_code == expected
        assert client.get(f"/api/v1/jobs/{job.pk}/").status_code == expected
        assert client.post(f"/api/v1/jobs/{job.pk}/cancel/").status_code == expected
        assert client.post(GENERATE, {"methods": ["control"]}).status_code == expected
    assert Job.objects.count() == 1
    assert Job.objects.get().status == "queued"


def test_a_researcher_starts_generation_and_polls_its_progress_to_the_end(api, researcher, control):
    client = api(researcher)
    started = client.post(GENERATE, {"methods": ["control"], "k": 3})
    assert started.status_code == 202, started.json()
    job_id = started.json()["id"]
    assert started["Location"].endswith(f"/api/v1/jobs/{job_id}/")
    assert started.json()["status"] == "queued"
    assert (started.json()["done"], started.json()["total"], started.json()["percent"]) == (0, 4, 0)
    assert started.json()["params"] == {"methods": ["control"], "k": 3, "queries": 4, "waiting_for_indexes": {}}
    for chunk_id in Job.objects.get(pk=job_id).chunks.values_list("id", flat=True):
        assert run_generation_chunk(chunk_id) == "done"
    status = client.get(f"/api/v1/jobs/{job_id}/").json()
    assert (status["status"], status["done"], status["total"], status["percent"]) == ("done", 4, 4, 100)
    assert (status["error_count"], status["errors"], status["is_finished"]) == (0, [], True)
    assert CandidateSet.objects.filter(method=control).count() == 4
    assert Candidate.objects.filter(candidate_set__method=control).count() == 12


def test_generation_for_chosen_queries_only(api, researcher, control):
    started = api(researcher).post(GENERATE, {"methods": ["control", "control"], "queries": ["tennis-q1"], "k": 2})
    assert started.status_code == 202
    assert started.json()["total"] == 1


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"methods": ["nope", "control"]}, "methods", "unknown method(s): nope"),
        ({"methods": []}, "methods", "at least 1"),
        ({"methods": "control"}, "methods", 'Expected a list of items but got type "str"'),
        ({}, "methods", "required"),
        ({"methods": ["control"], "k": 0}, "k", "greater than or equal to 1"),
        ({"methods": ["control"], "k": 10**30}, "k", "less than or equal to 1000"),
        ({"methods": ["control"], "k": "ten"}, "k", "valid integer"),
        ({"methods": ["control"], "k": 2.5}, "k", "valid integer"),
        ({"methods": ["control"], "queries": ["tennis-q1", "ghost"]}, "queries", "unknown query id(s): ghost"),
        ({"methods": ["control"], "queries": []}, "queries", "name at least one query"),
        ({"methods": ["imported-one"]}, "methods", "holds imported candidates"),
        ({"methods": ["broken"]}, "methods", "unknown parameter(s) 'seeed'"),
        ({"methods": ["\u00e9t\u00e9 \U0001f3c0"]}, "methods", "unknown method(s)"),
    ],
)
def test_a_bad_generation_request_is_a_400_saying_what_to_change(api, researcher, control, body, field, message):
    RetrievalMethod.objects.create(name="imported-one", backend="imported")
    RetrievalMethod.objects.create(name="broken", backend="random", params={"seeed": 1})
    response = api(researcher).post(GENERATE, body)
    assert response.status_code == 400, response.json()
    assert message in " ".join(response.json()["errors"][field])
    assert not Job.objects.exists()


def test_malformed_json_is_a_400(api, researcher, control):
    response = api(researcher).generic("POST", GENERATE, "{methods: control}", "application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_cancelling_a_queued_job_stops_it_and_an_ended_job_is_a_409(api, researcher, control):
    client = api(researcher)
    job_id = client.post(GENERATE, {"methods": ["control"]}).json()["id"]
    cancelled = client.post(f"/api/v1/jobs/{job_id}/cancel/")
    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["is_finished"]) == ("cancelled", True)
    chunk_id = Job.objects.get(pk=job_id).chunks.get().pk
    assert run_generation_chunk(chunk_id) == "cancelled"
    assert not CandidateSet.objects.filter(method=control).exists()
    again = client.post(f"/api/v1/jobs/{job_id}/cancel/")
    assert again.status_code == 409
    assert "already ended (cancelled)" in again.json()["detail"]
    assert client.post("/api/v1/jobs/999999/cancel/").status_code == 404


def test_jobs_are_listed_newest_first_without_their_errors_and_filter_by_kind_and_status(api, researcher):
    errors = [{"item": f"video {i}", "error": "unreadable"} for i in range(3)]
    Job.objects.bulk_create(Job(kind="probe_videos", status="done", errors=errors, error_count=3) for _ in range(5))
    Job.objects.create(kind="generate_candidates", status="running", total=10, done=4)
    client = api(researcher)
    first = client.get("/api/v1/jobs/?page_size=4").json()
    assert [job["kind"] for job in first["results"]] == ["generate_candidates", *["probe_videos"] * 3]
    assert "errors" not in first["results"][0]
    assert first["results"][0]["percent"] == 40
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 2
    assert second["next"] is None
    ids = [job["id"] for job in first["results"] + second["results"]]
    assert ids == sorted(ids, reverse=True)
    assert len(client.get("/api/v1/jobs/?kind=probe_videos").json()["results"]) == 5
    assert [j["status"] for j in client.get("/api/v1/jobs/?status=running").json()["results"]] == ["running"]
    assert client.get("/api/v1/jobs/?status=sleeping").status_code == 400
    detail = client.get(f"/api/v1/jobs/{ids[-1]}/").json()
    assert detail["errors"] == errors


@pytest.mark.worker
def test_generation_started_through_the_api_is_run_by_a_real_worker(
    transactional_db, api, researcher, control, celery_worker_factory
):
    celery_worker_factory(queues="default")
    client = api(researcher)
    job_id = client.post(GENERATE, {"methods": ["control"], "k": 4}).json()["id"]

    def finished():
        status = client.get(f"/api/v1/jobs/{job_id}/").json()
        return status if status["is_finished"] else None

    status = wait_for(finished, timeout_s=120, what="the generation job to finish")
    assert (status["status"], status["done"], status["total"]) == ("done", 4, 4)
    assert Candidate.objects.filter(candidate_set__method=control).count() == 16


def test_a_study_export_job_is_not_served_here_where_group_access_is_not_checked(api, researcher, control):
    export = Job.objects.create(kind="export_study", params={"study": "secret-group-study"})
    client = api(researcher)
    assert export.pk not in [job["id"] for job in client.get("/api/v1/jobs/").json()["results"]]
    assert client.get(f"/api/v1/jobs/{export.pk}/").status_code == 404
    assert client.post(f"/api/v1/jobs/{export.pk}/cancel/").status_code == 404
    assert Job.objects.get(pk=export.pk).status == "queued"
