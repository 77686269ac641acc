"""The coach's studies: the home page, a study's instructions, continuing, and the done page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from annotations.coach.instructions import render_instructions
from annotations.coach.standing import coach_studies, done_reason, next_task, progress_for, visible_study
from studies.models import CoachProfile, Participation, Study


@require_safe
@login_required
def home(request: HttpRequest) -> HttpResponse:
    # Researchers land in the admin; a researcher who is also a coach gets the coach's home.
    if request.user.is_staff and not CoachProfile.objects.filter(user=request.user).exists():
        return redirect("admin:index")
    return render(request, "annotations/home.html", {"cards": coach_studies(request.user)})


def _visible_study(request: HttpRequest, slug: str) -> tuple[Study, Participation | None]:
    """The study, when the coach may see it; 404 otherwise, so a slug reveals nothing."""
    found = visible_study(request.user, slug)
    if found is None:
        raise Http404("No such study.")
    return found


@require_safe
@login_required
def study_detail(request: HttpRequest, slug: str) -> HttpResponse:
    study, participation = _visible_study(request, slug)
    done = participation.done_count if participation else 0
    return render(
        request,
        "annotations/study.html",
        {
            "study": study,
            "instructions": render_instructions(study.instructions),
            "progress": progress_for(study, request.user, done),
            "started": participation is not None,
        },
    )


@require_safe
@login_required
def continue_study(request: HttpRequest, slug: str) -> HttpResponse:
    """Open the item reserved for the coach, reserving the next one if they hold none."""
    study, _ = _visible_study(request, slug)
    assignment = next_task(request.user, study)
    if assignment is None:  # the done page says why, in full
        return redirect("coach:done", slug=study.slug)
    return redirect("coach:task", token=assignment.token)


def wants_fragment(request: HttpRequest) -> bool:
    """An htmx swap gets the panel alone; a history restore (Back, with htmx) needs the whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def render_done(request: HttpRequest, study: Study, *, status: int = 200) -> HttpResponse:
    reason = done_reason(study, request.user)
    template = "annotations/done.html#done-panel" if wants_fragment(request) else "annotations/done.html"
    response = render(request, template, {"study": study, "reason": reason}, status=status)
    if wants_fragment(request):
        response["HX-Push-Url"] = reverse("coach:done", kwargs={"slug": study.slug})
    return response


@require_safe
@login_required
def done(request: HttpRequest, slug: str) -> HttpResponse:
    study, _ = _visible_study(request, slug)
    return render_done(request, study)
