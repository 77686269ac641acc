"""The gallery through the API: sports, videos, clips and queries listed and filtered; manifests imported."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import Job
from retrieval_backend.api import imports
from retrieval_backend.api.uploads import upload_root
from retrieval_backend.importing import upload_jobs
from retrieval_backend.models import Clip, MistakeQuery, Sport, Video
from retrieval_backend.tasks import import_manifest_chunk
from tests.api.conftest import make_researcher
from tests.conftest import wait_for
from tests.factories import ClipFactory, SportFactory, VideoFactory

pytestmark = pytest.mark.django_db

NDJSON = "application/x-ndjson"


def jsonl(*lines) -> bytes:
    return "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines).encode()


def post_manifest(client, url: str, body: bytes, content_type: str = NDJSON, **params):
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return client.generic("POST", f"{url}?{query}" if query else url, body, content_type=content_type)


def gallery_line(path, *clips, sport="basketball", **extra) -> dict:
    return {"video": str(path), "sport": sport, "clips": list(clips), **extra}


def clip(clip_id: str, start: float = 0.0, end: float = 1.0, narration: str = "Keep your elbow in.", **extra) -> dict:
    return {"id": clip_id, "start": start, "end": end, "narration": narration, **extra}


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings, tmp_path, monkeypatch):
    # The worker of the real-worker test reads uploads where its environment says: the same folder.
    settings.IMPORT_UPLOAD_ROOT = tmp_path / "uploads"
    monkeypatch.setenv("IMPORT_UPLOAD_ROOT", str(tmp_path / "uploads"))


@pytest.fixture
def staff_without_perms(db):
    return make_researcher("staff-no-perms", perms=False)


@pytest.fixture
def video_file(make_video):
    return make_video("videos/shot.mp4", seconds=2, width=64, height=48)


# --- permissions ----------------------------------------------------------------

READS = ["/api/v1/sports/", "/api/v1/videos/", "/api/v1/clips/", "/api/v1/queries/"]
IMPORTS = ["/api/v1/gallery/import/", "/api/v1/queries/import/"]


@pytest.mark.parametrize("url", READS)
def test_only_researchers_read_the_gallery(api, researcher, coach, other_coach, staff_without_perms, gallery, url):
    assert api(None).get(url).status_code == 401
    for user in (coach, other_coach, staff_without_perms):
        denied = api(user).get(url)
        assert denied.status_code == 403
        assert denied.json()["code"] == "permission_denied"
        assert "ask an administrator" in denied.json()["detail"]
    assert "for researchers" in api(coach).get(url).json()["detail"]
    assert api(researcher).get(url).status_code == 200


@pytest.mark.parametrize("url", IMPORTS)
def test_only_researchers_import_manifests(api, researcher, coach, other_coach, staff_without_perms, video_file, url):
    body = jsonl(gallery_line(video_file, clip("a-1")))
    assert post_manifest(api(None), url, body, probe="none").status_code == 401
    for user in (coach, other_coach, staff_without_perms):
        assert post_manifest(api(user), url, body, probe="none").status_code == 403
    assert not Video.objects.exists()


def test_each_detail_endpoint_answers_a_researcher_and_404s_an_unknown_id(api, researcher, coach, gallery):
    sport, clips, queries, _ = gallery
    details = {
        f"/api/v1/sports/{sport.pk}/": "slug",
        f"/api/v1/videos/{clips[0].video_id}/": "source_uri",
        f"/api/v1/clips/{clips[0].pk}/": "narration",
        f"/api/v1/queries/{queries[0].pk}/": "mistake",
    }
    for url, field in details.items():
        assert field in api(researcher).get(url).json()
        assert api(coach).get(url).status_code == 403
        missing = api(researcher).get(url.rsplit("/", 2)[0] + "/999999/")
        assert missing.status_code == 404
        assert missing.json()["code"] == "not_found"
    assert api(researcher).get("/api/v1/clips/not-a-number/").status_code == 404


# --- lists, filters, pagination ---------------------------------------------------


def test_clips_filter_by_sport_skill_video_and_external_id(api, researcher, gallery):
    golf = SportFactory(slug="golf", name="Golf")
    video = VideoFactory(sport=golf, source_uri="/videos/golf.mp4")
    ClipFactory(video=video, sport=golf, external_id="golf-1", start_s=0, end_s=2, narration="Grip", skill="putt")
    client = api(researcher)

    def ids(query: str) -> list[str]:
        response = client.get(f"/api/v1/clips/?{query}")
        assert response.status_code == 200, response.json()
        return [row["external_id"] for row in response.json()["results"]]

    assert ids("sport=golf") == ["golf-1"]
    assert ids("skill=putt") == ["golf-1"]
    assert ids(f"video={video.pk}") == ["golf-1"]
    assert ids("external_id=tennis-c3") == ["tennis-c3"]
    assert ids("sport=tennis&page_size=3") == ["tennis-c0", "tennis-c1", "tennis-c2"]
    assert ids("sport=no-such-sport") == []
    row = client.get("/api/v1/clips/?external_id=golf-1").json()["results"][0]
    assert row == {
        "id": row["id"],
        "external_id": "golf-1",
        "video": video.pk,
        "sport": "golf",
        "start_s": 0.0,
        "end_s": 2.0,
        "skill": "putt",
        "narration": "Grip",
        "created": row["created"],
        "updated": row["updated"],
    }


def test_narration_search_needs_a_narrowing_filter(api, researcher, gallery):
    client = api(researcher)
    refused = client.get("/api/v1/clips/?q=tip")
    assert refused.status_code == 400
    assert "narrow it with sport, video or skill" in refused.json()["detail"]
    found = client.get("/api/v1/clips/?q=TIP 1&sport=tennis").json()["results"]
    assert [row["narration"] for row in found] == ["Tip 1", *[f"Tip {i}" for i in range(10, 20)]]


def test_videos_and_queries_filter_by_role_sport_and_id(api, researcher, gallery):
    _, _, queries, _ = gallery
    client = api(researcher)
    roles = [row["role"] for row in client.get("/api/v1/videos/?role=query").json()["results"]]
    assert roles == ["query"]
    assert client.get("/api/v1/videos/?role=nonsense").status_code == 400
    query = client.get("/api/v1/queries/?external_id=tennis-q2").json()["results"]
    assert [(q["external_id"], q["sport"], q["positives"]) for q in query] == [("tennis-q2", "tennis", [])]
    MistakeQuery.objects.get(external_id="tennis-q2").positives.set(Clip.objects.filter(external_id="tennis-c4"))
    assert client.get(f"/api/v1/queries/{queries[2].pk}/").json()["positives"] == ["tennis-c4"]
    assert client.get("/api/v1/queries/?q=mistake 3&sport=tennis").json()["results"][0]["external_id"] == "tennis-q3"


def test_the_cursor_walks_every_clip_once_and_page_size_is_capped(api, researcher, gallery):
    client = api(researcher)
    seen: list[str] = []
    url = "/api/v1/clips/?page_size=7"
    pages = 0
    while url:
        page = client.get(url).json()
        assert len(page["results"]) <= 7
        seen += [row["external_id"] for row in page["results"]]
        url = page["next"]
        pages += 1
    assert pages == 5
    assert seen == [f"tennis-c{i}" for i in range(30)]
    assert client.get("/api/v1/clips/?page_size=2").json()["previous"] is None

    video = Video.objects.first()
    sport = Sport.objects.get()
    Clip.objects.bulk_create(
        ClipFactory.build(video=video, sport=sport, external_id=f"bulk-{i}", start_s=0, end_s=1, narration="n")
        for i in range(1000)
    )
    capped = client.get("/api/v1/clips/?page_size=100000").json()
    assert len(capped["results"]) == 1000
    assert capped["next"]
    bad_cursor = client.get("/api/v1/clips/?cursor=garbage")
    assert bad_cursor.status_code == 400
    assert "follow the `next` or `previous` link" in bad_cursor.json()["errors"]["cursor"][0]
    for size in ("abc", "0", "-1"):
        bad_size = client.get(f"/api/v1/clips/?page_size={size}")
        assert bad_size.status_code == 400
        assert bad_size.json()["errors"]["page_size"] == [f"must be a whole number from 1 to 1000, not '{size}'."]


@pytest.mark.parametrize("url", READS)
def test_a_page_costs_the_same_few_queries_whatever_its_size_and_never_counts(api, researcher, gallery, url):
    MistakeQuery.objects.get(external_id="tennis-q0").positives.set(Clip.objects.all()[:3])
    client = api(researcher)
    client.get(url)  # the token and permissions are cached on the user after this
    counts = []
    for size in (1, 30):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"{url}?page_size={size}").status_code == 200
        counts.append(len(queries))
        assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)
    assert counts[0] == counts[1]
    assert counts[0] <= 6


# --- gallery manifests -------------------------------------------------------------


def test_a_small_manifest_is_imported_during_the_request(api, researcher, video_file):
    body = jsonl(
        gallery_line(video_file, clip("shot-1", 0, 1, skill="jump shot"), clip("shot-2", 1, 2), external_id="yt:1")
    )
    response = post_manifest(api(researcher), "/api/v1/gallery/import/", body, probe="none")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["rejected"], data["problems"], data["probe_job"]) == (0, [], None)
    assert {key: data["counts"][key] for key in ("videos new", "clips new", "clips updated")} == {
        "videos new": 1,
        "clips new": 2,
        "clips updated": 0,
    }
    video = Video.objects.get(external_id="yt:1")
    assert (video.source_uri, video.probe_status) == (str(video_file), "pending")
    assert sorted(video.clips.values_list("external_id", flat=True)) == ["shot-1", "shot-2"]
    again = post_manifest(api(researcher), "/api/v1/gallery/import/", body, probe="none")
    assert again.json()["counts"]["clips unchanged"] == 2
    assert not list(upload_root().iterdir())


def test_every_problem_comes_back_by_line_and_field_and_nothing_is_imported(api, researcher, video_file):
    body = jsonl(
        gallery_line(video_file, clip("ok-1")),
        "{not json",
        gallery_line(video_file.parent / "missing.mp4", clip("m-1")),
        gallery_line(video_file, clip("neg", -1.0, 2.0), clip("big", 0, 1e999), sport="Ice Hockey"),
        ["an", "array"],
        gallery_line(video_file, clip("ok-1", narration="é ünïcödé 🏀")),
    )
    response = post_manifest(api(researcher), "/api/v1/gallery/import/", body, probe="none")
    assert response.status_code == 400
    data = response.json()
    assert data["code"] == "invalid"
    assert "nothing was imported" in data["detail"]
    assert "skip_invalid=true" in data["detail"]
    fields = {(p["line"], p["field"]) for p in data["problems"]}
    assert {(2, "line"), (3, "video"), (4, "sport"), (4, "clips[0].start"), (4, "clips[1].end"), (5, "line")} <= fields
    messages = {(p["line"], p["field"]): p["message"] for p in data["problems"]}
    assert "is not valid JSON" in messages[(2, "line")]
    assert "no such file" in messages[(3, "video")]
    assert "negative" in messages[(4, "clips[0].start")]
    assert "Infinity" in messages[(4, "clips[1].end")]
    assert any("ok-1" in p["message"] for p in data["problems"] if p["line"] == 6)
    assert data["errors"]["2"][0].startswith("line: is not valid JSON")
    assert data["problem_count"] == len(data["problems"])
    assert not Video.objects.exists()
    assert not Clip.objects.exists()


def test_skip_invalid_imports_the_valid_lines_and_lists_the_rejected(api, researcher, video_file, make_video):
    other = make_video("videos/other.mp4", seconds=1, width=64, height=48)
    body = jsonl(gallery_line(video_file, clip("ok-1")), gallery_line(other, clip("bad", 2, 1)))
    response = post_manifest(api(researcher), "/api/v1/gallery/import/", body, probe="none", skip_invalid="true")
    assert response.status_code == 201
    assert response.json()["rejected"] == 1
    assert [(p["line"], p["field"]) for p in response.json()["problems"]] == [(2, "clips[0].end")]
    assert list(Clip.objects.values_list("external_id", flat=True)) == ["ok-1"]


def test_relative_paths_need_a_base_dir(api, researcher, video_file):
    body = jsonl(gallery_line("videos/shot.mp4", clip("rel-1")))
    client = api(researcher)
    refused = post_manifest(client, "/api/v1/gallery/import/", body, probe="none")
    assert refused.status_code == 400
    assert "pass base_dir=" in refused.json()["problems"][0]["message"]
    bad_dir = post_manifest(client, "/api/v1/gallery/import/", body, probe="none", base_dir="relative/dir")
    assert bad_dir.status_code == 400
    assert bad_dir.json()["errors"]["base_dir"] == ["must be an absolute path on the server, e.g. /data/sportskills."]
    folder = video_file.parent.parent
    accepted = post_manifest(client, "/api/v1/gallery/import/", body, probe="none", base_dir=str(folder))
    assert accepted.status_code == 201, accepted.json()
    assert Video.objects.get().source_uri == str(video_file)


def test_a_multipart_file_too_large_for_memory_is_moved_not_copied(api, researcher, video_file, tmp_path, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    path = tmp_path / "gallery.jsonl"
    path.write_bytes(jsonl(gallery_line(video_file, clip("mp-big")), ""))
    with open(path, "rb") as upload:
        response = api(researcher).post("/api/v1/gallery/import/?probe=none", {"file": upload}, format="multipart")
    assert response.status_code == 201, response.json()
    assert Clip.objects.filter(external_id="mp-big").exists()
    assert not list(upload_root().iterdir())
    assert not list(tmp_path.glob("*.upload*"))


def test_a_manifest_may_come_as_a_multipart_file(api, researcher, video_file, tmp_path):
    path = tmp_path / "gallery.jsonl"
    path.write_bytes(jsonl(gallery_line(video_file, clip("mp-1"))))
    with open(path, "rb") as upload:
        response = api(researcher).post("/api/v1/gallery/import/?probe=async", {"file": upload}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["probe_job"] == Job.objects.get(kind="probe_videos").pk
    assert Clip.objects.filter(external_id="mp-1").exists()


@pytest.mark.parametrize(
    ("body", "content_type", "params", "status", "message"),
    [
        (b"", NDJSON, {"probe": "none"}, 400, "the request body is empty"),
        (b'{"video": 1}\n', "application/json", {"probe": "none"}, 415, "Unsupported media type"),
        (b'{"video": 1}\n', NDJSON, {"probe": "sometimes"}, 400, "probe"),
        (b'{"video": 1}\n', NDJSON, {"probe": "none", "skip_invalid": "maybe"}, 400, "skip_invalid"),
        (b"\xff\xfe\x00garbage\n", NDJSON, {"probe": "none"}, 400, "is not UTF-8"),
        (b'{"video": "/x.mp4", "sport": 12345678901234567890123, "clips": 5}\n', NDJSON, {"probe": "none"}, 400, ""),
    ],
)
def test_malformed_requests_get_a_400_that_says_what_to_fix(
    api, researcher, body, content_type, params, status, message
):
    response = post_manifest(api(researcher), "/api/v1/gallery/import/", body, content_type=content_type, **params)
    assert response.status_code == status, response.content
    assert message in json.dumps(response.json())
    assert response.json()["detail"]


def test_a_manifest_of_blank_lines_imports_nothing_and_says_so(api, researcher):
    response = post_manifest(api(researcher), "/api/v1/gallery/import/", b"\n  \n\n", probe="none")
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "manifest: the manifest holds no videos (it is empty or has only blank lines); nothing was imported."
    )


def test_a_post_without_a_manifest_says_how_to_send_one(api, researcher):
    response = api(researcher).post("/api/v1/gallery/import/?probe=none", {}, format="multipart")
    assert response.status_code == 400
    assert "multipart form file named 'file'" in response.json()["detail"]


def test_probing_or_a_large_manifest_goes_to_a_worker_as_a_job(api, researcher, video_file, monkeypatch):
    body = jsonl(gallery_line(video_file, clip("job-1", 0, 1.5), clip("job-2", 0.5, 1.9)), "")
    response = post_manifest(api(researcher), "/api/v1/gallery/import/", body, probe="sync")
    assert response.status_code == 202, response.json()
    job = Job.objects.get(pk=response.json()["id"])
    assert response["Location"].endswith(f"/api/v1/jobs/{job.pk}/")
    assert (job.kind, job.status, job.total) == ("import_gallery", "queued", 2)
    assert not Clip.objects.exists()
    assert import_manifest_chunk(job.chunks.get().pk) == "done"
    status = api(researcher).get(f"/api/v1/jobs/{job.pk}/").json()
    assert (status["status"], status["done"], status["percent"], status["is_finished"]) == ("done", 2, 100, True)
    assert status["errors"] == []
    assert status["result"]["counts"]["clips new"] == 2
    assert status["params"] == {"probe": "sync", "skip_invalid": False, "base_dir": None, "lines": 2}
    assert Video.objects.get().probe_status == "ok"
    assert not list(upload_root().iterdir())

    monkeypatch.setattr(imports, "INLINE_MAX_BYTES", 10)
    large = post_manifest(api(researcher), "/api/v1/gallery/import/", body, probe="none")
    assert large.status_code == 202


def test_cancelling_a_queued_import_removes_its_upload(api, researcher, video_file):
    body = jsonl(gallery_line(video_file, clip("c-1")))
    job_id = post_manifest(api(researcher), "/api/v1/gallery/import/", body, probe="sync").json()["id"]
    assert len(list(upload_root().iterdir())) == 1
    assert api(researcher).post(f"/api/v1/jobs/{job_id}/cancel/").json()["status"] == "cancelled"
    assert not list(upload_root().iterdir())
    assert import_manifest_chunk(Job.objects.get(pk=job_id).chunks.get().pk) == "cancelled"
    assert not Clip.objects.exists()


def test_an_import_past_the_task_time_limit_fails_with_what_to_do(api, researcher, video_file, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    job_id = post_manifest(
        api(researcher), "/api/v1/gallery/import/", jsonl(gallery_line(video_file, clip("t-1"))), probe="sync"
    ).json()["id"]

    def too_slow(*args, **kwargs):
        raise SoftTimeLimitExceeded()

    # The worker's side of an uploaded import lives in the importing package (the task calls it, not the API).
    monkeypatch.setattr(upload_jobs, "run_import", too_slow)
    import_manifest_chunk(Job.objects.get(pk=job_id).chunks.get().pk)
    status = api(researcher).get(f"/api/v1/jobs/{job_id}/").json()
    assert status["status"] == "failed"
    assert "time limit" in status["message"]
    assert "probe=async" in status["message"]
    assert not list(upload_root().iterdir())


def test_a_job_import_with_problems_fails_and_lists_them_by_line(api, researcher, video_file, make_video):
    # Only probing finds these (segments past the end of the videos): the worker reports them on the job.
    other = make_video("videos/other.mp4", seconds=1, width=64, height=48)
    body = jsonl(gallery_line(video_file, clip("late", 0, 30)), gallery_line(other, clip("x", 0.5, 9)))
    response = post_manifest(api(researcher), "/api/v1/gallery/import/", body, probe="sync")
    job = Job.objects.get(pk=response.json()["id"])
    import_manifest_chunk(job.chunks.get().pk)
    status = api(researcher).get(f"/api/v1/jobs/{job.pk}/").json()
    assert status["status"] == "failed"
    assert "2 problem(s) on 2 line(s)" in status["message"]
    assert status["error_count"] == 2
    assert [(e["line"], e["field"]) for e in status["errors"]] == [(1, "clips[0].end"), (2, "clips[0].end")]
    assert "30.0" in status["errors"][0]["error"]
    assert "9.0" in status["errors"][1]["error"]
    assert not Clip.objects.exists()


def test_a_small_manifest_sent_for_probing_gets_its_line_problems_at_once(api, researcher, video_file):
    body = jsonl(
        gallery_line(video_file, clip("fine")),
        {"video": 1},
        "not json",
        gallery_line(video_file, clip("x", 0, "1")),
    )
    response = post_manifest(api(researcher), "/api/v1/queries/import/", b'{"id": 1}\nnot json\n', probe="sync")
    assert response.status_code == 400, response.json()
    assert set(response.json()["errors"]) == {"1", "2"}
    response = post_manifest(api(researcher), "/api/v1/gallery/import/", body, probe="sync")
    assert response.status_code == 400, response.json()
    answer = response.json()
    assert answer["code"] == "invalid"
    assert "nothing was imported" in answer["detail"]
    assert set(answer["errors"]) == {"2", "3", "4"}
    assert any("must be a number of seconds" in message for message in answer["errors"]["4"])
    # Nothing queued, nothing imported, and the upload is gone.
    assert not Job.objects.exists()
    assert not Clip.objects.exists()
    assert not list(upload_root().iterdir())


# --- query manifests ------------------------------------------------------------------


def test_queries_are_imported_with_their_positives(api, researcher, gallery, video_file):
    body = jsonl(
        {
            "id": "q-new",
            "video": str(video_file),
            "sport": "tennis",
            "skill": "serve",
            "start": 0,
            "end": 1.5,
            "mistake": "Tosses too low",
            "positives": ["tennis-c1"],
        }
    )
    response = post_manifest(api(researcher), "/api/v1/queries/import/", body, probe="none")
    assert response.status_code == 201, response.json()
    assert response.json()["counts"]["queries new"] == 1
    query = MistakeQuery.objects.get(external_id="q-new")
    assert list(query.positives.values_list("external_id", flat=True)) == ["tennis-c1"]

    unknown = jsonl({**json.loads(body), "id": "q-2", "positives": ["nope"], "start": -3})
    refused = post_manifest(api(researcher), "/api/v1/queries/import/", unknown, probe="none")
    assert refused.status_code == 400
    assert {p["field"] for p in refused.json()["problems"]} >= {"start"}
    assert not MistakeQuery.objects.filter(external_id="q-2").exists()


@pytest.mark.worker
def test_a_queued_import_is_run_by_a_real_worker(transactional_db, api, researcher, video_file, celery_worker_factory):
    celery_worker_factory(queues="default")
    body = jsonl(gallery_line(video_file, clip("w-1", 0, 1.5), clip("w-2", 1, 2), external_id="yt:w"))
    client = api(researcher)
    job_id = post_manifest(client, "/api/v1/gallery/import/", body, probe="sync").json()["id"]

    def finished():
        status = client.get(f"/api/v1/jobs/{job_id}/").json()
        return status if status["is_finished"] else None

    status = wait_for(finished, timeout_s=120, what="the import job to finish")
    assert status["status"] == "done", status
    assert status["result"]["counts"]["clips new"] == 2
    assert Video.objects.get(external_id="yt:w").probe_status == "ok"
    assert not list(upload_root().iterdir())


def test_a_job_import_shows_how_far_checking_has_got(api, researcher, video_file, make_video, monkeypatch):
    from retrieval_backend.importing import importer as importer_module
    from retrieval_backend.importing.gallery import GalleryImport

    monkeypatch.setattr(importer_module, "PROGRESS_EVERY_S", 0.0)
    other = make_video("videos/other.mp4", seconds=1, width=64, height=48)
    third = make_video("videos/third.mp4", seconds=1, width=80, height=48)
    body = jsonl(
        gallery_line(video_file, clip("p-1")), gallery_line(other, clip("p-2")), gallery_line(third, clip("p-3"))
    )
    job = Job.objects.get(pk=post_manifest(api(researcher), "/api/v1/gallery/import/", body, probe="sync").json()["id"])
    seen: list[str] = []
    check_batch = GalleryImport.check_batch

    def check_and_look(self, entries):
        # What a researcher polling the job sees while a batch is being checked and probed.
        seen.append(api(researcher).get(f"/api/v1/jobs/{job.pk}/").json()["message"])
        return check_batch(self, entries)

    monkeypatch.setattr(GalleryImport, "check_batch", check_and_look)
    monkeypatch.setattr(importer_module, "DEFAULT_BATCH_LINES", 1)
    assert import_manifest_chunk(job.chunks.get().pk) == "done"
    assert seen[-1].startswith("checking and probing the videos: line 3 of 3 (")
    assert all(message.startswith("checking and probing the videos: line ") for message in seen[1:])
    final = api(researcher).get(f"/api/v1/jobs/{job.pk}/").json()
    assert (final["status"], final["done"], final["percent"]) == ("done", 3, 100), (final["message"], final["errors"])
    assert final["message"].startswith("imported: ")
    assert "3 clips new" in final["message"]
