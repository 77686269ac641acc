"""What keeps a draft study from being built, each problem with what fixes it.

The lifecycle refuses a build or a publish with these problems' words (``design_problems``); the
admin shows the same problems and links each one it can fix to the page that fixes it: a method
short of candidates links to generating them for the queries that lack them, at the study's depth.
While a generation job for that method is at work the problem says how far it has come instead of
telling the researcher to start one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count, Max, Q, QuerySet

from core.models import Job
from retrieval_backend.models import Candidate, CandidateSet, MistakeQuery
from studies.assignment import eligible_coaches
from studies.items import selected_queries
from studies.models import Item, Study

MISSING_EXAMPLES = 5
# The job kind of candidate generation (retrieval_backend.candidates.generation.JOB_KIND), named here
# rather than imported: importing the generation module loads the ranking stack.
GENERATION_JOB = "generate_candidates"
UNFINISHED = (Job.Status.QUEUED, Job.Status.RUNNING, Job.Status.FINALIZING)


@dataclass(frozen=True)
class Problem:
    """One thing the design lacks, in words, and what the admin can link to fix it."""

    text: str
    # Candidates of this method are missing or too shallow: generating them fixes it.
    method_id: int | None = None
    # The generation job already at work on them, if any.
    job: Job | None = None

    def __str__(self) -> str:
        return self.text


def design_readiness(study: Study) -> list[Problem]:
    """Everything that keeps the design from being built and run, in words a researcher can act on."""
    problems: list[Problem] = []
    methods = dict(study.methods.values_list("id", "name"))
    if not methods:
        problems.append(Problem("Choose at least one retrieval method."))
    if study.has_pairwise and len(methods) < 2:
        problems.append(Problem("Pairwise comparisons need at least two methods; add one or switch to Likert only."))
    if study.scale_max <= study.scale_min:
        problems.append(
            Problem("The Likert scale needs at least two points: make its maximum larger than its minimum.")
        )
    queries = selected_queries(study)
    n_queries = queries.count()
    if n_queries == 0:
        problems.append(Problem("No mistake query matches the study's query selection (sports, skills or list)."))
    elif methods:
        jobs = _generation_at_work(study.depth_k)
        problems += _missing_candidates(queries, n_queries, methods, jobs)
        problems += _shallow_candidates(study, queries, n_queries, methods, jobs)
    problems += [Problem(text) for text in _gold_problems(study)]
    n_coaches = eligible_coaches(study).count()
    if n_coaches < study.raters_per_item:
        problems.append(
            Problem(
                f"Each item needs {study.raters_per_item} raters but only {n_coaches} coach(es) are eligible: "
                "invite coaches, widen the eligibility, or lower the raters per item."
            )
        )
    return problems


def design_problems(study: Study) -> list[str]:
    """The problems' words alone, as the lifecycle's refusals and the API give them."""
    return [problem.text for problem in design_readiness(study)]


def _generation_at_work(depth_k: int) -> dict[str, Job]:
    """Unfinished generation jobs deep enough for the study, by the name of each method they generate for."""
    at_work: dict[str, Job] = {}
    for job in Job.objects.filter(kind=GENERATION_JOB, status__in=UNFINISHED).order_by("created", "pk"):
        if int(job.params.get("k", 0)) >= depth_k:
            for name in job.params.get("methods", []):
                at_work.setdefault(name, job)
    return at_work


def _fix_or_progress(command: str, job: Job | None) -> str:
    return f"job {job.pk} running, {job.percent}% done." if job else f"{command}."


def _missing_candidates(
    queries: QuerySet[MistakeQuery], n_queries: int, methods: dict[int, str], jobs: dict[str, Job]
) -> list[Problem]:
    have = dict(
        CandidateSet.objects.filter(query__in=queries, method_id__in=methods)
        .values("method_id")
        .annotate(n=Count("id"))
        .values_list("method_id", "n")
    )
    problems = []
    for method_id, name in sorted(methods.items(), key=lambda kv: kv[1]):
        missing = n_queries - have.get(method_id, 0)
        if not missing:
            continue
        examples = list(
            queries.exclude(candidate_sets__method_id=method_id).values_list("external_id", flat=True)[
                :MISSING_EXAMPLES
            ]
        )
        job = jobs.get(name)
        problems.append(
            Problem(
                f"Method {name} has no candidates for {missing} of {n_queries} queries "
                f"(e.g. {', '.join(examples)}): {_fix_or_progress(f'run generate_candidates --methods {name}', job)}",
                method_id=method_id,
                job=job,
            )
        )
    return problems


def _shallow_candidates(
    study: Study, queries: QuerySet[MistakeQuery], n_queries: int, methods: dict[int, str], jobs: dict[str, Job]
) -> list[Problem]:
    """Candidate sets asked for fewer clips than the study's depth: ranks past theirs would silently be missing."""
    shallow = dict(
        CandidateSet.objects.filter(query__in=queries, method_id__in=methods, k__lt=study.depth_k)
        .values("method_id")
        .annotate(n=Count("id"))
        .values_list("method_id", "n")
    )
    problems = []
    for method_id, n in sorted(shallow.items(), key=lambda kv: methods[kv[0]]):
        name, job = methods[method_id], jobs.get(methods[method_id])
        fix = f"run generate_candidates --methods {name} --k {study.depth_k}, or lower the depth"
        problems.append(
            Problem(
                f"Method {name} has candidate sets shallower than the study's depth {study.depth_k} for "
                f"{n} of {n_queries} queries: {_fix_or_progress(fix, job)}",
                method_id=method_id,
                job=job,
            )
        )
    return problems


def queries_lacking_candidates(study: Study, method_id: int) -> QuerySet[MistakeQuery]:
    """The study's queries with no candidate set of ``method_id`` as deep as the study: what to generate."""
    deep_enough = CandidateSet.objects.filter(method_id=method_id, k__gte=study.depth_k).values("query_id")
    return selected_queries(study).exclude(pk__in=deep_enough)


def _gold_problems(study: Study) -> list[str]:
    """Gold checks that can't make a sound item for this study, and a gold rate with nothing to draw from."""
    problems: list[str] = []
    checks = list(study.gold_checks.select_related("query").order_by("pk"))
    if study.gold_rate > 0 and not checks:
        problems.append(
            f"The gold rate is {study.gold_rate:.0%} but the study has no gold checks: add some, or set the rate to 0."
        )
    for number, check in enumerate(checks, start=1):
        name = f"Gold check {number} (query {check.query.external_id})"
        if check.kind == Item.Kind.PAIRWISE:
            if not study.has_pairwise:
                problems.append(f"{name} is pairwise but the study asks for Likert ratings only: make it Likert.")
            if check.unrelated_clip_id is None:
                problems.append(f"{name} is pairwise but has no unrelated clip to set against the helpful one.")
            elif check.unrelated_clip_id == check.helpful_clip_id:
                problems.append(f"{name} sets the helpful clip against itself: choose a different unrelated clip.")
        else:
            if not study.has_likert:
                problems.append(f"{name} is Likert but the study asks for pairwise choices only: make it pairwise.")
            low, high = check.min_score, check.max_score
            if low is None or high is None:
                problems.append(f"{name} needs the range of acceptable scores: set both its minimum and maximum.")
            elif not study.scale_min <= low <= high <= study.scale_max:
                problems.append(
                    f"{name} accepts scores {low} to {high}, which is not a range within the study's scale "
                    f"{study.scale_min} to {study.scale_max}."
                )
    return problems


def deepest_common_depth(method_ids: Sequence[int], queries: QuerySet[MistakeQuery] | None = None) -> int | None:
    """The deepest candidate sets every method has: the smallest of each method's deepest set, or None.

    A new study's depth defaults to this, so it asks for no rank that one of its methods lacks.
    """
    sets = CandidateSet.objects.filter(method_id__in=method_ids)
    if queries is not None:
        sets = sets.filter(query__in=queries)
    deepest = dict(sets.values("method_id").annotate(k=Max("k")).values_list("method_id", "k"))
    if not method_ids or set(deepest) != set(method_ids):
        return None
    return min(deepest.values())


@dataclass(frozen=True)
class GoldEstimate:
    """How many gold items the study's gold rate makes among its regular items."""

    gold: int
    regular: int
    built: bool  # counted from built items; otherwise estimated from the candidates

    def __str__(self) -> str:
        if self.built:
            return f"{self.gold} gold items among {self.regular} regular items (as built)."
        return (
            f"About {self.gold} gold items among about {self.regular} regular items "
            "(fewer where two methods return the same clip at a rank)."
        )


def gold_items_expected(study: Study) -> GoldEstimate:
    """The gold items the rate makes: counted once items are built, estimated from the candidates before.

    The build adds ``ceil(rate * regular / (1 - rate))`` gold items (``studies.items``), so the
    estimate applies that to the regular items the candidates would make: every distinct clip of a
    query for Likert, every rank of every method pair for pairwise.
    """
    built = Item.objects.filter(study=study).aggregate(
        gold=Count("id", filter=Q(is_gold=True)), regular=Count("id", filter=Q(is_gold=False))
    )
    if built["gold"] or built["regular"]:
        return GoldEstimate(built["gold"], built["regular"], built=True)
    method_ids = list(study.methods.values_list("id", flat=True))
    queries = selected_queries(study)
    regular = 0
    if study.has_likert and method_ids:
        regular += (
            Candidate.objects.filter(
                candidate_set__query__in=queries, candidate_set__method_id__in=method_ids, rank__lte=study.depth_k
            )
            .values("candidate_set__query_id", "clip_id")
            .distinct()
            .count()
        )
    if study.has_pairwise and len(method_ids) > 1:
        pairs = len(method_ids) * (len(method_ids) - 1) // 2
        regular += queries.count() * pairs * study.depth_k
    rate = study.gold_rate
    gold = math.ceil(rate * regular / (1 - rate)) if rate > 0 and regular and study.gold_checks.exists() else 0
    return GoldEstimate(gold, regular, built=False)
