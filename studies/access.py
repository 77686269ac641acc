"""Which researcher may see and change which study.

A study may belong to a research group (``Study.group``): then only members of
that group, and superusers, manage it. A study without a group is managed by
every researcher. Researchers are staff users; what they may do to a study they
manage (add, change, delete) still comes from Django's model permissions. The
admin and the API both ask here, so the rule lives in one place.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from studies.models import Study


def is_researcher(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def managed_studies(user: AbstractBaseUser | AnonymousUser, queryset: QuerySet[Study] | None = None) -> QuerySet[Study]:
    """The studies ``user`` manages, as a filter on ``queryset`` (all studies by default)."""
    queryset = Study.objects.all() if queryset is None else queryset
    if not is_researcher(user):
        return queryset.none()
    if user.is_superuser:
        return queryset
    return queryset.filter(Q(group__isnull=True) | Q(group__in=user.groups.all()))


def manages(user: AbstractBaseUser | AnonymousUser, study: Study) -> bool:
    """Whether ``user`` manages ``study`` (sees its results, may change it given model permissions)."""
    if not is_researcher(user):
        return False
    if user.is_superuser or study.group_id is None:
        return True
    return user.groups.filter(pk=study.group_id).exists()


def managed_study(request, pk: int) -> Study:
    """The study ``pk`` if the caller manages it, else 404 (another group's study looks like no study)."""
    return get_object_or_404(managed_studies(request.user), pk=pk)
