"""The demo study: pairwise and Likert over the demo gallery, live once the worker has generated candidates.

``seed_demo`` calls ``start_demo_study``: it queues candidate generation for the
demo methods (a worker job, like a researcher's) and a task that waits for that
job without holding the worker (it re-queues itself), then builds the items and
publishes the study.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth import get_user_model
from django.db import transaction

from core.dispatch import send_on_commit
from retrieval_backend.candidates.generation import start_generation
from retrieval_backend.models import MistakeQuery, RetrievalMethod, Sport
from studies.models import CoachProfile, Study

DEMO_SLUG = "demo"
DEMO_METHODS = ("random", "narration-text", "mistake-conditioned")
DEMO_K = 3
DEMO_INSTRUCTIONS = """\
Thank you for helping us evaluate coaching-clip recommendations.

For each item you see **an athlete's attempt** at a skill and **what they are doing wrong**.
Below it are one or two instructional clips a system suggested.

- *Pairwise*: which clip would better help this athlete fix the mistake? Use **1** (left), **2** (right),
  **3** (equally helpful) or **4** (neither helps).
- *Rating*: how helpful is the clip, from 1 (not at all) to 5 (extremely)?

Press **?** at any time for the keyboard shortcuts.
"""


def ensure_demo_coach_profiles(usernames: Sequence[str]) -> None:
    """Demo coaches are experts in every demo sport with ten years' experience, so every study accepts them."""
    sports = list(Sport.objects.all())
    for user in get_user_model().objects.filter(username__in=usernames):
        profile, _ = CoachProfile.objects.get_or_create(
            user=user, defaults={"years_coaching": 10, "credential": "Demo coach"}
        )
        profile.sports.add(*sports)


def start_demo_study(coach_usernames: Sequence[str]) -> Study | None:
    """Create the demo study (once) and queue what makes it live. Returns None when it already exists."""
    if Study.objects.filter(slug=DEMO_SLUG).exists():
        return None
    methods = list(RetrievalMethod.objects.filter(name__in=DEMO_METHODS).order_by("name"))
    queries = list(MistakeQuery.objects.filter(external_id__startswith="demo-"))
    if len(methods) < 2 or not queries:
        return None
    ensure_demo_coach_profiles(coach_usernames)
    with transaction.atomic():
        study = Study.objects.create(
            title="Demo: which clip helps the athlete?",
            slug=DEMO_SLUG,
            instructions=DEMO_INSTRUCTIONS,
            kinds=Study.Kinds.BOTH,
            depth_k=DEMO_K,
            raters_per_item=2,
            show_narrations=True,
            seed=2026,
            status=Study.Status.GENERATING,
            status_message="Waiting for the worker to generate the methods' candidates…",
        )
        study.methods.set(methods)
        study.queries.set(queries)
        job = start_generation(methods, queries, k=DEMO_K)
        send_on_commit("studies.tasks.publish_demo_study", study.pk, job.pk)
    return study
