"""Fixtures for studies: a small gallery with candidate sets, coaches, and a study over them."""

from __future__ import annotations

import random

import pytest
from django.contrib.auth import get_user_model

from retrieval_backend.models import Candidate, CandidateSet, Clip, MistakeQuery, RetrievalMethod, Sport, Video
from studies.items import build_items
from studies.models import CoachProfile, Study


def make_gallery(
    *,
    n_queries: int = 4,
    n_clips: int = 30,
    methods: tuple[str, ...] = ("alpha", "beta"),
    k: int = 5,
    seed: int = 7,
    overlap: bool = True,
    sport_slug: str = "tennis",
):
    """Rows only (no media): one sport, clips, queries, and each method's top-k per query."""
    sport, _ = Sport.objects.get_or_create(slug=sport_slug, defaults={"name": sport_slug.title()})
    video = Video.objects.create(
        sport=sport, source_uri=f"/videos/{sport_slug}-gallery.mp4", probe_status="ok", duration_s=600
    )
    clips = Clip.objects.bulk_create(
        Clip(
            video=video,
            sport=sport,
            external_id=f"{sport_slug}-c{i}",
            start_s=i,
            end_s=i + 1,
            narration=f"Tip {i}",
            skill="serve",
        )
        for i in range(n_clips)
    )
    qvideo = Video.objects.create(
        sport=sport, role="query", source_uri=f"/videos/{sport_slug}-queries.mp4", probe_status="ok", duration_s=600
    )
    queries = MistakeQuery.objects.bulk_create(
        MistakeQuery(
            video=qvideo,
            sport=sport,
            external_id=f"{sport_slug}-q{i}",
            start_s=0,
            end_s=3,
            skill="serve",
            mistake=f"Mistake {i}",
        )
        for i in range(n_queries)
    )
    rng = random.Random(seed)
    method_rows = [
        RetrievalMethod.objects.get_or_create(name=name, defaults={"backend": "random"})[0] for name in methods
    ]
    for query in queries:
        shared = rng.sample(clips, k)
        others = [c for c in clips if c not in shared]
        for method in method_rows:
            if not overlap:
                ranked = rng.sample(clips, k)
            elif method == method_rows[0]:
                ranked = shared
            else:
                # Same clip at rank 1 for every method (an identical pair, a clip credited twice), the rest disjoint.
                ranked = [shared[0], *rng.sample(others, k - 1)]
            cset = CandidateSet.objects.create(query=query, method=method, k=k)
            Candidate.objects.bulk_create(
                Candidate(candidate_set=cset, rank=r, clip=clip, score=1 - r / 100) for r, clip in enumerate(ranked, 1)
            )
    return sport, clips, queries, method_rows


def make_coach(username: str, *, sports=(), years: int = 5):
    user = get_user_model().objects.create_user(username, password="pw-for-tests-123")
    profile = CoachProfile.objects.create(user=user, years_coaching=years)
    profile.sports.set(sports)
    return user


@pytest.fixture
def gallery(db):
    return make_gallery()


@pytest.fixture
def coaches(gallery):
    sport = gallery[0]
    return [make_coach(f"coach{i}", sports=[sport]) for i in range(1, 5)]


@pytest.fixture
def study(gallery, coaches):
    _, _, _, methods = gallery
    study = Study.objects.create(title="Serve study", slug="serve", depth_k=5, raters_per_item=3, seed=11)
    study.methods.set(methods)
    return study


@pytest.fixture
def live_study(study):
    """The study with its items built, live."""
    build_items(study)
    Study.objects.filter(pk=study.pk).update(status=Study.Status.LIVE)
    study.refresh_from_db()
    return study
