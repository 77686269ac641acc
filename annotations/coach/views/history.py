"""The coach's own answers, newest first, and revising the recent ones while their study is live."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_safe

from annotations.coach.judging import Answer, JudgementError, may_revise, revisable, revisable_ids, revise
from annotations.coach.posted_answer import read_answer
from annotations.coach.screen import SCREEN_ROWS, load_screen
from annotations.coach.views.screen_context import screen_context
from annotations.models import Judgement

PER_PAGE = 25


@require_safe
@login_required
def history(request: HttpRequest) -> HttpResponse:
    mine = Judgement.objects.filter(coach=request.user)
    page = Paginator(
        mine.select_related("study", "item__query", "assignment").order_by("-created", "-pk"), PER_PAGE
    ).get_page(request.GET.get("page"))
    # Which rows to offer a Revise link on; annotations.coach.judging.revise decides for real when it is used.
    recent = revisable_ids(request.user.pk)
    rows = [(judgement, may_revise(judgement, recent)) for judgement in page]
    return render(request, "annotations/history.html", {"page": page, "rows": rows})


def _mine(request: HttpRequest, token: str) -> Judgement:
    """The coach's own judgement on assignment ``token``, with its screen (the clips play again)."""
    judgement = Judgement.objects.select_related("study").filter(assignment__token=token, coach=request.user).first()
    if judgement is None:
        raise Http404(gettext("No such answer of yours."))
    judgement.assignment = load_screen(SCREEN_ROWS, pk=judgement.assignment_id)
    return judgement


@login_required
@require_http_methods(["GET", "POST"])
def revise_answer(request: HttpRequest, token: str) -> HttpResponse:
    judgement = _mine(request, token)
    if not revisable(judgement):
        messages.info(request, gettext("Only your recent answers in a live study can be changed; this one is final."))
        return redirect("coach:history")
    assignment = judgement.assignment
    if request.method == "GET":
        return _render_revise(request, judgement, judgement)
    sent = read_answer(request.POST, assignment.item, assignment.study)
    if sent.problem:
        return _render_revise(request, judgement, sent.answer, error=sent.problem, status=422)
    answer = Answer(choice=sent.answer.choice, score=sent.answer.score, rationale=sent.answer.rationale)
    try:
        revise(request.user, judgement.pk, answer)
    except JudgementError as exc:
        return _render_revise(request, judgement, answer, error=str(exc), status=422)
    messages.success(request, gettext("Your answer was changed. The earlier one is kept in the study's records."))
    return redirect("coach:history")


def _render_revise(
    request: HttpRequest,
    judgement: Judgement,
    answer: Answer | Judgement,
    *,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    context = screen_context(judgement.assignment, answer)
    context.update(
        {
            "judgement": judgement,
            "task_url": reverse("coach:revise", kwargs={"token": judgement.assignment.token}),
            "error": error,
        }
    )
    return render(request, "annotations/revise.html", context, status=status)
