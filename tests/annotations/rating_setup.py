"""Studies ready for coaches to rate, with real playable videos: shared by the page and browser tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from retrieval_backend.models import Clip, MistakeQuery, RetrievalMethod, Sport, Video
from retrieval_backend.video.probe import probe
from studies.models import Item, Study
from tests.factories import (
    ClipFactory,
    ItemFactory,
    MistakeQueryFactory,
    RetrievalMethodFactory,
    SportFactory,
    StudyFactory,
    VideoFactory,
)

NARRATIONS = [
    "Keep the elbow above the shoulder until contact.",
    "Turn the hips before the arm comes through.",
    "Land on the front foot and hold the finish.",
    "Toss the ball slightly in front of the body.",
    "Relax the grip so the racquet head can accelerate.",
    "Watch the ball onto the strings.",
]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    """Coaches log in with real passwords; the default hasher's cost would be most of these tests' time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# Method names a coach page must never show.
METHOD_NAMES = ("secret-method-alpha", "secret-method-beta")

MISTAKE = "The elbow drops below the shoulder before contact, so the serve loses height and pace."


def probed_video(path: Path, sport: Sport, role: str = "gallery", **fields) -> Video:
    """A Video row for a real file, with what the probe measured (the clip views need its checksum)."""
    info = probe(path)
    return VideoFactory(
        sport=sport,
        role=role,
        source_uri=str(path),
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
        **fields,
    )


@dataclass
class PlayableGallery:
    sport: Sport
    clips: list[Clip]
    query: MistakeQuery
    methods: list[RetrievalMethod]


def playable_gallery(
    make_video,
    *,
    clip_seconds: float = 2.0,
    n_clips: int = 6,
    width: int = 320,
    height: int = 180,
    fps: int = 25,
) -> PlayableGallery:
    """One gallery video cut into ``n_clips`` clips, and one mistake query on its own recording."""
    sport = SportFactory(slug="tennis", name="Tennis")
    source = make_video("gallery.mp4", seconds=clip_seconds * n_clips, width=width, height=height, fps=fps)
    gallery = probed_video(source, sport)
    clips = _clips(gallery, n_clips, clip_seconds)
    recording = probed_video(
        make_video("query.mp4", seconds=clip_seconds, width=width, height=height, fps=fps), sport, role="query"
    )
    query = MistakeQueryFactory(
        video=recording,
        sport=sport,
        external_id="tennis-demo-query",
        start_s=0,
        end_s=clip_seconds,
        skill="serve",
        mistake=MISTAKE,
    )
    methods = [RetrievalMethodFactory(name=name) for name in METHOD_NAMES]
    return PlayableGallery(sport, clips, query, methods)


def _clips(video: Video, n_clips: int, clip_seconds: float, **fields) -> list[Clip]:
    """``n_clips`` back-to-back clips of ``video``; ``fields`` may give each an ``id`` from its index."""
    return [
        ClipFactory(
            video=video,
            sport=video.sport,
            external_id=f"tennis-demo-clip-{i}",
            start_s=i * clip_seconds,
            end_s=(i + 1) * clip_seconds,
            narration=NARRATIONS[i % len(NARRATIONS)],
            skill="serve",
            **{name: value(i) for name, value in fields.items()},
        )
        for i in range(n_clips)
    ]


def live_study(gallery: PlayableGallery, *, slug: str = "serve", **fields) -> Study:
    defaults = {
        "title": "Serve corrections",
        "kinds": Study.Kinds.BOTH,
        "raters_per_item": 2,
        "status": Study.Status.LIVE,
        "instructions": "Judge **technique**, not video quality.",
        "scale_labels": {"1": "Not helpful", "5": "Very helpful"},
    }
    return StudyFactory(slug=slug, methods=gallery.methods, **{**defaults, **fields})


def add_items(study: Study, gallery: PlayableGallery, kinds: list[str], *, swapped: bool = False) -> list[Item]:
    """Items in the given order (coaches are offered them in this order), over the gallery's clips."""
    a, b = gallery.methods
    clips = gallery.clips
    items = []
    for n, kind in enumerate(kinds):
        clip_a, clip_b = clips[(2 * n) % len(clips)], clips[(2 * n + 1) % len(clips)]
        pairwise = kind == Item.Kind.PAIRWISE
        items.append(
            ItemFactory(
                study=study,
                kind=kind,
                key=f"{kind}:{n}",
                query=gallery.query,
                clip_a=clip_a,
                clip_b=clip_b if pairwise else None,
                credits_a=[{"method": a.pk, "rank": 1}],
                credits_b=[{"method": b.pk, "rank": 1}] if pairwise else [],
                method_pair=f"{a.pk}:{b.pk}" if pairwise else "",
                swapped=swapped,
                order_key=n,
            )
        )
    return items


def rows_only_gallery(*, n_clips: int = 6, clip_seconds: float = 2.0, ids_from: int | None = None) -> PlayableGallery:
    """The same shape as ``playable_gallery`` without media files, for tests that never play a video.

    ``ids_from`` gives every row an explicit, distinctive primary key from that number
    up, so a test can tell an id that leaked onto a page from any other number.
    """

    def ids(n: int) -> dict[str, int]:
        return {"id": ids_from + n} if ids_from is not None else {}

    sport = SportFactory(slug="tennis", name="Tennis")
    gallery = VideoFactory(
        sport=sport, source_uri="/srv/secret-gallery/source-video.mp4", probe_status="ok", duration_s=600, **ids(1)
    )
    clip_ids = {"id": lambda i: ids_from + 100 + i} if ids_from is not None else {}
    clips = _clips(gallery, n_clips, clip_seconds, **clip_ids)
    recording = VideoFactory(
        sport=sport,
        role="query",
        source_uri="/srv/secret-queries/query-video.mp4",
        probe_status="ok",
        duration_s=60,
        **ids(2),
    )
    query = MistakeQueryFactory(
        video=recording,
        sport=sport,
        external_id="tennis-demo-query",
        start_s=0,
        end_s=clip_seconds,
        skill="serve",
        mistake=MISTAKE,
        **ids(3),
    )
    methods = [RetrievalMethodFactory(name=name, **ids(10 + n)) for n, name in enumerate(METHOD_NAMES)]
    return PlayableGallery(sport, clips, query, methods)
