"""The videos of a task, by screen side: ``/task/<token>/query.mp4``, ``left.mp4``, ``right.mp4``, ``clip.mp4``.

These URLs are the only way a coach's browser reaches video. They name an
assignment and a place on the screen, never a clip, and they answer only the
coach who holds the assignment, signed in by session (the page) or by an API
token (a mobile client); anyone else, signed in or not, gets the same 404 as
for a token that never existed. Answered assignments keep playing, so
the coach can watch again while revising an answer, and so do look-ahead
reservations, whose clips the task page loads before the coach gets there.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponseBase
from django.views.decorators.http import require_safe
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from annotations.coach.screen import ScreenRows, assignment_screen_rows, load_screen, segment_for
from retrieval_backend.playback import segment_response
from studies.models import Assignment


def _viewer(request: HttpRequest):
    """The signed-in coach: by session (the task page), or by API token (a mobile client's player)."""
    if request.user.is_authenticated:
        return request.user
    try:
        found = TokenAuthentication().authenticate(Request(request))
    except AuthenticationFailed:
        return None
    return found[0] if found else None


# Clips play while the item is reserved or next, and after it is answered (the history plays them again).
_PLAYABLE = ScreenRows(assignment_screen_rows().filter(status__in=(*Assignment.LIVE, Assignment.Status.DONE)))


@require_safe
def task_video(request: HttpRequest, token: str, side: str) -> HttpResponseBase:
    # A 404 rather than a login redirect: a <video> element can't show a login form.
    coach = _viewer(request)
    if coach is None:
        raise Http404("No such video.")
    assignment = load_screen(_PLAYABLE, token=token, coach=coach)
    segment = segment_for(assignment.item, side) if assignment else None
    if segment is None:
        raise Http404("No such video.")
    return segment_response(request, segment.video, segment.start_s, segment.end_s)
