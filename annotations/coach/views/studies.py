"""The coach's studies: the home page, a study's instructions, continuing, and the done page."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_safe

from annotations.coach.instructions import render_instructions
from annotations.coach.standing import (
    coach_studies,
    done_reason,
    next_task,
    progress_for,
    studies_being_prepared,
    visible_study,
)
from studies.access import managed_studies
from studies.models import CoachProfile, Participation, Study

# The session's list of study slugs whose instructions the coach has opened.
READ_INSTRUCTIONS = "coachbench-read-instructions"
# How often the home page looks again while a study is being prepared (items are built in a minute or two).
PREPARING_REFRESH_S = 10


@require_safe
@login_required
def home(request: HttpRequest) -> HttpResponse:
    # Researchers land in the admin; a researcher who is also a coach gets the coach's home.
    if request.user.is_staff and not CoachProfile.objects.filter(user=request.user).exists():
        return redirect("admin:index")
    cards = coach_studies(request.user)
    return render(
        request,
        "annotations/home.html",
        {
            "cards": cards,
            # The first study open to rating gets the focus, so Enter opens it (no Tab through the top bar).
            "focus_slug": next((c.study.slug for c in cards if c.study.status == Study.Status.LIVE), None),
            "read_instructions": request.session.get(READ_INSTRUCTIONS, []),
            # Only worth asking when there is nothing to open: the home page then waits for it.
            "preparing": not cards and studies_being_prepared(request.user),
            "refresh_s": PREPARING_REFRESH_S,
        },
    )


def _note_instructions_read(request: HttpRequest, study: Study) -> None:
    """Remember, for this log-in, that the coach has seen the study's instructions.

    From then on the home page's button goes straight to the next item; the instructions
    stay one click away (their own button), so a first visit reads them and later ones work.
    """
    read = request.session.get(READ_INSTRUCTIONS, [])
    if study.slug not in read:
        request.session[READ_INSTRUCTIONS] = [*read, study.slug]


def _visible_study(view):
    """Resolve the address's study for ``view(request, study, participation)``, when the coach may see it.

    Otherwise a 404, so a slug reveals nothing; but a researcher who manages the study is told
    that this is the coaches' view of it and linked to the study in the admin.
    """

    @wraps(view)
    def resolved(request: HttpRequest, slug: str) -> HttpResponse:
        found = visible_study(request.user, slug)
        if found is not None:
            return view(request, *found)
        study = managed_studies(request.user).filter(slug=slug).first()
        if study is None:
            raise Http404(gettext("No such study."))
        context = {"study": study, "admin_url": reverse("admin:studies_study_change", args=[study.pk])}
        return render(request, "annotations/researcher_notice.html", context, status=404)

    return resolved


@require_safe
@login_required
@_visible_study
def study_detail(request: HttpRequest, study: Study, participation: Participation | None) -> HttpResponse:
    _note_instructions_read(request, study)
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
@_visible_study
def continue_study(request: HttpRequest, study: Study, participation: Participation | None) -> HttpResponse:
    """Open the item reserved for the coach, reserving the next one if they hold none."""
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
@_visible_study
def done(request: HttpRequest, study: Study, participation: Participation | None) -> HttpResponse:
    return render_done(request, study)
