"""Break suggestions: every ``break_every`` answers in a row, and a pause starts a new row."""

from __future__ import annotations

from django.http import HttpResponse
from django.test import RequestFactory

from annotations.coach import breaks
from studies.models import Study


def _request_with(response: HttpResponse | None):
    request = RequestFactory().get("/")
    if response is not None:
        request.COOKIES.update({name: morsel.value for name, morsel in response.cookies.items()})
    return request


def test_a_break_is_due_every_break_every_answers_and_a_pause_starts_over():
    study = Study(pk=7, break_every=3)
    response, due = None, []
    now = 1_000_000.0
    for n in range(7):
        if n == 5:
            now += breaks.STREAK_GAP_S + 1  # the coach stepped away
        request = _request_with(response)
        streak = breaks.after_answer(request, study, now=now)
        response = HttpResponse()
        breaks.remember(response, request, study, streak)
        due.append(streak.due(study, now=now))
        now += 20
    assert due == [0, 0, 3, 0, 0, 0, 0]
    assert breaks.current(_request_with(response), study).count == 2


def test_a_tampered_or_missing_cookie_is_an_empty_streak():
    study = Study(pk=7, break_every=3)
    request = RequestFactory().get("/")
    request.COOKIES["cb-streak-7"] = "999:1"
    assert breaks.current(request, study) == breaks.Streak()
    assert breaks.Streak(40, 1e12).due(Study(pk=8, break_every=0), now=1e12) == 0
