"""One error body for the whole API, so scripts read every failure the same way.

    {"detail": "what went wrong and what to do", "code": "invalid", "errors": {"field": ["..."]}}

``errors`` is there for validation failures only: each field, or ``non_field_errors``,
or for manifest imports each line number, with its messages.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views.defaults import page_not_found
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

logger = logging.getLogger("coachbench.api")


class Conflict(exceptions.APIException):
    """The request is well formed but the object is in the wrong state for it (a live study edited, say)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object is not in a state that allows this."
    default_code = "conflict"


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"

    def __init__(self) -> None:
        super().__init__(
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes, the most a JSON or "
            "form body may be; send less, or send manifests to the import endpoints, which take large files."
        )


def _summary(errors) -> str:
    if isinstance(errors, dict):
        for field, messages in errors.items():
            first = _summary(messages)
            return first if field in {"non_field_errors", "detail"} else f"{field}: {first}"
        return "Invalid input."
    if isinstance(errors, list):
        return _summary(errors[0]) if errors else "Invalid input."
    return str(errors)


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})
    # Django's own 404 and 403 (get_object_or_404, a view's get_object) get the same body as DRF's.
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, RequestDataTooBig):
        exc = BodyTooLarge()
    elif isinstance(exc, SuspiciousOperation):
        # Too many form fields or files, a malformed multipart body: the client's doing, not a server error.
        exc = exceptions.ParseError(f"The request was refused: {exc}")
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled error in %s", context.get("view").__class__.__name__, exc_info=exc)
        set_rollback()
        return Response(
            {"detail": "Something went wrong on the server; the error was logged.", "code": "server_error"},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.ValidationError):
        errors = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        response.data = {"detail": _summary(errors), "code": "invalid", "errors": errors}
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        codes = exc.get_codes()
        response.data = {
            "detail": str(detail) if not isinstance(detail, dict | list) else _summary(detail),
            "code": codes if isinstance(codes, str) else "error",
        }
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            response.data["retry_after_s"] = int(exc.wait)
    return response


def not_found(request, exception=None):
    """``handler404``: an address under ``/api/`` that names no endpoint gets the API's JSON error, not a page.

    (A path parameter that doesn't match its pattern, ``/api/v1/studies/abc/``, never reaches a view.)
    """
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": f"No API endpoint or object at {request.path[:200]}; see /api/docs/.", "code": "not_found"},
            status=status.HTTP_404_NOT_FOUND,
        )
    return page_not_found(request, exception)
