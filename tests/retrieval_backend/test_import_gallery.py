"""``manage.py import_gallery``: probing, every error reported by line, all-or-nothing, idempotency, async probing."""

from __future__ import annotations

import json
import os
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from core.jobs import run_chunk
from core.models import Job
from retrieval_backend.importing.probing import probe_videos
from retrieval_backend.models import Clip, Sport, Video
from retrieval_backend.video.errors import NotAVideo, TruncatedVideo
from retrieval_backend.video.probe import probe
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db


def write_manifest(folder: Path, lines: list, name: str = "gallery.jsonl") -> Path:
    """One JSON object (or a raw string, written as is) per line."""
    path = folder / name
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def import_gallery(manifest: Path, *args: str) -> str:
    out = StringIO()
    call_command("import_gallery", str(manifest), "--no-progress", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def failed_import(manifest: Path, *args: str) -> list[str]:
    """Run an import that must fail; return the reported problem lines (``LINE: FIELD: ...``)."""
    with pytest.raises(CommandError) as failure:
        import_gallery(manifest, *args)
    message = str(failure.value)
    assert "nothing was imported" in message
    return [line for line in message.splitlines() if re.match(r"\d+: ", line)]


def clip(clip_id: str, start: float = 0.5, end: float = 2.0, narration: str = "Keep your elbow in.", **extra) -> dict:
    return {"id": clip_id, "start": start, "end": end, "narration": narration, **extra}


def video_line(path: str, clips: list[dict], sport: str = "basketball", **extra) -> dict:
    return {"video": path, "sport": sport, "clips": clips, **extra}


def nothing_imported() -> bool:
    return not Video.objects.exists() and not Clip.objects.exists() and not Sport.objects.exists()


def test_it_imports_videos_and_clips_with_what_the_probe_found(tmp_path, make_video, bikes_mp4):
    make_video("videos/shot.mp4", seconds=3, fps=25, width=160, height=120)
    manifest = write_manifest(
        tmp_path,
        [
            video_line(
                "videos/shot.mp4",
                [clip("shot-1", 0.0, 1.5, skill="jump shot"), clip("shot-2", 1.5, 3.0, narration="Land softly.")],
                title="Jump shot basics",
                external_id="yt:shot",
            ),
            video_line(str(bikes_mp4), [clip("bikes-1", 2.0, 9.5, narration="Look ahead.")], sport="road-cycling"),
        ],
    )
    summary = import_gallery(manifest)
    assert "videos 2 new, 0 updated, 0 unchanged; clips 3 new, 0 updated, 0 unchanged" in summary

    shot = Video.objects.get(external_id="yt:shot")
    assert shot.source_uri == str((tmp_path / "videos" / "shot.mp4").resolve())
    assert (shot.title, shot.role, shot.probe_status) == ("Jump shot basics", "gallery", "ok")
    assert (shot.width, shot.height, shot.fps, shot.codec) == (160, 120, 25.0, "h264")
    assert shot.duration_s == pytest.approx(3.0, abs=0.05)
    assert len(shot.sha256) == 64
    bikes = Video.objects.get(source_uri=str(bikes_mp4.resolve()))
    assert (bikes.width, bikes.height, bikes.fps) == (640, 272, 25.0)
    assert bikes.sport.name == "Road Cycling"
    assert Sport.objects.get(slug="basketball").name == "Basketball"
    shot_1 = Clip.objects.get(external_id="shot-1")
    assert (shot_1.video, shot_1.sport.slug, shot_1.start_s, shot_1.end_s) == (shot, "basketball", 0.0, 1.5)
    assert (shot_1.skill, shot_1.narration) == ("jump shot", "Keep your elbow in.")
    assert Clip.objects.get(external_id="bikes-1").sport.slug == "road-cycling"


@pytest.fixture
def gallery_folder(tmp_path, make_video) -> Path:
    """A 3 s video, an empty file, a truncated video and a text file posing as a video."""
    make_video("videos/ok.mp4", seconds=3)
    (tmp_path / "videos" / "empty.mp4").write_bytes(b"")
    # Other sizes, so that no two files share their content (same content is one video).
    first = make_video("videos/first.mp4", seconds=3, width=96, height=64)
    (tmp_path / "videos" / "first-copy.mp4").write_bytes(first.read_bytes())
    whole = make_video("videos/whole.mp4", seconds=3, width=128, height=96).read_bytes()
    (tmp_path / "videos" / "truncated.mp4").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "videos" / "notes.mp4").write_text("These are my coaching notes, not a video.\n")
    return tmp_path


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("{not json", "2: line: is not valid JSON: Expecting property name enclosed in double quotes (column 2)"),
        ('["a list"]', "2: line: must be a JSON object {...}, not an array"),
        ({"sport": "tennis", "clips": []}, "2: video: missing: this field is required"),
        ({"video": "videos/ok.mp4", "clips": []}, "2: sport: missing: this field is required"),
        ({"video": "videos/ok.mp4", "sport": "tennis"}, "2: clips: missing: this field is required"),
        (video_line("videos/ok.mp4", [], sport="Table Tennis"), "2: sport: 'Table Tennis' is not a sport slug"),
        (video_line("videos/missing.mp4", []), "2: video: no such file: "),
        (video_line("videos", []), "videos is a folder, not a video file"),
        (video_line("ftp://example.org/a.mp4", []), "2: video: ftp:// URLs are not supported"),
        (video_line("videos/ok.mp4", [clip("c", 1.0, 19.0)]), "2: clips[0].end: 19.0 is past the video's end (3.0 s)"),
        (video_line("videos/ok.mp4", [clip("c", 3.5, 4.0)]), "2: clips[0].start: 3.5 is past the video's end (3.0 s)"),
        (video_line("videos/ok.mp4", [clip("c", 2.0, 1.0)]), "2: clips[0].end: 1.0 is not after the start (2.0)"),
        (video_line("videos/ok.mp4", [clip("c", -1, 1.0)]), "2: clips[0].start: -1 is negative"),
        (video_line("videos/ok.mp4", [clip("c", "0", 1.0)]), "2: clips[0].start: must be a number of seconds"),
        (video_line("videos/ok.mp4", [clip("c", narration=" ")]), "2: clips[0].narration: is empty"),
        (video_line("videos/ok.mp4", [{"id": "c", "start": 0, "end": 1}]), "2: clips[0].narration: missing"),
        (video_line("videos/ok.mp4", [clip("first")]), "2: clips[0].id: 'first' is already used on line 1"),
        (video_line("videos/ok.mp4", [clip("c"), clip("c")]), "2: clips[1].id: 'c' is used twice on this line"),
        (
            video_line("videos/ok.mp4", [], external_id="yt:first"),
            "2: external_id: 'yt:first' is already used on line 1",
        ),
        (video_line("videos/first.mp4", []), "first.mp4 is already the video of line 1; give each video one line"),
        (video_line("videos/first-copy.mp4", []), "2: video: has the same content (sha256 "),
    ],
)
def test_each_mistake_is_reported_with_its_line_and_field_and_nothing_is_imported(gallery_folder, line, expected):
    first = video_line("videos/first.mp4", [clip("first")], external_id="yt:first")
    manifest = write_manifest(gallery_folder, [first, line])
    problems = failed_import(manifest)
    assert any(p.startswith("2: ") and expected in p for p in problems), problems
    assert nothing_imported()


@pytest.mark.parametrize(
    ("name", "error"), [("empty.mp4", NotAVideo), ("notes.mp4", NotAVideo), ("truncated.mp4", TruncatedVideo)]
)
def test_a_file_that_is_not_a_usable_video_is_reported_with_the_probes_reason(gallery_folder, name, error):
    with pytest.raises(error) as reason:
        probe(gallery_folder / "videos" / name)
    manifest = write_manifest(
        gallery_folder, [video_line("videos/ok.mp4", [clip("ok")]), video_line(f"videos/{name}", [])]
    )
    assert failed_import(manifest) == [f"2: video: {reason.value}"]
    assert nothing_imported()


def test_every_problem_is_reported_at_once_sorted_by_line(gallery_folder):
    manifest = write_manifest(
        gallery_folder,
        [
            video_line("videos/ok.mp4", [clip("ok-1")]),
            video_line("videos/empty.mp4", [clip("e-1")]),
            "nonsense",
            video_line("videos/missing.mp4", [clip("ok-1", narration=""), clip("m-2", 2.0, 1.0)]),
        ],
    )
    problems = failed_import(manifest)
    assert [p.split(":")[0] for p in problems] == ["2", "3", "4", "4", "4", "4"]
    assert problems[1] == "3: line: is not valid JSON: Expecting value (column 1)"
    assert {p.split(": ")[1] for p in problems[2:]} == {"clips[0].narration", "clips[1].end", "clips[0].id", "video"}
    assert nothing_imported()


def test_with_skip_invalid_the_valid_lines_are_imported_and_the_rest_written_with_reasons(gallery_folder):
    bad_line = video_line("videos/ok.mp4", [clip("bad", 0.5, 30.0)], title="too long a clip")
    lines = [video_line("videos/whole.mp4", [clip("good")]), bad_line, "oops"]
    manifest = write_manifest(gallery_folder, lines)
    summary = import_gallery(manifest, "--skip-invalid")
    assert "videos 1 new" in summary
    assert "2 line(s) rejected" in summary
    rejected_path = gallery_folder / "gallery.rejected.jsonl"
    assert str(rejected_path) in summary
    assert list(Clip.objects.values_list("external_id", flat=True)) == ["good"]
    rejected = [json.loads(line) for line in rejected_path.read_text().splitlines()]
    assert rejected[0] == {**bad_line, "errors": ["2: clips[0].end: 30.0 is past the video's end (3.0 s)"]}
    assert rejected[1] == {
        "line": 3,
        "text": "oops",
        "errors": ["3: line: is not valid JSON: Expecting value (column 1)"],
    }


def test_reimporting_the_same_manifest_changes_nothing(tmp_path, make_video, bikes_mp4):
    make_video("videos/a.mp4", seconds=3)
    manifest = write_manifest(
        tmp_path,
        [
            video_line("videos/a.mp4", [clip("a-1"), clip("a-2", 2.0, 2.9)], external_id="yt:a", title="A"),
            video_line(str(bikes_mp4), [clip("b-1", 1.0, 8.0)], sport="cycling"),
        ],
    )
    import_gallery(manifest)
    before = (
        list(Video.objects.order_by("id").values_list("id", "updated", "sha256")),
        list(Clip.objects.order_by("id").values_list("id", "updated", "narration")),
        Sport.objects.count(),
    )
    summary = import_gallery(manifest)
    assert "videos 0 new, 0 updated, 2 unchanged; clips 0 new, 0 updated, 3 unchanged" in summary
    after = (
        list(Video.objects.order_by("id").values_list("id", "updated", "sha256")),
        list(Clip.objects.order_by("id").values_list("id", "updated", "narration")),
        Sport.objects.count(),
    )
    assert after == before


def test_reimporting_with_a_changed_narration_updates_that_clip_and_says_so(tmp_path, make_video):
    make_video("videos/a.mp4", seconds=3)
    lines = [video_line("videos/a.mp4", [clip("a-1"), clip("a-2", 2.0, 2.9)])]
    manifest = write_manifest(tmp_path, lines)
    import_gallery(manifest)
    untouched = Clip.objects.get(external_id="a-2").updated
    first_update = Clip.objects.get(external_id="a-1").updated
    lines[0]["clips"][0]["narration"] = "Tuck the elbow under the ball."
    write_manifest(tmp_path, lines)
    summary = import_gallery(manifest)
    assert "clips 0 new, 1 updated, 1 unchanged" in summary
    changed = Clip.objects.get(external_id="a-1")
    assert changed.narration == "Tuck the elbow under the ball."
    assert changed.updated > first_update
    assert Clip.objects.get(external_id="a-2").updated == untouched
    assert Clip.objects.count() == 2


def test_a_moved_file_with_the_same_content_is_the_same_video(tmp_path, make_video):
    make_video("old/a.mp4", seconds=3)
    manifest = write_manifest(tmp_path, [video_line("old/a.mp4", [clip("a-1")])])
    import_gallery(manifest)
    video_id = Video.objects.get().pk
    (tmp_path / "new").mkdir()
    os.replace(tmp_path / "old" / "a.mp4", tmp_path / "new" / "a.mp4")
    write_manifest(tmp_path, [video_line("new/a.mp4", [clip("a-1")])])
    summary = import_gallery(manifest)
    assert "videos 0 new, 1 updated" in summary
    video = Video.objects.get()
    assert video.pk == video_id
    assert video.source_uri == str((tmp_path / "new" / "a.mp4").resolve())
    assert Clip.objects.get().video_id == video_id


def test_a_copy_of_a_video_already_in_the_gallery_is_refused_when_both_are_listed(tmp_path, make_video):
    original = make_video("a.mp4", seconds=3)
    manifest = write_manifest(tmp_path, [video_line("a.mp4", [clip("a-1")])])
    import_gallery(manifest)
    (tmp_path / "copy.mp4").write_bytes(original.read_bytes())
    write_manifest(tmp_path, [video_line("a.mp4", [clip("a-1")]), video_line("copy.mp4", [clip("c-1")])])
    [problem] = failed_import(manifest)
    assert problem.startswith("2: video: has the same content (sha256 ")
    assert problem.endswith("as the video on line 1; give each video one line")


def test_a_changed_sport_moves_the_video_and_all_its_clips(tmp_path, make_video):
    make_video("a.mp4", seconds=3)
    manifest = write_manifest(tmp_path, [video_line("a.mp4", [clip("a-1"), clip("a-2")], sport="tennis")])
    import_gallery(manifest)
    write_manifest(tmp_path, [video_line("a.mp4", [clip("a-1")], sport="padel")])
    summary = import_gallery(manifest)
    assert "videos 0 new, 1 updated, 0 unchanged; clips 0 new, 1 updated, 0 unchanged" in summary
    assert Video.objects.get().sport.slug == "padel"
    assert set(Clip.objects.values_list("sport__slug", flat=True)) == {"padel"}


def test_a_clip_id_that_belongs_to_another_video_in_the_gallery_is_rejected(tmp_path, make_video):
    make_video("a.mp4", seconds=3)
    make_video("b.mp4", seconds=3, width=96, height=64)
    import_gallery(write_manifest(tmp_path, [video_line("a.mp4", [clip("shared")], external_id="yt:a")]))
    manifest = write_manifest(tmp_path, [video_line("b.mp4", [clip("shared")])], name="more.jsonl")
    [problem] = failed_import(manifest)
    assert problem.startswith("1: clips[0].id: 'shared' already belongs to another video in the gallery, 'yt:a'")
    assert Video.objects.count() == 1


def test_a_video_path_may_not_escape_the_allowed_roots(tmp_path, make_video, settings):
    allowed = tmp_path / "allowed"
    make_video("allowed/in.mp4", seconds=3)
    make_video("outside.mp4", seconds=3)
    os.symlink(tmp_path / "outside.mp4", allowed / "sneaky.mp4")
    settings.VIDEO_ALLOWED_ROOTS = [allowed.resolve()]
    manifest = write_manifest(
        allowed,
        [
            video_line("in.mp4", [clip("in-1")]),
            video_line("../outside.mp4", [clip("out-1")]),
            video_line("sneaky.mp4", [clip("out-2")]),
            video_line(str(tmp_path / "outside.mp4"), [clip("out-3")]),
        ],
    )
    problems = failed_import(manifest)
    assert [p.split(": ")[:2] for p in problems] == [["2", "video"], ["3", "video"], ["4", "video"]]
    assert all("outside the folders videos may come from (VIDEO_ALLOWED_ROOTS:" in p for p in problems)
    assert nothing_imported()
    import_gallery(manifest, "--skip-invalid")
    assert list(Video.objects.values_list("source_uri", flat=True)) == [str((allowed / "in.mp4").resolve())]


def test_with_probe_none_the_manifest_is_trusted_and_videos_stay_pending(tmp_path, make_video):
    make_video("a.mp4", seconds=3)
    manifest = write_manifest(
        tmp_path,
        [
            video_line("a.mp4", [clip("a-1", 1.0, 60.0)]),
            video_line("https://media.example.org/b.mp4", [clip("b-1")], external_id="web:b"),
        ],
    )
    summary = import_gallery(manifest, "--probe", "none")
    assert "they stay pending until probed" in summary
    assert set(Video.objects.values_list("probe_status", flat=True)) == {"pending"}
    assert Video.objects.get(external_id="web:b").source_uri == "https://media.example.org/b.mp4"
    assert Clip.objects.get(external_id="a-1").end_s == 60.0


def test_with_probe_none_a_missing_file_is_still_reported(tmp_path):
    manifest = write_manifest(tmp_path, [video_line("nowhere.mp4", [clip("a-1")])])
    [problem] = failed_import(manifest, "--probe", "none")
    missing = tmp_path.resolve() / "nowhere.mp4"
    assert problem == f"1: video: no such file: {missing} (relative paths start at the manifest's folder)"


def test_a_missing_manifest_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="there is no manifest file at"):
        import_gallery(tmp_path / "nope.jsonl")


def test_probe_async_queues_a_job_whose_chunks_probe_and_record_broken_videos(tmp_path, make_video):
    """The chunk's work on its own (no broker): the worker test below runs it through Celery."""
    make_video("a.mp4", seconds=3)
    (tmp_path / "broken.mp4").write_text("not a video")
    manifest = write_manifest(
        tmp_path,
        [video_line("a.mp4", [clip("a-1", 1.0, 2.0), clip("a-2", 2.5, 9.0)]), video_line("broken.mp4", [clip("x")])],
    )
    summary = import_gallery(manifest, "--probe", "async")
    job = Job.objects.get(kind="probe_videos")
    assert f"probing on workers: job {job.pk}" in summary
    assert job.total == 2
    assert set(Video.objects.values_list("probe_status", flat=True)) == {"pending"}
    for chunk in job.chunks.all():
        assert run_chunk(chunk.pk, probe_videos) == "done"
    job.refresh_from_db()
    assert (job.status, job.done, job.error_count) == ("done", 2, 2)
    ok = Video.objects.get(source_uri=str((tmp_path / "a.mp4").resolve()))
    assert ok.probe_status == "ok"
    assert ok.duration_s == pytest.approx(3.0, abs=0.05)
    broken = Video.objects.get(source_uri=str((tmp_path / "broken.mp4").resolve()))
    assert broken.probe_status == "failed"
    assert "the file is text, not a video" in broken.probe_error
    errors = {e["error"] for e in job.errors}
    assert broken.probe_error in errors
    assert any("a-2 ends at 9.0 s" in e for e in errors)


@pytest.mark.redis
@pytest.mark.worker
def test_probe_async_runs_on_a_real_worker_and_carries_on_past_a_broken_video(
    tmp_path, make_video, bikes_mp4, celery_worker_factory
):
    celery_worker_factory(queues="default")
    make_video("a.mp4", seconds=3)
    (tmp_path / "broken.mp4").write_bytes(make_video("whole.mp4", seconds=3).read_bytes()[:3000])
    manifest = write_manifest(
        tmp_path,
        [
            video_line("a.mp4", [clip("a-1")]),
            video_line("broken.mp4", [clip("x-1")]),
            video_line(str(bikes_mp4), [clip("b-1", 1.0, 9.0)]),
        ],
    )
    import_gallery(manifest, "--probe", "async")
    job = Job.objects.get(kind="probe_videos")
    job = wait_for(lambda: Job.objects.filter(pk=job.pk, status__in=["done", "failed"]).first(), what="the probe job")
    assert (job.status, job.done, job.total, job.error_count) == ("done", 3, 3, 1)
    broken = Video.objects.get(source_uri=str((tmp_path / "broken.mp4").resolve()))
    assert broken.probe_status == "failed"
    assert job.errors == [{"item": f"video {broken.source_uri}", "error": broken.probe_error}]
    bikes = Video.objects.get(source_uri=str(bikes_mp4.resolve()))
    assert (bikes.probe_status, bikes.width, bikes.height) == ("ok", 640, 272)
    assert Video.objects.get(source_uri=str((tmp_path / "a.mp4").resolve())).probe_status == "ok"
