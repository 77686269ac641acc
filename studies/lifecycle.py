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
from django.utils import timezone
from django.utils.text import slugify

from studies.models import Item, Study
from studies.readiness import design_problems

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
# What a study's page offers, in this order: each transition from the states it may start from, and
# duplicating, which any study may be.
ACTIONS = ("build", "publish", "pause", "close", "duplicate")


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


def available_actions(study: Study) -> list[str]:
    """The actions of ``ACTIONS`` that ``study`` may take in its state now: the buttons its page shows."""
    return [action for action in ACTIONS if action == "duplicate" or study.status in TRANSITIONS[action][0]]


def publish(study: Study) -> None:
    if study.status == S.DRAFT:
        raise LifecycleError(
            f"“{study.title}” is a draft: build the items first (it must be paused or ready to publish); "
            "once they are built it is ready to publish."
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
