"""A study's life: draft -> generating -> ready -> live <-> paused -> closed.

Each step is a conditional update from the one state it may leave, so two
researchers clicking at once can't both move it. The design is checked before
items are built and again before the study goes live; what is missing is said
in full, not one problem at a time.

Only a draft's design may change or the draft be deleted (``update_design``,
``delete_draft``): both lock the study's row and look at its state under the
lock, so a change racing a build or a publish waits for it and is refused, the
same way from the admin and the API.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.text import slugify

from retrieval_backend.models import CandidateSet
from studies.assignment import eligible_coaches
from studies.items import selected_queries
from studies.models import Item, Study

logger = logging.getLogger(__name__)

S = Study.Status
# The states each transition may start from.
TRANSITIONS: dict[str, tuple[set[str], str]] = {
    # From generating too: when the worker building the items died, building again is how to recover.
    "build": ({S.DRAFT, S.READY, S.GENERATING}, S.GENERATING),
    "publish": ({S.READY, S.PAUSED}, S.LIVE),
    "pause": ({S.LIVE}, S.PAUSED),
    "close": ({S.LIVE, S.PAUSED, S.READY}, S.CLOSED),
}
MISSING_EXAMPLES = 5


def available_actions(study: Study) -> list[str]:
    """The transitions ``study`` may take now, in ``TRANSITIONS`` order (duplicating is always possible)."""
    return [name for name, (sources, _) in TRANSITIONS.items() if study.status in sources]


class LifecycleError(Exception):
    """A transition that can't happen now, with what to do about it."""


class DesignFrozen(LifecycleError):
    """A change to, or the deletion of, a study that is no longer a draft."""

    def __init__(self, study: Study, verb: str) -> None:
        self.study = study
        super().__init__(
            f"“{study.title}” is {study.get_status_display()}: only a draft can be {verb}. "
            "Its items exist or coaches may be judging, so its design is frozen; "
            "duplicate it in the admin to change the design."
        )


def design_problems(study: Study) -> list[str]:
    """Everything that keeps the design from being built and run, in words a researcher can act on."""
    problems: list[str] = []
    methods = dict(study.methods.values_list("id", "name"))
    if not methods:
        problems.append("Choose at least one retrieval method.")
    if study.has_pairwise and len(methods) < 2:
        problems.append("Pairwise comparisons need at least two methods; add one or switch to Likert only.")
    if study.scale_max <= study.scale_min:
        problems.append("The Likert scale needs at least two points: make its maximum larger than its minimum.")
    queries = selected_queries(study)
    n_queries = queries.count()
    if n_queries == 0:
        problems.append("No mistake query matches the study's query selection (sports, skills or list).")
    elif methods:
        have = dict(
            CandidateSet.objects.filter(query__in=queries, method_id__in=methods)
            .values("method_id")
            .annotate(n=Count("id"))
            .values_list("method_id", "n")
        )
        for method_id, name in sorted(methods.items(), key=lambda kv: kv[1]):
            missing = n_queries - have.get(method_id, 0)
            if missing:
                examples = list(
                    queries.exclude(candidate_sets__method_id=method_id).values_list("external_id", flat=True)[
                        :MISSING_EXAMPLES
                    ]
                )
                problems.append(
                    f"Method {name} has no candidates for {missing} of {n_queries} queries "
                    f"(e.g. {', '.join(examples)}): run generate_candidates --methods {name}."
                )
        problems += _shallow_candidates(study, queries, n_queries, methods)
    problems += _gold_problems(study)
    n_coaches = eligible_coaches(study).count()
    if n_coaches < study.raters_per_item:
        problems.append(
            f"Each item needs {study.raters_per_item} raters but only {n_coaches} coach(es) are eligible: "
            "invite coaches, widen the eligibility, or lower the raters per item."
        )
    return problems


def _shallow_candidates(study: Study, queries, n_queries: int, methods: dict[int, str]) -> list[str]:
    """Candidate sets asked for fewer clips than the study's depth: ranks past theirs would silently be missing."""
    shallow = dict(
        CandidateSet.objects.filter(query__in=queries, method_id__in=methods, k__lt=study.depth_k)
        .values("method_id")
        .annotate(n=Count("id"))
        .values_list("method_id", "n")
    )
    return [
        f"Method {methods[method_id]} has candidate sets shallower than the study's depth {study.depth_k} for "
        f"{n} of {n_queries} queries: run generate_candidates --methods {methods[method_id]} --k {study.depth_k}, "
        "or lower the depth."
        for method_id, n in sorted(shallow.items(), key=lambda kv: methods[kv[0]])
    ]


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


def _move(study: Study, action: str, **fields) -> None:
    sources, target = TRANSITIONS[action]
    moved = Study.objects.filter(pk=study.pk, status__in=sources).update(status=target, **fields)
    if moved != 1:
        study.refresh_from_db(fields=["status"])
        raise LifecycleError(
            f"Can't {action} “{study.title}” while it is {study.get_status_display()}; "
            f"it must be {' or '.join(sorted(str(s) for s in sources))}."
        )
    study.refresh_from_db()


def start_build(study: Study) -> None:
    """Check the design, then build the items on a worker (the study shows 'generating items' meanwhile)."""
    problems = design_problems(study)
    if problems:
        Study.objects.filter(pk=study.pk).update(status_message="\n".join(problems))
        raise LifecycleError("The design is not complete:\n- " + "\n- ".join(problems))
    with transaction.atomic():
        _move(
            study,
            "build",
            status_message="Building items on a worker… If no worker is running, or one died, build items again.",
        )
        from core.dispatch import send_on_commit

        send_on_commit("studies.tasks.build_study_items", study.pk)


def publish(study: Study) -> None:
    if study.status == S.DRAFT:
        raise LifecycleError(
            f"“{study.title}” is a draft: build the items first; it must be paused or ready to publish."
        )
    if study.status == S.READY:
        problems = design_problems(study)
        if not Item.objects.filter(study=study).exists():
            problems.append("The study has no items: build them first.")
        if problems:
            raise LifecycleError("The study can't go live yet:\n- " + "\n- ".join(problems))
    _move(study, "publish", published=study.published or timezone.now(), status_message="")


def pause(study: Study) -> None:
    _move(study, "pause")


def close(study: Study) -> None:
    _move(study, "close", closed=timezone.now())


def duplicate(study: Study, *, by=None) -> Study:
    """A new draft with the same design (not the items or judgements), to change what a live study froze."""
    base = slugify(f"{study.slug}-copy")[:90]
    slug, n = base, 2
    while Study.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    copy_fields = {
        f.name: getattr(study, f.name)
        for f in Study._meta.concrete_fields
        if f.name
        not in {"id", "slug", "title", "status", "status_message", "created", "published", "closed", "created_by"}
    }
    with transaction.atomic():
        new = Study.objects.create(
            **copy_fields, slug=slug, title=f"{study.title} (copy)", status=S.DRAFT, created_by=by
        )
        for m2m in ("methods", "query_sports", "queries", "eligible_sports", "eligible_coaches"):
            getattr(new, m2m).set(getattr(study, m2m).all())
        for check in study.gold_checks.all():
            check.pk = None
            check.study = new
            check.save()
    return new


# What the lifecycle writes itself; a design change never does.
LIFECYCLE_FIELDS = frozenset({"id", "status", "status_message", "created", "published", "closed", "created_by"})
DESIGN_MANY_TO_MANY = frozenset(field.name for field in Study._meta.many_to_many)
DESIGN_FIELDS = (
    frozenset(field.name for field in Study._meta.concrete_fields) | DESIGN_MANY_TO_MANY
) - LIFECYCLE_FIELDS


def update_design(study: Study | int, changes: Mapping[str, Any], *, by: AbstractBaseUser | None = None) -> Study:
    """Change a draft's design, fields and many-to-many alike, and give back the study as changed.

    The row is locked and its state read under the lock, so a build or publish started meanwhile
    either waits for this change or has frozen the design first, and then the change is refused
    with ``DesignFrozen``. Only the fields in ``changes`` are written: what another researcher
    changed meanwhile stays.
    """
    unknown = set(changes) - DESIGN_FIELDS
    if unknown:
        raise ValueError(f"Not part of a study's design: {', '.join(sorted(unknown))}.")
    pk = study.pk if isinstance(study, Study) else study
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=pk)
        if locked.is_frozen:
            raise DesignFrozen(locked, "changed")
        plain = [name for name in changes if name not in DESIGN_MANY_TO_MANY]
        for name in plain:
            setattr(locked, name, changes[name])
        if plain:
            locked.save(update_fields=plain)
        for name in changes.keys() & DESIGN_MANY_TO_MANY:
            getattr(locked, name).set(changes[name])
    logger.info("design of study %s changed by %s: %s", pk, by, ", ".join(sorted(changes)) or "nothing")
    return locked


def delete_drafts(studies: Iterable[Study | int], *, by: AbstractBaseUser | None = None) -> int:
    """Delete drafts, all or none: if one of them is past draft under the lock, ``DesignFrozen`` names it."""
    pks = sorted({study.pk if isinstance(study, Study) else study for study in studies})
    with transaction.atomic():
        # Locked in id order, so two deletions of overlapping selections can't deadlock.
        locked = list(Study.objects.select_for_update().filter(pk__in=pks).order_by("pk"))
        for study in locked:
            if study.is_frozen:
                raise DesignFrozen(study, "deleted")
        Study.objects.filter(pk__in=[study.pk for study in locked]).delete()
    logger.info("draft studies %s deleted by %s", [study.pk for study in locked], by)
    return len(locked)


def delete_draft(study: Study | int, *, by: AbstractBaseUser | None = None) -> None:
    """Delete a draft; a study past draft (at the moment its row is locked) is refused with ``DesignFrozen``."""
    delete_drafts([study], by=by)
