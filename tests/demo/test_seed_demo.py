"""seed_demo: the gallery, queries and accounts a newcomer's ``make run`` starts with."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import av
import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from demo.gallery.build import FPS, HEIGHT, WIDTH, build_demo, frames_per_take, render_one
from demo.gallery.canvas import Canvas
from demo.gallery.catalogue import COACH_KITS, gallery_videos, mistake_queries
from demo.gallery.skill import Rep
from demo.gallery.sports import SKILLS
from demo.management.commands.seed_demo import COACHES, DEMO_PASSWORD, RESEARCHER
from retrieval_backend.models import Clip, MistakeQuery, RetrievalMethod, Sport, Video
from retrieval_backend.video.probe import probe
from tests.factories import ClipFactory, SportFactory, VideoFactory


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's videos and manifests, rendered once for the whole run (they are deterministic)."""
    return build_demo(tmp_path_factory.mktemp("demo")).folder


def seed(folder: Path, *flags: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--folder", str(folder), *flags, stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, object]:
    users = get_user_model().objects.order_by("username")
    return {
        "sports": list(Sport.objects.values_list("id", "slug", "name")),
        "videos": list(Video.objects.values_list("id", "sha256", "source_uri", "duration_s")),
        "clips": list(Clip.objects.values_list("id", "external_id", "start_s", "end_s", "narration")),
        "queries": list(MistakeQuery.objects.values_list("id", "external_id", "mistake")),
        "positives": list(MistakeQuery.positives.through.objects.values_list("mistakequery_id", "clip_id")),
        "methods": list(RetrievalMethod.objects.values_list("id", "name", "backend", "params")),
        "users": list(users.values_list("id", "username", "password", "is_staff", "is_superuser")),
    }


@pytest.mark.django_db
def test_it_loads_sports_clips_with_narrations_and_queries_with_positives(demo_folder: Path) -> None:
    output = seed(demo_folder)

    assert set(Sport.objects.values_list("slug", "name")) == {
        ("basketball", "Basketball"),
        ("tennis", "Tennis"),
        ("golf", "Golf"),
        ("football", "Football"),
    }
    clips = Clip.objects.filter(external_id__startswith="demo-")
    assert clips.count() == 28
    for clip in clips:
        # Instructional narrations of two or three sentences, as a coach would say them.
        assert clip.narration.count(". ") >= 1, clip.external_id
        assert clip.end_s > clip.start_s
    # Several clips are cut from each lesson video.
    for video in Video.objects.filter(role=Video.Role.GALLERY):
        assert video.clips.count() >= 3
        assert video.probe_status == Video.ProbeStatus.OK
    queries = MistakeQuery.objects.filter(external_id__startswith="demo-")
    assert queries.count() == 12
    for query in queries:
        positives = list(query.positives.all())
        assert len(positives) == 2, query.external_id
        assert {clip.sport_id for clip in positives} == {query.sport_id}
        assert query.video.role == Video.Role.QUERY
    assert "researcher / coachbench-demo" in output


@pytest.mark.django_db
def test_the_demo_accounts_can_log_in_and_the_researcher_sees_the_gallery(demo_folder: Path, client) -> None:
    seed(demo_folder)

    for username in (RESEARCHER, *COACHES):
        assert client.login(username=username, password=DEMO_PASSWORD), username
        client.logout()
    researcher = get_user_model().objects.get(username=RESEARCHER)
    assert researcher.is_staff
    assert not get_user_model().objects.filter(username__in=COACHES, is_staff=True).exists()
    client.force_login(researcher)
    page = client.get("/admin/retrieval_backend/clip/?q=fix")
    assert page.status_code == 200
    assert b"demo-basketball-fix-chest-push" in page.content


@pytest.mark.django_db
def test_it_registers_the_built_in_retrieval_methods(demo_folder: Path) -> None:
    seed(demo_folder)

    assert dict(RetrievalMethod.objects.values_list("name", "backend")) == {
        "random": "random",
        "narration-text": "narration-text",
        "visual-baseline": "visual",
        "mistake-conditioned": "mistake-conditioned",
    }


@pytest.mark.django_db
def test_running_it_again_changes_nothing(demo_folder: Path) -> None:
    seed(demo_folder)
    before = snapshot()

    seed(demo_folder)

    assert snapshot() == before


@pytest.mark.django_db
def test_force_resets_a_changed_demo_password(demo_folder: Path, client) -> None:
    seed(demo_folder)
    coach = get_user_model().objects.get(username="coach2")
    coach.set_password("something-else-entirely")
    coach.save()
    seed(demo_folder)
    assert not client.login(username="coach2", password=DEMO_PASSWORD)  # left alone without --force

    seed(demo_folder, "--force")

    assert client.login(username="coach2", password=DEMO_PASSWORD)
    assert Clip.objects.count() == 28


@pytest.mark.django_db
def test_if_empty_does_nothing_when_a_gallery_exists(tmp_path: Path, make_video) -> None:
    sport = SportFactory(slug="rowing", name="Rowing")
    video = VideoFactory(sport=sport, source_uri=str(make_video("own.mp4")))
    ClipFactory(video=video, sport=sport, external_id="own-1", start_s=0, end_s=1, narration="Drive with legs.")

    output = seed(tmp_path / "unused", "--if-empty")

    assert "Skipping the demo data" in output
    assert Clip.objects.count() == 1
    assert not get_user_model().objects.filter(username=RESEARCHER).exists()
    assert not (tmp_path / "unused").exists()


@pytest.mark.django_db
def test_if_empty_loads_an_empty_database_once(demo_folder: Path) -> None:
    seed(demo_folder, "--if-empty")
    before = snapshot()

    output = seed(demo_folder, "--if-empty")

    assert "Skipping the demo data" in output
    assert snapshot() == before


@pytest.mark.django_db
def test_if_empty_and_force_together_are_refused(demo_folder: Path) -> None:
    with pytest.raises(CommandError, match="contradict"):
        seed(demo_folder, "--if-empty", "--force")


def test_the_demo_videos_probe_as_h264_of_the_expected_length(demo_folder: Path) -> None:
    gallery = [json.loads(line) for line in (demo_folder / "gallery.jsonl").read_text().splitlines()]
    queries = [json.loads(line) for line in (demo_folder / "queries.jsonl").read_text().splitlines()]
    assert len(gallery) == 8
    assert len(queries) == 12
    for entry in gallery + queries:
        info = probe(demo_folder / entry["video"])
        assert (info.width, info.height, info.codec) == (WIDTH, HEIGHT, "h264")
        assert info.fps == pytest.approx(FPS)
        segments = entry.get("clips") or [entry]
        assert segments[-1]["end"] == pytest.approx(info.duration_s, abs=1 / FPS), entry["video"]


def test_rendering_is_deterministic(demo_folder: Path, tmp_path: Path) -> None:
    """The importers recognise videos by checksum, so a re-render must produce the same bytes."""
    video, query = gallery_videos()[0], mistake_queries()[0]
    render_one(tmp_path, "gallery", 0)
    render_one(tmp_path, "query", 0)
    assert (tmp_path / video.path).read_bytes() == (demo_folder / video.path).read_bytes()
    assert (tmp_path / query.path).read_bytes() == (demo_folder / query.path).read_bytes()


@pytest.mark.parametrize("skill", SKILLS, ids=lambda s: s.slug)
def test_every_fault_visibly_changes_the_athlete(skill) -> None:
    """At some moment of the repetition, hundreds of pixels differ from the correct execution."""
    backdrop = skill.backdrop(WIDTH, HEIGHT, 0.9 * HEIGHT)
    correct = Rep(skill, None, COACH_KITS[0], width=WIDTH, height=HEIGHT)
    phases = np.linspace(0, 1, frames_per_take(skill))

    def frames(rep: Rep) -> list[np.ndarray]:
        out = []
        for phase in phases:
            canvas = Canvas(backdrop)
            rep.draw(canvas, float(phase))
            out.append(canvas.image().astype(np.int16))
        return out

    reference = frames(correct)
    for fault in skill.faults:
        faulty = frames(Rep(skill, fault.key, COACH_KITS[0], width=WIDTH, height=HEIGHT))
        changed = max(int((np.abs(a - b).max(axis=2) > 60).sum()) for a, b in zip(reference, faulty, strict=True))
        assert changed > 500, f"{skill.slug} {fault.key}: at most {changed} pixels differ"


def test_each_query_shows_its_fault_not_the_correct_execution(demo_folder: Path) -> None:
    """The decoded learner video is closer to a fresh render of its fault than to the correct execution."""
    for query in mistake_queries():
        with av.open(str(demo_folder / query.path)) as container:
            decoded = [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(video=0)]
        backdrop = query.skill.backdrop(WIDTH, HEIGHT, 0.9 * HEIGHT)
        distances = {}
        for fault in (query.fault, None):
            rep = Rep(query.skill, fault, query.kit, width=WIDTH, height=HEIGHT, shift=query.shift, tempo=query.tempo)
            # Pixels that differ a lot: compression noise is small and everywhere, a different pose is not.
            distances[fault] = 0
            for index, frame in list(enumerate(decoded))[::4]:
                canvas = Canvas(backdrop)
                rep.draw(canvas, index / (len(decoded) - 1))
                distances[fault] += int((np.abs(canvas.image().astype(np.int16) - frame).max(axis=2) > 60).sum())
        assert distances[query.fault] < distances[None] / 3, (query.external_id, distances)


@pytest.mark.django_db
def test_it_creates_a_demo_study_waiting_for_the_worker(demo_folder: Path) -> None:
    from core.models import Job
    from studies.models import CoachProfile, Study

    output = seed(demo_folder)
    study = Study.objects.get(slug="demo")
    assert study.status == Study.Status.GENERATING
    assert study.kinds == Study.Kinds.BOTH
    assert study.methods.count() == 3
    assert "goes live once the worker" in output
    assert Job.objects.filter(kind="generate_candidates").count() == 1
    for username in COACHES:
        assert CoachProfile.objects.get(user__username=username).sports.count() == 4
    seed(demo_folder)
    assert Study.objects.filter(slug__startswith="demo").count() == 1


@pytest.mark.worker
@pytest.mark.redis
def test_the_worker_makes_the_demo_study_live_for_the_demo_coaches(demo_folder, celery_worker_factory) -> None:
    from studies.assignment import next_assignment_for
    from studies.models import Item, Study
    from tests.conftest import wait_for

    celery_worker_factory()
    seed(demo_folder)

    def live() -> bool:
        study = Study.objects.get(slug="demo")
        assert study.status in {"generating", "ready", "live"}, study.status_message
        return study.status == "live"

    wait_for(live, timeout_s=600, interval_s=2, what="the demo study to go live")
    study = Study.objects.get(slug="demo")
    assert set(Item.objects.filter(study=study).values_list("kind", flat=True)) == {"pairwise", "likert"}
    coach = get_user_model().objects.get(username=COACHES[0])
    assert next_assignment_for(coach, study) is not None
