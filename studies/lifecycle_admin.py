"""The study page's lifecycle buttons, its readiness with the links that fix each problem, and its generation page.

The buttons (Build items, Publish, Pause, Close, Duplicate) post to ``lifecycle_view``, which calls the
same ``studies.lifecycle`` function as the list page's actions and the API, through ``run_transition``:
one rule, one place. Each needs the permission to change studies and a study the user manages
(``studies.access``); duplicating also needs the permission to add one.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from retrieval_backend.candidates.admin import generation_page
from retrieval_backend.models import RetrievalMethod
from studies import lifecycle
from studies.access import managed_studies
from studies.models import Study
from studies.readiness import Problem, design_readiness, gold_items_expected

# Each action: the button's words, the lifecycle function and what the study has become once it ran.
TRANSITIONS: dict[str, tuple[str, Callable[[Study], None], str]] = {
    "build": ("Build items", lifecycle.start_build, "building items on a worker"),
    "publish": ("Publish", lifecycle.publish, "live"),
    "pause": ("Pause", lifecycle.pause, "paused"),
    "close": ("Close", lifecycle.close, "closed"),
}
DUPLICATE_LABEL = "Duplicate"
# The step a study in each state most likely waits for: its button is the page's default one.
NEXT_STEP = {Study.Status.DRAFT: "build", Study.Status.READY: "publish", Study.Status.PAUSED: "publish"}


class StudyLifecycleAdmin(admin.ModelAdmin):
    """A ``ModelAdmin`` for ``Study`` with the lifecycle on the study's own page."""

    def lifecycle_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path(
                "<int:study_id>/lifecycle/<slug:action>/",
                view(self.lifecycle_view),
                name="studies_study_lifecycle",
            ),
            path(
                "<int:study_id>/generate-candidates/<int:method_id>/",
                view(self.generate_candidates_view),
                name="studies_study_generate_candidates",
            ),
        ]

    def run_transition(self, request: HttpRequest, study: Study, action: str) -> None:
        """Move ``study`` by ``action`` and say how it went; the list's actions and the page's buttons call this."""
        _, move, became = TRANSITIONS[action]
        try:
            move(study)
        except lifecycle.LifecycleError as exc:
            self.message_user(request, f"{study.title}: {exc}", messages.ERROR)
        else:
            self.message_user(request, f"{study.title}: {became}.", messages.SUCCESS)

    def run_duplicate(self, request: HttpRequest, study: Study) -> Study:
        new = lifecycle.duplicate(study, by=request.user)
        self.message_user(request, f"Created draft “{new.title}”.", messages.SUCCESS)
        return new

    def lifecycle_buttons(self, request: HttpRequest, study: Study) -> list[dict[str, object]]:
        """The buttons the study's state allows, for a user who may press them (none for one who may only view)."""
        if study.pk is None or not self.has_change_permission(request, study):
            return []
        buttons = []
        for action in lifecycle.available_actions(study):
            if action == "duplicate" and not self.has_add_permission(request):
                continue
            label = DUPLICATE_LABEL if action == "duplicate" else TRANSITIONS[action][0]
            if action == "build" and study.status != Study.Status.DRAFT:
                label = "Build items again"
            url = reverse("admin:studies_study_lifecycle", args=[study.pk, action])
            primary = NEXT_STEP.get(study.status) == action
            buttons.append({"action": action, "label": label, "url": url, "primary": primary})
        return buttons

    def lifecycle_view(self, request: HttpRequest, study_id: int, action: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        study = get_object_or_404(managed_studies(request.user), pk=study_id)
        if action not in lifecycle.ACTIONS or not self.has_change_permission(request, study):
            raise PermissionDenied
        change_page = reverse("admin:studies_study_change", args=[study.pk])
        if action == "duplicate":
            if not self.has_add_permission(request):
                raise PermissionDenied
            new = self.run_duplicate(request, study)
            return HttpResponseRedirect(reverse("admin:studies_study_change", args=[new.pk]))
        self.run_transition(request, study, action)
        return HttpResponseRedirect(change_page)

    def readiness_html(self, study: Study) -> str:
        """The draft's problems, each linked to the page that fixes it where there is one."""
        problems = design_readiness(study)
        if not problems:
            return format_html(
                "The design is complete: press <strong>{}</strong> at the top of this page "
                "(or use the “Build items” action on the list).",
                TRANSITIONS["build"][0],
            )
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((self._with_fix(study, p),) for p in problems))
        )

    @staticmethod
    def _with_fix(study: Study, problem: Problem) -> str:
        if problem.job is not None:
            url = reverse("admin:core_job_change", args=[problem.job.pk])
            return format_html('{} <a href="{}">Follow job {}</a>.', problem.text, url, problem.job.pk)
        if problem.method_id is not None:
            url = reverse("admin:studies_study_generate_candidates", args=[study.pk, problem.method_id])
            return format_html(
                '{} <a href="{}">Generate them in the admin (k={})</a>.', problem.text, url, study.depth_k
            )
        return problem.text

    def gold_items_html(self, study: Study) -> str:
        if study.pk is None:
            return "Save the draft to see how many gold items its gold rate makes."
        return str(gold_items_expected(study))

    def generate_candidates_view(self, request: HttpRequest, study_id: int, method_id: int) -> HttpResponse:
        """The generate-candidates page for one of the study's methods and the queries lacking its candidates."""
        from retrieval_backend.candidates.generation import GenerationError, check_can_generate
        from studies.readiness import queries_lacking_candidates

        study = get_object_or_404(managed_studies(request.user), pk=study_id)
        method = get_object_or_404(study.methods.all(), pk=method_id)
        if not (
            self.has_change_permission(request, study)
            and request.user.has_perm(f"{RetrievalMethod._meta.app_label}.change_retrievalmethod")
        ):
            raise PermissionDenied
        change_page = reverse("admin:studies_study_change", args=[study.pk])
        try:
            check_can_generate(method)
        except GenerationError as exc:
            self.message_user(request, f"Can't generate candidates: {exc}", messages.ERROR)
            return HttpResponseRedirect(change_page)
        queries = queries_lacking_candidates(study, method.pk)
        if not queries.exists():
            self.message_user(
                request, f"Every query of the study has candidates of {method.name} to depth {study.depth_k}."
            )
            return HttpResponseRedirect(change_page)
        answer = generation_page(
            self,
            request,
            [method],
            queries,
            k=study.depth_k,
            extra_context={
                "for_whom": f"of “{study.title}” that lack candidates to its depth {study.depth_k}",
                "cancel_url": change_page,
            },
        )
        return answer or HttpResponseRedirect(change_page)
