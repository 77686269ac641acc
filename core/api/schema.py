"""The OpenAPI schema lists, for every operation, the errors that any endpoint of this kind can answer.

Views declare their own answers (``extend_schema(responses=...)``); the answers that come
from the framework rather than from the view are added here wherever they can happen, with
the API's one error body (``core/api/errors.py``), so a client generated from the schema,
or schemathesis checking the server against it, meets no undocumented status:

- 400 where the request has a body or query parameters (a filter value that is not valid, a ``cursor``
  this API did not give, a ``page_size`` that is not a whole number of at least 1);
- 401 and 403 where a token or session is needed (403 also for a session without CSRF token);
- 404 where the path names an object;
- 415 where the request has a body (another Content-Type than those listed);
- 429 everywhere (per-user throttling).
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ApiErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong and what to do about it.")
    code = serializers.CharField(help_text="A stable word for the kind of error: invalid, not_found, throttled, ...")
    errors = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text="Validation failures only: messages per field, `non_field_errors`, or per manifest line.",
    )
    retry_after_s = serializers.IntegerField(required=False, help_text="429 only: seconds to wait.")


STANDARD_ERRORS = {
    "400": "Invalid input: `errors` says, per field (or per manifest line), what to fix.",
    "401": "Not signed in: send `Authorization: Token <key>` (POST /api/v1/auth/token/ gives one).",
    "403": "Not allowed: an endpoint for researchers, a missing model permission, or a session without CSRF token.",
    "404": "No such object among those you may see.",
    "415": "The body's Content-Type is not one this endpoint reads.",
    "429": "Too many requests: wait `retry_after_s` seconds, then try again.",
}


class CoachbenchAutoSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        parameters = operation.get("parameters", [])
        places = {parameter["in"] for parameter in parameters}
        has_body = "requestBody" in operation
        needs_sign_in = {} not in operation.get("security", [{}])
        wanted = {"429"}
        if has_body or "query" in places:
            wanted.add("400")
        if needs_sign_in:
            wanted |= {"401", "403"}
        if "path" in places:
            wanted.add("404")
        if has_body:
            wanted.add("415")
        responses = operation.setdefault("responses", {})
        missing = sorted(wanted - set(responses))
        if missing:
            error = self.resolve_serializer(ApiErrorSerializer, "response").ref
            for code in missing:
                responses[code] = {
                    "description": STANDARD_ERRORS[code],
                    "content": {"application/json": {"schema": error}},
                }
        return operation


def api_error(description: str) -> OpenApiResponse:
    """An error answer in the schema: the API's one error body, with what it means here."""
    return OpenApiResponse(ApiErrorSerializer, description=description)


# The answers a researcher's endpoint documents besides its own: for lists, and for one object.
ERROR = OpenApiResponse(ApiErrorSerializer)
READ_ERRORS = {401: ERROR, 403: ERROR}
DETAIL_ERRORS = {**READ_ERRORS, 404: ERROR}
