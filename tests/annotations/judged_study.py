"""Live studies with real judgements, made the way coaches make them: claim an item, submit an answer.

Shared by the results, report and export tests. Items come from ``build_items`` over a rows-only
gallery (``make_gallery``), so sides are balanced and shuffled exactly as in production.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from annotations.coach.judging import Answer, submit
from studies.assignment import next_assignment_for
from studies.items import build_items
from studies.models import Item, Study
from tests.factories import GoldCheckFactory, StudyFactory
from tests.studies.conftest import make_coach, make_gallery

Answering = Callable[[object, Item], Answer]


@dataclass
class JudgedStudy:
    study: Study
    coaches: list
    method_ids: dict[str, int]  # name -> id

    def method_of(self, credits: list[dict]) -> str:
        names = {pk: name for name, pk in self.method_ids.items()}
        return names[credits[0]["method"]]


def open_study(
    *,
    slug: str = "serve",
    methods: tuple[str, ...] = ("alpha", "beta"),
    kinds: str = Study.Kinds.BOTH,
    n_coaches: int = 3,
    raters: int = 3,
    n_queries: int = 4,
    gold_rate: float = 0.0,
    sport_slug: str = "tennis",
) -> JudgedStudy:
    sport, clips, queries, method_rows = make_gallery(n_queries=n_queries, methods=methods, sport_slug=sport_slug)
    coaches = [make_coach(f"{slug}-coach{i}", sports=[sport]) for i in range(1, n_coaches + 1)]
    for coach in coaches:
        coach.email = f"{coach.username}@example.org"
        coach.first_name, coach.last_name = "Pat", f"Coach{coach.pk}"
        coach.save()
    study = StudyFactory(
        title=f"Study {slug}",
        slug=slug,
        kinds=kinds,
        depth_k=5,
        raters_per_item=raters,
        seed=11,
        gold_rate=gold_rate,
        pairwise_question="Which clip would better help this athlete fix the elbow?",
        likert_question="How helpful is this clip for fixing the elbow?",
        scale_labels={"1": "Not helpful at all", "5": "Extremely helpful"},
        methods=method_rows,
    )
    if gold_rate:
        GoldCheckFactory(
            study=study, kind="pairwise", query=queries[0], helpful_clip=clips[-1], unrelated_clip=clips[-2]
        )
        if study.has_likert:
            GoldCheckFactory(study=study, kind="likert", query=queries[0], helpful_clip=clips[-1], min_score=4)
    build_items(study)
    Study.objects.filter(pk=study.pk).update(status=Study.Status.LIVE)
    study.refresh_from_db()
    return JudgedStudy(study, coaches, {m.name: m.pk for m in method_rows})


def judge_everything(judged: JudgedStudy, answering: Answering, coaches: list | None = None) -> int:
    """Every coach answers every item they are offered, as ``answering(coach, item)`` says. Returns how many."""
    count = 0
    for coach in coaches or judged.coaches:
        while (assignment := next_assignment_for(coach, judged.study)) is not None:
            submit(coach, assignment.token, answering(coach, assignment.item))
            count += 1
    return count


def screen_side(item: Item, stored: str) -> str:
    """Where the stored clip ("a" or "b") was shown."""
    return "right" if (stored == "a") == item.swapped else "left"


def prefer(judged: JudgedStudy, order: list[str], *, tie_every: int = 0) -> Answering:
    """A coach who picks the clip of the method earlier in ``order`` (gold items: the helpful clip).

    With ``tie_every`` = n, every n-th pairwise answer is "equally helpful" instead: without any tie
    or loss, the Bradley-Terry strength of an unbeaten method is infinite.
    """
    answered = itertools.count(1)

    def answer(coach, item: Item) -> Answer:
        if item.kind == Item.Kind.LIKERT:
            return Answer(score=4)
        if item.is_gold:
            return Answer(choice=screen_side(item, "a"))
        if tie_every and next(answered) % tie_every == 0:
            return Answer(choice="equal")
        a, b = judged.method_of(item.credits_a), judged.method_of(item.credits_b)
        return Answer(choice=screen_side(item, "a" if order.index(a) < order.index(b) else "b"))

    return answer
