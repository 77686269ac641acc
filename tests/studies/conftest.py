"""Fixtures for studies: a small gallery with candidate sets, coaches, and a study over them."""

from __future__ import annotations

import random

import pytest

from retrieval_backend.models import Candidate, Clip, MistakeQuery
from studies.items import build_items
from studies.models import Study
from tests.factories import (
    CandidateFactory,
    CandidateSetFactory,
    ClipFactory,
    CoachProfileFactory,
    MistakeQueryFactory,
    RetrievalMethodFactory,
    SportFactory,
    StudyFactory,
    VideoFactory,
)


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
    sport = SportFactory(slug=sport_slug, name=sport_slug.title())
    video = VideoFactory(sport=sport, source_uri=f"/videos/{sport_slug}-gallery.mp4", probe_status="ok", duration_s=600)
    # Built in memory, then inserted in one statement: the benchmarks make galleries of thousands.
    clips = Clip.objects.bulk_create(
        ClipFactory.build(
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
    qvideo = VideoFactory(
        sport=sport, role="query", source_uri=f"/videos/{sport_slug}-queries.mp4", probe_status="ok", duration_s=600
    )
    queries = MistakeQuery.objects.bulk_create(
        MistakeQueryFactory.build(
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
    method_rows = [RetrievalMethodFactory(name=name, backend="random") for name in methods]
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
            cset = CandidateSetFactory(query=query, method=method, k=k)
            Candidate.objects.bulk_create(
                CandidateFactory.build(candidate_set=cset, rank=r, clip=clip) for r, clip in enumerate(ranked, 1)
            )
    return sport, clips, queries, method_rows


def make_coach(username: str, *, sports=(), years: int = 5):
    """A coach (a user with a coach profile) expert in ``sports``, who logs in with the tests' password."""
    return CoachProfileFactory(user__username=username, sports=sports, years_coaching=years).user


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
    return StudyFactory(title="Serve study", slug="serve", depth_k=5, raters_per_item=3, seed=11, methods=methods)


@pytest.fixture
def live_study(study):
    """The study with its items built, live."""
    build_items(study)
    Study.objects.filter(pk=study.pk).update(status=Study.Status.LIVE)
    study.refresh_from_db()
    return study
