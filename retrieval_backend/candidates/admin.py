"""Queueing candidate generation from the admin: the methods' action, and the page it shares with a study.

A study short of candidates links to the same page (``generation_page``) for its methods and the
queries that lack them, with its depth as k: one place asks for k and queues the job.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from retrieval_backend.models import MistakeQuery, RetrievalMethod

DEFAULT_K = 10


class GenerateCandidatesForm(forms.Form):
    k = forms.IntegerField(
        label="Candidates per query (k)",
        min_value=1,
        max_value=1000,
        initial=DEFAULT_K,
        help_text="How many clips each method returns for each query; a study shows at most this many.",
    )


@admin.action(description="Generate candidates for all queries", permissions=["change"])
def generate_candidates_for_all_queries(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[RetrievalMethod]
) -> HttpResponse | None:
    """Ask for k on an intermediate page, then queue one generation job for the selected methods."""
    # Imported here: the ranking stack is only needed once someone asks for candidates.
    from retrieval_backend.candidates.generation import GenerationError, check_can_generate

    methods = list(queryset.order_by("name"))
    problems = []
    for method in methods:
        try:
            check_can_generate(method)
        except GenerationError as exc:
            problems.append(str(exc))
    if problems:
        modeladmin.message_user(request, " ".join(problems), messages.ERROR)
        return None
    return generation_page(
        modeladmin,
        request,
        methods,
        extra_context={
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "action": "generate_candidates_for_all_queries",
        },
    )


def generation_page(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    methods: Sequence[RetrievalMethod],
    queries: QuerySet[MistakeQuery] | None = None,
    *,
    k: int = DEFAULT_K,
    extra_context: dict[str, Any] | None = None,
) -> HttpResponse | None:
    """The page that asks for k and queues one generation job: the action's, and a study's for its missing queries.

    ``queries=None`` means every query. ``k`` fills the form in (a study passes its depth). On a valid
    post the job is queued and the answer redirects to it; otherwise the page is shown (again).
    """
    from retrieval_backend.candidates.generation import GenerationError, start_generation

    form = GenerateCandidatesForm(request.POST if "apply" in request.POST else None, initial={"k": k})
    if form.is_valid():
        try:
            job = start_generation(methods, None if queries is None else list(queries), form.cleaned_data["k"])
        except GenerationError as exc:
            modeladmin.message_user(request, str(exc), messages.ERROR)
            return None
        url = reverse("admin:core_job_change", args=[job.pk])
        modeladmin.message_user(
            request,
            format_html(
                'Queued <a href="{}">job {}</a>: {} candidate sets ({} queries x {} methods, k={}). '
                "This page follows its progress.",
                url,
                job.pk,
                job.total,
                job.params["queries"],
                len(methods),
                job.params["k"],
            ),
            messages.SUCCESS,
        )
        return HttpResponseRedirect(url)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Generate candidates",
        "opts": modeladmin.model._meta,
        "form": form,
        "methods": methods,
        "query_count": MistakeQuery.objects.count() if queries is None else queries.count(),
        "all_queries": queries is None,
        **(extra_context or {}),
    }
    return TemplateResponse(request, "admin/retrieval_backend/generate_candidates.html", context)
