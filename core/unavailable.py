"""A 503 page, not a traceback or a bare 500, while the database can't be reached (restarting, failing over).

``DatabaseUnavailableMiddleware`` answers views that hit ``OperationalError`` or ``InterfaceError``;
``server_error`` (the project's ``handler500``) does the same for errors raised outside a view (a
middleware saving the session, say) and falls back to Django's plain 500 page for everything else.
Neither touches the database: the page is rendered without a request context. The coach's task page
keeps the chosen answer when a submit gets this answer and says to submit again (static/js/player.js).
"""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views import defaults

logger = logging.getLogger("coachbench.unavailable")

RETRY_AFTER_S = 15
MESSAGE = (
    "coachbench can't reach its database for a moment, so nothing was saved. "
    "Please try again in a few seconds: an answer you submitted is still in your form."
)
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)


def unavailable_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    logger.warning("database unavailable for %s %s: %s", request.method, request.path, exc)
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": MESSAGE, "code": "service_unavailable"}, status=503)
    else:
        body = loader.get_template("503.html").render({"message": MESSAGE, "retry_after_s": RETRY_AFTER_S})
        response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_S)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, UNAVAILABLE_ERRORS):
            return unavailable_response(request, exception)
        return None


def server_error(request: HttpRequest, template_name: str = defaults.ERROR_500_TEMPLATE_NAME) -> HttpResponse:
    """``handler500``: Django calls it inside its ``except`` block, so the error is ``sys.exc_info()``."""
    exc = sys.exc_info()[1]
    if isinstance(exc, UNAVAILABLE_ERRORS):
        return unavailable_response(request, exc)
    return defaults.server_error(request, template_name)
