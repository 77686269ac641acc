"""JSON bodies as the database and the renderer can take them: text must be valid Unicode.

JSON may spell a lone UTF-16 surrogate (``"\\ud800"``); Python decodes it into a string that
can be neither stored (PostgreSQL refuses it) nor rendered back as UTF-8, so a request holding
one would fail with a 500 wherever it went. Such bodies, and bodies nested too deeply for the
decoder, are refused here with a 400 that says what is wrong.
"""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser


def _first_bad_string(value) -> str | None:
    """A string (key or value) anywhere in ``value`` that is not valid Unicode, walking without recursion."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return item
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None


class UnicodeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply; flatten it.") from None
        bad = _first_bad_string(data)
        if bad is not None:
            raise ParseError(
                "JSON parse error - a string holds an unpaired UTF-16 surrogate (such as \\ud800), "
                "which is not a character: send valid Unicode text."
            )
        return data


# What the API's views accept: the default parsers, with JSON checked as above.
PARSERS = [UnicodeJSONParser, FormParser, MultiPartParser]
