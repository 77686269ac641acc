"""When a signed-in session ends: after ``SESSION_IDLE_TIMEOUT_S`` without a request, and at the latest
``SESSION_COOKIE_AGE`` after logging in, however active.

A tablet left on a court-side bench should not stay signed in for the rest of the day,
and a session in steady use should still end. Django alone offers one or the other: a
session's expiry moves to ``SESSION_COOKIE_AGE`` from now whenever the session is saved.
Here the absolute end is pinned at log-in (``set_expiry`` with a date), and the last
request's time is kept in the session, written at most every ``_WRITE_EVERY_S`` so that
a coach's stream of answers does not become a stream of session writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout, user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

_LAST_SEEN = "last_seen"
# How stale the stored time may get before it is written again; the timeout is counted from it, so a
# session ends between SESSION_IDLE_TIMEOUT_S and that plus this after its last request.
_WRITE_EVERY_S = 60


@receiver(user_logged_in, dispatch_uid="session_expiry_on_login")
def _pin_the_end(sender, request, user, **kwargs) -> None:
    if request is None or not hasattr(request, "session"):
        return
    request.session.set_expiry(timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE))
    request.session[_LAST_SEEN] = int(time.time())


class IdleSessionMiddleware:
    """Logs out a session that has been idle longer than ``SESSION_IDLE_TIMEOUT_S`` (0: never idles out)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timeout = settings.SESSION_IDLE_TIMEOUT_S
        if timeout and request.user.is_authenticated:
            now = int(time.time())
            last = request.session.get(_LAST_SEEN)
            if isinstance(last, int) and now - last > timeout:
                logout(request)
                minutes = max(1, timeout // 60)
                messages.info(
                    request,
                    f"You were logged out after {minutes} minutes without activity. Log in again to go on.",
                )
            elif not isinstance(last, int) or now - last >= _WRITE_EVERY_S:
                request.session[_LAST_SEEN] = now
        return self.get_response(request)
