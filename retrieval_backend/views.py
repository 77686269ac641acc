"""Media views: rendered segments of gallery clips and mistake queries, by id, for researchers.

Media answers refuse with ``403`` rather than redirecting to the login page: the
requests come from a ``<video>`` element, which cannot show a login form, and a
redirect would only turn into an opaque "media error" in the player. Pages (the
coach UI) redirect to the login page as usual.

The id routes are for staff with the admin's view permission (researchers
previewing the gallery). Coaches play segments through their assignments'
opaque tokens, which call ``playback.segment_response`` the same way.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_safe

from retrieval_backend.models import Clip, MistakeQuery
from retrieval_backend.playback import segment_response


@require_safe
def clip_segment(request: HttpRequest, clip_id: int) -> HttpResponseBase:
    refusal = _refuse_unless_researcher(request.user, "retrieval_backend.view_clip")
    if refusal:
        return refusal
    clip = get_object_or_404(Clip.objects.select_related("video"), pk=clip_id)
    return segment_response(request, clip.video, clip.start_s, clip.end_s)


@require_safe
def query_segment(request: HttpRequest, query_id: int) -> HttpResponseBase:
    refusal = _refuse_unless_researcher(request.user, "retrieval_backend.view_mistakequery")
    if refusal:
        return refusal
    query = get_object_or_404(MistakeQuery.objects.select_related("video"), pk=query_id)
    return segment_response(request, query.video, query.start_s, query.end_s)


def _refuse_unless_researcher(user: AbstractBaseUser | AnonymousUser, permission: str) -> HttpResponse | None:
    """A 403 with what to do, unless ``user`` is active staff holding ``permission``."""
    if not user.is_authenticated:
        return _forbidden("Log in to watch clips.")
    if not (user.is_active and user.is_staff and user.has_perm(permission)):
        return _forbidden(
            "Only researchers with access to the gallery in the admin may fetch clips by id; "
            "coaches watch clips from their assignments."
        )
    return None


def _forbidden(message: str) -> HttpResponse:
    response = HttpResponse(message + "\n", status=403, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response
