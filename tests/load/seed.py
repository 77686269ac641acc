"""A live study for the load test: coaches, a gallery of real (small, synthetic) videos, and items.

The videos are real MP4 files written with PyAV and rendered into the clip cache
before the test starts, so the clip requests measure serving byte ranges, not
the first render. Item rows are plentiful (the claim query's plan depends on the
study's size); clips and queries are few, so only a few dozen segments render.
Runs inside a configured Django (``django.setup()`` done by the caller).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

LOAD_SPORT = "load-test"
STUDY_SLUG = "load-test"
GALLERY_VIDEOS = 4
QUERY_VIDEOS = 2
CLIPS_PER_VIDEO = 8
QUERIES_PER_VIDEO = 5
SEGMENT_S = 2.5
RATERS_PER_ITEM = 3


@dataclass(frozen=True)
class Plan:
    study_slug: str
    study_id: int
    usernames: list[str]
    password: str
    items: int
    segments: int


def _videos(folder: Path) -> list[tuple[Path, str]]:
    """Gallery and query recordings; written once and kept, so their checksums (the render cache keys) stay put."""
    from retrieval_backend.video.synthetic import write_synthetic_video

    wanted = [(folder / f"gallery-{i}.mp4", "gallery", 20.0) for i in range(GALLERY_VIDEOS)]
    wanted += [(folder / f"query-{i}.mp4", "query", 13.0) for i in range(QUERY_VIDEOS)]
    for path, _, seconds in wanted:
        if not path.is_file():
            tmp = path.with_name(f".{path.name}.part.mp4")
            write_synthetic_video(tmp, seconds=seconds, width=320, height=240, audio=True, keyframe_interval_s=2.0)
            tmp.rename(path)
    return [(path, role) for path, role, _ in wanted]


def seed(*, var_dir: Path, items: int, coaches: int, password: str) -> Plan:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from retrieval_backend.models import Clip, MistakeQuery, Sport, Video
    from retrieval_backend.playback import render_segment_for
    from retrieval_backend.video.probe import probe
    from studies.models import CoachProfile, Item, Study

    rng = random.Random(8)
    started = time.perf_counter()
    with transaction.atomic():
        sport = Sport.objects.create(slug=LOAD_SPORT, name="Load test")
        gallery, recordings = [], []
        for path, role in _videos(var_dir / "videos"):
            info = probe(path)
            video = Video.objects.create(
                sport=sport,
                role=role,
                source_uri=str(path.resolve()),
                sha256=info.sha256,
                size_bytes=info.size_bytes,
                duration_s=info.duration_s,
                fps=info.fps,
                width=info.width,
                height=info.height,
                codec=info.codec,
                has_audio=info.has_audio,
                frame_count=info.frame_count,
                probe_status=Video.ProbeStatus.OK,
            )
            (gallery if role == "gallery" else recordings).append(video)
        clips = Clip.objects.bulk_create(
            Clip(
                video=video,
                sport=sport,
                external_id=f"load-clip-{video.pk}-{k}",
                start_s=k * 2.0,
                end_s=k * 2.0 + SEGMENT_S,
                skill="serve",
                narration=f"Drill {k}: keep the elbow high through contact.",
            )
            for video in gallery
            for k in range(CLIPS_PER_VIDEO)
        )
        queries = MistakeQuery.objects.bulk_create(
            MistakeQuery(
                video=video,
                sport=sport,
                external_id=f"load-query-{video.pk}-{k}",
                start_s=k * 2.0,
                end_s=k * 2.0 + SEGMENT_S,
                skill="serve",
                mistake=f"Drops the elbow before contact ({k}).",
            )
            for video in recordings
            for k in range(QUERIES_PER_VIDEO)
        )
        study = Study.objects.create(
            title="Load test study",
            slug=STUDY_SLUG,
            instructions="Judge **technique** only.",
            kinds=Study.Kinds.BOTH,
            raters_per_item=RATERS_PER_ITEM,
            show_narrations=True,
            status=Study.Status.LIVE,
            published=timezone.now(),
        )
        Item.objects.bulk_create(
            (
                Item(
                    study=study,
                    kind=Item.Kind.PAIRWISE if i % 2 else Item.Kind.LIKERT,
                    key=f"load:{i}",
                    query=queries[i % len(queries)],
                    clip_a=clips[rng.randrange(len(clips))],
                    clip_b=clips[rng.randrange(len(clips))] if i % 2 else None,
                    swapped=bool(rng.getrandbits(1)),
                    needed=RATERS_PER_ITEM,
                    order_key=rng.randrange(2**31),
                )
                for i in range(items)
            ),
            batch_size=5000,
        )
        # One hash for every coach: hashing is deliberately slow, and the test logs in with it anyway.
        hashed = make_password(password)
        usernames = [f"load-coach-{n:03d}" for n in range(1, coaches + 1)]
        users = get_user_model().objects.bulk_create(
            get_user_model()(username=name, password=hashed, email=f"{name}@example.org") for name in usernames
        )
        CoachProfile.objects.bulk_create(CoachProfile(user=user, years_coaching=5) for user in users)
    # Render every segment now, as `manage.py render_clips` would before a study opens.
    segments = 0
    for row in [*Clip.objects.select_related("video"), *MistakeQuery.objects.select_related("video")]:
        render_segment_for(row.video, row.start_s, row.end_s)
        segments += 1
    # Planner statistics, as autovacuum would have them on a real installation.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"seeded: study {study.slug!r} with {items:,} items, {coaches} coaches, {len(clips)} clips, "
        f"{len(queries)} queries, {segments} rendered segments in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return Plan(study.slug, study.pk, usernames, password, items, segments)
