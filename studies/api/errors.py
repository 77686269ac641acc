"""The error answers the studies endpoints document, shared by every endpoint that takes a study's key."""

from __future__ import annotations

from core.api.schema import api_error

ERRORS = {
    400: api_error("Invalid input: `errors` says, per field, what to fix."),
    401: api_error("Not signed in: send `Authorization: Token <key>`."),
    403: api_error("Not a researcher, or lacking the model permission."),
    404: api_error("No such study among those you manage."),
}
READ_ERRORS = {code: ERRORS[code] for code in (401, 403, 404)}
