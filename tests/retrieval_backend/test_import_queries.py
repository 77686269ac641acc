"""``manage.py import_queries``: queries on recordings, positives that must exist, all-or-nothing, idempotency."""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from core.jobs import run_chunk
from core.models import Job
from retrieval_backend.importing.probing import probe_videos
from retrieval_backend.models import Clip, MistakeQuery, Video

pytestmark = pytest.mark.django_db


def write_manifest(folder: Path, lines: list, name: str) -> Path:
    path = folder / name
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def run(command: str, manifest: Path, *args: str) -> str:
    out = StringIO()
    call_command(command, str(manifest), "--no-progress", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def failed_import(manifest: Path, *args: str) -> list[str]:
    with pytest.raises(CommandError) as failure:
        run("import_queries", manifest, *args)
    assert "nothing was imported" in str(failure.value)
    return [line for line in str(failure.value).splitlines() if re.match(r"\d+: ", line)]


def query(query_id: str, video: str = "queries/q.mp4", start: float = 0.0, end: float = 2.0, **extra) -> dict:
    line = {"id": query_id, "video": video, "sport": "basketball", "skill": "jump shot", "start": start, "end": end}
    return {**line, "mistake": "My elbow flares out when I release.", **extra}


@pytest.fixture
def gallery(tmp_path, make_video) -> Path:
    """A gallery of two clips (abc-1, abc-2) and a 3 s query recording at queries/q.mp4."""
    make_video("videos/abc.mp4", seconds=4, width=128, height=96)
    make_video("queries/q.mp4", seconds=3)
    clips = [
        {"id": "abc-1", "start": 0.0, "end": 2.0, "narration": "Keep your elbow under the ball."},
        {"id": "abc-2", "start": 2.0, "end": 4.0, "narration": "Snap the wrist."},
    ]
    lines = [{"video": "videos/abc.mp4", "sport": "basketball", "clips": clips}]
    run("import_gallery", write_manifest(tmp_path, lines, "gallery.jsonl"))
    return tmp_path


def test_it_imports_queries_with_their_positives_and_one_row_per_recording(gallery):
    manifest = write_manifest(
        gallery,
        [
            query("q-1", start=0.0, end=1.5, positives=["abc-1"]),
            query("q-2", start=1.0, end=3.0, positives=["abc-1", "abc-2"], skill="free throw"),
            query("q-3", start=0.5, end=1.0),
        ],
        "queries.jsonl",
    )
    summary = run("import_queries", manifest)
    assert "queries 3 new, 0 updated, 0 unchanged; recordings 1 new" in summary
    recording = Video.objects.get(role="query")
    assert recording.source_uri == str((gallery / "queries" / "q.mp4").resolve())
    assert recording.probe_status == "ok"
    assert recording.duration_s == pytest.approx(3.0, abs=0.05)
    q2 = MistakeQuery.objects.get(external_id="q-2")
    assert (q2.video, q2.sport.slug, q2.skill, q2.start_s, q2.end_s) == (
        recording,
        "basketball",
        "free throw",
        1.0,
        3.0,
    )
    assert q2.mistake == "My elbow flares out when I release."
    assert set(q2.positives.values_list("external_id", flat=True)) == {"abc-1", "abc-2"}
    assert not MistakeQuery.objects.get(external_id="q-3").positives.exists()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (query("q-2", positives=["abc-1", "zzz"]), "2: positives[1]: no clip 'zzz' in the gallery"),
        (query("q-1"), "2: id: 'q-1' is already used on line 1"),
        (query("q-2", mistake="  "), "2: mistake: is empty"),
        (query("q-2", start=1.0, end=9.0), "2: end: 9.0 is past the video's end (3.0 s)"),
        (query("q-2", start=2.0, end=2.0), "2: end: 2.0 is not after the start (2.0)"),
        (query("q-2", video="queries/none.mp4"), "2: video: no such file: "),
        (query("q-2", sport="Basket ball"), "2: sport: 'Basket ball' is not a sport slug"),
        ({"id": "q-2", "video": "queries/q.mp4", "sport": "tennis"}, "2: start: missing: this field is required"),
        ("{", "2: line: is not valid JSON"),
    ],
)
def test_each_mistake_is_reported_with_its_line_and_field_and_nothing_is_imported(gallery, line, expected):
    manifest = write_manifest(gallery, [query("q-1", positives=["abc-1"]), line], "queries.jsonl")
    problems = failed_import(manifest)
    assert any(p.startswith(expected) for p in problems), problems
    assert not MistakeQuery.objects.exists()
    assert not Video.objects.filter(role="query").exists()


def test_a_query_id_already_used_on_another_recording_is_rejected(gallery, make_video):
    run("import_queries", write_manifest(gallery, [query("q-1")], "first.jsonl"))
    make_video("queries/other.mp4", seconds=3, width=96, height=64)
    manifest = write_manifest(gallery, [query("q-1", video="queries/other.mp4")], "second.jsonl")
    [problem] = failed_import(manifest)
    assert problem.startswith("1: id: 'q-1' is already a mistake query on another recording (")


def test_reimporting_changes_nothing_and_an_edit_updates_only_that_query(gallery):
    lines = [query("q-1", positives=["abc-1"]), query("q-2", start=1.0, end=2.5, positives=["abc-2"])]
    manifest = write_manifest(gallery, lines, "queries.jsonl")
    run("import_queries", manifest)

    def snapshot():
        return (
            list(MistakeQuery.objects.order_by("id").values_list("id", "updated", "mistake")),
            list(Video.objects.order_by("id").values_list("id", "updated")),
            sorted(MistakeQuery.positives.through.objects.values_list("mistakequery_id", "clip_id")),
        )

    before = snapshot()
    summary = run("import_queries", manifest)
    assert "queries 0 new, 0 updated, 2 unchanged; recordings 0 new, 0 updated, 1 unchanged" in summary
    assert snapshot() == before

    lines[1]["positives"] = ["abc-1", "abc-2"]
    write_manifest(gallery, lines, "queries.jsonl")
    summary = run("import_queries", manifest)
    assert "queries 0 new, 1 updated, 1 unchanged" in summary
    q1, q2 = MistakeQuery.objects.order_by("external_id")
    assert q1.updated == before[0][0][1]
    assert q2.updated > before[0][1][1]
    assert set(q2.positives.values_list("external_id", flat=True)) == {"abc-1", "abc-2"}
    assert Clip.objects.count() == 2


def test_with_skip_invalid_the_valid_queries_are_imported_and_the_rest_written_with_reasons(gallery):
    bad = query("q-2", positives=["nope"])
    manifest = write_manifest(gallery, [query("q-1"), bad], "queries.jsonl")
    summary = run("import_queries", manifest, "--skip-invalid")
    assert "queries 1 new" in summary
    assert "1 line(s) rejected" in summary
    assert list(MistakeQuery.objects.values_list("external_id", flat=True)) == ["q-1"]
    [rejected] = [json.loads(line) for line in (gallery / "queries.rejected.jsonl").read_text().splitlines()]
    expected = "2: positives[0]: no clip 'nope' in the gallery; import the gallery first or fix the id"
    assert rejected == {**bad, "errors": [expected]}


def test_with_probe_none_recordings_stay_pending_and_durations_are_not_checked(gallery):
    manifest = write_manifest(gallery, [query("q-1", start=0.0, end=60.0)], "queries.jsonl")
    run("import_queries", manifest, "--probe", "none")
    query_row = MistakeQuery.objects.get()
    assert query_row.end_s == 60.0
    assert query_row.video.probe_status == "pending"


def test_with_probe_async_the_recordings_are_probed_by_the_job(gallery):
    manifest = write_manifest(gallery, [query("q-1"), query("q-2", start=1.0, end=2.0)], "queries.jsonl")
    summary = run("import_queries", manifest, "--probe", "async")
    job = Job.objects.get(kind="probe_videos")
    assert f"probing on workers: job {job.pk}" in summary
    assert job.total == 1
    recording = Video.objects.get(role="query")
    assert recording.probe_status == "pending"
    for chunk in job.chunks.all():
        run_chunk(chunk.pk, probe_videos)
    recording.refresh_from_db()
    assert recording.probe_status == "ok"
    assert recording.duration_s == pytest.approx(3.0, abs=0.05)
