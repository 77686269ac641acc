"""Candidates through the API: imported in the ``import_candidates`` format, listed by query and method."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import Job
from retrieval_backend.api import imports
from retrieval_backend.models import Candidate, CandidateSet, RetrievalMethod
from retrieval_backend.tasks import import_manifest_chunk
from tests.api.conftest import make_researcher

pytestmark = pytest.mark.django_db

URL = "/api/v1/candidates/"
IMPORT = "/api/v1/candidates/import/"
NDJSON = "application/x-ndjson"


def line(query="tennis-q0", method="cluster-v2", clips=("tennis-c1", "tennis-c0"), scores=(0.9, 0.5), **extra):
    return json.dumps({"query": query, "method": method, "clips": list(clips), "scores": list(scores), **extra})


def post(client, *lines: str, params: str = "", content_type: str = NDJSON):
    body = ("\n".join(lines) + "\n").encode() if lines else b""
    return client.generic("POST", IMPORT + params, body, content_type=content_type)


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings, tmp_path):
    settings.IMPORT_UPLOAD_ROOT = tmp_path / "uploads"


@pytest.fixture
def cluster(gallery):
    return RetrievalMethod.objects.create(name="cluster-v2", backend="imported")


def test_only_researchers_list_and_import_candidates(api, researcher, coach, other_coach, cluster):
    staff = make_researcher("staff-no-perms", perms=False)
    for user in (None, coach, other_coach, staff):
        expected = 401 if user is None else 403
        assert api(user).get(URL).status_code == expected
        assert api(user).get(f"{URL}{Candidate.objects.first().pk}/").status_code == expected
        assert post(api(user), line()).status_code == expected
    assert not CandidateSet.objects.filter(method=cluster).exists()
    assert api(researcher).get(URL).status_code == 200


def test_a_file_is_imported_whole_and_its_sets_listed_by_query_and_method(api, researcher, cluster):
    client = api(researcher)
    response = post(client, line(), "", line(query="tennis-q1", clips=["tennis-c3"], scores=[2]))
    assert response.status_code == 201, response.json()
    # The rejected lines and their problems, as a gallery import answers them (none without skip_invalid).
    assert response.json() == {
        "lines": 3,
        "sets": 2,
        "replaced": 0,
        "created_methods": [],
        "rejected": 0,
        "problems": [],
    }
    rows = client.get(f"{URL}?query=tennis-q0&method=cluster-v2").json()["results"]
    assert [(r["rank"], r["clip"], r["score"], r["source"]) for r in rows] == [
        (1, "tennis-c1", 0.9, "imported"),
        (2, "tennis-c0", 0.5, "imported"),
    ]
    assert rows[0]["query"] == "tennis-q0"
    assert rows[0]["method"] == "cluster-v2"
    again = post(client, line(clips=["tennis-c5"], scores=[1.0]))
    assert again.json()["replaced"] == 1
    rows = client.get(f"{URL}?query=tennis-q0&method=cluster-v2").json()["results"]
    assert [r["clip"] for r in rows] == ["tennis-c5"]
    assert client.get(f"{URL}{rows[0]['id']}/").json()["clip"] == "tennis-c5"


def test_every_wrong_line_is_reported_and_nothing_is_imported(api, researcher, cluster):
    response = post(
        api(researcher),
        line(),
        "not json",
        line(query="ghost"),
        line(scores=[0.1, 0.9]),
        line(method="unknown-method"),
        line(clips=["tennis-c1", "tennis-c1"]),
        '{"query": "tennis-q2", "method": "cluster-v2", "clips": ["tennis-c1"], "scores": [NaN]}',
        line(query="tennis-q3", clips=["tennis-c1"], scores=[1e400]),
        line(extra="field"),
    )
    assert response.status_code == 400
    data = response.json()
    assert data["code"] == "invalid"
    assert "nothing was imported" in data["detail"]
    by_line = {(p["line"], p["field"]) for p in data["problems"]}
    assert {
        (2, "line"),
        (3, "query"),
        (4, "scores[1]"),
        (5, "method"),
        (6, "clips[1]"),
        (7, "scores[0]"),  # NaN and Infinity are named by the field holding them, as in a gallery manifest
        (8, "scores[0]"),
        (9, "extra"),
    } <= by_line
    assert "unknown method" in data["errors"]["5"][0]
    assert "--create-methods" in data["errors"]["5"][0] or "create" in data["errors"]["5"][0]
    assert data["problem_count"] >= 8
    assert not CandidateSet.objects.filter(method=cluster).exists()


def test_create_methods_creates_imported_methods(api, researcher, gallery):
    response = post(api(researcher), line(method="fresh-model"), params="?create_methods=true")
    assert response.status_code == 201, response.json()
    assert response.json()["created_methods"] == ["fresh-model"]
    assert RetrievalMethod.objects.get(name="fresh-model").backend == "imported"
    refused = post(api(researcher), line(method="another"), params="?create_methods=perhaps")
    assert refused.status_code == 400
    assert "create_methods" in refused.json()["errors"]


def test_an_empty_or_blank_file_and_a_multipart_upload(api, researcher, cluster, tmp_path):
    client = api(researcher)
    assert post(client).status_code == 400
    blank = post(client, "", "   ")
    assert blank.status_code == 400
    assert "holds no candidate lines" in blank.json()["detail"]
    path = tmp_path / "candidates.jsonl"
    path.write_text(line() + "\n")
    with open(path, "rb") as upload:
        uploaded = client.post(IMPORT, {"file": upload}, format="multipart")
    assert uploaded.status_code == 201, uploaded.json()
    assert uploaded.json()["sets"] == 1


def test_non_utf8_bytes_are_a_line_error_not_a_crash(api, researcher, cluster):
    response = api(researcher).generic("POST", IMPORT, b"\xff\xfe{}\n" + line().encode() + b"\n", content_type=NDJSON)
    assert response.status_code == 400
    assert response.json()["problems"][0]["line"] == 1
    assert "UTF-8" in response.json()["problems"][0]["message"]


def test_candidates_page_by_cursor_in_a_fixed_number_of_queries(api, researcher, gallery):
    client = api(researcher)
    total = Candidate.objects.count()
    seen, url = [], f"{URL}?page_size=7"
    while url:
        page = client.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == total
    counts = []
    for size in (1, 40):
        with CaptureQueriesContext(connection) as queries:
            client.get(f"{URL}?method=alpha&page_size={size}")
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert client.get(f"{URL}?query=no-such-query").json()["results"] == []


def test_a_large_file_is_imported_by_a_job_that_reports_problems_by_line(api, researcher, cluster, monkeypatch):
    monkeypatch.setattr(imports, "INLINE_MAX_BYTES", 10)
    client = api(researcher)
    queued = post(client, line(), line(query="tennis-q1"))
    assert queued.status_code == 202, queued.json()
    job = Job.objects.get(pk=queued.json()["id"])
    assert (job.kind, job.total, queued.json()["params"]) == (
        "import_candidates",
        2,
        {"skip_invalid": False, "create_methods": False, "lines": 2},
    )
    assert import_manifest_chunk(job.chunks.get().pk) == "done"
    status = client.get(f"/api/v1/jobs/{job.pk}/").json()
    assert (status["status"], status["done"], status["result"]["sets"]) == ("done", 2, 2)
    assert CandidateSet.objects.filter(method=cluster).count() == 2

    bad = post(client, line(), line(query="ghost"), line(method="nope"))
    job = Job.objects.get(pk=bad.json()["id"])
    import_manifest_chunk(job.chunks.get().pk)
    status = client.get(f"/api/v1/jobs/{job.pk}/").json()
    assert status["status"] == "failed"
    assert "2 problem(s) on 2 line(s) of the manifest; nothing was imported" in status["message"]
    assert [(e["line"], e["field"]) for e in status["errors"]] == [(2, "query"), (3, "method")]


# --- the gallery import's behaviours, now candidate files' too ------------------------------------


def test_a_file_with_problems_gets_the_same_400_body_as_a_gallery_manifest(api, researcher, cluster):
    client = api(researcher)
    body = b"not json\n"
    candidates = client.generic("POST", IMPORT, body, content_type=NDJSON)
    gallery = client.generic("POST", "/api/v1/gallery/import/?probe=none", body, content_type=NDJSON)
    assert candidates.status_code == gallery.status_code == 400
    assert candidates.json() == gallery.json()
    assert candidates.json() == {
        "detail": "1 problem(s) on 1 line(s) of the manifest; nothing was imported. "
        "Fix them and send it again, or pass skip_invalid=true to import the valid lines.",
        "code": "invalid",
        "errors": {"1": ["line: is not valid JSON: Expecting value (column 1)"]},
        "problems": [{"line": 1, "field": "line", "message": "is not valid JSON: Expecting value (column 1)"}],
        "problem_count": 1,
    }


def test_skip_invalid_imports_the_valid_lines_and_lists_the_rejected(api, researcher, cluster):
    response = post(
        api(researcher),
        line(),
        line(query="ghost"),
        line(query="tennis-q1", clips=["tennis-c2"], scores=[1]),
        params="?skip_invalid=true",
    )
    assert response.status_code == 201, response.json()
    assert response.json() == {
        "lines": 3,
        "sets": 2,
        "replaced": 0,
        "created_methods": [],
        "rejected": 1,
        "problems": [
            {"line": 2, "field": "query", "message": 'unknown query "ghost"; give a mistake query external id.'}
        ],
    }
    assert set(CandidateSet.objects.filter(method=cluster).values_list("query__external_id", flat=True)) == {
        "tennis-q0",
        "tennis-q1",
    }


def test_a_queued_file_with_skip_invalid_imports_the_valid_lines_on_the_worker(api, researcher, cluster, monkeypatch):
    monkeypatch.setattr(imports, "INLINE_MAX_BYTES", 10)
    client = api(researcher)
    queued = post(client, line(), line(query="ghost"), params="?skip_invalid=true")
    assert queued.status_code == 202, queued.json()
    job = Job.objects.get(pk=queued.json()["id"])
    assert queued.json()["params"] == {"skip_invalid": True, "create_methods": False, "lines": 2}
    assert import_manifest_chunk(job.chunks.get().pk) == "done"
    status = client.get(f"/api/v1/jobs/{job.pk}/").json()
    assert (status["status"], status["result"]["sets"], status["result"]["rejected"]) == ("done", 1, 1)
    assert status["message"] == "imported: 1 sets; 1 line(s) rejected"
    assert [(e["line"], e["field"]) for e in status["errors"]] == [(2, "query")]
    assert CandidateSet.objects.filter(method=cluster).count() == 1


def test_sending_the_same_file_again_leaves_the_same_sets(api, researcher, cluster):
    client = api(researcher)
    lines = [line(query=f"tennis-q{i}", clips=["tennis-c1", "tennis-c0"], scores=[0.9, 0.5]) for i in range(3)]

    def stored() -> set[tuple[str, int, str, float]]:
        return set(
            Candidate.objects.filter(candidate_set__method=cluster).values_list(
                "candidate_set__query__external_id", "rank", "clip__external_id", "score"
            )
        )

    assert post(client, *lines).json()["sets"] == 3
    first = stored()
    again = post(client, *lines)
    assert (again.status_code, again.json()["sets"], again.json()["replaced"]) == (201, 3, 3)
    assert stored() == first
