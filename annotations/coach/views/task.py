"""The task page: one item to judge, and the submit that swaps in the next one.

With htmx the form posts in the background and the answer is the next task's
markup (``HX-Push-Url`` keeps the address bar on the item shown); without
JavaScript the form posts and the browser is redirected (POST, redirect, GET).
Both paths run the same code below; only the last step differs.

Once the item's clips can play, the page posts to ``look_ahead``, which reserves
the item after it (``studies.assignment.reserve_upcoming``) and answers with
hidden, preloading players of its clips; when the submit's answer is that item,
the page moves those players into it, so its videos start at once.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from annotations.coach import breaks
from annotations.coach.answering import StudyClosed, Submission, answer_task, differs_from_recorded
from annotations.coach.judging import Answer, JudgementError
from annotations.coach.posted_answer import read_answer
from annotations.coach.screen import TASK_ROWS, attach_clips, attach_item, load_screen, sides_of_kind
from annotations.coach.standing import next_task, progress_for
from annotations.coach.views.screen_context import screen_context
from annotations.coach.views.studies import render_done, wants_fragment
from annotations.models import Judgement
from studies.assignment import AssignmentError, reserve_upcoming
from studies.models import Assignment, Item, Study


def _held(request: HttpRequest, token: str) -> Assignment:
    """The coach's own assignment; anyone else's token is a 404, so tokens can't be probed.

    A submit that goes through never shows this item again, so its clips are fetched
    only when needed: for a page, a refusal, or the clip lengths of a full-watch study.
    """
    assignment = load_screen(TASK_ROWS, clips=request.method != "POST", token=token, coach=request.user)
    if assignment is None:
        raise Http404(gettext("No such item is reserved for you."))
    return assignment


@login_required
@require_http_methods(["GET", "POST"])
def task(request: HttpRequest, token: str) -> HttpResponse:
    assignment = _held(request, token)
    if request.method == "POST":
        return _submit(request, assignment)
    if assignment.status != Assignment.Status.RESERVED or not assignment.study.accepts_answers:
        # Answered already (a reload after submitting, the back button) or given back: move on.
        return redirect("coach:continue", slug=assignment.study.slug)
    return render_task(request, assignment)


def render_task(
    request: HttpRequest,
    assignment: Assignment,
    *,
    answer: Answer | None = None,
    error: str = "",
    status: int = 200,
    just_saved: bool = False,
    streak: breaks.Streak | None = None,
) -> HttpResponse:
    study = assignment.study
    streak = streak or breaks.current(request, study)
    context = screen_context(attach_clips(assignment), answer)
    context.update(
        {
            "task_url": reverse("coach:task", kwargs={"token": assignment.token}),
            "progress": progress_for(study, request.user, assignment.done_count or 0),
            "break_due": streak.due(study),
            "error": error,
            "just_saved": just_saved,
            # Only an item the coach can answer now looks ahead to the next one.
            "look_ahead_url": reverse("coach:look_ahead", kwargs={"token": assignment.token})
            if study.status == Study.Status.LIVE and assignment.status == Assignment.Status.RESERVED
            else "",
        }
    )
    template = "annotations/task.html#task-panel" if wants_fragment(request) else "annotations/task.html"
    return render(request, template, context, status=status)


@login_required
@require_POST
def look_ahead(request: HttpRequest, token: str) -> HttpResponse:
    """Reserve the item after ``token`` for its coach and answer with its clips, hidden, to preload.

    204 when there is nothing to look ahead to (no other item, the quota, a stale
    page). Asking again returns the same reservation. Like the task page, the
    markup names the clips only by the look-ahead's token and screen side.
    """
    held = Assignment.objects.select_related("study").filter(token=token, coach=request.user).first()
    if held is None:
        raise Http404(gettext("No such item is reserved for you."))
    upcoming = reserve_upcoming(request.user, held.study, token)
    if upcoming is None:
        return HttpResponse(status=204)
    kind = Item.objects.filter(pk=upcoming.item_id).values_list("kind", flat=True).get()
    urls = [reverse("coach:task_video", kwargs={"token": upcoming.token, "side": side}) for side in sides_of_kind(kind)]
    return render(request, "annotations/_preload.html", {"urls": urls})


def _submit(request: HttpRequest, assignment: Assignment) -> HttpResponse:
    study = assignment.study
    sent = read_answer(request.POST, assignment.item, study)
    try:
        answered = answer_task(request.user, assignment, sent)
    except StudyClosed:
        # The done page says why nothing more is recorded.
        return _advance(request, study, just_saved=False, streak=None)
    except JudgementError as exc:  # AnswerRefused too: what to change, on the form as the coach left it
        return render_task(request, assignment, answer=sent.answer, error=str(exc), status=422)
    except AssignmentError as exc:
        # The reservation lapsed and others judged the item meanwhile: say so, and go on.
        messages.warning(request, str(exc))
        return _advance(request, study, just_saved=False, streak=None)
    if not answered.created:
        # The same form sent twice (a double click, a resent POST): its answer is already recorded.
        _say_if_the_resent_answer_differs(request, sent, answered.judgement)
        return _advance(request, study, just_saved=False, streak=None)
    return _advance(request, study, just_saved=True, streak=breaks.after_answer(request, study))


def _say_if_the_resent_answer_differs(request: HttpRequest, sent: Submission, recorded: Judgement) -> None:
    """A form sent again after a timeout may carry a changed answer: the first one stands, and the coach is told."""
    if not differs_from_recorded(sent, recorded):
        return
    then = (
        recorded.get_choice_display()
        if recorded.choice
        else gettext("a score of %(score)s") % {"score": recorded.score}
    )
    messages.info(
        request,
        gettext(
            "That item was already answered (%(then)s); the first answer was kept. "
            "To change it, open “My answers” and choose Change."
        )
        % {"then": then},
    )


def _advance(request: HttpRequest, study: Study, *, just_saved: bool, streak: breaks.Streak | None) -> HttpResponse:
    """After a submit: the next item (htmx swap or redirect), or the done page when there is none."""
    following = next_task(request.user, study)
    if following is None:
        if request.htmx:
            response = render_done(request, study)
        else:
            response = _see_other(reverse("coach:done", kwargs={"slug": study.slug}))
    else:
        url = reverse("coach:task", kwargs={"token": following.token})
        if request.htmx:
            # The engine hands the reservation over with its study and the coach's progress: only the item
            # and its clips are left to read.
            attach_clips(attach_item(following))
            response = render_task(request, following, just_saved=just_saved, streak=streak)
            response["HX-Push-Url"] = url
        else:
            response = _see_other(url)
    if streak is not None:
        breaks.remember(response, request, study, streak)
    return response


def _see_other(url: str) -> HttpResponseRedirect:
    """303: the browser follows a POST's redirect with a GET, and a reload doesn't resend the form."""
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response
