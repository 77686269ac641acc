"""How far a study has come: judgements done against required, overall, per method pair, per coach."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from django.db.models import Count, Q, Sum

from studies.assignment import eligible_coaches
from studies.models import Assignment, Item, Study


@dataclass
class Bar:
    label: str
    done: int
    required: int

    @property
    def percent(self) -> int:
        return 100 if self.required == 0 else min(100, round(100 * self.done / self.required))


@dataclass
class StudyProgress:
    overall: Bar
    by_kind: list[Bar] = field(default_factory=list)
    by_pair: list[Bar] = field(default_factory=list)
    by_coach: list[Bar] = field(default_factory=list)
    flagged_items: int = 0
    median_seconds_per_item: float | None = None
    coach_target: str = ""  # what each coach's bar is measured against


def study_progress(study: Study) -> StudyProgress:
    """Aggregates in a handful of grouped queries; nothing loops over judgements in Python."""
    items = Item.objects.filter(study=study)
    totals = items.aggregate(
        done=Sum("judgements_done"), required=Sum("needed"), flagged=Count("id", filter=Q(flagged__gt=0))
    )
    overall = Bar("all items", totals["done"] or 0, totals["required"] or 0)
    by_kind = [
        Bar(row["kind"], row["done"] or 0, row["required"] or 0)
        for row in items.values("kind").annotate(done=Sum("judgements_done"), required=Sum("needed")).order_by("kind")
    ]
    names = dict(study.methods.values_list("id", "name"))
    by_pair = []
    pair_rows = (
        items.filter(kind=Item.Kind.PAIRWISE, is_gold=False)
        .values("method_pair")
        .annotate(done=Sum("judgements_done"), required=Sum("needed"))
        .order_by("method_pair")
    )
    for row in pair_rows:
        first, second = (int(part) for part in row["method_pair"].split(":"))
        by_pair.append(Bar(f"{names.get(first, first)} vs {names.get(second, second)}", row["done"], row["required"]))
    quota = study.quota_per_coach
    if quota:
        target, coach_target = quota, f"each coach's quota of {quota} items"
    else:
        # No quota: an even share of the judgements among the eligible coaches shows who carries the study.
        eligible = eligible_coaches(study).count()
        target = math.ceil(overall.required / eligible) if eligible else 0
        coach_target = f"an even share of the judgements among the {eligible} eligible coaches ({target} each)"
    by_coach = [
        Bar(username, done, target)
        for username, done in study.participations.order_by("coach__username").values_list(
            "coach__username", "done_count"
        )
    ]
    durations = [
        (completed - reserved).total_seconds()
        for reserved, completed in Assignment.objects.filter(study=study, status=Assignment.Status.DONE)
        .order_by("-completed")
        .values_list("reserved", "completed")[:5000]
    ]
    return StudyProgress(
        overall=overall,
        by_kind=by_kind,
        by_pair=by_pair,
        by_coach=by_coach,
        flagged_items=totals["flagged"] or 0,
        median_seconds_per_item=statistics.median(durations) if durations else None,
        coach_target=coach_target,
    )
